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
)

// applyAt runs ApplyAt of entries into dir with opts.
func applyAt(t *testing.T, dir string, opts ApplyOptions, entries ...tarEntry) error {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = ApplyAt(context.Background(), f, bytes.NewReader(makeTar(t, entries...)), opts)
	return err
}

func TestApplyAtPlainKeepsWhiteoutsAsFiles(t *testing.T) {
	dir := t.TempDir()
	err := applyAt(t, dir, ApplyOptions{Plain: true},
		file("etc/.wh.hosts", "a"), file("etc/.wh..wh..opq", "b"), file(".wh..wh.plnk/1", "c"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".wh..wh.plnk", ".wh..wh.plnk/1", "etc", "etc/.wh..wh..opq", "etc/.wh.hosts"}
	if got := listTree(t, dir); !slices.Equal(got, want) {
		t.Errorf("unpacked %q, want %q", got, want)
	}
	if v, ok := getXattr(t, filepath.Join(dir, "etc"), overlayOpaque); ok {
		t.Errorf("etc is marked opaque (%q) by a plain archive", v)
	}
}

func TestApplyAtRefusals(t *testing.T) {
	tests := []struct {
		name    string
		opts    ApplyOptions
		entries []tarEntry
		wantErr []string
	}{
		{
			name:    "device in a plain archive without devices",
			opts:    ApplyOptions{Plain: true, NoDevices: true},
			entries: []tarEntry{device(tar.TypeChar, "null", 1, 3)},
			wantErr: []string{`archive entry "null"`, "device nodes are not allowed"},
		},
		{
			name:    "block device",
			opts:    ApplyOptions{NoDevices: true},
			entries: []tarEntry{device(tar.TypeBlock, "sda", 8, 0)},
			wantErr: []string{`layer entry "sda"`, "device nodes are not allowed"},
		},
		{
			name:    "escape named as an archive's",
			opts:    ApplyOptions{Plain: true},
			entries: []tarEntry{file("../x", "x")},
			wantErr: []string{`archive entry "../x"`, "path escapes the archive"},
		},
		{
			name:    "escaping hard link in root mode",
			opts:    ApplyOptions{Plain: true, InRoot: true},
			entries: []tarEntry{hardlink("l", "../../etc/passwd")},
			wantErr: []string{`archive entry "l"`, "path escapes the archive"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := applyAt(t, t.TempDir(), tt.opts, tt.entries...)
			if err == nil {
				t.Fatal("ApplyAt succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %q is not classed as errdefs.ErrInvalidArgument", err)
			}
		})
	}
}

func TestApplyAtInRootFollowsParentSymlinksInside(t *testing.T) {
	s := newSandbox(t)
	// A merged-/usr image: lib is a symlink, and one is absolute and points
	// where the host's directory of the same name would be.
	for _, d := range []string{"usr/lib", "data", s.victim} {
		if err := os.MkdirAll(filepath.Join(s.layer, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"lib": "usr/lib", "abs": "/data", "up": "../../..", "victim": s.victim}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(s.layer, name)); err != nil {
			t.Fatal(err)
		}
	}
	err := applyAt(t, s.layer, ApplyOptions{Plain: true, InRoot: true},
		file("lib/libc.so", "libc"),
		file("abs/new/file", "abs"),
		file("up/usr/lib/up", "up"),
		file("victim/hello", "pwn"), // written where victim resolves in the root: nowhere outside
		symlink("abs/new/link", "/etc"), file("abs/new/link", "replaced"),
	)
	if err != nil {
		t.Fatal(err)
	}
	s.checkUntouched(t)
	for name, want := range map[string]string{
		"usr/lib/libc.so": "libc", "data/new/file": "abs", "usr/lib/up": "up",
		s.victim[1:] + "/hello": "pwn", "data/new/link": "replaced",
	} {
		if got := readFile(t, filepath.Join(s.layer, name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
