// Package apitest helps the handler tests of server/dockerapi and
// server/skiffapi: a scripted build backend, and an Echo that answers errors
// as the server does.
package apitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/labstack/echo/v4"
	"github.com/moby/moby/api/types/common"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/build"
)

// NewEcho returns an Echo whose errors become {"message": …} answers with
// the status of their errdefs class, as the server's error funnel does.
func NewEcho() *echo.Echo {
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status := errhttp.ToHTTP(err)
		if he, ok := err.(*echo.HTTPError); ok {
			status = he.Code
		}
		_ = c.JSON(status, common.ErrorResponse{Message: err.Error()})
	}
	return e
}

// Builds is a fake build backend. Each started build gets an ID b1, b2, …
// and a log the test writes with Emit; followers see that log as the
// builder's Follow would: what is there, then live messages, until one
// carries an ImageID or an Error.
type Builds struct {
	// StartErr, if set, fails BuildStart after the context is read.
	StartErr error
	// Log is the log every started build begins with.
	Log []engine.BuildMessage

	mu      sync.Mutex
	builds  []*Build
	started chan *Build
}

// Build is one build of the fake.
type Build struct {
	ID      string
	Opts    engine.BuildOptions
	Context []byte          // what BuildStart read
	Ctx     context.Context // BuildStart's

	mu       sync.Mutex
	log      []engine.BuildMessage
	status   build.Status
	grew     chan struct{} // closed and replaced when the log grows
	canceled bool
}

// NewBuilds returns an empty fake.
func NewBuilds() *Builds {
	return &Builds{started: make(chan *Build, 16)}
}

// Started returns the next build started, in order.
func (f *Builds) Started() *Build { return <-f.started }

// Add records a build, as if started, without a request.
func (f *Builds) Add(status build.Status, log ...engine.BuildMessage) *Build {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := &Build{ID: fmt.Sprintf("b%d", len(f.builds)+1), Ctx: context.Background(), status: status, log: log, grew: make(chan struct{})}
	f.builds = append(f.builds, b)
	return b
}

func (f *Builds) BuildStart(ctx context.Context, src io.Reader, opts engine.BuildOptions) (string, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, src); err != nil {
		return "", errdefs.ErrInvalidArgument.WithMessage("reading the build context: " + err.Error())
	}
	if f.StartErr != nil {
		return "", f.StartErr
	}
	b := f.Add(build.StatusRunning)
	b.mu.Lock()
	b.Opts, b.Context, b.Ctx = opts, buf.Bytes(), ctx
	b.mu.Unlock()
	for _, m := range f.Log {
		b.Emit(m)
	}
	f.started <- b
	return b.ID, nil
}

func (f *Builds) get(id string) (*Build, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.builds {
		if b.ID == id {
			return b, nil
		}
	}
	return nil, errdefs.ErrNotFound.WithMessage("no such build: " + id)
}

func (f *Builds) BuildFollow(ctx context.Context, id string, fn func(engine.BuildMessage) error) error {
	b, err := f.get(id)
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		m, err := b.next(ctx, i)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		if m.ImageID != "" || m.Error != "" {
			return nil
		}
	}
}

func (f *Builds) BuildCancel(ctx context.Context, id string) error {
	b, err := f.get(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.canceled = true
	b.mu.Unlock()
	return nil
}

func (f *Builds) BuildList(ctx context.Context) ([]engine.BuildRecord, error) {
	f.mu.Lock()
	builds := append([]*Build(nil), f.builds...)
	f.mu.Unlock()
	var out []engine.BuildRecord
	for i := len(builds) - 1; i >= 0; i-- {
		out = append(out, builds[i].record())
	}
	return out, nil
}

func (f *Builds) BuildInspect(ctx context.Context, id string) (*engine.BuildRecord, error) {
	b, err := f.get(id)
	if err != nil {
		return nil, err
	}
	rec := b.record()
	return &rec, nil
}

// Emit appends m to the build's log; a message with an ImageID or an Error
// ends the build.
func (b *Build) Emit(m engine.BuildMessage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log = append(b.log, m)
	switch {
	case m.ImageID != "":
		b.status = build.StatusSucceeded
	case m.Error != "":
		b.status = build.StatusFailed
	}
	close(b.grew)
	b.grew = make(chan struct{})
}

// WasCanceled reports whether BuildCancel was called for the build.
func (b *Build) WasCanceled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.canceled
}

// next waits for the log's message i.
func (b *Build) next(ctx context.Context, i int) (engine.BuildMessage, error) {
	for {
		b.mu.Lock()
		if i < len(b.log) {
			m := b.log[i]
			b.mu.Unlock()
			return m, nil
		}
		grew := b.grew
		b.mu.Unlock()
		select {
		case <-grew:
		case <-ctx.Done():
			return engine.BuildMessage{}, ctx.Err()
		}
	}
}

func (b *Build) record() engine.BuildRecord {
	b.mu.Lock()
	defer b.mu.Unlock()
	rec := engine.BuildRecord{ID: b.ID, Status: b.status, Tags: b.Opts.Tags}
	for _, m := range b.log {
		if m.ImageID != "" {
			rec.ImageID = m.ImageID
		}
		if m.Error != "" {
			rec.Error = m.Error
		}
	}
	return rec
}
