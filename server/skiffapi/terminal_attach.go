package skiffapi

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server/dockerapi"
)

// attachStreams are what an attach websocket asks of the container: its
// terminal, both ways.
var attachStreams = engine.ContainerAttachOptions{Stdin: true, Stdout: true, Stderr: true}

// GET /skiff/containers/{id}/attach/ws?rows=R&cols=C attaches to the
// terminal of a container created with -t: first its recent output (the
// monitor's replay, which is also what a reconnect shows), then live. The
// container is resized first when rows and cols are given. Ctrl-P Ctrl-Q
// detaches ({"type":"detached"}); the container's exit is told as
// {"type":"exit","code":N}. Either way a normal close follows; closing the
// websocket never stops the container. Any number of websockets may attach
// to one container.
func (r *terminalRoutes) attach(c echo.Context) error {
	req := c.Request()
	if err := checkUpgrade(req); err != nil {
		return err
	}
	rows, cols, err := termSize(c)
	if err != nil {
		return err
	}
	ctr, err := r.runningContainer(c)
	if err != nil {
		return err
	}
	if !ctr.Config.Tty {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s has no terminal to attach to: it was created without -t", shortID(ctr.ID)))
	}
	if rows > 0 {
		if err := r.b.ContainerResize(req.Context(), ctr.ID, rows, cols); err != nil {
			return err
		}
	}
	stream, err := r.b.ContainerAttachReplay(req.Context(), ctr.ID, attachStreams)
	if err != nil {
		return err
	}
	ws, err := terminalUpgrader.Upgrade(c.Response(), req, nil)
	if err != nil {
		stream.Close()
		return nil // the upgrader has answered the client
	}
	defer ws.Close()
	a := &attachSession{r: r, tc: newTermConn(ws, r.hb), containerID: ctr.ID, stream: stream}
	a.run(req.Context())
	return nil
}

// attachSession is one websocket attached to a container's terminal.
type attachSession struct {
	r           *terminalRoutes
	tc          *termConn
	containerID string

	mu      sync.Mutex
	stream  *engine.Stream // replaced when the monitor dropped a slow reader
	stopped bool           // the session is over: no stream is attached again
}

// run copies the container's output to the websocket and its input back,
// until the container exits, the user detaches, the websocket goes, or ctx
// (the request's) ends: the login that opened the terminal did.
func (a *attachSession) run(ctx context.Context) {
	base := a.r.base()
	detached := make(chan struct{})
	detach := func(in io.Reader) io.Reader {
		return dockerapi.DetachReader(in, dockerapi.DefaultDetachKeys(), func() { close(detached) })
	}
	go a.tc.pumpInput(a, detach, a.resize)

	done := make(chan struct{})
	defer close(done)
	go func() { // ends with run: stops the output for a reason it cannot see
		select {
		case <-detached:
		case <-a.tc.gone:
		case <-base.Done():
		case <-ctx.Done():
		case <-done:
			return
		}
		a.stop()
	}()

	code, err := a.copyOutput(base)
	switch {
	case isClosed(detached):
		if a.tc.sendMessage(detachedMessage) == nil {
			a.tc.close(websocket.CloseNormalClosure, "")
		}
	case isClosed(a.tc.gone):
	case base.Err() != nil:
		a.tc.close(websocket.CloseGoingAway, daemonStopping)
	case ctx.Err() != nil:
		a.tc.close(websocket.ClosePolicyViolation, loginEnded)
	case err != nil:
		if a.tc.sendMessage(errorMessage(err.Error())) == nil {
			a.tc.close(websocket.CloseNormalClosure, "")
		}
	default:
		if a.tc.sendMessage(exitMessage(code)) == nil {
			a.tc.close(websocket.CloseNormalClosure, "")
		}
	}
}

// copyOutput sends the container's output until its stream ends. When it
// ends by itself and the container exited, copyOutput returns the exit
// code; when the container runs on, its monitor dropped this reader for
// falling a megabyte behind (it never makes a container wait), and
// copyOutput attaches again: the replay resumes at the screen's latest
// state, the bytes in between are skipped.
func (a *attachSession) copyOutput(ctx context.Context) (int, error) {
	buf := make([]byte, outputChunk)
	for {
		stream := a.current()
		for {
			n, err := stream.Read(buf)
			if n > 0 && a.tc.sendOutput(buf[:n]) != nil {
				return 0, nil // the peer is gone
			}
			if err != nil {
				break
			}
		}
		stream.Close()
		if a.isStopped() {
			return 0, nil
		}
		exited, code, err := a.r.waitExit(ctx, a.containerID)
		if err != nil || exited {
			return code, err
		}
		next, err := a.r.b.ContainerAttachReplay(ctx, a.containerID, attachStreams)
		if err != nil {
			return 0, fmt.Errorf("attach again after falling behind: %w", err)
		}
		if !a.replace(next) {
			return 0, nil
		}
	}
}

// Write sends input to the container. It never fails: input that meets a
// stream just ended is dropped, whether the container exited (the session
// is ending) or a new stream is being attached.
func (a *attachSession) Write(p []byte) (int, error) {
	a.current().Write(p)
	return len(p), nil
}

func (a *attachSession) resize(rows, cols uint16) {
	// A resize that fails (the container just exited) changes nothing.
	a.r.b.ContainerResize(context.Background(), a.containerID, rows, cols)
}

func (a *attachSession) current() *engine.Stream {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stream
}

// replace installs a new stream, unless the session stopped meanwhile.
func (a *attachSession) replace(s *engine.Stream) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		s.Close()
		return false
	}
	a.stream = s
	return true
}

// stop ends the session: the stream is closed, which ends the output's
// Read; the container runs on.
func (a *attachSession) stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stopped = true
	a.stream.Close()
}

func (a *attachSession) isStopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
