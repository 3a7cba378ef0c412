package layer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOverlayMountHidesWhiteoutsAndOpaqueDirs stacks two unpacked layers with
// the real overlayfs and checks what a container would see.
func TestOverlayMountHidesWhiteoutsAndOpaqueDirs(t *testing.T) {
	lower := applyEntries(t,
		dir("a"), file("a/file1", "1"), file("a/file2", "2"),
		dir("b"), file("b/x", "x"),
	)
	upper := applyEntries(t,
		dir("a"), file("a/.wh.file1", ""),
		dir("b"), file("b/.wh..wh..opq", ""), file("b/y", "y"),
	)
	work := t.TempDir()
	rw, overlayWork, merged := filepath.Join(work, "rw"), filepath.Join(work, "work"), filepath.Join(work, "merged")
	for _, d := range []string{rw, overlayWork, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + upper + ":" + lower + ",upperdir=" + rw + ",workdir=" + overlayWork
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount overlay: %v", err)
		}
	})

	if got, want := readDir(t, filepath.Join(merged, "a")), []string{"file2"}; !slices.Equal(got, want) {
		t.Errorf("merged a/ holds %q, want %q: a/file1 is whited out", got, want)
	}
	if got, want := readDir(t, filepath.Join(merged, "b")), []string{"y"}; !slices.Equal(got, want) {
		t.Errorf("merged b/ holds %q, want %q: b/ is opaque", got, want)
	}
	if got := readFile(t, filepath.Join(merged, "a/file2")); got != "2" {
		t.Errorf("merged a/file2 = %q, want %q", got, "2")
	}
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
