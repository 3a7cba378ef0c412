package server

import (
	"context"
	"io"

	"github.com/skiff-dev/skiff/engine"
)

// EngineBuilds are the engine's build methods.
type EngineBuilds interface {
	BuildStart(ctx context.Context, src io.Reader, opts engine.BuildOptions) (*engine.Build, error)
	BuildFollow(ctx context.Context, id string, fn func(engine.BuildMessage) error) error
	BuildCancel(ctx context.Context, id string) error
	BuildList(ctx context.Context) ([]engine.BuildRecord, error)
	BuildInspect(ctx context.Context, id string) (*engine.BuildRecord, error)
}

// buildsByID is the engine's builds as the handlers take them: named by
// their ID, not by the engine's *Build, which a test's fake cannot make.
type buildsByID struct {
	EngineBuilds
}

func (b buildsByID) BuildStart(ctx context.Context, src io.Reader, opts engine.BuildOptions) (string, error) {
	build, err := b.EngineBuilds.BuildStart(ctx, src, opts)
	if err != nil {
		return "", err
	}
	return build.ID(), nil
}
