package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestApplyKeepsTypesOwnersModesAndTimes(t *testing.T) {
	owned := func(e tarEntry, uid, gid int, mode int64) tarEntry {
		e.hdr.Uid, e.hdr.Gid, e.hdr.Mode = uid, gid, mode
		return e
	}
	layer := applyEntries(t,
		owned(dir("bin"), 0, 0, 0o755),
		owned(file("bin/busybox", "#!busybox"), 0, 0, 0o755),
		owned(file("bin/su", "su"), 0, 0, 0o4755),
		owned(file("bin/wall", "wall"), 0, 5, 0o2755),
		owned(symlink("bin/sh", "busybox"), 1000, 1001, 0o777),
		hardlink("bin/ls", "bin/busybox"),
		owned(dir("tmp"), 0, 0, 0o1777),
		owned(file("home/user/notes", "hello"), 1000, 1000, 0o640),
		owned(device(tar.TypeChar, "dev/null", 1, 3), 0, 0, 0o666),
		device(tar.TypeBlock, "dev/sda", 8, 0),
		device(tar.TypeChar, "dev/biggest", maxDevMajor, maxDevMinor),
		owned(device(tar.TypeFifo, "run/fifo", 0, 0), 7, 8, 0o620),
	)

	tests := []struct {
		name     string
		typ      uint32
		perm     uint32
		uid, gid uint32
		rdev     uint64
	}{
		{name: "bin", typ: unix.S_IFDIR, perm: 0o755},
		{name: "bin/busybox", typ: unix.S_IFREG, perm: 0o755},
		{name: "bin/su", typ: unix.S_IFREG, perm: 0o4755},
		{name: "bin/wall", typ: unix.S_IFREG, perm: 0o2755, gid: 5},
		{name: "bin/sh", typ: unix.S_IFLNK, perm: 0o777, uid: 1000, gid: 1001},
		{name: "tmp", typ: unix.S_IFDIR, perm: 0o1777},
		{name: "home/user/notes", typ: unix.S_IFREG, perm: 0o640, uid: 1000, gid: 1000},
		{name: "dev/null", typ: unix.S_IFCHR, perm: 0o666, rdev: unix.Mkdev(1, 3)},
		{name: "dev/sda", typ: unix.S_IFBLK, perm: 0o600, rdev: unix.Mkdev(8, 0)},
		{name: "dev/biggest", typ: unix.S_IFCHR, perm: 0o600, rdev: unix.Mkdev(maxDevMajor, maxDevMinor)},
		{name: "run/fifo", typ: unix.S_IFIFO, perm: 0o620, uid: 7, gid: 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := lstat(t, filepath.Join(layer, tt.name))
			if got := st.Mode & unix.S_IFMT; got != tt.typ {
				t.Errorf("file type = %#o, want %#o", got, tt.typ)
			}
			if got := st.Mode & 0o7777; got != tt.perm {
				t.Errorf("mode = %#o, want %#o", got, tt.perm)
			}
			if st.Uid != tt.uid || st.Gid != tt.gid {
				t.Errorf("owner = %d:%d, want %d:%d", st.Uid, st.Gid, tt.uid, tt.gid)
			}
			if st.Rdev != tt.rdev {
				t.Errorf("device = %d:%d, want %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev), unix.Major(tt.rdev), unix.Minor(tt.rdev))
			}
			if st.Mtim.Sec != testMtime {
				t.Errorf("mtime = %d, want %d", st.Mtim.Sec, testMtime)
			}
		})
	}

	if got := readFile(t, filepath.Join(layer, "home/user/notes")); got != "hello" {
		t.Errorf("home/user/notes = %q, want %q", got, "hello")
	}
	if target, err := os.Readlink(filepath.Join(layer, "bin/sh")); err != nil || target != "busybox" {
		t.Errorf("bin/sh links to %q (%v), want %q", target, err, "busybox")
	}
	ls, busybox := lstat(t, filepath.Join(layer, "bin/ls")), lstat(t, filepath.Join(layer, "bin/busybox"))
	if ls.Ino != busybox.Ino || busybox.Nlink != 2 {
		t.Errorf("bin/ls is not a hard link of bin/busybox (inodes %d, %d; links %d)", ls.Ino, busybox.Ino, busybox.Nlink)
	}
}

func TestApplyReturnsBytesOfRegularFileContent(t *testing.T) {
	data := makeTar(t,
		file("a", "12345"),
		file("b/c", strings.Repeat("x", 3<<20)),
		hardlink("d", "a"), // shares a's content: not counted again
		symlink("e", "a"),
		dir("f"),
	)
	size, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(5 + 3<<20); size != want {
		t.Errorf("size = %d, want %d", size, want)
	}
}

