package logfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/containerd/errdefs"
)

// ReadConfig selects the entries Read delivers.
type ReadConfig struct {
	Tail           int       // last N selected entries; <0 = all
	Since          time.Time // zero = no bound
	Until          time.Time // zero = no bound
	Follow         bool      // after the existing entries, wait for new ones
	Stdout, Stderr bool      // which streams; at least one
}

// selects reports whether e is on a chosen stream and within the time bounds.
func (c ReadConfig) selects(e Entry) bool {
	switch e.Stream {
	case "stdout":
		if !c.Stdout {
			return false
		}
	case "stderr":
		if !c.Stderr {
			return false
		}
	default:
		return false
	}
	return !c.before(e.Time) && !c.after(e.Time)
}

// before reports whether t is before Since.
func (c ReadConfig) before(t time.Time) bool { return !c.Since.IsZero() && t.Before(c.Since) }

// after reports whether t is after Until.
func (c ReadConfig) after(t time.Time) bool { return !c.Until.IsZero() && t.After(c.Until) }

// Read sends the entries of the log at path selected by cfg to fn, oldest
// first, across rotated files. It stops at the first error fn returns and
// returns it.
//
// Tail counts the entries that pass the other filters: with Stderr only,
// Tail 10 gives the last 10 stderr lines. (Docker counts all lines and
// filters afterwards.) Since and Until are inclusive; as the records are in
// time order, reading stops at the first one after Until.
//
// Without Follow, Read returns after the entries present when it was
// called. With Follow it then waits for new ones, across rotations, until
// ctx is done (returning ctx.Err()), an entry after Until arrives or Until
// has passed, or done (if not nil) reports true. It calls done before each
// pass over the files and returns after the pass that follows a true, so
// everything written before done turned true is delivered: done should turn
// true once the container has exited and its Writer is closed.
// See the package documentation for how following works and its limit.
//
// A missing log is empty. Lines that are not valid records are skipped.
// Each Entry's Line is newly allocated and may be kept.
func Read(ctx context.Context, path string, cfg ReadConfig, done func() bool, fn func(Entry) error) error {
	if !cfg.Stdout && !cfg.Stderr {
		return errdefs.ErrInvalidArgument.WithMessage("no log stream selected")
	}
	var w *watcher
	if cfg.Follow {
		// Watch before looking at the files, so that no change goes unseen.
		w = newWatcher(filepath.Dir(path))
		defer w.Close()
	}
	files, err := openChain(path)
	if err != nil {
		return err
	}
	defer func() { closeFiles(files) }()
	r := &reader{ctx: ctx, cfg: cfg, fn: fn}
	last, err := r.readSnapshot(files)
	if err != nil || r.ended || !cfg.Follow {
		return err
	}
	fl := &follower{path: path}
	defer fl.close()
	if last != nil { // the follower takes over the last file
		fl.cur = last
		files = files[:len(files)-1]
	}
	return r.follow(fl, w, done)
}

// logFile is a file of the log, opened.
type logFile struct {
	f    *os.File
	size int64 // when it was opened
}

// openChain opens the files of the log at path, oldest first, while holding
// off rotation. The writer may go on appending to the last one.
func openChain(path string) ([]logFile, error) {
	unlock, err := lockChain(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	names, err := chainNames(path)
	if err != nil {
		return nil, err
	}
	files := make([]logFile, 0, len(names))
	for _, name := range names {
		lf, err := openLogFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			closeFiles(files)
			return nil, err
		}
		files = append(files, lf)
	}
	return files, nil
}

// openLogFile opens a log file for reading and notes its size.
func openLogFile(name string) (logFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return logFile{}, fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return logFile{}, fmt.Errorf("stat log: %w", err)
	}
	return logFile{f: f, size: fi.Size()}, nil
}

// closeFiles closes files, ignoring errors: they were only read.
func closeFiles(files []logFile) {
	for _, lf := range files {
		lf.f.Close()
	}
}

// reader delivers the entries cfg selects to fn.
type reader struct {
	ctx   context.Context
	cfg   ReadConfig
	fn    func(Entry) error
	ended bool // an entry after Until has been seen: nothing more is wanted
}

// position is a place in a list of files.
type position struct {
	file int   // index
	off  int64 // byte offset in it
}

// readSnapshot delivers the selected entries of files and returns the
// reader of the last one, to follow it (nil if there are no files). Without
// Follow, it reads each file only up to its size when opened.
func (r *reader) readSnapshot(files []logFile) (*lineReader, error) {
	from, err := r.tailStart(files)
	if err != nil {
		return nil, err
	}
	var lr *lineReader
	for i := from.file; i < len(files) && !r.ended; i++ {
		limit := files[i].size
		if r.cfg.Follow {
			limit = -1
		}
		off := int64(0)
		if i == from.file {
			off = from.off
		}
		lr = newLineReader(files[i].f, off, limit)
		if err := r.readAvailable(lr); err != nil {
			return nil, err
		}
	}
	return lr, nil
}

// tailStart returns where reading starts for cfg.Tail: the offset of the
// Tail-th selected entry from the end. It reads the files backwards from
// the end, stopping early at an entry before Since.
func (r *reader) tailStart(files []logFile) (position, error) {
	switch {
	case r.cfg.Tail < 0 || len(files) == 0:
		return position{}, nil
	case r.cfg.Tail == 0:
		return endOfLastLine(files)
	}
	count := 0
	for i := len(files) - 1; i >= 0; i-- {
		s := newBackScanner(files[i].f, files[i].size)
		for {
			line, off, ok, err := s.prev()
			if err != nil || !ok {
				if err != nil {
					return position{}, err
				}
				break
			}
			e, err := decodeEntry(line)
			switch {
			case err != nil:
				continue
			case r.cfg.before(e.Time):
				return position{i, off + int64(len(line)) + 1}, nil
			case !r.cfg.selects(e):
				continue
			}
			if count++; count == r.cfg.Tail {
				return position{i, off}, nil
			}
		}
	}
	return position{}, nil
}

// endOfLastLine returns the position after the last complete line: a
// record being written when the files were opened is not skipped over.
func endOfLastLine(files []logFile) (position, error) {
	last := len(files) - 1
	line, off, ok, err := newBackScanner(files[last].f, files[last].size).prev()
	if err != nil || !ok {
		return position{file: last}, err
	}
	return position{last, off + int64(len(line)) + 1}, nil
}

// readAvailable delivers the selected entries of the complete lines lr has.
func (r *reader) readAvailable(lr *lineReader) error {
	for !r.ended {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		line, ok, err := lr.next()
		if err != nil || !ok {
			return err
		}
		if err := r.deliver(line); err != nil {
			return err
		}
	}
	return nil
}

// deliver decodes a line and passes the entry to fn if it is selected.
func (r *reader) deliver(line []byte) error {
	e, err := decodeEntry(line)
	if err != nil {
		return nil // not a record: torn by a crash or a full disk
	}
	if r.cfg.after(e.Time) {
		r.ended = true
		return nil
	}
	if !r.cfg.selects(e) {
		return nil
	}
	return r.fn(e)
}

// follow delivers new entries as they are written; see Read.
func (r *reader) follow(fl *follower, w *watcher, done func() bool) error {
	for {
		finished := done != nil && done()
		if err := fl.drain(r); err != nil {
			return err
		}
		if finished || r.ended || r.cfg.after(time.Now()) {
			return nil
		}
		if err := w.wait(r.ctx, pollInterval); err != nil {
			return err
		}
	}
}
