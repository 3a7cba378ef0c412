package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// sandbox is a layer directory with a victim directory beside it that a
// hostile layer tries to reach.
type sandbox struct {
	base, layer, victim string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	base := t.TempDir()
	s := sandbox{base: base, layer: filepath.Join(base, "layer"), victim: filepath.Join(base, "victim")}
	for _, d := range []string{s.layer, s.victim} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.victim, "hello"), []byte("original"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkUntouched fails the test if anything outside the layer changed.
func (s sandbox) checkUntouched(t testing.TB) {
	t.Helper()
	outside := removeUnder(listTree(t, s.base), "layer")
	if want := []string{"layer", "victim", "victim/hello"}; !slices.Equal(outside, want) {
		t.Errorf("outside the layer: %q, want only %q", outside, want)
	}
	hello := filepath.Join(s.victim, "hello")
	if b, err := os.ReadFile(hello); err != nil || string(b) != "original" {
		t.Errorf("victim/hello = %q, %v; want it untouched", b, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(hello, &st); err == nil && st.Nlink != 1 {
		t.Errorf("victim/hello has %d links: hard linked from the layer", st.Nlink)
	}
}

func removeUnder(names []string, dir string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.HasPrefix(n, dir+"/") })
}

func TestApplyRejectsHostileLayers(t *testing.T) {
	tests := []struct {
		name    string
		tar     func(t testing.TB, s sandbox) []byte // built once the sandbox paths are known
		wantErr []string                             // substrings of the error
	}{
		{
			name:    "dot-dot name",
			tar:     entries(file("../../x", "pwn")),
			wantErr: []string{`layer entry "../../x"`, "path escapes the layer"},
		},
		{
			name:    "dot-dot into sibling",
			tar:     entries(file("../victim/pwn", "pwn")),
			wantErr: []string{`layer entry "../victim/pwn"`, "path escapes the layer"},
		},
		{
			name:    "absolute name",
			tar:     entries(file("/abs/x", "pwn")),
			wantErr: []string{`layer entry "/abs/x"`, "absolute path"},
		},
		{
			name:    "absolute name of victim",
			tar:     func(t testing.TB, s sandbox) []byte { return makeTar(t, file(filepath.Join(s.victim, "pwn"), "pwn")) },
			wantErr: []string{"absolute path"},
		},
		{
			name:    "dot-dot after a directory",
			tar:     entries(file("a/../../victim/pwn", "pwn")),
			wantErr: []string{`layer entry "a/../../victim/pwn"`, "path escapes the layer"},
		},
		{
			name:    "dot-slash dot-dot",
			tar:     entries(file("./../victim/pwn", "pwn")),
			wantErr: []string{`layer entry "./../victim/pwn"`, "path escapes the layer"},
		},
		{
			name:    "NUL in name",
			tar:     func(t testing.TB, _ sandbox) []byte { return tarWithNULInName(t) },
			wantErr: []string{"read layer tar", "truncated or corrupt"},
		},
		{
			name:    "hard link to dot-dot",
			tar:     entries(hardlink("l", "../victim/hello")),
			wantErr: []string{`layer entry "l"`, "path escapes the layer"},
		},
		{
			name:    "hard link to absolute dot-dot",
			tar:     entries(hardlink("l", "/../victim/hello")),
			wantErr: []string{`layer entry "l"`, "path escapes the layer"},
		},
		{
			name: "hard link through symlink",
			tar: func(t testing.TB, s sandbox) []byte {
				return makeTar(t, symlink("v", s.victim), hardlink("l", "v/hello"))
			},
			wantErr: []string{`layer entry "l"`, "write through symlink"},
		},
		{
			name:    "hard link to missing file",
			tar:     entries(hardlink("l", "nothing")),
			wantErr: []string{`layer entry "l"`, `link target "nothing" does not exist`},
		},
		{
			name:    "hard link to itself",
			tar:     entries(file("a", "x"), hardlink("a", "./a")),
			wantErr: []string{`layer entry "a"`, "hard link to itself"},
		},
		{
			name: "file through absolute symlink",
			tar: func(t testing.TB, s sandbox) []byte {
				return makeTar(t, symlink("etc", s.victim), file("etc/passwd", "pwn"))
			},
			wantErr: []string{`layer entry "etc/passwd"`, "write through symlink"},
		},
		{
			name:    "file through relative symlink",
			tar:     entries(symlink("d", "../../.."), file("d/tmp/pwn", "pwn")),
			wantErr: []string{`layer entry "d/tmp/pwn"`, "write through symlink"},
		},
		{
			name:    "file through symlink to sibling",
			tar:     entries(symlink("v", "../victim"), file("v/pwn", "pwn")),
			wantErr: []string{`layer entry "v/pwn"`, "write through symlink"},
		},
		{
			name:    "file through symlink deeper in the path",
			tar:     entries(dir("a"), symlink("a/v", "../../victim"), file("a/v/sub/pwn", "pwn")),
			wantErr: []string{`layer entry "a/v/sub/pwn"`, "write through symlink"},
		},
		{
			name:    "directory through symlink",
			tar:     entries(symlink("v", "../victim"), dir("v/newdir")),
			wantErr: []string{`layer entry "v/newdir"`, "write through symlink"},
		},
		{
			name:    "whiteout through symlink",
			tar:     entries(symlink("v", "../victim"), file("v/.wh.hello", "")),
			wantErr: []string{`layer entry "v/.wh.hello"`, "write through symlink"},
		},
		{
			name:    "opaque marker through symlink",
			tar:     entries(symlink("v", "../victim"), file("v/.wh..wh..opq", "")),
			wantErr: []string{`layer entry "v/.wh..wh..opq"`, "write through symlink"},
		},
		{
			name:    "file under a file",
			tar:     entries(file("a", "x"), file("a/b", "x")),
			wantErr: []string{`layer entry "a/b"`, `"a" is not a directory`},
		},
		{
			name:    "whiteout of nothing",
			tar:     entries(file("a/.wh.", "")),
			wantErr: []string{`layer entry "a/.wh."`, "invalid whiteout"},
		},
		{
			name:    "whiteout of dot",
			tar:     entries(file("a/.wh..", "")),
			wantErr: []string{`layer entry "a/.wh.."`, "invalid whiteout"},
		},
		{
			name:    "whiteout of dot-dot",
			tar:     entries(file("a/.wh...", "")),
			wantErr: []string{`layer entry "a/.wh..."`, "invalid whiteout"},
		},
		{
			name:    "device major out of range",
			tar:     entries(device(tar.TypeChar, "dev/x", maxDevMajor+1, 0)),
			wantErr: []string{`layer entry "dev/x"`, "device number 4096:0 out of range"},
		},
		{
			name:    "device minor out of range",
			tar:     entries(device(tar.TypeBlock, "dev/x", 8, maxDevMinor+1)),
			wantErr: []string{`layer entry "dev/x"`, "device number 8:1048576 out of range"},
		},
		{
			name:    "negative device number",
			tar:     entries(device(tar.TypeChar, "dev/x", -1, 3)),
			wantErr: []string{`layer entry "dev/x"`, "out of range"},
		},
		{
			name:    "unsupported entry type",
			tar:     entries(tarEntry{hdr: tar.Header{Typeflag: tar.TypeCont, Name: "c"}}),
			wantErr: []string{`layer entry "c"`, "unsupported tar entry type"},
		},
		{
			name:    "file replacing the layer root",
			tar:     entries(file(".", "")),
			wantErr: []string{`layer entry "."`, "replace the layer root"},
		},
		{
			name: "truncated archive",
			tar: func(t testing.TB, _ sandbox) []byte {
				data := makeTar(t, file("a", strings.Repeat("x", 4096)))
				return data[:2048]
			},
			wantErr: []string{`layer entry "a"`, "truncated or corrupt archive: unexpected EOF"},
		},
		{
			name:    "garbage",
			tar:     func(t testing.TB, _ sandbox) []byte { return bytes.Repeat([]byte("not a tar "), 100) },
			wantErr: []string{"read layer tar: truncated or corrupt archive"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			_, err := Apply(context.Background(), s.layer, bytes.NewReader(tt.tar(t, s)))
			if err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			t.Log(err)
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %q is not classed as errdefs.ErrInvalidArgument", err)
			}
			s.checkUntouched(t)
		})
	}
}

