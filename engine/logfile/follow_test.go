package logfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// follow runs Read with Follow in the background. Entries arrive on the
// returned channel; Read's result on the other when it ends.
func follow(ctx context.Context, t *testing.T, path string, cfg ReadConfig, done func() bool) (<-chan Entry, <-chan error) {
	t.Helper()
	cfg.Follow = true
	entries := make(chan Entry, 100)
	result := make(chan error, 1)
	go func() {
		defer close(entries)
		result <- Read(ctx, path, cfg, done, func(e Entry) error {
			select {
			case entries <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return entries, result
}

// watchDone returns a done function for Read reporting exited, and a
// channel closed at its first call. Read calls done first when it has read
// what was there: from then on, what is written is new.
func watchDone(exited *atomic.Bool) (done func() bool, following <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return func() bool {
		once.Do(func() { close(ch) })
		return exited.Load()
	}, ch
}

// expect receives entries and compares their lines with want.
func expect(t *testing.T, entries <-chan Entry, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case e, ok := <-entries:
			if !ok {
				t.Fatalf("Read ended, want %q", w)
			}
			if string(e.Line) != w {
				t.Fatalf("entry %q, want %q", e.Line, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no entry after 5s, want %q", w)
		}
	}
}

// result waits for Read to end, failing the test on any further entry, and
// returns its error.
func result(t *testing.T, entries <-chan Entry, result <-chan error) error {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-entries:
			if !ok { // Read has returned
				return <-result
			}
			t.Errorf("unexpected entry %q", e.Line)
		case <-timeout:
			t.Fatal("Read still running after 5s")
		}
	}
}

func TestFollow(t *testing.T) {
	tests := []struct {
		name  string
		tail  int
		want  []string // of the lines written before Read
		start bool     // whether the log exists when Read starts
	}{
		{"all", -1, []string{"1\n", "2\n"}, true},
		{"tail 1", 1, []string{"2\n"}, true},
		{"tail 0", 0, nil, true},
		{"log created later", -1, nil, false},
		// Without a directory to watch, the follower polls.
		{"directory created later", -1, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := logPath(t)
			if tt.name == "directory created later" {
				path = filepath.Join(t.TempDir(), "later", "container-json.log")
			}
			var w *Writer
			if tt.start {
				w = newTestWriter(t, WriterConfig{Path: path}, time.Hour)
				write(t, w.Stream("stdout"), "1\n", "2\n")
			}
			var exited atomic.Bool
			done, following := watchDone(&exited)
			entries, res := follow(t.Context(), t, path, ReadConfig{Tail: tt.tail, Stdout: true}, done)
			expect(t, entries, tt.want...)
			<-following

			if w == nil {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				w = newTestWriter(t, WriterConfig{Path: path}, time.Hour)
			}
			write(t, w.Stream("stdout"), "3\n")
			expect(t, entries, "3\n")
			write(t, w.Stream("stderr"), "not followed\n")
			write(t, w.Stream("stdout"), "4\npartial")
			expect(t, entries, "4\n")

			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			exited.Store(true)
			expect(t, entries, "partial")
			if err := result(t, entries, res); err != nil {
				t.Errorf("Read = %v, want nil once done", err)
			}
		})
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
	write(t, w.Stream("stdout"), "1\n")
	ctx, cancel := context.WithCancel(t.Context())
	entries, res := follow(ctx, t, path, ReadConfig{Tail: -1, Stdout: true}, nil)
	expect(t, entries, "1\n")
	cancel()
	if err := result(t, entries, res); !errors.Is(err, context.Canceled) {
		t.Errorf("Read = %v, want %v", err, context.Canceled)
	}
}

func TestFollowEndsAtUntil(t *testing.T) {
	path := logPath(t)
	w := newTestWriter(t, WriterConfig{Path: path}, time.Hour)
	write(t, w.Stream("stdout"), "1\n")
	until := time.Now().Add(300 * time.Millisecond)
	entries, res := follow(t.Context(), t, path, ReadConfig{Tail: -1, Until: until, Stdout: true}, nil)
	expect(t, entries, "1\n")
	if err := result(t, entries, res); err != nil {
		t.Errorf("Read = %v, want nil after Until", err)
	}
	if time.Now().Before(until) {
		t.Errorf("Read ended before Until")
	}
}

// TestFollowAcrossRotations has a writer write numbered lines into a log
// that rotates every dozen records while a follower reads: the follower must
// see every line once, in order. A follower cannot fall more than
// MaxFiles-1 rotations behind without losing lines, so where files are
// removed the writer waits for the follower to stay within a file's worth.
func TestFollowAcrossRotations(t *testing.T) {
	const lines = 5000
	tests := []struct {
		name     string
		maxFiles int
		lead     int // lines the writer may be ahead of the follower; 0 = any
	}{
		{"files kept", 1000, 0},
		{"three files", 3, 10},
		{"one file", 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := logPath(t)
			w := newTestWriter(t, WriterConfig{Path: path, MaxSize: 1 << 10, MaxFiles: tt.maxFiles}, time.Hour)
			var seen atomic.Int64
			var exited atomic.Bool
			go func() {
				defer exited.Store(true)
				defer w.Close()
				out := w.Stream("stdout")
				for i := 1; i <= lines; i++ {
					for tt.lead > 0 && int64(i)-seen.Load() > int64(tt.lead) {
						time.Sleep(10 * time.Microsecond)
					}
					fmt.Fprintf(out, "%d\n", i)
				}
			}()

			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err := Read(ctx, path, ReadConfig{Tail: -1, Follow: true, Stdout: true}, exited.Load, func(e Entry) error {
				want := seen.Load() + 1
				if got, _ := strconv.Atoi(string(e.Line[:len(e.Line)-1])); int64(got) != want {
					return fmt.Errorf("line %q, want %d", e.Line, want)
				}
				seen.Store(want)
				return nil
			})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if n := seen.Load(); n != lines {
				t.Errorf("saw %d lines, want %d", n, lines)
			}
			if err := w.Err(); err != nil {
				t.Errorf("writer: %v", err)
			}
		})
	}
}

func TestFollowRecordBeingWritten(t *testing.T) {
	// Read starts while a record is half written: with tail 0, that record
	// is new, and is delivered once complete.
	path := logPath(t)
	rec := appendRecord(nil, "stdout", []byte("2\n"), time.Now())
	writeRecords(t, path, Entry{Stream: "stdout", Line: []byte("1\n"), Time: time.Now()}, string(rec[:10]))

	var exited atomic.Bool
	done, following := watchDone(&exited)
	entries, res := follow(t.Context(), t, path, ReadConfig{Tail: 0, Stdout: true}, done)
	<-following
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(rec[10:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	expect(t, entries, "2\n")
	exited.Store(true)
	if err := result(t, entries, res); err != nil {
		t.Errorf("Read = %v", err)
	}
}
