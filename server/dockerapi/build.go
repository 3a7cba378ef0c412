package dockerapi

import (
	"net/http"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/build"
)

// BuildIDHeader names the build that POST /build started, so a client can
// follow or cancel it through /skiff/builds.
const BuildIDHeader = "X-Skiff-Build-Id"

// buildRoutes serve the classic builder: POST /build, /build/cancel and
// /build/prune.
type buildRoutes struct {
	b BuildBackend
	// clientIDs maps the buildid a client chose, which is what moby's
	// /build/cancel takes, to the build's own ID while the build streams.
	clientIDs sync.Map
}

func (r *buildRoutes) register(e *echo.Echo) {
	e.POST("/build", r.build)
	e.POST("/build/cancel", r.cancel)
	e.POST("/build/prune", r.prune)
}

// POST /build: the body is the context, a tar. The request's context is the
// build's, so a client that disconnects cancels its build. X-Registry-Config
// carries the client's registry credentials for pulling base images; with no
// registry support yet it goes unread.
func (r *buildRoutes) build(c echo.Context) error {
	opts, err := ParseBuildOptions(c)
	if err != nil {
		return err
	}
	// BuildStart returns once it has read the whole context, so the
	// response only starts after the request body is consumed, as Go's
	// HTTP/1 server requires.
	id, err := r.b.BuildStart(c.Request().Context(), c.Request().Body, opts)
	if err != nil {
		return err
	}
	if clientID := c.QueryParam("buildid"); clientID != "" {
		r.clientIDs.Store(clientID, id)
		defer r.clientIDs.Delete(clientID)
	}
	c.Response().Header().Set(BuildIDHeader, id)
	return StreamBuild(c, r.b, id, boolParam(c, "q"))
}

// POST /build/cancel?id=: the id is the buildid the client gave /build, or
// skiff's own build ID.
func (r *buildRoutes) cancel(c echo.Context) error {
	id := c.QueryParam("id")
	if id == "" {
		return errdefs.ErrInvalidArgument.WithMessage("no build ID given")
	}
	if own, ok := r.clientIDs.Load(id); ok {
		id = own.(string)
	}
	if err := r.b.BuildCancel(c.Request().Context(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusOK)
}

// POST /build/prune: the classic builder's cache is its intermediate
// images, which rmi removes; there is no other cache to prune.
func (r *buildRoutes) prune(c echo.Context) error {
	return WriteJSON(c, http.StatusOK, build.CachePruneReport{CachesDeleted: []string{}})
}
