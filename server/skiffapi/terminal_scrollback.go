package skiffapi

import (
	"errors"
	"io"
	"sync"
)

// scrollbackSize is how much of an exec session's output the server keeps
// for a reconnect's replay. It is also how far a websocket may fall behind
// before the process is made to wait: the one bound on what the server holds
// for a terminal.
const scrollbackSize = 256 << 10

var (
	errSessionClosed = errors.New("the terminal session was closed")
	errReaderClosed  = errors.New("scrollback reader closed")
)

// scrollback is a terminal's recent output in a fixed ring, read by each
// websocket at its own offset. A reader that joins starts with what is kept
// (the replay) and goes on with live output, nothing lost or repeated in
// between.
//
// The ring is also every reader's write queue: Write waits while a reader is
// a whole ring behind, so a slow browser slows the process (whose writes to
// its pty then block) instead of growing the server's memory or losing
// bytes. With no reader, old output is overwritten.
type scrollback struct {
	mu      sync.Mutex
	buf     []byte
	total   int64 // bytes written since the start; buf holds the last min(total, len(buf))
	readers map[*scrollReader]struct{}
	ended   bool          // no more output: readers drain, then read io.EOF
	changed chan struct{} // closed and replaced whenever a waiter may go on
	// onFull, if set, is called (with mu held) each time Write waits for a
	// reader: tests watch the back-pressure with it.
	onFull func()
}

func newScrollback(size int, onFull func()) *scrollback {
	return &scrollback{
		buf:     make([]byte, size),
		readers: map[*scrollReader]struct{}{},
		changed: make(chan struct{}),
		onFull:  onFull,
	}
}

// Write appends p, waiting while a reader is a whole ring behind. It fails
// with errSessionClosed once the scrollback has ended.
func (s *scrollback) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		s.mu.Lock()
		room := s.room()
		for room == 0 && !s.ended {
			if s.onFull != nil {
				s.onFull()
			}
			s.waitLocked()
			room = s.room()
		}
		if s.ended {
			s.mu.Unlock()
			return written, errSessionClosed
		}
		n := min(room, len(p))
		s.put(p[:n])
		s.wakeLocked()
		s.mu.Unlock()
		p = p[n:]
		written += n
	}
	return written, nil
}

// end marks the end of the output: readers get what is left, then io.EOF,
// and further writes fail.
func (s *scrollback) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	s.wakeLocked()
}

// held is how far the slowest reader is behind: what the ring holds that
// someone still has to read (0 with no reader).
func (s *scrollback) held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf) - s.room()
}

// newReader returns a reader that starts with the output kept.
func (s *scrollback) newReader() *scrollReader {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &scrollReader{s: s, off: max(0, s.total-int64(len(s.buf)))}
	s.readers[r] = struct{}{}
	return r
}

// room is how many bytes may be written without overwriting what a reader
// has yet to read.
func (s *scrollback) room() int {
	oldest := s.total
	for r := range s.readers {
		oldest = min(oldest, r.off)
	}
	return len(s.buf) - int(s.total-oldest)
}

// put copies p (at most the room) after the last byte, wrapping around.
func (s *scrollback) put(p []byte) {
	at := int(s.total % int64(len(s.buf)))
	n := copy(s.buf[at:], p)
	copy(s.buf, p[n:])
	s.total += int64(len(p))
}

// waitLocked releases mu until the next change, then takes it again.
func (s *scrollback) waitLocked() {
	wait := s.changed
	s.mu.Unlock()
	<-wait
	s.mu.Lock()
}

func (s *scrollback) wakeLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// scrollReader reads a scrollback from its own offset.
type scrollReader struct {
	s      *scrollback
	off    int64
	closed bool
}

// Read waits for output past the reader's offset and copies what it can. It
// returns io.EOF once the output has ended and was all read, and
// errReaderClosed after Close.
func (r *scrollReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for r.off == s.total && !s.ended && !r.closed {
		s.waitLocked()
	}
	switch {
	case r.closed:
		return 0, errReaderClosed
	case r.off == s.total:
		return 0, io.EOF
	}
	at := int(r.off % int64(len(s.buf)))
	n := int(min(int64(len(p)), s.total-r.off))
	k := copy(p[:n], s.buf[at:])
	copy(p[k:n], s.buf)
	r.off += int64(n)
	s.wakeLocked() // a writer may be waiting for this room
	return n, nil
}

// Close stops the reader, waking a Read in progress; the writer no longer
// waits for it.
func (r *scrollReader) Close() error {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	r.closed = true
	delete(s.readers, r)
	s.wakeLocked()
	return nil
}
