package buildcontext

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"
)

// entry is a tar entry: a file with content, a directory (name ending in
// "/"), or a symlink or hard link when link is set.
type entry struct {
	name, content string
	typ           byte
	link          string
	mode          int64
}

func file(name, content string) entry { return entry{name: name, content: content, typ: tar.TypeReg} }
func dir(name string) entry           { return entry{name: name, typ: tar.TypeDir} }
func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, link: target}
}

var testMtime = time.Unix(981173106, 0)

func makeTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: mode, Size: int64(len(e.content)), ModTime: testMtime}
		if e.typ == tar.TypeDir {
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listTree returns what dir holds, relative, sorted.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

const dockerfile = "FROM busybox\nRUN true\n"

func TestExtract(t *testing.T) {
	plain := makeTar(t,
		file("Dockerfile", dockerfile),
		dir("src/"),
		file("src/main.go", "package main"),
		symlink("src/link", "../outside/of/context"),
	)
	tests := []struct {
		name           string
		stream         []byte
		opts           Options
		wantFiles      []string
		wantDockerfile string
		wantName       string
	}{
		{
			name:           "plain tar",
			stream:         plain,
			wantFiles:      []string{"Dockerfile", "src", "src/link", "src/main.go"},
			wantDockerfile: dockerfile, wantName: "Dockerfile",
		},
		{
			name:           "gzip tar",
			stream:         gzipped(t, plain),
			wantFiles:      []string{"Dockerfile", "src", "src/link", "src/main.go"},
			wantDockerfile: dockerfile, wantName: "Dockerfile",
		},
		{
			name:           "bare Dockerfile",
			stream:         []byte(dockerfile),
			wantDockerfile: dockerfile, wantName: "Dockerfile",
		},
		{
			name:           "lowercase dockerfile as fallback",
			stream:         makeTar(t, file("dockerfile", "FROM a\n")),
			wantFiles:      []string{"dockerfile"},
			wantDockerfile: "FROM a\n", wantName: "dockerfile",
		},
		{
			name:           "-f in a subdirectory",
			stream:         makeTar(t, file("build/prod.Dockerfile", "FROM prod\n"), file("Dockerfile", dockerfile)),
			opts:           Options{Dockerfile: "build/prod.Dockerfile"},
			wantFiles:      []string{"Dockerfile", "build", "build/prod.Dockerfile"},
			wantDockerfile: "FROM prod\n", wantName: "build/prod.Dockerfile",
		},
		{
			name:           "-f through a symlink inside the context",
			stream:         makeTar(t, file("real/Dockerfile", "FROM real\n"), symlink("df", "real/Dockerfile")),
			opts:           Options{Dockerfile: "df"},
			wantFiles:      []string{"df", "real", "real/Dockerfile"},
			wantDockerfile: "FROM real\n", wantName: "df",
		},
		{
			name:           "exactly at the limit",
			stream:         plain,
			opts:           Options{Limit: int64(len(plain))},
			wantFiles:      []string{"Dockerfile", "src", "src/link", "src/main.go"},
			wantDockerfile: dockerfile, wantName: "Dockerfile",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			c, err := Extract(context.Background(), bytes.NewReader(tt.stream), dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, dir); !slices.Equal(got, tt.wantFiles) {
				t.Errorf("context holds %q, want %q", got, tt.wantFiles)
			}
			if string(c.Dockerfile) != tt.wantDockerfile || c.DockerfileName != tt.wantName {
				t.Errorf("Dockerfile %s = %q, want %s = %q", c.DockerfileName, c.Dockerfile, tt.wantName, tt.wantDockerfile)
			}
			if want := digest.Digest("sha256:" + hexSum(tt.stream)); c.Digest != want {
				t.Errorf("Digest = %s, want %s", c.Digest, want)
			}
			if c.Dir != dir {
				t.Errorf("Dir = %q, want %q", c.Dir, dir)
			}
		})
	}
}

func hexSum(data []byte) string {
	sum := sha256.Sum256(data)
	return digest.NewDigestFromBytes(digest.SHA256, sum[:]).Encoded()
}

