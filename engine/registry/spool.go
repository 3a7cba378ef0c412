package registry

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// spool holds a blob as it downloads, in an unlinked temporary file, and
// lets a reader follow it while it grows: the download never waits for the
// unpacking (so its slot frees as soon as the bytes are in, as Docker's
// does), and the unpacking starts with the first bytes. The file is unlinked
// at once, so nothing of it outlives the pull, not even a crash.
type spool struct {
	f    *os.File
	mu   sync.Mutex
	grew *sync.Cond
	size int64 // bytes written
	done bool  // the download ended, err says how
	err  error
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "pull-*")
	if err != nil {
		return nil, fmt.Errorf("spool blob: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool blob: %w", err)
	}
	s := &spool{f: f}
	s.grew = sync.NewCond(&s.mu)
	return s, nil
}

func (s *spool) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.mu.Lock()
	s.size += int64(n)
	s.grew.Broadcast()
	s.mu.Unlock()
	return n, err
}

// finish ends the download; readers see err (io.EOF when nil) after the
// last byte.
func (s *spool) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.grew.Broadcast()
	s.mu.Unlock()
}

// finished reports whether the download ended well.
func (s *spool) finished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done && s.err == nil
}

func (s *spool) Close() error { return s.f.Close() }

// spoolReader reads a spool from its start, waiting for bytes not yet in.
type spoolReader struct {
	s   *spool
	off int64
}

func (r *spoolReader) Read(p []byte) (int, error) {
	s := r.s
	s.mu.Lock()
	for r.off >= s.size && !s.done {
		s.grew.Wait()
	}
	size, done, err := s.size, s.done, s.err
	s.mu.Unlock()
	if r.off >= size {
		if done && err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	n, rerr := s.f.ReadAt(p[:min(int64(len(p)), size-r.off)], r.off)
	r.off += int64(n)
	if rerr == io.EOF {
		rerr = nil // the bytes counted in size are there
	}
	return n, rerr
}
