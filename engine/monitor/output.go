package monitor

import (
	"bytes"
	"io"
	"net"
	"sync"
	"time"
)

// queueLimit is how much output may wait for one attached client. A client
// further behind is dropped: its connection is closed, and the container
// never waits for it.
const queueLimit = 1 << 20

// hub fans the container's output out, in one order, to the log, the
// replay ring and every attached client. The output pumps call publish; a
// slow disk slows the container (as with Docker's json-file driver), a slow
// client never does.
type hub struct {
	tty    bool
	logOut io.Writer // nil without a log
	logErr io.Writer
	warn   func(format string, args ...any)

	mu        sync.Mutex
	ring      ring
	subs      map[*subscriber]struct{}
	closed    bool // the output has ended: new subscribers get the replay only
	logFailed bool // a log write failed (reported once)
}

func newHub(tty bool, log logWriter, warn func(string, ...any)) *hub {
	h := &hub{tty: tty, warn: warn, subs: make(map[*subscriber]struct{})}
	if log != nil {
		h.logOut, h.logErr = log.Stream("stdout"), log.Stream("stderr")
	}
	return h
}

// publish hands one chunk of the container's output to everyone.
func (h *hub) publish(stream byte, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w := h.logFor(stream); w != nil {
		if _, err := w.Write(p); err != nil && !h.logFailed {
			h.logFailed = true
			h.warn("write the container's log: %v (further errors not reported)", err)
		}
	}
	h.ring.add(stream, p)
	var msg []byte // encoded once, shared by every queue (never modified)
	for s := range h.subs {
		if !s.wants(stream) {
			continue
		}
		if msg == nil {
			msg = h.encode(stream, p)
		}
		if !s.push(msg) {
			delete(h.subs, s)
			h.warn("attached client fell %d bytes behind: dropped", queueLimit)
			s.drop()
		}
	}
}

func (h *hub) logFor(stream byte) io.Writer {
	if stream == streamStderr {
		return h.logErr
	}
	return h.logOut
}

// encode is what a client receives for a chunk: the raw bytes with a TTY,
// a stdcopy frame without.
func (h *hub) encode(stream byte, p []byte) []byte {
	if h.tty {
		return bytes.Clone(p)
	}
	return frame(stream, p)
}

// subscribe starts delivering output to an attached client on conn, first
// the replay if asked for. Between the replay and live output nothing is
// lost or repeated: both happen under the hub's lock.
func (h *hub) subscribe(conn *net.UnixConn, opts AttachOptions) *subscriber {
	s := &subscriber{
		conn:   conn,
		stdout: opts.Stdout || (h.tty && opts.Stderr), // a TTY has one stream
		stderr: opts.Stderr && !h.tty,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	h.mu.Lock()
	if opts.Replay {
		h.ring.each(func(stream byte, p []byte) {
			if s.wants(stream) {
				s.push(h.encode(stream, p))
			}
		})
	}
	if h.closed {
		s.end()
	} else {
		h.subs[s] = struct{}{}
	}
	h.mu.Unlock()
	go s.run() // ends with the session: see subscriber.run
	return s
}

// unsubscribe ends a client's session after what is queued for it.
func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.end()
}

// close marks the end of the container's output: each session ends once
// its queue is written, or after flush if the client does not take it.
func (h *hub) close(flush time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.conn.SetWriteDeadline(time.Now().Add(flush))
		s.end()
	}
	clear(h.subs)
}

// subscriber is one attached client's output: a bounded queue, written to
// the client's connection by its own goroutine.
type subscriber struct {
	conn           *net.UnixConn
	stdout, stderr bool

	mu     sync.Mutex
	queue  [][]byte
	queued int  // bytes in queue (the batch being written is not counted)
	ended  bool // no more output will be queued
	wake   chan struct{}
	done   chan struct{} // closed when run returns
}

func (s *subscriber) wants(stream byte) bool {
	if stream == streamStderr {
		return s.stderr
	}
	return s.stdout
}

// push queues b; it returns false if that would exceed queueLimit.
func (s *subscriber) push(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return true
	}
	if s.queued+len(b) > queueLimit {
		return false
	}
	s.queue = append(s.queue, b)
	s.queued += len(b)
	s.signal()
	return true
}

// end lets run finish once the queue is written.
func (s *subscriber) end() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.signal()
}

// drop ends the session now, discarding what is queued.
func (s *subscriber) drop() {
	s.mu.Lock()
	s.ended, s.queue, s.queued = true, nil, 0
	s.mu.Unlock()
	s.conn.Close() // interrupts a blocked write
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run writes the queue to the client until the session ends. Then it
// half-closes the connection, so the client reads io.EOF after the last
// byte, and gives the client lingerTimeout to close its end (the session's
// handler reads the client's stdin until then).
func (s *subscriber) run() {
	defer close(s.done)
	for {
		s.mu.Lock()
		batch, ended := s.queue, s.ended
		s.queue, s.queued = nil, 0
		s.mu.Unlock()
		if len(batch) > 0 {
			bufs := net.Buffers(batch)
			if _, err := bufs.WriteTo(s.conn); err != nil {
				s.drop() // the client is gone, or too slow at the end
				return
			}
			continue
		}
		if ended {
			s.conn.CloseWrite()
			s.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
			return
		}
		<-s.wake
	}
}
