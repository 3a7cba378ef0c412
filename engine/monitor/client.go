package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

// callTimeout bounds the requests whose methods take no context (Signal,
// Resize): a monitor answers them at once.
const callTimeout = 10 * time.Second

// errClientClosed is returned by the methods of a closed Client. The
// daemon closes a container's Client once the container has exited, so it
// is a not-found (the process is gone), which stop and kill expect of a
// container that exits as they call.
var errClientClosed = errdefs.ErrNotFound.WithMessage("monitor client is closed")

// Client talks to the monitor of one container. Each request opens its own
// connection to the monitor's socket, so a Client may be used from several
// goroutines at once. It is returned by Start, or by Connect after a daemon
// restart.
//
// Once the monitor is gone, requests fail with errdefs.ErrNotFound (Wait
// reads the exit record instead); while it stays after the container's
// exit (see Start), those that need a running container fail with
// errdefs.ErrConflict.
type Client struct {
	dir       string
	pid       int
	startedAt time.Time
	tty       bool
	// reaped is closed once the monitor that Start launched has exited and
	// been reaped; nil for a Client from Connect.
	reaped <-chan struct{}

	mu     sync.Mutex
	closed bool
	// hold is Start's end of the socketpair to the monitor: while it is
	// open, the monitor stays after the container exits. Nil after
	// Connect.
	hold *net.UnixConn
	// proc is the monitor Start launched, nil after Connect: Release may
	// recycle it.
	proc *proc
	// conns are the connections of pending requests that wait for what
	// may never come (waits, exec-waits, the setup of attach and exec
	// sessions), which Close closes. Quick requests (quick) are not among
	// them.
	conns map[*net.UnixConn]struct{}
}

// quick tells the requests that a monitor answers at once, bounded by
// callTimeout: Close lets them finish, so that the answer to a signal that
// killed the container is not lost to the Close that the container's exit
// brings about.
func quick(op string) bool {
	switch op {
	case opInfo, opSignal, opResize, opExecResize:
		return true
	}
	return false
}

// Connect reconnects to the monitor of a running container, as a daemon
// does after a restart. It returns errdefs.ErrNotFound when no monitor runs
// in stateDir (the container has exited — see ReadExit — or its monitor was
// killed).
func Connect(ctx context.Context, stateDir string) (*Client, error) {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	c := &Client{dir: dir, conns: make(map[*net.UnixConn]struct{})}
	var r reply
	if err := c.call(ctx, request{Op: opInfo}, &r); err != nil {
		return nil, err
	}
	c.pid, c.startedAt, c.tty = r.Pid, r.StartedAt, r.Tty
	return c, nil
}

// Pid returns the container init's host PID.
func (c *Client) Pid() int { return c.pid }

// StartedAt returns when the container's process started.
func (c *Client) StartedAt() time.Time { return c.startedAt }

// Wait blocks until the container has exited and returns how, at once if
// it already has. When the monitor is gone (it exited after recording the
// exit, or was killed) Wait returns the record it left (ReadExit), or
// errdefs.ErrNotFound if there is none.
func (c *Client) Wait(ctx context.Context) (Exit, error) {
	var r reply
	err := c.call(ctx, request{Op: opWait}, &r)
	switch {
	case err == nil && r.Exit != nil:
		return *r.Exit, nil
	case err == nil:
		err = errors.New("wait reply without exit")
	case errors.Is(err, errClientClosed), ctx.Err() != nil:
		return Exit{}, err
	}
	// The monitor went away before answering, or was gone already.
	if exit, rerr := ReadExit(c.dir); rerr == nil {
		return exit, nil
	} else if errdefs.IsNotFound(rerr) {
		return Exit{}, fmt.Errorf("wait for the container in %s: %w", c.dir, errdefs.ErrNotFound.WithMessage(
			fmt.Sprintf("monitor gone without an exit record (%v)", err)))
	}
	return Exit{}, fmt.Errorf("wait for the container in %s: %w", c.dir, err)
}

