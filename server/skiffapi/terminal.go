package skiffapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/container"
)

// exitGrace is how long a terminal whose stream ended waits for the
// container to be seen stopped: its monitor ends the streams a moment
// before the daemon records the exit.
const exitGrace = 2 * time.Second

// TerminalBackend is what the dashboard's terminals need from the engine.
type TerminalBackend interface {
	ContainerInspect(ctx context.Context, ref string) (*engine.Container, error)
	ContainerWait(ctx context.Context, ref string, cond engine.ContainerWaitCondition, ready func()) (engine.ContainerWaitResult, error)
	ContainerResize(ctx context.Context, ref string, rows, cols uint16) error
	ContainerAttachReplay(ctx context.Context, ref string, opts engine.ContainerAttachOptions) (*engine.Stream, error)
	ExecCreate(ctx context.Context, ref string, opts engine.ExecOptions) (string, error)
	ExecStart(ctx context.Context, id string) (*engine.Stream, error)
	ExecFinish(ctx context.Context, id string) (int, error)
	ExecResize(ctx context.Context, id string, rows, cols uint16) error
	ExecSignal(ctx context.Context, id string, sig syscall.Signal) error
}

// terminalRoutes serve the dashboard's terminals, websockets that carry a
// pty's bytes in binary frames and control messages in text frames:
//
//	GET /skiff/containers/{id}/attach/ws?rows=R&cols=C
//	GET /skiff/containers/{id}/exec/ws?cmd=/bin/sh&rows=R&cols=C[&session=S]
//
// terminal_attach.go and terminal_exec.go tell the two apart.
type terminalRoutes struct {
	b        TerminalBackend
	base     func() context.Context
	sessions *execSessions
	hb       heartbeat
	// onScrollbackFull, if set, is called whenever an exec session's
	// output waits for a slow websocket (see scrollback.onFull).
	onScrollbackFull func()
}

func newTerminalRoutes(b TerminalBackend, base func() context.Context) *terminalRoutes {
	if base == nil {
		base = context.Background
	}
	r := &terminalRoutes{b: b, base: base, hb: defaultHeartbeat}
	r.sessions = newExecSessions(sessionGrace, r.hangUp)
	return r
}

func (r *terminalRoutes) register(g *echo.Group) {
	g.GET("/containers/:id/attach/ws", r.attach)
	g.GET("/containers/:id/exec/ws", r.exec)
}

// checkUpgrade refuses what is not a websocket upgrade from the daemon's
// own origin, before any work is done for it.
func checkUpgrade(req *http.Request) error {
	if !websocket.IsWebSocketUpgrade(req) {
		return errdefs.ErrInvalidArgument.WithMessage("this endpoint is a websocket: the request must ask for an upgrade")
	}
	if !sameOrigin(req) {
		return errdefs.ErrPermissionDenied.WithMessage("websocket from a foreign origin refused: " + req.Header.Get("Origin"))
	}
	return nil
}

// termSize reads the rows and cols parameters, the browser's terminal size,
// so that the pty has it before its first byte; zeros when both are absent.
func termSize(c echo.Context) (rows, cols uint16, err error) {
	rs, cs := c.QueryParam("rows"), c.QueryParam("cols")
	if rs == "" && cs == "" {
		return 0, 0, nil
	}
	r, rerr := strconv.ParseUint(rs, 10, 16)
	k, cerr := strconv.ParseUint(cs, 10, 16)
	if rerr != nil || cerr != nil || r == 0 || k == 0 {
		return 0, 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid terminal size rows=%q cols=%q: both must be between 1 and 65535", rs, cs))
	}
	return uint16(r), uint16(k), nil
}

// runningContainer returns the container named by the path, refusing one
// that is not running (409) before the upgrade.
func (r *terminalRoutes) runningContainer(c echo.Context) (*engine.Container, error) {
	ctr, err := r.b.ContainerInspect(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	switch {
	case ctr.State.Status == containertypes.StatePaused:
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is paused, unpause it first", shortID(ctr.ID)))
	case !ctr.State.Running():
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", shortID(ctr.ID)))
	}
	return ctr, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// waitExit tells whether the container exited, and its exit code, waiting
// exitGrace for the daemon to record an exit that is under way.
func (r *terminalRoutes) waitExit(ctx context.Context, id string) (exited bool, code int, err error) {
	wctx, cancel := context.WithTimeout(ctx, exitGrace)
	defer cancel()
	res, err := r.b.ContainerWait(wctx, id, container.WaitNotRunning, func() {})
	switch {
	case err == nil:
		return true, res.ExitCode, nil
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return false, 0, nil
	case errdefs.IsNotFound(err):
		return false, 0, errdefs.ErrNotFound.WithMessage("the container was removed")
	}
	return false, 0, err
}
