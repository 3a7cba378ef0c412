package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// readChunk is how much a reader reads from a file at a time.
	readChunk = 64 << 10
	// maxLine bounds the lines readers buffer: lines of this length or
	// more cannot be records written by a Writer and are skipped.
	maxLine = 1 << 20
)

// lineReader reads the complete lines of a file, from an offset onwards.
// After it has reported that no complete line is left, it can be asked
// again, to pick up what the writer has appended since.
type lineReader struct {
	f     *os.File
	limit int64  // offset not to read past; <0 = none
	off   int64  // file offset of buf[start]
	buf   []byte // buf[start:end] has been read but not returned
	start int
	end   int
	skip  bool // the buffered bytes belong to an over-long line
}

// newLineReader returns a reader of f from off up to limit (<0 = no limit).
func newLineReader(f *os.File, off, limit int64) *lineReader {
	return &lineReader{f: f, off: off, limit: limit}
}

// next returns the next complete line, without its newline, or ok == false
// if what has been read ends without one. The line is valid until the next
// call.
func (r *lineReader) next() (line []byte, ok bool, err error) {
	for {
		if i := bytes.IndexByte(r.buf[r.start:r.end], '\n'); i >= 0 {
			line = r.buf[r.start : r.start+i]
			r.start += i + 1
			r.off += int64(i + 1)
			if r.skip {
				r.skip = false
				continue
			}
			return line, true, nil
		}
		more, err := r.fill()
		if err != nil || !more {
			return nil, false, err
		}
	}
}

// fill reads more of the file into the buffer and reports whether there
// was more to read.
func (r *lineReader) fill() (bool, error) {
	r.makeRoom()
	pos := r.off + int64(r.end-r.start)
	p := r.buf[r.end:]
	if r.limit >= 0 && int64(len(p)) > r.limit-pos {
		p = p[:max(r.limit-pos, 0)]
	}
	if len(p) == 0 {
		return false, nil
	}
	n, err := r.f.ReadAt(p, pos)
	r.end += n
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read log: %w", err)
	}
	return n > 0, nil
}

// makeRoom moves the unreturned bytes to the front of the buffer and grows
// it if they fill it, up to maxLine: beyond, the line is dropped.
func (r *lineReader) makeRoom() {
	r.end = copy(r.buf, r.buf[r.start:r.end])
	r.start = 0
	switch {
	case r.end < len(r.buf):
	case len(r.buf) == 0:
		r.buf = make([]byte, readChunk)
	case len(r.buf) < maxLine:
		r.buf = append(r.buf, make([]byte, len(r.buf))...)
	default:
		r.off += int64(r.end)
		r.end = 0
		r.skip = true
	}
}

// backScanner returns the complete lines of a file, newest first.
type backScanner struct {
	f     io.ReaderAt
	pos   int64  // file offset of buf[0]
	buf   []byte // bytes not returned yet; after the first step, it ends with a newline
	begun bool   // the bytes after the last newline have been cut off
	skip  bool   // the line being scanned is over-long: drop it
}

// newBackScanner returns a scanner of the lines of f before offset end.
// The bytes after the last newline before end (a record being written, or
// torn by a crash) are ignored.
func newBackScanner(f io.ReaderAt, end int64) *backScanner {
	return &backScanner{f: f, pos: end}
}

// prev returns the line before the ones returned so far, without its
// newline, and its offset; ok is false at the start of the file. The line is
// valid until the next call.
func (s *backScanner) prev() (line []byte, off int64, ok bool, err error) {
	for {
		if !s.begun {
			if i := bytes.LastIndexByte(s.buf, '\n'); i >= 0 {
				s.buf, s.begun = s.buf[:i+1], true
			}
		}
		if s.begun && len(s.buf) > 0 {
			body := s.buf[:len(s.buf)-1]
			i := bytes.LastIndexByte(body, '\n')
			if i >= 0 || s.pos == 0 {
				line, off = body[i+1:], s.pos+int64(i+1)
				s.buf = s.buf[:i+1]
				if s.skip || len(line) >= maxLine {
					s.skip = false
					continue
				}
				return line, off, true, nil
			}
		}
		if s.pos == 0 {
			return nil, 0, false, nil
		}
		if err := s.readBack(); err != nil {
			return nil, 0, false, err
		}
	}
}

// readBack prepends the chunk of the file before the buffered bytes. A line
// that grows beyond maxLine is dropped but for its newline.
func (s *backScanner) readBack() error {
	switch {
	case !s.begun:
		s.buf = nil // no newline yet: all of it is to be ignored
	case len(s.buf) > maxLine:
		s.buf = s.buf[len(s.buf)-1:]
		s.skip = true
	}
	n := min(s.pos, readChunk)
	buf := make([]byte, int(n)+len(s.buf))
	if _, err := s.f.ReadAt(buf[:n], s.pos-n); err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	copy(buf[n:], s.buf)
	s.buf, s.pos = buf, s.pos-n
	return nil
}
