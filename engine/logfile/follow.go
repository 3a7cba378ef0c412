package logfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval is how long a follower waits without news before it checks
// again: for new records if inotify is not available, and for done.
const pollInterval = 200 * time.Millisecond

// follower reads the live log: its current file to the end, then each newer
// file the writer rotates to.
type follower struct {
	path string
	cur  *lineReader // nil until a log file exists
}

// close closes the file being read.
func (fl *follower) close() {
	if fl.cur != nil {
		fl.cur.f.Close()
	}
}

// drain delivers everything written so far, moving on to the next file for
// as long as the one being read has been rotated.
func (fl *follower) drain(r *reader) error {
	for !r.ended {
		if fl.cur == nil {
			f, err := openOldest(fl.path)
			if err != nil || f == nil {
				return err
			}
			fl.cur = newLineReader(f, 0, -1)
		}
		if err := r.readAvailable(fl.cur); err != nil {
			return err
		}
		next, err := successor(fl.path, fl.cur.f)
		if err != nil || next == nil {
			return err
		}
		// The writer created next after its last write to cur, so what is
		// in cur now is all there will be.
		err = r.readAvailable(fl.cur)
		fl.close()
		fl.cur = newLineReader(next, 0, -1)
		if err != nil {
			return err
		}
	}
	return nil
}

// openOldest opens the oldest file of the log, or returns nil if there is
// none: a follower that started before the log existed reads everything.
func openOldest(path string) (*os.File, error) {
	unlock, err := lockChain(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	names, err := chainNames(path)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	return openIfExists(names[0])
}

// successor returns the file the writer rotated to after cur, or nil if cur
// is still being written. If cur has been removed, having fallen behind by
// more than MaxFiles-1 rotations, it returns the oldest file left.
func successor(path string, cur *os.File) (*os.File, error) {
	if current, err := isCurrent(cur, path); err != nil || current {
		return nil, err
	}
	unlock, err := lockChain(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	names, err := chainNames(path)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	i, err := indexOf(names, cur)
	switch {
	case err != nil:
		return nil, err
	case i < 0:
		return openIfExists(names[0])
	case i == len(names)-1:
		return nil, nil // path is being rotated to, and does not exist yet
	}
	return openIfExists(names[i+1])
}

// indexOf returns the index of the name that f has, or -1.
func indexOf(names []string, f *os.File) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat log: %w", err)
	}
	for i, name := range names {
		ni, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("stat log: %w", err)
		}
		if os.SameFile(fi, ni) {
			return i, nil
		}
	}
	return -1, nil
}

// openIfExists opens a log file, returning nil if it does not exist.
func openIfExists(name string) (*os.File, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// watcher wakes a follower when something changes in the log directory.
// It uses inotify, and polls when that is not available (no directory yet,
// or no inotify instances or watches left).
type watcher struct {
	f   *os.File // the inotify instance, nil when polling
	buf []byte
}

// watchMask selects the events of writes to, and creations and renames of,
// the log files.
const watchMask = unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_MOVED_TO

// newWatcher returns a watcher of dir.
func newWatcher(dir string) *watcher {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return &watcher{}
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchMask); err != nil {
		unix.Close(fd)
		return &watcher{}
	}
	// Non-blocking, the descriptor goes to the runtime poller, so reads
	// honour deadlines.
	return &watcher{f: os.NewFile(uintptr(fd), "inotify"), buf: make([]byte, 4096)}
}

// wait returns when the directory may have changed or after timeout, or
// with ctx's error when ctx is done.
func (w *watcher) wait(ctx context.Context, timeout time.Duration) error {
	if w.f == nil {
		return sleep(ctx, timeout)
	}
	if err := w.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		w.Close()
		return sleep(ctx, timeout)
	}
	f := w.f
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	_, err := f.Read(w.buf)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		w.Close() // poll from now on
	}
	return nil
}

// Close releases the inotify instance.
func (w *watcher) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// sleep waits for d, or returns ctx's error when ctx is done first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
