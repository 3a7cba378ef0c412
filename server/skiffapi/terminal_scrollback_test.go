package skiffapi

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// A reader that joins gets what is kept, the last size bytes at most, then
// what follows.
func TestScrollbackReplaysWhatItKeeps(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		written []string
		want    string
	}{
		{"nothing yet", 8, nil, ""},
		{"less than the ring", 8, []string{"abc", "de"}, "abcde"},
		{"exactly the ring", 8, []string{"abcdefgh"}, "abcdefgh"},
		{"wrapped around", 8, []string{"abcdef", "ghijk"}, "defghijk"},
		{"one write larger than the ring", 4, []string{"abcdefghij"}, "ghij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScrollback(tt.size, nil)
			for _, w := range tt.written {
				if _, err := s.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			r := s.newReader()
			replay := make([]byte, len(tt.want))
			if _, err := io.ReadFull(r, replay); err != nil {
				t.Fatal(err)
			}
			s.Write([]byte("+"))
			s.end()
			rest, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(replay) + string(rest); got != tt.want+"+" {
				t.Errorf("read %q, want %q", got, tt.want+"+")
			}
		})
	}
}

// A writer waits while a reader is a whole ring behind, and goes on as it
// reads: nothing is lost, and the ring never holds more than its size.
func TestScrollbackWriterWaitsForASlowReader(t *testing.T) {
	const size = 16
	full := make(chan int, 1)
	var s *scrollback
	s = newScrollback(size, func() {
		select {
		case full <- len(s.buf) - s.room(): // s.mu is held
		default:
		}
	})
	r := s.newReader()
	data := []byte(strings.Repeat("0123456789", 10))
	wrote := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		s.end()
		wrote <- err
	}()

	if held := <-full; held != size {
		t.Errorf("the writer waited with %d bytes held, want %d", held, size)
	}
	var got bytes.Buffer
	buf := make([]byte, 5)
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if held := s.held(); held > size {
			t.Fatalf("the ring holds %d bytes for the reader, more than its %d", held, size)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Errorf("read %q, want %q", got.Bytes(), data)
	}
}

// A reader that leaves frees the writer waiting for it; with no reader the
// ring overwrites its oldest bytes.
func TestScrollbackReaderCloseFreesTheWriter(t *testing.T) {
	full := make(chan struct{}, 1)
	s := newScrollback(4, func() {
		select {
		case full <- struct{}{}:
		default:
		}
	})
	r := s.newReader()
	wrote := make(chan error, 1)
	go func() {
		_, err := s.Write([]byte("abcdefgh"))
		wrote <- err
	}()
	<-full
	r.Close()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, errReaderClosed) {
		t.Errorf("read after Close: %v, want errReaderClosed", err)
	}
	s.end()
	if got, _ := io.ReadAll(s.newReader()); string(got) != "efgh" {
		t.Errorf("kept %q, want %q", got, "efgh")
	}
}

// After the end, writers fail at once, also one waiting for room.
func TestScrollbackEndFailsWriters(t *testing.T) {
	full := make(chan struct{}, 1)
	s := newScrollback(4, func() {
		select {
		case full <- struct{}{}:
		default:
		}
	})
	s.newReader() // never reads
	wrote := make(chan error, 1)
	go func() {
		_, err := s.Write([]byte("abcdefgh"))
		wrote <- err
	}()
	<-full
	s.end()
	if err := <-wrote; !errors.Is(err, errSessionClosed) {
		t.Errorf("waiting write: %v, want errSessionClosed", err)
	}
	if _, err := s.Write([]byte("x")); !errors.Is(err, errSessionClosed) {
		t.Errorf("write after the end: %v, want errSessionClosed", err)
	}
}
