package engine

import (
	"context"
	"io"

	"github.com/skiff-dev/skiff/engine/build"
	"github.com/skiff-dev/skiff/engine/image"
)

// The build types the engine's API speaks, defined in engine/build.
type (
	BuildOptions = build.Options
	BuildRecord  = build.Record
	BuildMessage = build.Message
	BuildStatus  = build.Status
	Build        = build.Build
)

// BuildStart reads a build context from src and starts a Dockerfile build;
// cancelling ctx cancels the build.
func (e *Engine) BuildStart(ctx context.Context, src io.Reader, opts BuildOptions) (*Build, error) {
	return e.builder.Start(ctx, src, opts)
}

// BuildFollow streams a build's messages: a running build's so far and then
// live ones, a finished build's stored log.
func (e *Engine) BuildFollow(ctx context.Context, id string, fn func(BuildMessage) error) error {
	return e.builder.Follow(ctx, id, fn)
}

// BuildCancel cancels a running build.
func (e *Engine) BuildCancel(ctx context.Context, id string) error {
	return e.builder.Cancel(ctx, id)
}

// BuildList lists recorded builds, newest first.
func (e *Engine) BuildList(ctx context.Context) ([]BuildRecord, error) {
	return e.builder.List(ctx)
}

// BuildInspect returns one build's record.
func (e *Engine) BuildInspect(ctx context.Context, id string) (*BuildRecord, error) {
	return e.builder.Get(ctx, id)
}

// builderImages is the image store as the builder sees it: its tags are
// announced on /events as the API's.
type builderImages struct {
	*image.Service
	e *Engine
}

func (b builderImages) Tag(ctx context.Context, source, target string) error {
	return b.e.ImageTag(ctx, source, target)
}
