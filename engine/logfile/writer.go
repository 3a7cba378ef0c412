package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

const (
	// maxRecordLog is the most output bytes one record carries. Longer
	// lines are split, like Docker's 16K partial messages.
	maxRecordLog = 16 << 10
	// defaultPartialDelay is how long the start of a line waits for its
	// newline before it is written as a record of its own.
	defaultPartialDelay = 100 * time.Millisecond
	// defaultMaxFiles is the number of files kept when MaxFiles is 0.
	defaultMaxFiles = 3
	// maxKeptBuffer bounds the buffers a writer keeps between writes.
	maxKeptBuffer = 1 << 20
)

// Entry is one log line (or partial line) of a stream.
type Entry struct {
	Stream string    // "stdout" or "stderr"
	Line   []byte    // the bytes as written, including the trailing "\n" when the line ended
	Time   time.Time // when the writer emitted the record
}

// WriterConfig configures a Writer.
type WriterConfig struct {
	Path     string // e.g. <state>/container-json.log; rotated files are Path+".1", ".2", …
	MaxSize  int64  // bytes per file before rotating; 0 = never rotate (default in skiff: 10 MiB)
	MaxFiles int    // files kept including the current one; 0 = 3
}

// withDefaults validates c and fills in its defaults.
func (c WriterConfig) withDefaults() (WriterConfig, error) {
	switch {
	case c.Path == "":
		return c, errdefs.ErrInvalidArgument.WithMessage("log path is empty")
	case c.MaxSize < 0:
		return c, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("log max size %d is negative", c.MaxSize))
	case c.MaxFiles < 0:
		return c, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("log max files %d is negative", c.MaxFiles))
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = defaultMaxFiles
	}
	return c, nil
}

// Writer writes the output streams of a container to a json-file log.
//
// Writes never fail and never block on a full disk: records that cannot be
// written are dropped, and the failures are reported by Err. Writes are safe
// from several goroutines.
type Writer struct {
	cfg          WriterConfig
	partialDelay time.Duration

	mu       sync.Mutex
	lock     *os.File           // the lock file, locked while rotating
	f        *os.File           // the current file, named cfg.Path
	size     int64              // bytes in f
	torn     bool               // f ends in a torn record: start the next write on a new line
	buf      []byte             // records encoded but not yet written
	streams  map[string]*stream // by name
	closed   bool
	failures int
	lastErr  error

	timers sync.WaitGroup // armed partial-line timers, waited for by Close
}

// NewWriter opens the log at cfg.Path for appending, creating it and its
// lock file, Path+".lock", if needed. The directory must exist. One Writer
// at a time may write a log.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(lockName(cfg.Path), os.O_RDONLY|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log lock: %w", err)
	}
	f, err := openAppend(cfg.Path)
	if err != nil {
		lock.Close()
		return nil, err
	}
	size, torn, err := inspectTail(f)
	if err != nil {
		f.Close()
		lock.Close()
		return nil, err
	}
	return &Writer{
		cfg:          cfg,
		partialDelay: defaultPartialDelay,
		lock:         lock,
		f:            f,
		size:         size,
		torn:         torn,
		streams:      make(map[string]*stream),
	}, nil
}

// openAppend opens (or creates) a log file for appending.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// inspectTail returns the size of f and whether it ends in a torn record,
// as a crash in the middle of a write leaves it.
func inspectTail(f *os.File) (size int64, torn bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("stat log: %w", err)
	}
	if fi.Size() == 0 {
		return 0, false, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, fi.Size()-1); err != nil {
		return 0, false, fmt.Errorf("read log: %w", err)
	}
	return fi.Size(), last[0] != '\n', nil
}

// Stream returns the writer of the output stream name ("stdout" or
// "stderr"). Every call with the same name returns the same writer.
//
// Its Write always returns len(p), nil: see Writer.
func (w *Writer) Stream(name string) io.Writer {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.streams[name]
	if !ok {
		s = &stream{w: w, name: name}
		w.streams[name] = s
	}
	return s
}

// Err returns nil if every record has been written. Otherwise it returns the
// last failure, wrapped with the number of failures so far; errors.Is
// matches the cause (such as unix.ENOSPC).
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failures == 0 {
		return nil
	}
	return fmt.Errorf("%d log write failure(s), last: %w", w.failures, w.lastErr)
}

// Close writes out the partial lines still held back and closes the file.
// Later writes are discarded and counted as failures. Close reports only
// the closing itself; failed writes are reported by Err.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	now := time.Now()
	for _, name := range slices.Sorted(maps.Keys(w.streams)) {
		w.streams[name].finish(now)
	}
	w.flush()
	w.closed = true
	err := errors.Join(w.f.Close(), w.lock.Close())
	w.mu.Unlock()

	w.timers.Wait()
	if err != nil {
		return fmt.Errorf("close log: %w", err)
	}
	return nil
}

// fail records a failure for Err.
func (w *Writer) fail(err error) {
	w.failures++
	w.lastErr = err
}

// emit encodes one record into the buffer. If the record does not fit in
// the current file, the records before it are written out and the file is
// rotated first.
func (w *Writer) emit(stream string, log []byte, t time.Time) {
	start := len(w.buf)
	w.buf = appendRecord(w.buf, stream, log, t)
	if !w.overflows(start) {
		return
	}
	w.write(w.buf[:start])
	if err := w.rotate(); err != nil {
		w.fail(err)
	}
	w.buf = w.buf[:copy(w.buf, w.buf[start:])]
}

// overflows reports whether the buffered record starting at start would
// push the current file past MaxSize. A record alone in its file never does.
func (w *Writer) overflows(start int) bool {
	return w.cfg.MaxSize > 0 &&
		w.size+int64(start) > 0 &&
		w.size+int64(len(w.buf)) > w.cfg.MaxSize
}