func TestApplySetsDirectoryTimesAfterItsChildren(t *testing.T) {
	layer := applyEntries(t, dir("etc"), file("etc/hosts", "x"), dir("etc/ssl"), file("etc/ssl/cert", "y"))
	for _, name := range []string{"etc", "etc/ssl"} {
		if got := lstat(t, filepath.Join(layer, name)).Mtim.Sec; got != testMtime {
			t.Errorf("%s mtime = %d, want %d (the tar's, not the time children were added)", name, got, testMtime)
		}
	}
}

func TestApplyCreatesMissingParentDirectories(t *testing.T) {
	layer := applyEntries(t, file("usr/local/bin/tool", "x"))
	for _, name := range []string{"usr", "usr/local", "usr/local/bin"} {
		st := lstat(t, filepath.Join(layer, name))
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Mode&0o7777 != 0o755 {
			t.Errorf("%s: mode %#o, want a 0755 directory", name, st.Mode)
		}
	}
}

func TestApplyKeepsXattrsButNeverTrustedOnes(t *testing.T) {
	e := file("bin/ping", "ping")
	e.hdr.Format = tar.FormatPAX
	e.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.comment":           "kept",
		"SCHILY.xattr.trusted.overlay.opaque": "y",
		"SCHILY.xattr.trusted.overlay.origin": "forged",
	}
	d := dir("data")
	d.hdr.Format = tar.FormatPAX
	d.hdr.PAXRecords = map[string]string{"SCHILY.xattr.trusted.overlay.opaque": "y"}
	layer := applyEntries(t, e, d)

	if got, ok := getXattr(t, filepath.Join(layer, "bin/ping"), "user.comment"); got != "kept" {
		t.Errorf("user.comment = %q (present %v), want %q", got, ok, "kept")
	}
	for _, p := range []string{"bin/ping", "data"} {
		for _, attr := range []string{"trusted.overlay.opaque", "trusted.overlay.origin"} {
			if v, ok := getXattr(t, filepath.Join(layer, p), attr); ok {
				t.Errorf("%s has %s=%q from the tar; trusted.* must never be applied", p, attr, v)
			}
		}
	}
}

func TestApplyTurnsWhiteoutIntoCharDevice00(t *testing.T) {
	layer := applyEntries(t,
		file("etc/removed", "x"), // an entry of this same layer is replaced
		file("etc/.wh.removed", ""),
		file("etc/.wh.gone", ""),
		file("a/.wh.missing-parent", ""),
		dir("tree"), file("tree/x", "x"),
		file(".wh.tree", ""),
	)
	for _, name := range []string{"etc/removed", "etc/gone", "a/missing-parent", "tree"} {
		st := lstat(t, filepath.Join(layer, name))
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s: mode %#o device %d, want a 0/0 character device", name, st.Mode, st.Rdev)
		}
	}
	for _, name := range []string{"etc/.wh.removed", "etc/.wh.gone", ".wh.tree"} {
		if exists(filepath.Join(layer, name)) {
			t.Errorf("%s exists: whiteout markers must not be unpacked as files", name)
		}
	}
}

func TestApplyMarksOpaqueDirectories(t *testing.T) {
	layer := applyEntries(t,
		dir("etc"), file("etc/kept", "x"), file("etc/.wh..wh..opq", ""),
		file("var/lib/.wh..wh..opq", ""), // directory not in the tar: created
	)
	for _, name := range []string{"etc", "var/lib"} {
		if v, ok := getXattr(t, filepath.Join(layer, name), overlayOpaque); v != "y" {
			t.Errorf("%s: %s=%q (present %v), want y", name, overlayOpaque, v, ok)
		}
	}
	if !exists(filepath.Join(layer, "etc/kept")) {
		t.Error("etc/kept was removed: opacity hides lower layers only, not this layer's files")
	}
	if exists(filepath.Join(layer, "etc/.wh..wh..opq")) {
		t.Error("opaque marker unpacked as a file")
	}
}

func TestApplyMarksLayerRootOpaque(t *testing.T) {
	layer := applyEntries(t, file(".wh..wh..opq", ""))
	if v, _ := getXattr(t, layer, overlayOpaque); v != "y" {
		t.Errorf("layer root %s=%q, want y", overlayOpaque, v)
	}
}

func TestApplySkipsAUFSMetadata(t *testing.T) {
	layer := applyEntries(t, file(".wh..wh.plnk/1234.5678", "x"), file("a/.wh..wh.aufs", ""), file("a/b", "b"))
	if got, want := listTree(t, layer), []string{"a", "a/b"}; !slices.Equal(got, want) {
		t.Errorf("layer holds %q, want %q", got, want)
	}
}

