package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzApply feeds arbitrary bytes to Apply and checks that nothing appears
// outside the layer directory, whatever the input. The seeds are hostile
// layers that aim at the sibling "victim" directory; with no -fuzz flag they
// run as an ordinary test.
func FuzzApply(f *testing.F) {
	seeds := [][]tarEntry{
		{file("a", "x"), dir("d"), symlink("d/s", "../a"), hardlink("h", "a")},
		{file("../victim/pwn", "x")},
		{file("/victim/pwn", "x")},
		{symlink("v", "../victim"), file("v/pwn", "x")},
		{symlink("v", "../victim"), dir("v/d")},
		{symlink("v", "../victim"), file("v/.wh.hello", "")},
		{symlink("v", "../victim"), file("v/.wh..wh..opq", "")},
		{symlink("v", "../victim"), hardlink("h", "v/hello")},
		{hardlink("h", "../victim/hello")},
		{hardlink("h", "/../victim/hello")},
		{dir("d"), file("d/f", "x"), file("d", "x"), symlink("d", "../victim"), file("d/g", "x")},
		{file(".wh..", ""), file(".wh...", "")},
		{device(tar.TypeChar, "dev/null", 1, 3), device(tar.TypeBlock, "dev/bad", maxDevMajor+1, 0)},
	}
	for _, entries := range seeds {
		f.Add(makeTar(f, entries...))
	}
	f.Add([]byte("garbage"))

	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		// A sparse entry can declare terabytes of holes in a few bytes.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		Apply(ctx, s.layer, bytes.NewReader(data)) // errors are fine; escapes are not
		s.checkUntouched(t)
	})
}
