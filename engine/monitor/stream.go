package monitor

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// Stream carries an attach or exec session.
//
// Reads return what the process writes: with a TTY the raw bytes; without
// one Docker's stdcopy frames (an 8-byte header: the stream, 1 for stdout or
// 2 for stderr, three zero bytes, the payload length as a big-endian
// uint32; then the payload), so a daemon can copy them to a docker client
// unchanged. Reads end with io.EOF once the process has exited and all its
// output was delivered, or earlier when the session ends: a TTY session
// whose stdin ended, or a client that fell more than a megabyte behind the
// container's output (see doc.go).
//
// Writes go to the process's stdin; CloseWrite ends it (see
// Config.StdinOnce for an attach, an exec's stdin is closed). Read and Write
// may be called concurrently.
type Stream struct {
	conn *net.UnixConn
	r    *bufio.Reader // holds what followed the reply line
}

func (s *Stream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *Stream) Write(p []byte) (int, error) { return s.conn.Write(p) }

// CloseWrite ends the session's stdin; output keeps coming.
func (s *Stream) CloseWrite() error { return s.conn.CloseWrite() }

// Close ends the session. The process keeps running.
func (s *Stream) Close() error { return s.conn.Close() }

// ExecSession is a process started in the running container by Exec.
type ExecSession struct {
	client *Client
	id     string
	pid    int
	stream *Stream

	mu sync.Mutex
	// waitConn is the exec-wait request Exec sends at once, so that the
	// exit code reaches this session even if the monitor exits right after
	// the process (nil if that request could not be sent).
	waitConn *net.UnixConn
	waitR    *bufio.Reader
	code     *int // once known
}

// Exec starts a process in the running container and returns its session;
// ctx bounds only the start. It returns errdefs.ErrConflict when the
// container is not running, and the runtime's error (with its errdefs
// class) when the process could not start.
func (c *Client) Exec(ctx context.Context, cfg ExecConfig) (*ExecSession, error) {
	conn, br, r, err := c.open(ctx, request{Op: opExec, Exec: &cfg})
	if err != nil {
		return nil, err
	}
	e := &ExecSession{client: c, id: r.ExecID, pid: r.Pid, stream: c.stream(conn, br)}
	if wc, err := dial(ctx, c.dir); err == nil {
		if c.track(wc) && writeLine(wc, request{Op: opExecWait, ExecID: e.id}) == nil {
			e.waitConn, e.waitR = wc, bufio.NewReader(wc)
		} else {
			c.release(wc)
		}
	}
	return e, nil
}

// Pid returns the process's host PID.
func (e *ExecSession) Pid() int { return e.pid }

// Stream returns the session's stdio.
func (e *ExecSession) Stream() *Stream { return e.stream }

// Resize sets the size of the process's TTY; without a TTY it does
// nothing.
func (e *ExecSession) Resize(rows, cols uint16) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return e.client.call(ctx, request{Op: opExecResize, ExecID: e.id, Rows: rows, Cols: cols}, nil)
}

// Wait blocks until the process has exited and returns its exit code
// (128+n when killed by signal n). It is ready as soon as the stream has
// returned io.EOF, and may be called again. Call it once the session is
// over: it releases the connection Exec opened for it.
func (e *ExecSession) Wait(ctx context.Context) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.code != nil {
		return *e.code, nil
	}
	var r reply
	var err error
	if e.waitConn != nil {
		e.waitConn.SetReadDeadline(time.Time{})
		err = withDeadline(ctx, e.waitConn, func() error { return readLine(e.waitR, &r) })
		if err == nil {
			err = r.Error.err()
		}
	} else {
		err = e.client.call(ctx, request{Op: opExecWait, ExecID: e.id}, &r)
	}
	if err != nil {
		return 0, fmt.Errorf("wait for exec %s: %w", e.id, err)
	}
	if e.waitConn != nil {
		e.client.release(e.waitConn)
		e.waitConn = nil
	}
	e.code = &r.ExitCode
	return r.ExitCode, nil
}
