package skiffapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
)

// defaultShell is what an exec session runs without a cmd parameter.
var defaultShell = []string{"/bin/sh"}

// killedCode is the exit code of a process killed with SIGKILL, as the
// monitor kills a container's exec'd processes when the container stops.
const killedCode = 128 + int(syscall.SIGKILL)

// GET /skiff/containers/{id}/exec/ws?cmd=/bin/sh&rows=R&cols=C[&session=S]
// runs cmd (repeated for each argument; /bin/sh by default) in the running
// container with a pty of rows x cols, or with session=S goes back to a
// session whose websocket dropped. The first message is
// {"type":"session","id":S}; the process's end is {"type":"exit","code":N},
// or {"type":"error","message":"the container stopped"}, then a normal
// close. A command that cannot start is {"type":"error","message":…}.
//
// A session outlives its last websocket by sessionGrace and replays its
// scrollback to the next one; one closed by the browser with a normal
// close (1000) hangs up at once.
func (r *terminalRoutes) exec(c echo.Context) error {
	req := c.Request()
	if err := checkUpgrade(req); err != nil {
		return err
	}
	rows, cols, err := termSize(c)
	if err != nil {
		return err
	}
	sessionID := c.QueryParam("session")
	var ctr *engine.Container
	if sessionID == "" {
		ctr, err = r.runningContainer(c)
	} else {
		// The session, not the container's state, tells how it went.
		ctr, err = r.b.ContainerInspect(req.Context(), c.Param("id"))
	}
	if err != nil {
		return err
	}
	cmd := c.QueryParams()["cmd"]
	if len(cmd) == 0 {
		cmd = defaultShell
	}
	ws, err := terminalUpgrader.Upgrade(c.Response(), req, nil)
	if err != nil {
		return nil // the upgrader has answered the client
	}
	defer ws.Close()
	tc := newTermConn(ws, r.hb)

	var sess *execSession
	if sessionID == "" {
		sess, err = r.startExec(req.Context(), ctr.ID, cmd, rows, cols)
	} else {
		sess, err = r.rejoin(req.Context(), sessionID, ctr.ID, rows, cols)
	}
	if err != nil {
		go tc.pumpInput(io.Discard, nil, nil) // to see the peer's close
		if tc.sendMessage(errorMessage(err.Error())) == nil {
			tc.close(websocket.CloseNormalClosure, "")
		}
		return nil
	}
	r.runExec(req.Context(), tc, sess)
	return nil
}

// startExec starts cmd with a pty of the browser's size and a session
// (joined by the caller) that pumps its output into a scrollback.
func (r *terminalRoutes) startExec(ctx context.Context, containerID string, cmd []string, rows, cols uint16) (*execSession, error) {
	execID, err := r.b.ExecCreate(ctx, containerID, engine.ExecOptions{
		Cmd:         cmd,
		Env:         []string{"TERM=xterm-256color"}, // xterm.js is the terminal
		Tty:         true,
		AttachStdin: true,
		ConsoleSize: [2]uint16{rows, cols},
	})
	if err != nil {
		return nil, err
	}
	stream, err := r.b.ExecStart(ctx, execID)
	if err != nil {
		return nil, err
	}
	sess := &execSession{
		id:          rand.Text(),
		containerID: containerID,
		execID:      execID,
		stream:      stream,
		out:         newScrollback(scrollbackSize, r.onScrollbackFull),
		clients:     1,
	}
	r.sessions.add(sess, r.base())
	go r.pump(sess)
	return sess, nil
}

// rejoin finds a session of the container and joins it, at the browser's
// new size.
func (r *terminalRoutes) rejoin(ctx context.Context, id, containerID string, rows, cols uint16) (*execSession, error) {
	sess := r.sessions.join(id, containerID)
	if sess == nil {
		return nil, errors.New("no such terminal session: it has ended, or was left without a connection too long")
	}
	if rows > 0 {
		// A process that has just exited has no size to change.
		r.b.ExecResize(ctx, sess.execID, rows, cols)
	}
	return sess, nil
}

// pump copies the process's output into the session's scrollback until it
// ends, then records how it ended.
func (r *terminalRoutes) pump(sess *execSession) {
	if _, err := io.Copy(sess.out, sess.stream); errors.Is(err, errSessionClosed) {
		io.Copy(io.Discard, sess.stream) // hung up: the process's last words go nowhere
	}
	sess.stream.Close()
	r.sessions.finish(sess, r.execEnd(r.base(), sess))
}

// execEnd records the exit of a session's process and words it for the
// browser: its exit code, or the stop of its container, which killed it.
func (r *terminalRoutes) execEnd(ctx context.Context, sess *execSession) serverMessage {
	code, err := r.b.ExecFinish(ctx, sess.execID)
	// A stopping container kills the process (137), or closes its monitor
	// before the exit code could be read (an error): either way, tell the
	// stop when that is what happened.
	if err != nil || code == killedCode {
		if exited, _, werr := r.waitExit(ctx, sess.containerID); exited || errdefs.IsNotFound(werr) {
			return errorMessage("the container stopped")
		}
	}
	if err != nil {
		return errorMessage(fmt.Sprintf("the process's end is unknown: %v", err))
	}
	return exitMessage(code)
}

// runExec serves a session on a websocket: the session's ID, its
// scrollback, live output, and how it ended; input and resizes go to the
// process. When ctx (the request's) ends, the login that opened the
// terminal did: the session is closed, and its process hung up.
func (r *terminalRoutes) runExec(ctx context.Context, tc *termConn, sess *execSession) {
	out := sess.out.newReader()
	defer func() {
		out.Close()
		r.sessions.leave(sess, tc.peerCloseCode())
	}()
	resize := func(rows, cols uint16) {
		// A resize that fails (the process just exited) changes nothing.
		r.b.ExecResize(context.Background(), sess.execID, rows, cols)
	}
	go tc.pumpInput(sess.stream, nil, resize)

	base := r.base()
	done := make(chan struct{})
	defer close(done)
	go func() { // ends with runExec: stops the output for a reason it cannot see
		select {
		case <-tc.gone:
		case <-base.Done():
		case <-ctx.Done():
		case <-done:
			return
		}
		out.Close()
	}()

	if tc.sendMessage(sessionMessage(sess.id)) != nil {
		return
	}
	buf := make([]byte, outputChunk)
	for {
		n, err := out.Read(buf)
		if n > 0 && tc.sendOutput(buf[:n]) != nil {
			return // the peer is gone
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			switch {
			case base.Err() != nil:
				tc.close(websocket.CloseGoingAway, daemonStopping)
			case ctx.Err() != nil:
				r.sessions.close(sess)
				tc.close(websocket.ClosePolicyViolation, loginEnded)
			}
			return
		}
	}
	final, ok := r.sessions.finalOf(sess)
	if !ok {
		final = errorMessage(errSessionClosed.Error())
	}
	if tc.sendMessage(final) == nil {
		r.sessions.told(sess)
		tc.close(websocket.CloseNormalClosure, "")
	}
}
