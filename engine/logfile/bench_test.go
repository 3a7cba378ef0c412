package logfile

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

// line80 is an 80-byte line of output.
var line80 = append(bytes.Repeat([]byte("x"), 79), '\n')

// BenchmarkWrite measures writing 80-byte lines, one per Write as from a
// line-buffered program, and 32 KiB at a time as from a busy pipe.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name  string
		lines int // per Write
	}{
		{"line", 1},
		{"32KiB", 32 << 10 / len(line80)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			chunk := bytes.Repeat(line80, bc.lines)
			w := newTestWriter(b, WriterConfig{Path: logPath(b), MaxSize: 10 << 20, MaxFiles: 3}, time.Hour)
			out := w.Stream("stdout")
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				out.Write(chunk)
			}
			b.StopTimer()
			if err := w.Err(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkTail measures reading the last 100 lines of a 30 MB log.
func BenchmarkTail(b *testing.B) {
	path := bigLog(b)
	cfg := ReadConfig{Tail: 100, Stdout: true, Stderr: true}
	b.ReportAllocs()
	for b.Loop() {
		if n := countEntries(b, path, cfg); n != 100 {
			b.Fatalf("%d entries, want 100", n)
		}
	}
}

// BenchmarkReadAll measures reading all of a 30 MB log, for comparison.
func BenchmarkReadAll(b *testing.B) {
	path := bigLog(b)
	b.ReportAllocs()
	for b.Loop() {
		countEntries(b, path, all)
	}
}

// bigLog writes a log of 30 MB in 10 MiB files, all of them kept.
func bigLog(b *testing.B) string {
	b.Helper()
	path := logPath(b)
	w := newTestWriter(b, WriterConfig{Path: path, MaxSize: 10 << 20, MaxFiles: 4}, time.Hour)
	chunk := bytes.Repeat(line80, 32<<10/len(line80))
	for size := int64(0); size < 30e6; size = totalSize(b, path) {
		for range 100 {
			w.Stream("stdout").Write(chunk)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// totalSize returns the size of the files of the log at path.
func totalSize(b *testing.B, path string) int64 {
	b.Helper()
	names, err := chainNames(path)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	return size
}

// countEntries reads the log and returns the number of entries.
func countEntries(b *testing.B, path string, cfg ReadConfig) int {
	n := 0
	err := Read(context.Background(), path, cfg, nil, func(Entry) error {
		n++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
