// Package dockerapi serves the Docker Engine API (the subset in
// shared/reference/engine-api.md) over the engine, with moby's API types, so
// the docker CLI, skiff's CLI and the dashboard all speak one API.
package dockerapi

import (
	"context"
	"io"

	"github.com/labstack/echo/v4"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine"
)

// Backend is what the Docker API handlers need from the engine.
type Backend interface {
	Info(ctx context.Context) (engine.Info, error)

	ImageList(ctx context.Context, opts engine.ImageListOptions) ([]engine.ImageSummary, error)
	ImageInspect(ctx context.Context, ref string) (*engine.Image, error)
	ImageHistory(ctx context.Context, ref string) ([]engine.ImageHistoryItem, error)
	ImageTag(ctx context.Context, source, target string) error
	ImageDelete(ctx context.Context, ref string, force, prune bool) ([]engine.ImageDeleteRecord, error)
	ImageImport(ctx context.Context, r io.Reader, opts engine.ImageImportOptions) (digest.Digest, error)
	ImageLoad(ctx context.Context, r io.Reader) ([]engine.ImageLoadResult, error)
	ImageSave(ctx context.Context, w io.Writer, refs []string) error
}

// Options configure the API.
type Options struct {
	// Version is skiff's version string.
	Version string
}

// Register adds the Docker API routes to e.
func Register(e *echo.Echo, b Backend, opts Options) {
	sys := &systemRoutes{b: b, version: opts.Version}
	e.GET("/_ping", sys.ping)
	e.HEAD("/_ping", sys.ping)
	e.GET("/version", sys.versionInfo)
	e.GET("/info", sys.info)

	img := &imageRoutes{b: b}
	e.GET("/images/json", img.list)
	e.POST("/images/create", img.create)
	e.POST("/images/load", img.load)
	e.GET("/images/get", img.saveMany)
	e.GET("/images/search", notImplemented("searching a registry"))
	e.GET("/images/*", img.getByName)
	e.HEAD("/images/*", img.getByName)
	e.POST("/images/*", img.postByName)
	e.DELETE("/images/*", img.remove)

	// Until the runtime lands, every container is unknown; docker inspect
	// asks for a container first and must get a 404 to try an image next.
	e.GET("/containers/:id/json", func(c echo.Context) error {
		return errNoSuchContainer(c.Param("id"))
	})
}
