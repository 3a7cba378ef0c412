package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testMtime (2001-02-03) is the mtime of test entries: far from "now", so a
// time that was not applied shows.
const testMtime = 981173106

func testTime() time.Time { return time.Unix(testMtime, 0) }

// tarEntry is a tar header and the content that follows it.
type tarEntry struct {
	hdr     tar.Header
	content string
}

func file(name, content string) tarEntry {
	return tarEntry{
		hdr:     tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(content)), ModTime: testTime()},
		content: content,
	}
}

func dir(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: testTime()}}
}

func symlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: testTime()}}
}

func hardlink(name, target string) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: testTime()}}
}

func device(typeflag byte, name string, major, minor int64) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: typeflag, Name: name, Mode: 0o600, Devmajor: major, Devminor: minor, ModTime: testTime()}}
}

// makeTar writes entries as a tar archive in memory.
func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatalf("write tar header %q: %v", e.hdr.Name, err)
		}
		if _, err := tw.Write([]byte(e.content)); err != nil {
			t.Fatalf("write tar content %q: %v", e.hdr.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close tar: %v", err)
	}
	return buf.Bytes()
}

// applyEntries applies a tar of entries into a new directory and returns it.
func applyEntries(t *testing.T, entries ...tarEntry) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := Apply(context.Background(), dir, bytes.NewReader(makeTar(t, entries...))); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return dir
}

func lstat(t *testing.T, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return &st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// listTree returns the paths of everything under root, relative to it.
func listTree(t testing.TB, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root {
			rel, _ := filepath.Rel(root, path)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	slices.Sort(names)
	return names
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

func getXattr(t *testing.T, path, attr string) (string, bool) {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(path, attr, buf)
	if errors.Is(err, unix.ENODATA) {
		return "", false
	}
	if err != nil {
		t.Fatalf("getxattr %s %s: %v", path, attr, err)
	}
	return string(buf[:n]), true
}
