package copier

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCopy(t *testing.T) {
	context_ := map[string]string{
		"a.txt": "a", "b.txt": "b",
		"dir/one.go": "1", "dir/sub/two.go": "2", "dir/link": "-> one.go",
		"link.txt": "-> a.txt", "linkdir": "-> dir",
	}
	tests := []struct {
		name  string
		image map[string]string
		dest  string
		paths []string
		want  []string
	}{
		{
			name: "file to a new name", dest: "/b", paths: []string{"a.txt"},
			want: []string{"b=a"},
		},
		{
			name: "file into dest/", dest: "/usr/local/", paths: []string{"a.txt"},
			want: []string{"usr/", "usr/local/", "usr/local/a.txt=a"},
		},
		{
			name: "file into an existing directory", image: map[string]string{"etc/": ""}, dest: "/etc", paths: []string{"a.txt"},
			want: []string{"etc/", "etc/a.txt=a"},
		},
		{
			name: "file over an existing file", image: map[string]string{"etc/conf": "old"}, dest: "/etc/conf", paths: []string{"a.txt"},
			want: []string{"etc/", "etc/conf=a"},
		},
		{
			name: "file over a symlink replaces the symlink", image: map[string]string{"etc/conf": "-> /etc/real", "etc/real": "real"},
			dest: "/etc/conf", paths: []string{"a.txt"},
			want: []string{"etc/", "etc/conf=a", "etc/real=real"},
		},
		{
			name: "directory contents, not the directory", dest: "/app", paths: []string{"dir"},
			want: []string{"app/", "app/link -> one.go", "app/one.go=1", "app/sub/", "app/sub/two.go=2"},
		},
		{
			name: "directory merged into an existing one", image: map[string]string{"app/keep": "k", "app/one.go": "old"},
			dest: "/app/", paths: []string{"dir"},
			want: []string{"app/", "app/keep=k", "app/link -> one.go", "app/one.go=1", "app/sub/", "app/sub/two.go=2"},
		},
		{
			name: "the whole context", dest: "/", paths: []string{"."},
			want: []string{"a.txt=a", "b.txt=b", "dir/", "dir/link -> one.go", "dir/one.go=1", "dir/sub/", "dir/sub/two.go=2", "link.txt -> a.txt", "linkdir -> dir"},
		},
		{
			name: "several sources make dest a directory", dest: "/out", paths: []string{"a.txt", "b.txt"},
			want: []string{"out/", "out/a.txt=a", "out/b.txt=b"},
		},
		{
			name: "a source symlink is followed, keeping its own name", dest: "/x/", paths: []string{"link.txt", "linkdir"},
			want: []string{"x/", "x/link -> one.go", "x/link.txt=a", "x/one.go=1", "x/sub/", "x/sub/two.go=2"},
		},
		{
			name: "dest through an absolute symlink stays in the image", image: map[string]string{"opt": "-> /srv/opt", "srv/opt/": ""},
			dest: "/opt/app/", paths: []string{"a.txt"},
			want: []string{"opt -> /srv/opt", "srv/", "srv/opt/", "srv/opt/app/", "srv/opt/app/a.txt=a"},
		},
		{
			name: "dest through a dangling symlink creates its target in the image", image: map[string]string{"evil": "-> /tmp/outside"},
			dest: "/evil/x", paths: []string{"a.txt"},
			want: []string{"evil -> /tmp/outside", "tmp/", "tmp/outside/", "tmp/outside/x=a"},
		},
		{
			name: "dest through a relative symlink climbing out", image: map[string]string{"a/up": "-> ../../../../../tmp/outside"},
			dest: "/a/up/f", paths: []string{"b.txt"},
			want: []string{"a/", "a/up -> ../../../../../tmp/outside", "tmp/", "tmp/outside/", "tmp/outside/f=b"},
		},
		{
			name: "a symlink inside the copied tree is replaced, not written through", image: map[string]string{"app/sub": "-> /etc", "etc/": ""},
			dest: "/app", paths: []string{"dir"},
			want: []string{"app/", "app/link -> one.go", "app/one.go=1", "app/sub/", "app/sub/two.go=2", "etc/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, _ := contextRoot(t, context_)
			dst, dir := rootfs(t, tt.image)
			if err := Copy(context.Background(), dst, tt.dest, src, tt.paths, Options{}); err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, dir); !slices.Equal(got, tt.want) {
				t.Errorf("image holds\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestCopyNeverWritesOutsideTheImage(t *testing.T) {
	host := t.TempDir() // stands for any host directory a symlink may name
	src, _ := contextRoot(t, map[string]string{"a": "a", "d/f": "f"})
	dst, dir := rootfs(t, map[string]string{"evil": "-> " + host, "evil2": "-> " + host + "/new", "rel": "-> ../../../../../../.." + host})
	for _, dest := range []string{"/evil/x", "/evil/", "/evil2/x", "/rel/y", "/evil/d/"} {
		if err := Copy(context.Background(), dst, dest, src, []string{"a", "d"}, Options{}); err != nil {
			t.Fatalf("Copy to %s: %v", dest, err)
		}
	}
	if entries, _ := os.ReadDir(host); len(entries) != 0 {
		t.Errorf("the host directory got %v", entries)
	}
	if _, err := os.Stat(filepath.Join(dir, host, "x", "a")); err != nil {
		t.Errorf("the copy did not land inside the image: %v", err)
	}
}

func TestCopyOwnersModesAndTimes(t *testing.T) {
	src, srcDir := contextRoot(t, map[string]string{"bin/tool": "x", "bin/sub/f": "y", "top": "z"})
	if err := unix.Chmod(filepath.Join(srcDir, "bin/tool"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(srcDir, "top"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		owner     *Owner
		wantOwner Owner
	}{
		{"root by default", nil, Owner{0, 0}},
		{"--chown", &Owner{UID: 1000, GID: 1001}, Owner{1000, 1001}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, dir := rootfs(t, map[string]string{"usr/": ""})
			opts := Options{Owner: tt.owner}
			if err := Copy(context.Background(), dst, "/usr/local/app/", src, []string{"bin", "top"}, opts); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"usr/local", "usr/local/app", "usr/local/app/tool", "usr/local/app/sub", "usr/local/app/sub/f", "usr/local/app/top"} {
				st := lstat(t, filepath.Join(dir, name))
				if int(st.Uid) != tt.wantOwner.UID || int(st.Gid) != tt.wantOwner.GID {
					t.Errorf("%s owned by %d:%d, want %d:%d", name, st.Uid, st.Gid, tt.wantOwner.UID, tt.wantOwner.GID)
				}
			}
			if st := lstat(t, filepath.Join(dir, "usr")); st.Uid != 0 {
				t.Errorf("existing /usr was chowned to %d", st.Uid)
			}
			if st := lstat(t, filepath.Join(dir, "usr/local")); st.Mode&0o7777 != 0o755 {
				t.Errorf("created /usr/local has mode %#o, want 0755", st.Mode&0o7777)
			}
			tool := lstat(t, filepath.Join(dir, "usr/local/app/tool"))
			if tool.Mode&0o7777 != 0o4755 {
				t.Errorf("tool mode %#o, want 04755 (setuid kept after chown)", tool.Mode&0o7777)
			}
			if tool.Mtim.Sec != testMtime.Unix() {
				t.Errorf("tool mtime %d, want %d", tool.Mtim.Sec, testMtime.Unix())
			}
		})
	}
}

func TestCopyUnpack(t *testing.T) {
	archive := makeTar(t,
		tarFile{name: "jdk/", mode: 0o755, uid: 10, gid: 20},
		tarFile{name: "jdk/bin/java", content: "java", mode: 0o755, uid: 10, gid: 20},
		tarFile{name: "jdk/.wh.hidden", content: "plain", mode: 0o644},
	)
	want := []string{"opt/", "opt/jdk/", "opt/jdk/.wh.hidden=plain", "opt/jdk/bin/", "opt/jdk/bin/java=java"}
	tests := []struct {
		name    string
		file    string
		content []byte
		unpack  bool
		want    []string
	}{
		{"tar", "jdk.tar", archive, true, want},
		{"tar.gz", "jdk.tar.gz", gzipped(t, archive), true, want},
		{"tar.xz", "jdk.tar.xz", xzed(t, archive), true, want},
		{"tar.bz2", "jdk.tar.bz2", bzipped(t, archive), true, want},
		{"archive under any name", "jdk.bin", gzipped(t, archive), true, want},
		{"text named like an archive", "notes.tar.gz", []byte("just text"), true, []string{"opt/", "opt/notes.tar.gz=just text"}},
		{"gzip of something else", "data.gz", gzipped(t, []byte("just text")), true, []string{"opt/", "opt/data.gz=" + string(gzipped(t, []byte("just text")))}},
		{"COPY does not unpack", "jdk.tar", archive, false, []string{"opt/", "opt/jdk.tar=" + string(archive)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, srcDir := contextRoot(t, nil)
			if err := os.WriteFile(filepath.Join(srcDir, tt.file), tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			dst, dir := rootfs(t, nil)
			opts := Options{Unpack: tt.unpack, Owner: &Owner{UID: 5, GID: 5}}
			if err := Copy(context.Background(), dst, "/opt/", src, []string{tt.file}, opts); err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, dir); !slices.Equal(got, tt.want) {
				t.Errorf("image holds\n%q\nwant\n%q", got, tt.want)
			}
			if tt.unpack && strings.Contains(tt.want[1], "jdk") {
				// The archive's owners, not --chown's.
				if st := lstat(t, filepath.Join(dir, "opt/jdk/bin/java")); st.Uid != 10 || st.Gid != 20 {
					t.Errorf("java owned by %d:%d, want the archive's 10:20", st.Uid, st.Gid)
				}
			}
		})
	}
}

func TestCopyUnpackFollowsImageSymlinksInside(t *testing.T) {
	src, srcDir := contextRoot(t, nil)
	archive := makeTar(t, tarFile{name: "lib/libx.so", content: "x", mode: 0o644})
	if err := os.WriteFile(filepath.Join(srcDir, "libx.tar"), archive, 0o644); err != nil {
		t.Fatal(err)
	}
	dst, dir := rootfs(t, map[string]string{"lib": "-> /usr/lib", "usr/lib/": ""})
	if err := Copy(context.Background(), dst, "/", src, []string{"libx.tar"}, Options{Unpack: true}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "usr/lib/libx.so")); got != "x" {
		t.Errorf("usr/lib/libx.so = %q, want the archive's lib/libx.so through the image's /lib symlink", got)
	}
}

func TestCopyRefusesASourceOutsideTheContext(t *testing.T) {
	src, _ := contextRoot(t, map[string]string{"out": "-> /etc/hostname", "d/up": "-> ../../.."})
	dst, _ := rootfs(t, nil)
	for _, source := range []string{"out", "d/up"} {
		err := Copy(context.Background(), dst, "/x", src, []string{source}, Options{})
		if err == nil || !strings.Contains(err.Error(), "forbidden path outside the build context: "+source) {
			t.Errorf("Copy of %s: error %v, want a forbidden path error naming it", source, err)
		}
	}
}

func lstat(t *testing.T, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
