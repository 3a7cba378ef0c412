// Package skiffapi serves skiff's own endpoints, under /skiff/: what the
// Docker Engine API has no place for, such as the image lineage tree.
package skiffapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/server/wire"
)

// Backend is what the /skiff/ handlers need from the engine.
type Backend interface {
	ImageTree(ctx context.Context) ([]*engine.ImageTreeNode, error)
}

// Register adds the /skiff/ routes to e.
func Register(e *echo.Echo, b Backend) {
	g := e.Group("/skiff")
	g.GET("/images/tree", func(c echo.Context) error { return imageTree(c, b) })
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
