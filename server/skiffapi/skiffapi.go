// Package skiffapi serves skiff's own endpoints, under /skiff/: what the
// Docker Engine API has no place for, such as the image lineage tree.
package skiffapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server/dockerapi"
	"github.com/skiff-dev/skiff/server/wire"
)

// Backend is what the /skiff/ handlers need from the engine.
type Backend interface {
	ImageTree(ctx context.Context) ([]*engine.ImageTreeNode, error)
	TerminalBackend
	RegistryBackend
	RegistryAuthBackend
}

// BuildBackend runs and records Dockerfile builds.
type BuildBackend interface {
	dockerapi.BuildBackend
	// BuildList returns the recorded builds, newest first.
	BuildList(ctx context.Context) ([]engine.BuildRecord, error)
	BuildInspect(ctx context.Context, id string) (*engine.BuildRecord, error)
}

// Options configure the /skiff/ routes.
type Options struct {
	// BaseContext is the context of work that outlives its request, such
	// as a build started by an upload: it ends when the daemon stops
	// serving. Nil is context.Background.
	BaseContext func() context.Context
}

// Register adds the /skiff/ routes to e.
func Register(e *echo.Echo, b Backend, builds BuildBackend, opts Options) {
	g := e.Group("/skiff")
	g.GET("/images/tree", func(c echo.Context) error { return imageTree(c, b) })
	newBuildRoutes(builds, opts.BaseContext).register(g)
	newTerminalRoutes(b, opts.BaseContext).register(g)
	newRegistryRoutes(b, opts.BaseContext).register(g)
	registerRegistryAuth(g, b)
}

// GET /skiff/images/tree
func imageTree(c echo.Context, b Backend) error {
	roots, err := b.ImageTree(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]wire.ImageTreeNode, 0, len(roots))
	for _, r := range roots {
		out = append(out, treeNode(r))
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/json")
	c.Response().WriteHeader(http.StatusOK)
	return json.NewEncoder(c.Response()).Encode(out)
}

func treeNode(n *engine.ImageTreeNode) wire.ImageTreeNode {
	out := wire.ImageTreeNode{
		ID:          n.ID.String(),
		ParentID:    n.ParentID.String(),
		RepoTags:    n.RepoTags,
		Created:     n.Created.Unix(),
		Size:        n.OwnSize,
		VirtualSize: n.Size,
		Containers:  n.Containers,
		Children:    make([]wire.ImageTreeNode, 0, len(n.Children)),
	}
	for _, c := range n.Children {
		out.Children = append(out.Children, treeNode(c))
	}
	return out
}
