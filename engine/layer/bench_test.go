package layer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkApply unpacks a layer of 100 files of 1 MB and 1000 small files,
// reporting throughput in MB/s of file content.
func BenchmarkApply(b *testing.B) {
	big := strings.Repeat("x", 1<<20)
	var entries []tarEntry
	for i := range 100 {
		entries = append(entries, file(fmt.Sprintf("big/%03d", i), big))
	}
	for i := range 1000 {
		entries = append(entries, file(fmt.Sprintf("small/%02d/%04d", i/100, i), "small file content\n"))
	}
	data := makeTar(b, entries...)
	size, err := Apply(context.Background(), b.TempDir(), bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)

	root := b.TempDir()
	i := 0
	for b.Loop() {
		dir := filepath.Join(root, fmt.Sprint(i))
		i++
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(context.Background(), dir, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
