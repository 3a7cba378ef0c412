package logfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

func TestRead(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	entry := func(i int, stream string) Entry {
		return Entry{Stream: stream, Line: fmt.Appendf(nil, "%d\n", i), Time: at(i)}
	}
	// Entries 1–3 in the rotated file, 4–6 in the current one, with a
	// damaged line in between and a torn record at the end.
	path := logPath(t)
	writeRecords(t, path+".1", entry(1, "stdout"), entry(2, "stderr"), entry(3, "stdout"))
	writeRecords(t, path, entry(4, "stderr"), "not json\n", entry(5, "stdout"), entry(6, "stderr"), `{"log":"7\n","str`)

	tests := []struct {
		name string
		cfg  ReadConfig
		want []string
	}{
		{"all", all, []string{"stdout:1\n", "stderr:2\n", "stdout:3\n", "stderr:4\n", "stdout:5\n", "stderr:6\n"}},
		{"tail 0", ReadConfig{Tail: 0, Stdout: true, Stderr: true}, nil},
		{"tail 2", ReadConfig{Tail: 2, Stdout: true, Stderr: true}, []string{"stdout:5\n", "stderr:6\n"}},
		{"tail across rotation", ReadConfig{Tail: 4, Stdout: true, Stderr: true}, []string{"stdout:3\n", "stderr:4\n", "stdout:5\n", "stderr:6\n"}},
		{"tail beyond start", ReadConfig{Tail: 100, Stdout: true, Stderr: true}, []string{"stdout:1\n", "stderr:2\n", "stdout:3\n", "stderr:4\n", "stdout:5\n", "stderr:6\n"}},
		{"stdout", ReadConfig{Tail: -1, Stdout: true}, []string{"stdout:1\n", "stdout:3\n", "stdout:5\n"}},
		{"stderr", ReadConfig{Tail: -1, Stderr: true}, []string{"stderr:2\n", "stderr:4\n", "stderr:6\n"}},
		{"tail of stdout", ReadConfig{Tail: 2, Stdout: true}, []string{"stdout:3\n", "stdout:5\n"}},
		{"since", ReadConfig{Tail: -1, Since: at(3), Stdout: true, Stderr: true}, []string{"stdout:3\n", "stderr:4\n", "stdout:5\n", "stderr:6\n"}},
		{"until", ReadConfig{Tail: -1, Until: at(2), Stdout: true, Stderr: true}, []string{"stdout:1\n", "stderr:2\n"}},
		{"since and until", ReadConfig{Tail: -1, Since: at(2), Until: at(4), Stdout: true, Stderr: true}, []string{"stderr:2\n", "stdout:3\n", "stderr:4\n"}},
		{"tail with until", ReadConfig{Tail: 2, Until: at(4), Stdout: true, Stderr: true}, []string{"stdout:3\n", "stderr:4\n"}},
		{"tail with since", ReadConfig{Tail: 3, Since: at(5), Stdout: true, Stderr: true}, []string{"stdout:5\n", "stderr:6\n"}},
		{"since after the end", ReadConfig{Tail: -1, Since: at(7), Stdout: true, Stderr: true}, nil},
		{"until before the start", ReadConfig{Tail: 2, Until: at(0), Stdout: true, Stderr: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, path, tt.cfg)
			if !slices.Equal(logs(got), tt.want) {
				t.Errorf("entries %q, want %q", logs(got), tt.want)
			}
			for _, e := range got {
				if want := at(int(e.Line[0] - '0')); !e.Time.Equal(want) {
					t.Errorf("entry %q: time %v, want %v", e.Line, e.Time, want)
				}
			}
		})
	}
}

func TestReadMissingLog(t *testing.T) {
	if got := readAll(t, logPath(t), all); len(got) != 0 {
		t.Errorf("entries %q from a missing log", logs(got))
	}
}

