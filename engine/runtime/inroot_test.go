package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestEnsureInRoot(t *testing.T) {
	outside := t.TempDir()
	tests := []struct {
		name    string
		setup   func(root string)
		path    string
		kind    nodeKind
		created string // the node that must exist afterwards, relative to root
		isDir   bool
	}{
		{name: "existing dir", path: "/etc", created: "etc", isDir: true},
		{name: "missing dirs", path: "/a/b/c", created: "a/b/c", isDir: true},
		{name: "missing file", path: "/a/b/f", kind: kindFile, created: "a/b/f"},
		{name: "dot-dot above root", path: "/../../../x/../y", created: "y", isDir: true},
		{
			name:    "absolute symlink out",
			setup:   func(root string) { os.Symlink("/../.."+outside+"/sub", filepath.Join(root, "link")) },
			path:    "/link/deeper",
			created: outside[1:] + "/sub/deeper",
			isDir:   true,
		},
		{
			name: "relative symlink out",
			setup: func(root string) {
				os.MkdirAll(filepath.Join(root, "d"), 0o755)
				os.Symlink("../../../../f", filepath.Join(root, "d/rel"))
			},
			path:    "/d/rel",
			kind:    kindFile,
			created: "f",
		},
		{
			name: "symlink to existing dir",
			setup: func(root string) {
				os.MkdirAll(filepath.Join(root, "real"), 0o755)
				os.Symlink("real", filepath.Join(root, "alias"))
			},
			path:    "/alias/new",
			created: "real/new",
			isDir:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			os.Mkdir(filepath.Join(root, "etc"), 0o755)
			if tt.setup != nil {
				tt.setup(root)
			}
			rootFD := openDir(t, root)
			var made int
			fd, err := ensureInRoot(rootFD, tt.path, tt.kind, func(int) error { made++; return nil })
			if err != nil {
				t.Fatalf("ensureInRoot(%q): %v", tt.path, err)
			}
			defer unix.Close(fd)
			fi, err := os.Stat(filepath.Join(root, tt.created))
			if err != nil || fi.IsDir() != tt.isDir {
				t.Fatalf("%s: %v (dir %v)", tt.created, err, fi != nil && fi.IsDir())
			}
			// fd is the node created.
			var a, b unix.Stat_t
			unix.Fstat(fd, &a)
			unix.Stat(filepath.Join(root, tt.created), &b)
			if a.Ino != b.Ino {
				t.Errorf("the descriptor is not %s", tt.created)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("created outside the root: %v", entries)
			}
		})
	}
}

func TestEnsureInRootErrors(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "file"), "")
	os.Symlink("loop2", filepath.Join(root, "loop1"))
	os.Symlink("loop1", filepath.Join(root, "loop2"))
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	rootFD := openDir(t, root)
	for path, want := range map[string]error{
		"/file/x":     unix.ENOTDIR,
		"/file":       unix.ENOTDIR, // a directory was asked for
		"/loop1/x":    unix.ELOOP,
		"/proc/1/cwd": nil, // no such thing in this root: created
	} {
		fd, err := ensureInRoot(rootFD, path, kindDir, nil)
		if fd >= 0 {
			unix.Close(fd)
		}
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("ensureInRoot(%q): %v, want %v", path, err, want)
		}
	}
	if _, err := ensureInRoot(rootFD, "/dir", kindFile, nil); !errors.Is(err, unix.EISDIR) {
		t.Errorf("a file over a directory: %v, want EISDIR", err)
	}
}

func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}