func TestApplyReplacesEntriesOfTheSameName(t *testing.T) {
	restricted := dir("dir-kept")
	restricted.hdr.Mode = 0o700
	layer := applyEntries(t,
		file("file-twice", "old"), file("file-twice", "new"),
		file("file-then-dir", "x"), dir("file-then-dir"),
		dir("dir-then-file"), file("dir-then-file/child", "x"), file("dir-then-file", "file"),
		dir("dir-kept"), file("dir-kept/child", "x"), restricted,
		symlink("link-then-file", "file-twice"), file("link-then-file", "own"),
	)
	if got := readFile(t, filepath.Join(layer, "file-twice")); got != "new" {
		t.Errorf("file-twice = %q, want the later entry's %q", got, "new")
	}
	if !isDir(t, filepath.Join(layer, "file-then-dir")) {
		t.Error("file-then-dir is not a directory")
	}
	if got := readFile(t, filepath.Join(layer, "dir-then-file")); got != "file" {
		t.Errorf("dir-then-file = %q, want %q", got, "file")
	}
	st := lstat(t, filepath.Join(layer, "dir-kept"))
	if st.Mode&0o7777 != 0o700 || !exists(filepath.Join(layer, "dir-kept/child")) {
		t.Errorf("dir-kept: mode %#o, child present %v; want mode 0700 and its child kept",
			st.Mode&0o7777, exists(filepath.Join(layer, "dir-kept/child")))
	}
	if got := readFile(t, filepath.Join(layer, "link-then-file")); got != "own" {
		t.Errorf("link-then-file = %q, want %q", got, "own")
	}
	if got := readFile(t, filepath.Join(layer, "file-twice")); got != "new" {
		t.Errorf("replacing the symlink link-then-file changed its target to %q", got)
	}
}

func isDir(t *testing.T, path string) bool {
	return lstat(t, path).Mode&unix.S_IFMT == unix.S_IFDIR
}

func TestApplyResolvesAbsoluteHardlinkTargetsInsideLayer(t *testing.T) {
	layer := applyEntries(t, file("bin/busybox", "bb"), hardlink("bin/sh", "/bin/busybox"), hardlink("usr/bin/env", "/bin/./busybox"))
	target := lstat(t, filepath.Join(layer, "bin/busybox"))
	for _, name := range []string{"bin/sh", "usr/bin/env"} {
		if lstat(t, filepath.Join(layer, name)).Ino != target.Ino {
			t.Errorf("%s is not a hard link of the layer's bin/busybox", name)
		}
	}
}

func TestApplyToleratesDotSlashEntries(t *testing.T) {
	root := dir("./")
	root.hdr.Mode = 0o700 // the store, not the tar, decides the root's mode
	layer := t.TempDir()
	if err := os.Chmod(layer, 0o755); err != nil {
		t.Fatal(err)
	}
	data := makeTar(t, root, dir("./etc/"), file("./etc/hosts", "x"), file("etc//motd", "y"))
	if _, err := Apply(context.Background(), layer, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got, want := listTree(t, layer), []string{"etc", "etc/hosts", "etc/motd"}; !slices.Equal(got, want) {
		t.Errorf("layer holds %q, want %q", got, want)
	}
	if got := lstat(t, layer).Mode & 0o7777; got != 0o755 {
		t.Errorf("layer root mode = %#o, want it untouched (0755)", got)
	}
}

func TestApplySkipsPAXGlobalHeaders(t *testing.T) {
	global := tarEntry{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "git archive"}}}
	layer := applyEntries(t, global, file("a", "x"))
	if got, want := listTree(t, layer), []string{"a"}; !slices.Equal(got, want) {
		t.Errorf("layer holds %q, want %q", got, want)
	}
}

func TestApplyReadsOnlyUpToTheEndOfTheArchive(t *testing.T) {
	const trailer = "bytes after the archive"
	r := bytes.NewReader(append(makeTar(t, file("a", "x")), trailer...))
	if _, err := Apply(context.Background(), t.TempDir(), r); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != trailer {
		t.Errorf("left unread %q, want %q", rest, trailer)
	}
}

func TestApplyOfEmptyInputIsAnEmptyLayer(t *testing.T) {
	layer := t.TempDir()
	size, err := Apply(context.Background(), layer, bytes.NewReader(nil))
	if err != nil || size != 0 {
		t.Fatalf("Apply = %d, %v; want 0, nil", size, err)
	}
	if got := listTree(t, layer); len(got) != 0 {
		t.Errorf("layer holds %q, want nothing", got)
	}
}

func TestApplyStopsWhenContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Apply(ctx, t.TempDir(), bytes.NewReader(makeTar(t, file("a", "x"))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: err = %v, want context.Canceled", err)
	}
}