func TestReadNeedsAStream(t *testing.T) {
	err := Read(context.Background(), logPath(t), ReadConfig{Tail: -1}, nil, func(Entry) error { return nil })
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("Read without streams: %v, want an invalid argument error", err)
	}
}

func TestReadStopsAtCallbackError(t *testing.T) {
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
	write(t, w.Stream("stdout"), numbered(10)...)
	stop := errors.New("client gone")
	calls := 0
	err := Read(context.Background(), path, all, nil, func(Entry) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Read = %v after %d calls, want %v after 3", err, calls, stop)
	}
}

func TestReadLongRecords(t *testing.T) {
	// Control characters take six bytes escaped: records of ~100 KiB, larger
	// than a reader's chunk.
	long := func(c byte) string { return strings.Repeat(string(c), maxRecordLog-1) + "\n" }
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
	write(t, w.Stream("stdout"), long(1), long(2), long(3), long(4))
	for _, tail := range []int{-1, 1, 2, 4} {
		t.Run(fmt.Sprint("tail ", tail), func(t *testing.T) {
			got := readAll(t, path, ReadConfig{Tail: tail, Stdout: true})
			first := 1
			if tail > 0 {
				first = 5 - tail
			}
			if len(got) != 5-first {
				t.Fatalf("%d entries, want %d", len(got), 5-first)
			}
			for i, e := range got {
				if want := long(byte(first + i)); string(e.Line) != want {
					t.Errorf("entry %d: %d bytes starting %q, want %q", i, len(e.Line), e.Line[0], want[0])
				}
			}
		})
	}
}

func TestLineScanners(t *testing.T) {
	huge := strings.Repeat("h", maxLine+10)
	tests := []struct {
		name string
		data string
		want []string // complete lines, over-long ones skipped
	}{
		{"empty", "", nil},
		{"no newline", "abc", nil},
		{"one line", "abc\n", []string{"abc"}},
		{"torn end", "a\nb\nc", []string{"a", "b"}},
		{"empty lines", "\n\na\n\n", []string{"", "", "a", ""}},
		{"line longer than a chunk", "a\n" + strings.Repeat("x", 3*readChunk+5) + "\nb\n", []string{"a", strings.Repeat("x", 3*readChunk+5), "b"}},
		{"over-long line", "a\n" + huge + "\nb\n", []string{"a", "b"}},
		{"over-long first line", huge + "\nb\n", []string{"b"}},
		{"over-long torn end", "a\n" + huge, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := logPath(t)
			if err := os.WriteFile(name, []byte(tt.data), 0o640); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()

			var forward []string
			lr := newLineReader(f, 0, -1)
			for {
				line, ok, err := lr.next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				forward = append(forward, string(line))
			}
			if !slices.Equal(forward, tt.want) {
				t.Errorf("forward: %d lines %.40q, want %d %.40q", len(forward), forward, len(tt.want), tt.want)
			}

			var backward []string
			s := newBackScanner(f, int64(len(tt.data)))
			for {
				line, off, ok, err := s.prev()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if !bytes.Equal([]byte(tt.data[off:off+int64(len(line))]), line) {
					t.Errorf("line %.20q reported at offset %d", line, off)
				}
				backward = append(backward, string(line))
			}
			slices.Reverse(backward)
			if !slices.Equal(backward, tt.want) {
				t.Errorf("backward: %d lines %.40q, want %d %.40q", len(backward), backward, len(tt.want), tt.want)
			}
		})
	}
}

func TestLineReaderResumes(t *testing.T) {
	name := logPath(t)
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lr := newLineReader(f, 0, -1)
	var got []string
	for _, chunk := range []string{"a\nb", "", "c\n", "d\n\n"} {
		if _, err := f.WriteString(chunk); err != nil {
			t.Fatal(err)
		}
		for {
			line, ok, err := lr.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, string(line))
		}
	}
	if want := []string{"a", "bc", "d", ""}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}