// flush writes out the buffered records.
func (w *Writer) flush() {
	w.write(w.buf)
	w.buf = w.buf[:0]
	if cap(w.buf) > maxKeptBuffer {
		w.buf = nil
	}
}

// write appends whole records to the file, after a newline that ends a
// torn record if the last write was cut short.
func (w *Writer) write(records []byte) {
	if len(records) == 0 {
		return
	}
	if w.torn && !w.writeFile([]byte{'\n'}) {
		return
	}
	w.writeFile(records)
}

// writeFile writes b to the file, keeping size and torn up to date.
func (w *Writer) writeFile(b []byte) bool {
	n, err := w.f.Write(b)
	w.size += int64(n)
	if n > 0 {
		w.torn = b[n-1] != '\n'
	}
	if err != nil {
		w.fail(err) // an *fs.PathError: "write <path>: …"
		return false
	}
	return true
}

// rotate makes a new, empty current file. It does nothing while a reader
// holds the lock; the next record tries again.
func (w *Writer) rotate() (err error) {
	err = flock(w.lock, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock log for rotation: %w", err)
	}
	defer func() {
		if uerr := flock(w.lock, unix.LOCK_UN); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unlock log: %w", uerr))
		}
	}()
	f, err := w.startFile()
	if err != nil {
		return err
	}
	old := w.f
	w.f, w.size, w.torn = f, 0, false
	// The new file exists only after the last write to the old one: a
	// reader that sees it knows the old one is complete.
	if err := old.Close(); err != nil {
		return fmt.Errorf("close rotated log: %w", err)
	}
	return nil
}

// startFile renames the files one step older and creates a new current one.
// If creating fails, the writer keeps writing to its file under its new name
// and the next rotation tries again.
func (w *Writer) startFile() (*os.File, error) {
	if err := shiftFiles(w.cfg.Path, w.cfg.MaxFiles); err != nil {
		return nil, err
	}
	return openAppend(w.cfg.Path)
}

// stream is the writer of one output stream. Its fields are guarded by w.mu.
type stream struct {
	w    *Writer
	name string

	partial []byte    // the start of a line whose newline has not come yet
	since   time.Time // when partial started
	timer   *time.Timer
	armed   bool // timer is set and counted in w.timers
}

// Write splits p into lines and writes a record for each complete one.
// It always returns len(p), nil: failures are reported by Writer.Err.
func (s *stream) Write(p []byte) (int, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.fail(fmt.Errorf("write log: %w", os.ErrClosed))
		return len(p), nil
	}
	now := time.Now()
	s.add(p, now)
	w.flush()
	s.arm()
	return len(p), nil
}

// add emits a record for each line completed by p and keeps the rest as
// the partial line, emitting 16 KiB pieces of it when it grows that long.
func (s *stream) add(p []byte, now time.Time) {
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			break
		}
		line := p[:i+1]
		p = p[i+1:]
		if len(s.partial) > 0 {
			line = append(s.partial, line...)
			s.partial = line[:0]
		}
		s.emitLine(line, now)
	}
	if len(p) == 0 {
		if cap(s.partial) > maxKeptBuffer {
			s.partial = nil // after a very long line
		}
		return
	}
	if len(s.partial) == 0 {
		s.since = now
	}
	s.partial = append(s.partial, p...)
	rest := s.partial
	for len(rest) >= maxRecordLog {
		n := pieceLen(rest)
		s.w.emit(s.name, rest[:n], now)
		rest = rest[n:]
		s.since = now
	}
	s.partial = s.partial[:copy(s.partial, rest)]
}

// emitLine emits a complete line, in 16 KiB pieces if it is longer.
func (s *stream) emitLine(line []byte, now time.Time) {
	for len(line) > maxRecordLog {
		n := pieceLen(line)
		s.w.emit(s.name, line[:n], now)
		line = line[n:]
	}
	s.w.emit(s.name, line, now)
}

// pieceLen returns the length of the next record's piece of b, which holds
// at least maxRecordLog bytes: maxRecordLog, less the bytes of a UTF-8
// sequence that would otherwise be cut in two.
func pieceLen(b []byte) int {
	n := maxRecordLog
	for i := n - 1; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:n]) {
				return n
			}
			return i
		}
	}
	return n // not UTF-8
}

// arm schedules the flush of the partial line, if any.
func (s *stream) arm() {
	if len(s.partial) == 0 || s.armed {
		return
	}
	s.armed = true
	s.w.timers.Add(1)
	delay := time.Until(s.since.Add(s.w.partialDelay))
	if s.timer == nil {
		s.timer = time.AfterFunc(delay, s.flushPartial)
		return
	}
	s.timer.Reset(delay)
}

// flushPartial runs when the timer fires: it writes the partial line as a
// record of its own if it has waited long enough for its newline.
func (s *stream) flushPartial() {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed && len(s.partial) > 0 {
		// The line the timer was set for may have ended, and a new one begun.
		if wait := time.Until(s.since.Add(w.partialDelay)); wait > 0 {
			s.timer.Reset(wait)
			return
		}
		w.emit(s.name, s.partial, time.Now())
		s.partial = s.partial[:0]
		w.flush()
	}
	s.armed = false
	w.timers.Done()
}

// finish emits the partial line and disarms the timer, for Close.
func (s *stream) finish(now time.Time) {
	if len(s.partial) > 0 {
		s.w.emit(s.name, s.partial, now)
		s.partial = nil
	}
	// If Stop fails, the timer function is running and will call Done.
	if s.armed && s.timer.Stop() {
		s.armed = false
		s.w.timers.Done()
	}
}
