package logfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of size bytes on a new temporary directory,
// unmounted when the test ends. It skips the test where that is not allowed.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size))
	if errors.Is(err, unix.EPERM) {
		t.Skip("mounting a tmpfs needs CAP_SYS_ADMIN")
	}
	if err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount tmpfs: %v", err)
		}
	})
	return dir
}

func TestWriterDiskFull(t *testing.T) {
	dir := mountTmpfs(t, 64<<10)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 16<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "container-json.log")
	w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
	out := w.Stream("stdout")

	// 2,000 records of some 130 bytes do not fit in 64 KiB.
	const lines = 2000
	for i := range lines {
		line := fmt.Sprintf("%04d %s\n", i, "0123456789012345678901234567890123456789")
		if n, err := out.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write on a full disk = %d, %v; want %d, nil", n, err, len(line))
		}
	}
	err := w.Err()
	if !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("Err() = %v, want ENOSPC", err)
	}
	t.Logf("Err() = %v", err)

	// The last write was most likely cut short, leaving a torn record.
	if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
		t.Logf("log of %d bytes ends torn: %v", len(data), data[len(data)-1] != '\n')
	}

	// With room again, writing resumes, on a new line after a torn record.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	write(t, out, "after\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, path, all)
	if len(got) < 2 || string(got[len(got)-1].Line) != "after\n" {
		t.Fatalf("%d entries, want the ones that fitted and then %q", len(got), "after\n")
	}
	for i, e := range got[:len(got)-1] {
		if want := fmt.Sprintf("%04d ", i); string(e.Line[:5]) != want {
			t.Fatalf("entry %d: %q, want it to start with %q", i, e.Line, want)
		}
	}
	t.Logf("%d of %d lines written before the disk was full", len(got)-1, lines)
}
