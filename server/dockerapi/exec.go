package dockerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine"
)

type execRoutes struct {
	b ContainerBackend
}

func (r *execRoutes) register(e *echo.Echo) {
	e.POST("/containers/:id/exec", r.create)
	e.POST("/exec/:id/start", r.start)
	e.POST("/exec/:id/resize", r.resize)
	e.GET("/exec/:id/json", r.inspect)
}

// POST /containers/{id}/exec
func (r *execRoutes) create(c echo.Context) error {
	var req container.ExecCreateRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
	}
	opts := engine.ExecOptions{
		Cmd: req.Cmd, Env: req.Env, User: req.User, WorkingDir: req.WorkingDir,
		Tty: req.Tty, AttachStdin: req.AttachStdin, Privileged: req.Privileged,
	}
	if req.ConsoleSize != nil {
		opts.ConsoleSize = [2]uint16{uint16(req.ConsoleSize[0]), uint16(req.ConsoleSize[1])}
	}
	id, err := r.b.ExecCreate(c.Request().Context(), c.Param("id"), opts)
	if err != nil {
		return err
	}
	return WriteJSON(c, http.StatusCreated, container.ExecCreateResponse{ID: id})
}

// POST /exec/{id}/start: the hijacked stream, or with Detach a plain 200.
func (r *execRoutes) start(c echo.Context) error {
	var req container.ExecStartRequest
	if c.Request().ContentLength != 0 {
		if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid JSON: %v", err))
		}
	}
	ctx := c.Request().Context()
	id := c.Param("id")
	ex, err := r.b.ExecInspect(ctx, id)
	if err != nil {
		return err
	}
	stream, err := r.b.ExecStart(ctx, id)
	if err != nil {
		return err
	}
	if req.Detach {
		stream.Close()
		go r.b.ExecFinish(context.WithoutCancel(ctx), id)
		return c.NoContent(http.StatusOK)
	}
	conn, in, err := hijack(c, streamType(c, ex.Options.Tty))
	if err != nil {
		stream.Close()
		return err
	}
	keys, _ := parseDetachKeys("")
	finished := false
	finish := func() {
		r.b.ExecFinish(context.WithoutCancel(ctx), id)
		finished = true
	}
	// The CLI reads the exit code as soon as the stream ends: it is
	// recorded before the client sees the end.
	pipeSession(conn, in, stream, ex.Options.AttachStdin, ex.Options.Tty, keys, finish)
	if !finished {
		finish() // detached: record the exit code when the process ends
	}
	return nil
}

// POST /exec/{id}/resize?h=&w=
func (r *execRoutes) resize(c echo.Context) error {
	rows, cols, err := sizeParams(c)
	if err != nil {
		return err
	}
	if err := r.b.ExecResize(c.Request().Context(), c.Param("id"), rows, cols); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// GET /exec/{id}/json
func (r *execRoutes) inspect(c echo.Context) error {
	ex, err := r.b.ExecInspect(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	out := container.ExecInspectResponse{
		ID:          ex.ID,
		Running:     ex.Running,
		ContainerID: ex.ContainerID,
		Pid:         ex.Pid,
		OpenStdin:   ex.Options.AttachStdin,
		OpenStdout:  true,
		OpenStderr:  true,
		ProcessConfig: &container.ExecProcessConfig{
			Tty: ex.Options.Tty, User: ex.Options.User, Privileged: &ex.Options.Privileged,
		},
	}
	if len(ex.Options.Cmd) > 0 {
		out.ProcessConfig.Entrypoint, out.ProcessConfig.Arguments = ex.Options.Cmd[0], ex.Options.Cmd[1:]
	}
	out.ExitCode = ex.ExitCode
	return WriteJSON(c, http.StatusOK, out)
}
