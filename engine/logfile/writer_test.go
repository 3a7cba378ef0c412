package logfile

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestWriterSplitsLines(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   []string // logs of the records, in order
	}{
		{"line per write", []string{"a\n", "b\n"}, []string{"a\n", "b\n"}},
		{"lines per write", []string{"a\nb\nc\n"}, []string{"a\n", "b\n", "c\n"}},
		{"line split across writes", []string{"he", "ll", "o\nwor", "ld\n"}, []string{"hello\n", "world\n"}},
		{"empty lines", []string{"\n\n"}, []string{"\n", "\n"}},
		{"empty write", []string{"", "a\n", ""}, []string{"a\n"}},
		{"carriage return kept", []string{"a\r\n"}, []string{"a\r\n"}},
		{"unterminated at close", []string{"a\nprompt> "}, []string{"a\n", "prompt> "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := logPath(t)
			w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
			write(t, w.Stream("stdout"), tt.writes...)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got := fileRecords(t, path)
			var lines []string
			for _, e := range got {
				lines = append(lines, string(e.Line))
				if e.Stream != "stdout" {
					t.Errorf("stream %q, want stdout", e.Stream)
				}
			}
			if !slices.Equal(lines, tt.want) {
				t.Errorf("records %q, want %q", lines, tt.want)
			}
			if err := w.Err(); err != nil {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

func TestWriterFlushesPartialLineAfterDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path}, delay)
	out := w.Stream("stdout")

	start := time.Now()
	write(t, out, "password: ")
	if got := fileRecords(t, path); len(got) != 0 {
		t.Fatalf("partial line written at once: %q", logs(got))
	}
	waitForRecords(t, path, 1)
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("partial line written after %v, before the %v delay", elapsed, delay)
	}
	write(t, out, "secret\n")
	got := waitForRecords(t, path, 2)
	if want := []string{"stdout:password: ", "stdout:secret\n"}; !slices.Equal(logs(got), want) {
		t.Errorf("records %q, want %q", logs(got), want)
	}
}

// waitForRecords waits until the log file has n records and returns them.
func waitForRecords(t *testing.T, path string, n int) []Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := fileRecords(t, path)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records after 5s, want %d: %q", len(got), n, logs(got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWriterSplitsLongLines(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name   string
		writes []string
		want   []int // lengths of the records' logs
	}{
		{"complete line", []string{a(40000) + "\n"}, []int{16384, 16384, 7233}},
		{"exactly 16 KiB with newline", []string{a(16383) + "\n"}, []int{16384}},
		{"16 KiB without newline", []string{a(16384) + "\n"}, []int{16384, 1}},
		{"partial line grows", []string{a(10000), a(10000), a(20000), "\n"}, []int{16384, 16384, 7233}},
		{"UTF-8 sequence not cut", []string{a(16383) + "é\n"}, []int{16383, 3}},
		{"UTF-8 sequence not cut in partial line", []string{a(16382) + "世", "界\n"}, []int{16382, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := logPath(t)
			w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
			write(t, w.Stream("stdout"), tt.writes...)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var lens []int
			var joined strings.Builder
			for _, e := range fileRecords(t, path) {
				lens = append(lens, len(e.Line))
				joined.Write(e.Line)
			}
			if !slices.Equal(lens, tt.want) {
				t.Errorf("record lengths %v, want %v", lens, tt.want)
			}
			if want := strings.Join(tt.writes, ""); joined.String() != want {
				t.Errorf("records do not add up to what was written")
			}
		})
	}
}

