package image

import (
	"archive/tar"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkImport100MB imports a 100 MB root filesystem tarball and, in the
// same run, copies the same file with cp: the disk's own limit, which the
// import (writing the tar blob and the unpacked files) is measured against.
//
//	go test -run XXX -bench Import100MB ./engine/image/
func BenchmarkImport100MB(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "rootfs.tar")
	size := writeRootfsTar(b, src, 100, 1<<20)

	b.Run("import", func(b *testing.B) {
		e := newBenchEnv(b)
		b.SetBytes(size)
		for b.Loop() {
			f, err := os.Open(src)
			if err != nil {
				b.Fatal(err)
			}
			id, err := e.Import(context.Background(), f, ImportOptions{Source: "-"})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := e.Delete(context.Background(), id.String(), true, true); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("cp", func(b *testing.B) {
		dst := filepath.Join(b.TempDir(), "copy.tar")
		b.SetBytes(size)
		for b.Loop() {
			// cp, then sync the copy: the import's data is on disk when it
			// returns, so the baseline's must be too.
			if out, err := exec.Command("sh", "-c", `cp "$1" "$2" && sync "$2"`, "cp", src, dst).CombinedOutput(); err != nil {
				b.Fatalf("cp: %v: %s", err, out)
			}
			os.Remove(dst)
		}
	})
}

// writeRootfsTar writes a tar of n files of size bytes each (incompressible
// content, in a few directories) and returns its length.
func writeRootfsTar(b *testing.B, path string, n, size int) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, size)
	for i := range n {
		rng.Read(buf)
		name := "usr/lib/d" + strconv.Itoa(i%10) + "/file" + strconv.Itoa(i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
			b.Fatal(err)
		}
		tw.Write(buf)
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	fi, _ := f.Stat()
	return fi.Size()
}

func newBenchEnv(b *testing.B) *testEnv {
	b.Helper()
	return openTestEnv(b, b.TempDir())
}
