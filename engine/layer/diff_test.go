package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// An upper directory written through overlayfs round-trips through Diff and
// Apply: the changes come out as an OCI layer with whiteouts, and applying
// that layer reproduces the upper directory's whiteouts and opaque marks.
func TestDiffOfAnOverlayUpperDirAppliesBack(t *testing.T) {
	root := t.TempDir()
	lower, upper, work, merged := filepath.Join(root, "lower"), filepath.Join(root, "upper"), filepath.Join(root, "work"), filepath.Join(root, "merged")
	for _, d := range []string{lower, upper, work, merged, filepath.Join(lower, "etc"), filepath.Join(lower, "opt", "old")} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(lower, "etc", "removed"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(lower, "etc", "changed"), []byte("before"), 0o644)
	os.WriteFile(filepath.Join(lower, "opt", "old", "file"), []byte("x"), 0o644)
	if err := unix.Mount("overlay", merged, "overlay", 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work); err != nil {
		t.Fatal(err)
	}
	mounted := true
	unmount := func() {
		if mounted {
			if err := unix.Unmount(merged, 0); err != nil {
				t.Errorf("unmount: %v", err)
			}
			mounted = false
		}
	}
	t.Cleanup(unmount)
	// Changes made through the merged view, as a container makes them.
	os.Remove(filepath.Join(merged, "etc", "removed"))
	os.WriteFile(filepath.Join(merged, "etc", "changed"), []byte("after"), 0o644)
	os.WriteFile(filepath.Join(merged, "added"), []byte("new"), 0o600)
	os.RemoveAll(filepath.Join(merged, "opt"))
	os.MkdirAll(filepath.Join(merged, "opt"), 0o755) // a new dir over a removed one: opaque
	os.WriteFile(filepath.Join(merged, "opt", "fresh"), []byte("y"), 0o644)
	os.Symlink("/etc/changed", filepath.Join(merged, "link"))
	unmount()

	var buf bytes.Buffer
	if err := Diff(context.Background(), upper, &buf); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		for k := range hdr.PAXRecords {
			if k == "SCHILY.xattr.trusted.overlay.opaque" {
				t.Errorf("%s carries the overlay's own xattr", hdr.Name)
			}
		}
	}
	for _, want := range []string{"added", "etc/", "etc/.wh.removed", "etc/changed", "link", "opt/", "opt/.wh..wh..opq", "opt/fresh"} {
		if !slices.Contains(names, want) {
			t.Errorf("diff lacks %q; has %q", want, names)
		}
	}

	changes, err := Changes(upper, []string{lower})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range changes {
		got[c.Path] = c.Kind.String()
	}
	for path, kind := range map[string]string{"/added": "A", "/etc/removed": "D", "/etc/changed": "C", "/opt": "C", "/opt/fresh": "A"} {
		if got[path] != kind {
			t.Errorf("change of %s = %q, want %s (all: %v)", path, got[path], kind, got)
		}
	}

	applied := t.TempDir()
	if _, err := Apply(context.Background(), applied, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(applied, "etc", "removed"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout did not come back as a 0/0 char device: %v", err)
	}
	if !isOpaque(filepath.Join(applied, "opt")) {
		t.Error("opaque directory lost its mark")
	}
	if data, _ := os.ReadFile(filepath.Join(applied, "etc", "changed")); string(data) != "after" {
		t.Errorf("changed file holds %q", data)
	}
}