// Signal sends sig to the container's init: any signal, not only those
// that stop it (as PID 1 of its namespace, the init gets only the signals
// it handles, and SIGKILL).
func (c *Client) Signal(sig syscall.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return c.call(ctx, request{Op: opSignal, Signal: int(sig)}, nil)
}

// Resize sets the size of the container's TTY; the kernel sends SIGWINCH
// to its foreground process group. Without a TTY it does nothing.
func (c *Client) Resize(rows, cols uint16) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return c.call(ctx, request{Op: opResize, Rows: rows, Cols: cols}, nil)
}

// Attach opens an attach session; ctx bounds only its setup. After the
// container has exited (and while the monitor stays, see Start), a session
// delivers the replayed output, if asked for, then io.EOF.
func (c *Client) Attach(ctx context.Context, opts AttachOptions) (*Stream, error) {
	conn, br, _, err := c.open(ctx, request{Op: opAttach, Attach: &opts})
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	return c.stream(conn, br), nil
}

// stream hands a connection over to a Stream, which its caller closes.
func (c *Client) stream(conn *net.UnixConn, br *bufio.Reader) *Stream {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
	return &Stream{conn: conn, r: br}
}

// Close ends the Client's pending waits (a Wait returns an error) and lets
// the monitor Start launched exit once the container has exited; requests
// made after it fail. It never stops the container, leaves quick requests
// (signal, resize) to get their answers, and leaves Streams open: each
// belongs to its caller, and may still be delivering the end of the
// output.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.hold != nil {
		c.hold.Close()
	}
	for conn := range c.conns {
		conn.Close()
	}
	clear(c.conns)
	return nil
}

// Release is Close for a Client whose Wait has returned the container's
// exit: a monitor that was launched on standby may then go on standby
// again, rather than exit, if the daemon needs one (see KeepStandby).
func (c *Client) Release() error {
	c.mu.Lock()
	p := c.proc
	c.proc = nil
	if p != nil && !c.closed && recycle(p) {
		c.hold = nil // p's socket, which the standby keeps
	}
	c.mu.Unlock()
	return c.Close()
}

// call sends req on a new connection and decodes the reply into r (if not
// nil).
func (c *Client) call(ctx context.Context, req request, r *reply) error {
	conn, _, rep, err := c.open(ctx, req)
	if err != nil {
		return err
	}
	c.release(conn)
	if r != nil {
		*r = rep
	}
	return nil
}

// open connects to the monitor, sends req and reads the reply line. The
// connection stays open for what follows (a stream) and belongs to the
// caller, who ends it with release; a reply with an error is returned as
// that error, with the connection closed.
func (c *Client) open(ctx context.Context, req request) (*net.UnixConn, *bufio.Reader, reply, error) {
	if c.isClosed() {
		return nil, nil, reply{}, errClientClosed
	}
	conn, err := dial(ctx, c.dir)
	if err != nil {
		return nil, nil, reply{}, err
	}
	if !quick(req.Op) && !c.track(conn) {
		conn.Close()
		return nil, nil, reply{}, errClientClosed
	}
	br := bufio.NewReader(conn)
	var r reply
	err = withDeadline(ctx, conn, func() error {
		if err := writeLine(conn, req); err != nil {
			return err
		}
		return readLine(br, &r)
	})
	if err == nil {
		err = r.Error.err()
	}
	if err != nil {
		c.release(conn)
		if !quick(req.Op) && c.isClosed() {
			err = errClientClosed // Close cut it off
		}
		return nil, nil, reply{}, err
	}
	return conn, br, r, nil
}

// withDeadline runs f, which does I/O on conn, and interrupts it when ctx
// ends; it then returns ctx's error.
func withDeadline(ctx context.Context, conn net.Conn, f func() error) error {
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	err := f()
	if !stop() {
		return context.Cause(ctx)
	}
	return err
}

func (c *Client) track(conn *net.UnixConn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.conns[conn] = struct{}{}
	return true
}

// release closes one of the Client's connections.
func (c *Client) release(conn *net.UnixConn) {
	c.mu.Lock()
	delete(c.conns, conn)
	c.mu.Unlock()
	conn.Close()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
