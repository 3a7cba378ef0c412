package copier

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

func TestMatch(t *testing.T) {
	src, _ := contextRoot(t, map[string]string{
		"a.txt": "a", "b.txt": "b", "c.md": "c", "[x].txt": "x", "star*": "s",
		"dir/one.go": "1", "dir/two.go": "2", "dir/sub/three.go": "3",
		"other/one.go": "1", "link.txt": "-> a.txt", "linkdir": "-> dir",
	})
	tests := []struct {
		src  string
		want []string
	}{
		{"a.txt", []string{"a.txt"}},
		{"/a.txt", []string{"a.txt"}},
		{"./dir/", []string{"dir"}},
		{".", []string{"."}},
		{"*.txt", []string{"[x].txt", "a.txt", "b.txt", "link.txt"}},
		{"?.md", []string{"c.md"}},
		{"[ab].txt", []string{"a.txt", "b.txt"}},
		{"\\[x\\].tx?", []string{"[x].txt"}},
		{"sta?\\*", []string{"star*"}},
		// As in Docker: "[x]" is a wildcard matching "x" (there is no x.txt),
		// and escapes without a wildcard are taken literally.
		{"[x].txt", nil},
		{"star\\*", nil},
		{"*/one.go", []string{"dir/one.go", "other/one.go"}},
		{"dir/*.go", []string{"dir/one.go", "dir/two.go"}},
		{"dir/*", []string{"dir/one.go", "dir/sub", "dir/two.go"}},
		{"*/*/three.go", []string{"dir/sub/three.go"}},
		{"link*", []string{"link.txt", "linkdir"}},
		{"linkdir/one.go", []string{"linkdir/one.go"}}, // a symlink named directly is followed
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := src.Match(tt.src)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Match = %q, want not found", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Match = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMatchNotFound(t *testing.T) {
	ctx, _ := contextRoot(t, map[string]string{"a.txt": "a", "dir/x": "x", "out": "-> ../../../etc"})
	img, _ := rootfs(t, map[string]string{"etc/hosts": "h"})
	tests := []struct {
		root    *Root
		src     string
		wantErr string
	}{
		{ctx, "missing.txt", "file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist"},
		{ctx, "/dir/missing", "file not found in build context or excluded by .dockerignore: stat dir/missing: file does not exist"},
		{ctx, "a.txt/x", "stat a.txt/x: file does not exist"},
		{ctx, "*.go", "file not found in build context or excluded by .dockerignore: stat *.go: file does not exist"},
		{ctx, "nodir/*.go", "stat nodir/*.go: file does not exist"},
		{img, "/etc/missing", "stat etc/missing: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := tt.root.Match(tt.src)
			if err == nil || err.Error() != tt.wantErr && !strings.HasSuffix(err.Error(), tt.wantErr) {
				t.Fatalf("Match = %q, %v; want error %q", got, err, tt.wantErr)
			}
			var nf *NotFoundError
			if !errors.As(err, &nf) || !errors.Is(err, fs.ErrNotExist) || !errdefs.IsNotFound(err) {
				t.Errorf("error %v is not a *NotFoundError matching fs.ErrNotExist and errdefs.ErrNotFound", err)
			}
		})
	}
	if _, err := img.Match("/etc/missing"); strings.Contains(err.Error(), "build context") {
		t.Errorf("rootfs error %q speaks of a build context", err)
	}
}

func TestMatchRefusesPathsOutsideTheContext(t *testing.T) {
	src, _ := contextRoot(t, map[string]string{"a": "a", "out": "-> ../../../../etc", "abs": "-> /etc/hostname"})
	for _, name := range []string{"../a", "out/passwd", "abs"} {
		t.Run(name, func(t *testing.T) {
			got, err := src.Match(name)
			if err == nil || !strings.Contains(err.Error(), "forbidden path outside the build context: ") {
				t.Errorf("Match = %q, %v; want a forbidden path error", got, err)
			}
		})
	}
}
