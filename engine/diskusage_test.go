package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestDirSizeCountsFilesOnceAndNotDirectories(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", 1000)
	write("sub/deeper/b", 234)
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "sub", "a-again")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/deeper/b", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	want := int64(1000 + 234 + len("sub/deeper/b")) // a symlink's size is its target's length

	sizes, err := dirSizes(context.Background(), []string{dir, filepath.Join(dir, "sub"), filepath.Join(dir, "gone")})
	if err != nil {
		t.Fatal(err)
	}
	if sizes[0] != want || sizes[1] != 1234 || sizes[2] != 0 {
		t.Errorf("sizes %v; want [%d 1234 0] (a hard link counted once, a missing directory empty)", sizes, want)
	}
}

func TestDirSizesStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dirSizes(ctx, []string{t.TempDir()}); err == nil {
		t.Error("a cancelled measure succeeded")
	}
}

func TestLayerGraphWalksAChainDownToItsBase(t *testing.T) {
	g := layerGraph{
		"sha256:base": {size: 10},
		"sha256:mid":  {parent: "sha256:base", size: 20},
		"sha256:top":  {parent: "sha256:mid", size: 30},
	}
	var seen []digest.Digest
	g.walk("sha256:top", func(id digest.Digest) { seen = append(seen, id) })
	if len(seen) != 3 || seen[0] != "sha256:top" || seen[2] != "sha256:base" {
		t.Errorf("walked %v", seen)
	}
	seen = nil
	g.walk("", func(id digest.Digest) { seen = append(seen, id) })
	g.walk("sha256:unknown", func(id digest.Digest) { seen = append(seen, id) })
	if len(seen) != 0 {
		t.Errorf("an image without layers or with an unknown layer walked %v", seen)
	}
}