func TestExtractKeepsModesTimesAndSymlinks(t *testing.T) {
	dir := t.TempDir()
	e := file("run.sh", "#!/bin/sh")
	e.mode = 0o750
	_, err := Extract(context.Background(), bytes.NewReader(makeTar(t, file("Dockerfile", dockerfile), e, symlink("l", "/etc/passwd"))), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(filepath.Join(dir, "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o750 || !st.ModTime().Equal(testMtime) {
		t.Errorf("run.sh: mode %v mtime %v, want 0750 and %v", st.Mode(), st.ModTime(), testMtime)
	}
	if target, err := os.Readlink(filepath.Join(dir, "l")); err != nil || target != "/etc/passwd" {
		t.Errorf("l -> %q (%v), want /etc/passwd: symlinks are kept as they are", target, err)
	}
}

func TestExtractRefuses(t *testing.T) {
	big := makeTar(t, file("Dockerfile", dockerfile), file("big", strings.Repeat("x", 64<<10)))
	tests := []struct {
		name    string
		stream  []byte
		opts    Options
		wantErr string
	}{
		{"dot-dot entry", makeTar(t, file("Dockerfile", dockerfile), file("../evil", "x")), Options{}, `archive entry "../evil": path escapes the archive`},
		{"dot-dot inside an entry", makeTar(t, file("a/../../evil", "x")), Options{}, `archive entry "a/../../evil": path escapes the archive`},
		{"absolute entry", makeTar(t, file("/etc/evil", "x")), Options{}, `archive entry "/etc/evil": absolute path`},
		{"hard link outside", makeTar(t, entry{name: "l", typ: tar.TypeLink, link: "../../etc/shadow"}), Options{}, `archive entry "l": link target "../../etc/shadow": path escapes the archive`},
		{"write through a symlink", makeTar(t, symlink("d", "/etc"), file("d/evil", "x")), Options{}, `archive entry "d/evil": write through symlink`},
		{"device", makeTar(t, entry{name: "null", typ: tar.TypeChar}), Options{}, `archive entry "null": device nodes are not allowed`},
		{"limit", big, Options{Limit: 32 << 10}, "build context is larger than the limit of 32768 bytes"},
		{"limit in MB, compressed", gzipped(t, makeTar(t, file("big", strings.Repeat("x", 3<<20)))), Options{Limit: 2 << 20}, "build context is larger than the limit of 2 MB"},
		{"bare Dockerfile over the limit", []byte(dockerfile), Options{Limit: 5}, "build context is larger than the limit of 5 bytes"},
		{"missing Dockerfile", makeTar(t, file("main.go", "x")), Options{}, "Cannot locate specified Dockerfile: Dockerfile"},
		{"missing -f", makeTar(t, file("Dockerfile", dockerfile)), Options{Dockerfile: "sub/Dockerfile"}, "Cannot locate specified Dockerfile: sub/Dockerfile"},
		{"-f outside", makeTar(t, file("Dockerfile", dockerfile)), Options{Dockerfile: "../Dockerfile"}, "forbidden path outside the build context: ../Dockerfile"},
		{"-f through a symlink outside", makeTar(t, symlink("Dockerfile", "../../../etc/hostname")), Options{}, "forbidden path outside the build context: Dockerfile"},
		{"-f a directory", makeTar(t, dir("Dockerfile/")), Options{}, "Dockerfile is not a regular file"},
		{"empty Dockerfile", makeTar(t, file("Dockerfile", "\n")), Options{}, "the Dockerfile (Dockerfile) cannot be empty"},
		{"empty stream", nil, Options{}, "the Dockerfile (Dockerfile) cannot be empty"},
		{"corrupt gzip", gzipped(t, []byte("not a tar at all"))[:12], Options{}, "truncated or corrupt archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "context")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Extract(context.Background(), bytes.NewReader(tt.stream), dir, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Extract error = %v, want one containing %q", err, tt.wantErr)
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %q is not classed as errdefs.ErrInvalidArgument", err)
			}
			if got := listTree(t, base); len(got) == 0 || got[0] != "context" || slices.ContainsFunc(got, func(n string) bool { return !strings.HasPrefix(n, "context") }) {
				t.Errorf("written outside the context directory: %q", got)
			}
		})
	}
}

func TestExtractAppliesDockerignore(t *testing.T) {
	tests := []struct {
		name   string
		ignore string
		files  []entry
		want   []string
	}{
		{
			name:   "exclusions",
			ignore: "# comment\n*.log\n/secret\nnode_modules\n",
			files:  []entry{file("a.log", "x"), file("sub/b.log", "x"), file("secret", "x"), file("sub/secret", "x"), file("node_modules/m/index.js", "x"), file("main.go", "x")},
			want:   []string{".dockerignore", "Dockerfile", "main.go", "sub", "sub/b.log", "sub/secret"},
		},
		{
			name:   "exceptions",
			ignore: "docs\n!docs/README.md\n**/*.tmp\n!keep.tmp\n",
			files:  []entry{file("docs/README.md", "x"), file("docs/guide.md", "x"), file("docs/img/a.png", "x"), file("x.tmp", "x"), file("deep/y.tmp", "x"), file("keep.tmp", "x")},
			want:   []string{".dockerignore", "Dockerfile", "deep", "docs", "docs/README.md", "keep.tmp"},
		},
		{
			name:   "the Dockerfile and .dockerignore are read even when excluded",
			ignore: "Dockerfile\n.dockerignore\n",
			files:  []entry{file("app", "x")},
			want:   []string{"app"},
		},
		{
			name:   "everything but",
			ignore: "*\n!src\n",
			files:  []entry{file("src/a", "x"), file("src/b/c", "x"), file("other", "x")},
			want:   []string{"src", "src/a", "src/b", "src/b/c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := append([]entry{file("Dockerfile", dockerfile)}, tt.files...)
			entries = append(entries, file(".dockerignore", tt.ignore)) // last: the filter cannot be applied while streaming
			dir := t.TempDir()
			c, err := Extract(context.Background(), bytes.NewReader(makeTar(t, entries...)), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := listTree(t, dir); !slices.Equal(got, tt.want) {
				t.Errorf("context holds %q, want %q", got, tt.want)
			}
			if string(c.Dockerfile) != dockerfile {
				t.Errorf("Dockerfile = %q, want %q", c.Dockerfile, dockerfile)
			}
		})
	}
}