func TestWriterConcurrentStreams(t *testing.T) {
	const lines = 2000
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path, MaxSize: 64 << 10, MaxFiles: 100}, time.Hour)

	var wg sync.WaitGroup
	for _, name := range []string{"stdout", "stderr"} {
		out := w.Stream(name)
		wg.Go(func() {
			for i := range lines {
				// Lines of varying length, each written in three pieces.
				line := fmt.Sprintf("%s %d %s\n", name, i, strings.Repeat("x", i%97))
				a, b := len(line)/3, 2*len(line)/3
				write(t, out, line[:a], line[a:b], line[b:])
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	names, err := chainNames(path)
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, name := range names {
		for _, e := range fileRecords(t, name) { // every line a whole record
			want := fmt.Sprintf("%s %d %s\n", e.Stream, next[e.Stream], strings.Repeat("x", next[e.Stream]%97))
			if string(e.Line) != want {
				t.Fatalf("record %q, want %q", e.Line, want)
			}
			next[e.Stream]++
		}
	}
	if next["stdout"] != lines || next["stderr"] != lines {
		t.Errorf("got %v records per stream, want %d each", next, lines)
	}
}

func TestWriterRotation(t *testing.T) {
	const maxSize = 1 << 10
	tests := []struct {
		name     string
		maxFiles int
		want     []string // files left
	}{
		{"three files", 3, []string{".2", ".1", ""}},
		{"default", 0, []string{".2", ".1", ""}},
		{"one file", 1, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := logPath(t)
			w := newTestWriter(t, WriterConfig{Path: path, MaxSize: maxSize, MaxFiles: tt.maxFiles}, time.Hour)
			out := w.Stream("stdout")
			written := 0
			var n int
			for n = 0; written < 10<<10; n++ {
				line := fmt.Sprintf("line %04d\n", n)
				write(t, out, line)
				written += len(line)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			names, err := chainNames(path)
			if err != nil {
				t.Fatal(err)
			}
			var suffixes []string
			for _, name := range names {
				suffixes = append(suffixes, strings.TrimPrefix(name, path))
				fi, err := os.Stat(name)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Size() > maxSize {
					t.Errorf("%s: %d bytes, above the %d cap", name, fi.Size(), maxSize)
				}
			}
			if !slices.Equal(suffixes, tt.want) {
				t.Errorf("files %q, want %q", suffixes, tt.want)
			}

			got := readAll(t, path, all)
			if len(got) == 0 {
				t.Fatal("no entries")
			}
			for i, e := range got { // the newest lines, in order
				if want := fmt.Sprintf("line %04d\n", n-len(got)+i); string(e.Line) != want {
					t.Fatalf("entry %d: %q, want %q", i, e.Line, want)
				}
			}
		})
	}
}

func TestWriterRotationWaitsForReaders(t *testing.T) {
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path, MaxSize: 100, MaxFiles: 3}, time.Hour)
	out := w.Stream("stdout")
	unlock, err := lockChain(path) // as a reader listing the files
	if err != nil {
		t.Fatal(err)
	}
	write(t, out, "1\n", "2\n", "3\n")
	if names, _ := chainNames(path); len(names) != 1 {
		t.Errorf("rotated while a reader held the lock: %q", names)
	}
	unlock()
	write(t, out, "4\n")
	if names, _ := chainNames(path); len(names) != 2 {
		t.Errorf("files %q after the lock was released, want 2", names)
	}
	if got, want := logs(readAll(t, path, all)), []string{"stdout:1\n", "stdout:2\n", "stdout:3\n", "stdout:4\n"}; !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
}

func TestChainNames(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/c.log"
	for _, name := range []string{"c.log", "c.log.1", "c.log.3", "c.log.10", "c.log.01", "c.log.0", "c.log.x", "c.log.lock", "c.logs", "other"} {
		if err := os.WriteFile(dir+"/"+name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	names, err := chainNames(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{path + ".10", path + ".3", path + ".1", path}; !slices.Equal(names, want) {
		t.Errorf("chainNames = %q, want %q", names, want)
	}
	if names, err := chainNames(dir + "/missing/c.log"); err != nil || len(names) != 0 {
		t.Errorf("chainNames in a missing directory = %q, %v", names, err)
	}
}

func TestWriterRecordAboveMaxSize(t *testing.T) {
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path, MaxSize: 100, MaxFiles: 5}, time.Hour)
	big := strings.Repeat("b", 300) + "\n"
	write(t, w.Stream("stdout"), "a\n", big, "c\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{path + ".2": "a\n", path + ".1": big, path: "c\n"} {
		got := fileRecords(t, name)
		if len(got) != 1 || string(got[0].Line) != want {
			t.Errorf("%s: %q, want the one record %q", name, logs(got), want)
		}
	}
}

func TestWriterAppendsAfterTornRecord(t *testing.T) {
	path := logPath(t)
	first := Entry{Stream: "stdout", Line: []byte("before crash\n"), Time: time.Now()}
	writeRecords(t, path, first, `{"log":"torn`)

	w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
	write(t, w.Stream("stderr"), "after restart\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"stdout:before crash\n", "stderr:after restart\n"}
	if got := logs(readAll(t, path, all)); !slices.Equal(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
}

func TestWriterConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  WriterConfig
	}{
		{"no path", WriterConfig{}},
		{"negative size", WriterConfig{Path: dir + "/log", MaxSize: -1}},
		{"negative files", WriterConfig{Path: dir + "/log", MaxFiles: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWriter(tt.cfg); !errdefs.IsInvalidArgument(err) {
				t.Errorf("NewWriter(%+v) = %v, want an invalid argument error", tt.cfg, err)
			}
		})
	}
	if _, err := NewWriter(WriterConfig{Path: dir + "/missing/log"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewWriter in a missing directory: %v, want not exist", err)
	}
}

func TestWriterWriteAfterClose(t *testing.T) {
	w := newTestWriter(t, WriterConfig{Path: logPath(t)}, time.Hour)
	out := w.Stream("stdout")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	write(t, out, "late\n") // discarded, but the pipeline is not broken
	if err := w.Err(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Err() = %v, want %v", err, os.ErrClosed)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// numbered returns "1\n", "2\n", … "n\n".
func numbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i+1) + "\n"
	}
	return out
}

func TestShiftFiles(t *testing.T) {
	tests := []struct {
		name     string
		ages     []int // files there before, by age
		maxFiles int
		want     map[int]int // age after → age before
	}{
		{"full", []int{2, 1, 0}, 3, map[int]int{2: 1, 1: 0}},
		{"not full", []int{0}, 3, map[int]int{1: 0}},
		{"one file", []int{0}, 1, map[int]int{}},
		{"fewer files kept than before", []int{5, 4, 3, 2, 1, 0}, 3, map[int]int{2: 1, 1: 0}},
		{"gap from an interrupted rotation", []int{3, 1, 0}, 5, map[int]int{4: 3, 2: 1, 1: 0}},
		{"current file missing", []int{2, 1}, 4, map[int]int{3: 2, 2: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := logPath(t)
			for _, n := range tt.ages {
				if err := os.WriteFile(rotatedName(path, n), []byte(strconv.Itoa(n)), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := shiftFiles(path, tt.maxFiles); err != nil {
				t.Fatal(err)
			}
			ages, err := chainAges(path)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int]int{}
			for _, n := range ages {
				data, err := os.ReadFile(rotatedName(path, n))
				if err != nil {
					t.Fatal(err)
				}
				got[n], _ = strconv.Atoi(string(data))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("after shifting: %v, want %v (age after: age before)", got, tt.want)
			}
		})
	}
}
