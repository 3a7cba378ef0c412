package buildcontext

import (
	"archive/zip"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// makeZip makes a zip archive of entries (files, directories, symlinks).
func makeZip(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: testMtime}
		body := e.content
		switch e.typ {
		case '5': // tar.TypeDir
			hdr.SetMode(fs.ModeDir | 0o755)
		case '2': // tar.TypeSymlink
			hdr.SetMode(fs.ModeSymlink | 0o777)
			body = e.link
		default:
			hdr.SetMode(0o644)
		}
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func extractZip(t *testing.T, data []byte, limit int64) (string, *Context, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "context")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := Extract(context.Background(), bytes.NewReader(data), dir, Options{Limit: limit})
	return dir, c, err
}

func TestExtractZip(t *testing.T) {
	data := makeZip(t, file("Dockerfile", "FROM busybox\n"), dir("site/"), file("site/index.html", "<h1>hi</h1>"), symlink("site/home.html", "index.html"))
	dir, c, err := extractZip(t, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Dockerfile) != "FROM busybox\n" {
		t.Errorf("Dockerfile %q", c.Dockerfile)
	}
	if got := listTree(t, dir); !slices.Equal(got, []string{"Dockerfile", "site", "site/home.html", "site/index.html"}) {
		t.Errorf("unpacked %q", got)
	}
	if target, err := os.Readlink(filepath.Join(dir, "site", "home.html")); target != "index.html" {
		t.Errorf("site/home.html: link to %q (%v), want a symlink to index.html", target, err)
	}
	if page, _ := os.ReadFile(filepath.Join(dir, "site", "index.html")); string(page) != "<h1>hi</h1>" {
		t.Errorf("index.html holds %q", page)
	}
}

func TestExtractZipRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []byte
		limit int64
		want  string
	}{
		{"an entry escaping the context", makeZip(t, file("Dockerfile", "FROM x\n"), file("../evil", "x")), 0, "../evil"},
		{"an absolute entry", makeZip(t, file("Dockerfile", "FROM x\n"), file("/etc/evil", "x")), 0, "/etc/evil"},
		{"more unpacked than the limit", makeZip(t, file("Dockerfile", "FROM x\n"), file("big", strings.Repeat("0", 1<<20))), 64 << 10, "larger than the limit"},
		{"a truncated zip", makeZip(t, file("Dockerfile", "FROM x\n"))[:40], 0, "zip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := extractZip(t, tc.data, tc.limit)
			if err == nil || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want an invalid-argument error naming %q", err, tc.want)
			}
		})
	}
}
