package image

import (
	"archive/tar"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite"

	"github.com/skiff-dev/skiff/engine/content"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/store"
	"github.com/skiff-dev/skiff/engine/testimage"
)

// testEnv is an image service over a data root of its own.
type testEnv struct {
	*Service
	root string
	db   *store.DB
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return openTestEnv(t, t.TempDir())
}

func openTestEnv(t testing.TB, root string) *testEnv {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite", filepath.Join(root, "skiff.db"), os.DirFS("../../migrations"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cs, err := content.Open(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := layer.Open(filepath.Join(root, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{DB: db, Content: cs, Layers: ls, TmpDir: filepath.Join(root, "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	if err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	return &testEnv{Service: s, root: root, db: db}
}

func mustTag(t *testing.T, ref string) reference.NamedTagged {
	t.Helper()
	tag, err := ParseTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// importBusybox imports the busybox test rootfs, tagged ref ("" for none).
func (e *testEnv) importBusybox(t *testing.T, ref string) digest.Digest {
	t.Helper()
	opts := ImportOptions{Source: "-"}
	if ref != "" {
		opts.Tag = mustTag(t, ref)
	}
	id, err := e.Import(context.Background(), bytes.NewReader(testimage.Rootfs(t)), opts)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// child makes a child image of parent with one file added (or, when file is
// "", config only).
func (e *testEnv) child(t *testing.T, parent digest.Digest, file string, tags ...string) digest.Digest {
	t.Helper()
	opts := ChildOptions{Parent: parent, CreatedBy: "/bin/sh -c touch " + file}
	if file != "" {
		opts.Layer = bytes.NewReader(tarOf(t, map[string]string{file: "content of " + file}))
	}
	for _, tag := range tags {
		opts.Tags = append(opts.Tags, mustTag(t, tag))
	}
	id, err := e.CreateChild(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// addContainer records a container using image id, as the runtime will.
func (e *testEnv) addContainer(t *testing.T, id, name string, image digest.Digest, status string) {
	t.Helper()
	chain, err := e.layerChain(context.Background(), e.db.Read(), image)
	if err != nil {
		t.Fatal(err)
	}
	top := chain[len(chain)-1].chainID
	err = e.db.Tx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO containers(id, name, image_id, top_layer, status, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, name, image.String(), top.String(), status, time.Now().UnixNano())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: testimage.Epoch}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// counts is what a data root holds: rows and files.
type counts struct {
	images, layers, tags, blobs, layerDirs, scratch int
}

func (e *testEnv) counts(t *testing.T) counts {
	t.Helper()
	var c counts
	q := e.db.Read()
	for table, n := range map[string]*int{"images": &c.images, "layers": &c.layers, "tags": &c.tags} {
		if err := q.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(n); err != nil {
			t.Fatal(err)
		}
	}
	c.blobs = countEntries(t, filepath.Join(e.root, "content", "blobs", "sha256"), "")
	c.layerDirs = countEntries(t, filepath.Join(e.root, "layers"), "")
	c.scratch = countEntries(t, filepath.Join(e.root, "content", "ingest"), "") +
		countEntries(t, filepath.Join(e.root, "layers"), ".") + countEntries(t, filepath.Join(e.root, "tmp"), "")
	c.layerDirs -= countEntries(t, filepath.Join(e.root, "layers"), ".")
	return c
}

// countEntries counts the entries of dir (those starting with prefix, when
// prefix is not empty).
func countEntries(t *testing.T, dir, prefix string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if prefix == "" || strings.HasPrefix(e.Name(), prefix) {
			n++
		}
	}
	return n
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// entry is one tar entry for tarWith: a file (body), a symlink (link) or a
// hard link (hardlink).
type entry struct {
	name, body, link, hardlink string
}

func tarWith(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, ModTime: testimage.Epoch}
		switch {
		case e.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		case e.hardlink != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, e.hardlink
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return buf.Bytes()
}

// mountTmpfs mounts a tmpfs of the given size on dir for the test's
// duration, to run out of space on purpose.
func mountTmpfs(t *testing.T, dir, size string) error {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		return err
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return nil
}
