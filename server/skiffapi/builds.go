package skiffapi

import (
	"context"
	"fmt"
	"net/http"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/build"
	"github.com/skiff-dev/skiff/server/dockerapi"
	"github.com/skiff-dev/skiff/server/wire"
)

// buildRoutes serve /skiff/builds: the recorded builds, builds started
// detached from their upload (the dashboard's), their cancellation and
// their logs.
type buildRoutes struct {
	b    BuildBackend
	base func() context.Context
}

func newBuildRoutes(b BuildBackend, base func() context.Context) *buildRoutes {
	if base == nil {
		base = context.Background
	}
	return &buildRoutes{b: b, base: base}
}

func (r *buildRoutes) register(g *echo.Group) {
	g.GET("/builds", r.list)
	g.POST("/builds", r.start)
	g.GET("/builds/:id", r.inspect)
	g.DELETE("/builds/:id", r.cancel)
	g.GET("/builds/:id/logs", r.logs)
}

// GET /skiff/builds
func (r *buildRoutes) list(c echo.Context) error {
	records, err := r.b.BuildList(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]wire.Build, 0, len(records))
	for i := range records {
		out = append(out, buildRecord(&records[i]))
	}
	return dockerapi.WriteJSON(c, http.StatusOK, out)
}

// GET /skiff/builds/{id}
func (r *buildRoutes) inspect(c echo.Context) error {
	rec, err := r.b.BuildInspect(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return dockerapi.WriteJSON(c, http.StatusOK, buildRecord(rec))
}

// POST /skiff/builds takes the context and the query parameters of
// POST /build, and answers 201 with the build's ID once the context is read.
// The build belongs to the daemon, not to the request: it runs on when the
// client goes away and ends only when done, cancelled, or the daemon stops.
func (r *buildRoutes) start(c echo.Context) error {
	opts, err := dockerapi.ParseBuildOptions(c)
	if err != nil {
		return err
	}
	id, err := r.b.BuildStart(r.base(), c.Request().Body, opts)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/skiff/builds/"+id)
	return dockerapi.WriteJSON(c, http.StatusCreated, wire.BuildStarted{ID: id})
}

// DELETE /skiff/builds/{id} cancels a running build: 404 for an unknown
// build, 409 for one that has ended.
func (r *buildRoutes) cancel(c echo.Context) error {
	ctx := c.Request().Context()
	rec, err := r.b.BuildInspect(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if rec.Status != build.StatusRunning {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("build %s is not running (status %s)", rec.ID, rec.Status))
	}
	if err := r.b.BuildCancel(ctx, rec.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func buildRecord(rec *engine.BuildRecord) wire.Build {
	tags := rec.Tags
	if tags == nil {
		tags = []string{}
	}
	return wire.Build{
		ID:              rec.ID,
		Status:          string(rec.Status),
		Dockerfile:      rec.Dockerfile,
		ContextDigest:   rec.ContextDigest.String(),
		Tags:            tags,
		ImageID:         rec.ImageID.String(),
		Started:         rec.Started,
		Finished:        rec.Finished,
		Error:           rec.Error,
		FailedContainer: rec.FailedContainer,
	}
}
