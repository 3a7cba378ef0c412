package registry_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/enginetest"
	"github.com/skiff-dev/skiff/engine/registry/registrytest"
)

// BenchmarkPull pulls a one-layer image of about 107 MB of the host's own
// files (as scripts/bench-registry.sh does) from a docker-registry on
// loopback, removing it after each pull so every pull downloads, verifies
// and unpacks the whole layer.
func BenchmarkPull(b *testing.B) {
	ctx := context.Background()
	reg := registrytest.Start(b)
	ref := reg.Host + "/bench/usr:v1"
	registrytest.Push(b, registrytest.Image(b, hostFilesTar(b, 107<<20)), ref)
	e := enginetest.Open(b)
	var cpu time.Duration
	b.ResetTimer()
	for b.Loop() {
		before := cpuTime()
		if _, err := e.ImagePull(ctx, ref, engine.ImagePullOptions{}); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - before
		b.StopTimer()
		if _, err := e.ImageDelete(ctx, ref, false, true); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostFilesTar is a tar of regular files under /usr/lib and /usr/share, up
// to size bytes of content.
func hostFilesTar(b *testing.B, size int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var total int64
	for _, root := range []string{"/usr/lib", "/usr/share"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if total >= size {
				return filepath.SkipAll
			}
			if err != nil {
				return nil // unreadable: left out
			}
			info, err := d.Info()
			if err != nil || !info.Mode().IsRegular() || info.Size() > 8<<20 {
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				return nil
			}
			defer f.Close()
			hdr, err := tar.FileInfoHeader(info, "")
			if err != nil {
				b.Fatal(err)
			}
			hdr.Name = path[1:]
			if err := tw.WriteHeader(hdr); err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(tw, f); err != nil {
				b.Fatal(err)
			}
			total += info.Size()
			return nil
		})
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