// entries returns a tar builder for entries that do not depend on the sandbox.
func entries(es ...tarEntry) func(testing.TB, sandbox) []byte {
	return func(t testing.TB, _ sandbox) []byte { return makeTar(t, es...) }
}

// tarWithNULInName returns a tar whose PAX path record holds a NUL, which
// archive/tar refuses to write: a long name forces a PAX record, whose data
// (unlike a header block) has no checksum to fix up.
func tarWithNULInName(t testing.TB) []byte {
	name := "a/" + strings.Repeat("b", 120)
	data := makeTar(t, file(name, "pwn"))
	return bytes.Replace(data, []byte("path="+name), []byte("path=a/\x00../"+name[5:]), 1)
}

func TestApplyReplacesSymlinksNotTheirTargets(t *testing.T) {
	s := newSandbox(t)
	data := makeTar(t,
		symlink("f", filepath.Join(s.victim, "hello")), file("f", "own"),
		symlink("d", s.victim), dir("d"), file("d/hello", "own"),
		symlink("w", filepath.Join(s.victim, "hello")), file(".wh.w", ""),
		symlink("s", filepath.Join(s.victim, "hello")), hardlink("l", "s"),
	)
	if _, err := Apply(context.Background(), s.layer, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	s.checkUntouched(t)
	if target, err := os.Readlink(filepath.Join(s.layer, "l")); err != nil || target != filepath.Join(s.victim, "hello") {
		t.Errorf("hard link to a symlink: l = %q, %v; want the symlink itself", target, err)
	}
}

func TestCleanNameRejectsNUL(t *testing.T) {
	if _, err := cleanName("a\x00b", "layer"); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("cleanName with NUL: err = %v, want one mentioning NUL", err)
	}
	if _, err := cleanLinkTarget("a\x00b", "layer"); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("cleanLinkTarget with NUL: err = %v, want one mentioning NUL", err)
	}
}

func TestCleanNameAcceptsHarmlessForms(t *testing.T) {
	tests := map[string]string{
		"./a/b": "a/b", "a/b/": "a/b", "a//b": "a/b", "a/../b": "b", "./": ".", "": ".",
	}
	for in, want := range tests {
		if got, err := cleanName(in, "layer"); err != nil || got != want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
