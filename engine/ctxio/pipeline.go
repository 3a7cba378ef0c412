package ctxio

import (
	"io"
	"sync"
)

// A pipeline stage moves data in chunks of chunkSize bytes, with up to
// depth chunks in flight: enough for the stages on either side to work at
// the same time on two cores, little enough to keep memory flat.
const (
	chunkSize = 256 << 10
	depth     = 8
)

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// ReadAhead returns a reader of r's bytes that reads r in a goroutine of
// its own, ahead of its caller: work done inside r.Read (decompressing a
// layer) then runs beside the caller's own (unpacking it) instead of in
// turn. Close stops the goroutine and waits for it, so that r is no longer
// read once Close returns; it must be called.
func ReadAhead(r io.Reader) io.ReadCloser {
	ra := &readAhead{full: make(chan *[]byte, depth), stop: make(chan struct{}), done: make(chan struct{})}
	go ra.fill(r)
	return ra
}

type readAhead struct {
	full chan *[]byte // chunks read, in order; closed after the last
	stop chan struct{}
	done chan struct{}
	err  error // r's error, set before full is closed

	cur  *[]byte // the chunk being handed out
	rest []byte  // its bytes not yet handed out

	closeOnce sync.Once
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.done)
	defer close(ra.full)
	for {
		buf := chunks.Get().(*[]byte)
		n, err := fillChunk(r, *buf)
		if n > 0 {
			b := (*buf)[:n]
			select {
			case ra.full <- &b:
			case <-ra.stop:
				return
			}
		} else {
			chunks.Put(buf)
		}
		if err != nil {
			ra.err = err
			return
		}
	}
}

// fillChunk reads r into buf until buf is full or r fails, returning r's
// error as it is (io.ReadFull's would turn a source's own
// io.ErrUnexpectedEOF, a truncated stream, into a plain end).
func fillChunk(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.rest) == 0 {
		ra.release()
		b, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.cur, ra.rest = b, *b
	}
	n := copy(p, ra.rest)
	ra.rest = ra.rest[n:]
	return n, nil
}

// release puts the chunk handed out back in the pool.
func (ra *readAhead) release() {
	if ra.cur != nil {
		b := (*ra.cur)[:chunkSize]
		chunks.Put(&b)
		ra.cur, ra.rest = nil, nil
	}
}

func (ra *readAhead) Close() error {
	ra.closeOnce.Do(func() {
		close(ra.stop)
		for range ra.full { // unblock a send under way and drain
		}
		<-ra.done
		ra.release()
	})
	return nil
}

// AsyncWriter returns a writer that copies what it is given and writes it
// to w in a goroutine of its own, so that the work w does (hashing and
// storing a blob) runs beside the caller's. A write after w failed
// returns w's error. Close waits for every byte to be written and returns
// w's first error; it must be called.
func AsyncWriter(w io.Writer) io.WriteCloser {
	aw := &asyncWriter{queue: make(chan []byte, depth), done: make(chan struct{})}
	go aw.drain(w)
	return aw
}

type asyncWriter struct {
	queue chan []byte
	done  chan struct{}

	mu  sync.Mutex
	err error // w's first error

	closeOnce sync.Once
}

func (aw *asyncWriter) drain(w io.Writer) {
	defer close(aw.done)
	for b := range aw.queue {
		if aw.failed() == nil {
			if _, err := w.Write(b); err != nil {
				aw.mu.Lock()
				aw.err = err
				aw.mu.Unlock()
			}
		}
		b = b[:chunkSize]
		chunks.Put(&b)
	}
}

func (aw *asyncWriter) failed() error {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	return aw.err
}

func (aw *asyncWriter) Write(p []byte) (int, error) {
	if err := aw.failed(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		buf := chunks.Get().(*[]byte)
		n := copy(*buf, p)
		aw.queue <- (*buf)[:n]
		p = p[n:]
		written += n
	}
	return written, nil
}

func (aw *asyncWriter) Close() error {
	aw.closeOnce.Do(func() { close(aw.queue) })
	<-aw.done
	return aw.failed()
}
