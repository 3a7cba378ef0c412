package monitor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
)

// serve accepts connections until shutdown closes the listener; each is
// handled by its own goroutine, tracked by m.handlers.
func (m *monitor) serve() {
	defer close(m.serving)
	for {
		conn, err := m.ln.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			m.log.Printf("accept: %v", err)
			time.Sleep(100 * time.Millisecond) // EMFILE and the like: don't spin
			continue
		}
		if !m.trackConn(conn) {
			conn.Close()
			continue
		}
		m.handlers.Add(1)
		go func() { // ends when the request is done; see handle
			defer m.handlers.Done()
			defer m.untrackConn(conn)
			m.handle(conn)
		}()
	}
}

// handle serves one connection: a request line, then a reply line, then
// for attach and exec the session's raw stream.
func (m *monitor) handle(conn *net.UnixConn) {
	br := bufio.NewReader(conn)
	var req request
	if err := readLine(br, &req); err != nil {
		if !errors.Is(err, io.EOF) {
			m.log.Printf("read request: %v", err)
		}
		return
	}
	switch req.Op {
	case opInfo:
		r := reply{Pid: m.init.Pid(), StartedAt: m.startedAt, Tty: m.cfg.Tty}
		if m.hasExited() {
			exit := m.exit
			r.Exit = &exit
		}
		m.reply(conn, r)
	case opWait:
		select {
		case <-m.exited:
			exit := m.exit
			m.reply(conn, reply{Exit: &exit})
		case <-peerGone(br):
		}
	case opSignal:
		m.replyErr(conn, m.signal(syscall.Signal(req.Signal)))
	case opResize:
		m.replyErr(conn, m.resize(req.Rows, req.Cols))
	case opAttach:
		if req.Attach == nil {
			req.Attach = &AttachOptions{}
		}
		m.serveAttach(conn, br, *req.Attach)
	case opExec:
		if req.Exec == nil {
			m.replyErr(conn, errdefs.ErrInvalidArgument.WithMessage("exec request without a process"))
			return
		}
		m.serveExec(conn, br, *req.Exec)
	case opExecResize:
		m.replyErr(conn, m.execResize(req.ExecID, req.Rows, req.Cols))
	case opExecWait:
		m.serveExecWait(conn, br, req.ExecID)
	default:
		m.replyErr(conn, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unknown monitor request %q", req.Op)))
	}
}

func (m *monitor) reply(conn *net.UnixConn, r reply) {
	writeLine(conn, r) // a client that went away needs no answer
}

func (m *monitor) replyErr(conn *net.UnixConn, err error) {
	m.reply(conn, reply{Error: toWire(err)})
}

// peerGone returns a channel closed when the client closes its end (or the
// connection is closed): a request that waits stops waiting for nobody.
func peerGone(br *bufio.Reader) <-chan struct{} {
	gone := make(chan struct{})
	go func() { // ends at the client's EOF, or when the handler closes the connection
		io.Copy(io.Discard, br)
		close(gone)
	}()
	return gone
}

func (m *monitor) signal(sig syscall.Signal) error {
	if sig <= 0 || sig > 64 {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid signal %d", sig))
	}
	if m.hasExited() {
		return m.errNotRunning()
	}
	if err := m.init.Signal(sig); err != nil {
		if m.hasExited() || errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
			return m.errNotRunning()
		}
		return fmt.Errorf("signal container %s: %w", m.cfg.ID, err)
	}
	return nil
}

func (m *monitor) resize(rows, cols uint16) error {
	switch {
	case m.hasExited():
		return m.errNotRunning()
	case m.io.console == nil:
		return nil // as Docker: resizing a container without a TTY is no error
	}
	return setConsoleSize(m.io.console, rows, cols)
}

// serveAttach runs an attach session: output through the hub, the client's
// stdin (if asked for, and if the container has OpenStdin) to the
// container's.
func (m *monitor) serveAttach(conn *net.UnixConn, br *bufio.Reader, opts AttachOptions) {
	m.reply(conn, reply{})
	sub := m.out.subscribe(conn, opts)
	defer m.out.unsubscribe(sub)

	forward := opts.Stdin && m.cfg.OpenStdin
	err := copyStdin(br, forward, m.writeStdin)
	if forward && clientEnded(err) {
		switch {
		case m.cfg.Tty:
			// Docker: the end of a TTY client's stdin (a detach) ends its
			// session; the container keeps its terminal.
			m.out.unsubscribe(sub)
		case m.cfg.StdinOnce:
			m.stdinOnce.Do(func() { m.io.stdin.Close() })
		}
	}
	<-sub.done
}

// writeStdin writes one client's chunk to the init's stdin. A container
// that does not read its stdin blocks only the clients that write to it.
func (m *monitor) writeStdin(p []byte) {
	m.stdinMu.Lock()
	defer m.stdinMu.Unlock()
	m.io.stdin.Write(p) // fails once stdin is closed or the container gone: the client's bytes go nowhere, as in Docker
}

// copyStdin reads a client's stdin until it ends, handing it to write if
// forward is set and discarding it otherwise. It returns nil at the
// client's EOF.
func copyStdin(r io.Reader, forward bool, write func([]byte)) error {
	buf := make([]byte, 4<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 && forward {
			write(buf[:n])
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (m *monitor) trackConn(c *net.UnixConn) bool {
	m.connsMu.Lock()
	defer m.connsMu.Unlock()
	if m.closing {
		return false
	}
	m.conns[c] = struct{}{}
	return true
}

func (m *monitor) untrackConn(c *net.UnixConn) {
	m.connsMu.Lock()
	delete(m.conns, c)
	m.connsMu.Unlock()
	c.Close()
}

// closeConns closes every open connection, ending their handlers.
func (m *monitor) closeConns() {
	m.connsMu.Lock()
	defer m.connsMu.Unlock()
	m.closing = true
	for c := range m.conns {
		c.Close()
	}
}
