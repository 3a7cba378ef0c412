// Package build is skiff's Dockerfile builder, with the classic builder's
// semantics: every instruction makes an image whose parent is the previous
// step's, RUN runs in a container whose changes are committed, and a step
// whose parent and instruction match an earlier one reuses its image (the
// step cache).
//
// The Dockerfile is parsed by buildkit's parser; the build context is
// unpacked by engine/build/buildcontext and COPY and ADD write through
// engine/build/copier into a detached overlay of the parent image, never
// following a symlink out of it.
package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/build/buildcontext"
	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/image"
	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/store"
)

// Images is what the builder needs of the image store.
type Images interface {
	Resolve(ctx context.Context, ref string) (digest.Digest, error)
	Inspect(ctx context.Context, ref string) (*image.Image, error)
	TopLayer(ctx context.Context, id digest.Digest) (digest.Digest, error)
	ChainPaths(ctx context.Context, top digest.Digest) ([]string, error)
	CreateChild(ctx context.Context, opts image.ChildOptions) (digest.Digest, error)
	Tag(ctx context.Context, source, target string) error
}

// Containers is what the builder needs to run RUN steps.
type Containers interface {
	Create(ctx context.Context, opts container.CreateOptions) (*container.Container, []string, error)
	Attach(ctx context.Context, ref string, opts container.AttachOptions) (*monitor.Stream, error)
	Start(ctx context.Context, ref string) error
	Wait(ctx context.Context, ref string, cond container.WaitCondition, ready func()) (container.WaitResult, error)
	Kill(ctx context.Context, ref, signal string) error
	Commit(ctx context.Context, ref string, opts container.CommitOptions) (digest.Digest, error)
	Remove(ctx context.Context, ref string, opts container.RemoveOptions) error
}

// DefaultContextLimit is the largest build context accepted unless the
// daemon is configured otherwise.
const DefaultContextLimit = 2 << 30

// Config is what New needs.
type Config struct {
	DB         *store.DB
	Images     Images
	Containers Containers
	// TmpDir holds build contexts and step scratch space; it must be on the
	// data root's filesystem.
	TmpDir string
	// ContextLimit caps a build context's unpacked size; 0 is
	// DefaultContextLimit.
	ContextLimit int64
	Logger       *slog.Logger
}

// Builder runs Dockerfile builds.
type Builder struct {
	cfg     Config
	records records
	cache   stepCache
	log     *slog.Logger

	mu      sync.Mutex
	running map[string]*Build
}

// New returns a builder. Builds a previous daemon left running are
// recorded as failed: their steps died with it.
func New(ctx context.Context, cfg Config) (*Builder, error) {
	if cfg.ContextLimit <= 0 {
		cfg.ContextLimit = DefaultContextLimit
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Builder{cfg: cfg, records: records{cfg.DB}, cache: stepCache{cfg.DB}, log: cfg.Logger, running: map[string]*Build{}}
	if err := b.records.interrupted(ctx, time.Now()); err != nil {
		return nil, err
	}
	return b, nil
}

// Build is a build this daemon runs or ran.
type Build struct {
	record *Record
	log    *messageLog
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done is closed
}

// ID is the build's record ID.
func (b *Build) ID() string { return b.record.ID }

// Follow calls fn with every message of the build from the first, then
// the live ones, until the build ends (its last message carries ImageID or
// Error) or ctx is done.
func (b *Build) Follow(ctx context.Context, fn func(Message) error) error {
	return b.log.follow(ctx, fn)
}

// Wait waits for the build to end and returns its result.
func (b *Build) Wait(ctx context.Context) (digest.Digest, error) {
	select {
	case <-b.done:
		return b.record.ImageID, b.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Cancel stops the build: the running step's container is killed and no
// image of that step is committed.
func (b *Build) Cancel() { b.cancel() }

// Start reads the build context from src (a tar, plain or compressed, or a
// bare Dockerfile), parses the Dockerfile, records the build and runs it in
// the background. It returns once the context has been read; a bad context
// or Dockerfile is its error. Cancelling ctx cancels the build.
func (b *Builder) Start(ctx context.Context, src io.Reader, opts Options) (*Build, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	id := newID()
	dir := filepath.Join(b.cfg.TmpDir, "build-"+id)
	contextDir := filepath.Join(dir, "context")
	if err := os.MkdirAll(contextDir, 0o700); err != nil {
		return nil, fmt.Errorf("create build directory: %w", err)
	}
	bctx, err := buildcontext.Extract(ctx, src, contextDir, buildcontext.Options{Limit: b.cfg.ContextLimit, Dockerfile: opts.Dockerfile})
	if err == nil {
		var df *dockerfile
		if df, err = parseDockerfile(bctx.Dockerfile); err == nil {
			var bd *Build
			if bd, err = b.launch(ctx, id, dir, bctx, df, opts); err == nil {
				return bd, nil
			}
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// launch records the build and runs it in the background.
func (b *Builder) launch(ctx context.Context, id, dir string, bctx *buildcontext.Context, df *dockerfile, opts Options) (*Build, error) {
	rec := &Record{
		ID: id, Status: StatusRunning, Dockerfile: string(bctx.Dockerfile), ContextDigest: bctx.Digest,
		Tags: opts.Tags, Started: time.Now().UTC(),
	}
	if err := b.records.insert(ctx, rec); err != nil {
		return nil, err
	}
	// The build outlives Start's caller only as long as ctx does.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	bd := &Build{record: rec, log: newMessageLog(), cancel: cancel, done: make(chan struct{})}
	b.mu.Lock()
	b.running[id] = bd
	b.mu.Unlock()
	go func() {
		defer stop()
		defer cancel()
		r := &run{b: b, opts: opts, df: df, dir: dir, contextDir: bctx.Dir, out: bd.log, build: bd}
		imageID, err := r.execute(runCtx)
		os.RemoveAll(dir)
		b.finish(bd, imageID, err, runCtx.Err() != nil)
	}()
	return bd, nil
}

// finish records a build's outcome, ends its log and forgets it.
func (b *Builder) finish(bd *Build, imageID digest.Digest, err error, cancelled bool) {
	rec := bd.record
	rec.Finished = time.Now().UTC()
	switch {
	case err == nil:
		rec.Status, rec.ImageID = StatusSucceeded, imageID
	case cancelled:
		rec.Status, rec.Error = StatusCancelled, "the build was cancelled"
		err = fmt.Errorf("the build was cancelled: %w", context.Canceled)
	default:
		rec.Status, rec.Error = StatusFailed, err.Error()
		if exit := (*exitError)(nil); errors.As(err, &exit) {
			rec.ExitCode = exit.code
		}
	}
	if rerr := b.records.finish(rec, bd.log.text()); rerr != nil {
		b.log.Error("record build", "id", rec.ID, "err", rerr)
	}
	bd.err = err
	b.mu.Lock()
	delete(b.running, rec.ID)
	b.mu.Unlock()
	close(bd.done)
	if err != nil {
		bd.log.add(Message{Error: rec.Error, ExitCode: rec.ExitCode})
	} else {
		bd.log.add(Message{ImageID: imageID})
	}
}

// Follow calls fn with the messages of build id: a running build's so far
// and then live until it ends, or a finished build's stored log.
func (b *Builder) Follow(ctx context.Context, id string, fn func(Message) error) error {
	b.mu.Lock()
	bd := b.running[id]
	b.mu.Unlock()
	if bd != nil {
		return bd.Follow(ctx, fn)
	}
	rec, log, err := b.records.get(ctx, id)
	if err != nil {
		return err
	}
	if rec.Status == StatusRunning {
		// Between the record's update and the build's removal from
		// running: the row is the truth once the build is gone.
		if rec, log, err = b.records.get(ctx, id); err != nil {
			return err
		}
	}
	if log != "" {
		if err := fn(Message{Stream: log}); err != nil {
			return err
		}
	}
	if rec.Status == StatusSucceeded {
		return fn(Message{ImageID: rec.ImageID})
	}
	return fn(Message{Error: rec.Error, ExitCode: rec.ExitCode})
}

// Cancel cancels the running build id.
func (b *Builder) Cancel(ctx context.Context, id string) error {
	b.mu.Lock()
	bd := b.running[id]
	b.mu.Unlock()
	if bd == nil {
		if _, _, err := b.records.get(ctx, id); err != nil {
			return err
		}
		return errdefs.ErrConflict.WithMessage("build " + id + " is not running")
	}
	bd.Cancel()
	// Return once the build has stopped, whatever its outcome: a build can
	// end otherwise just before the cancel takes.
	select {
	case <-bd.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close cancels the running builds and waits for them to end, so each is
// recorded as cancelled before the daemon stops.
func (b *Builder) Close() {
	b.mu.Lock()
	running := make([]*Build, 0, len(b.running))
	for _, bd := range b.running {
		running = append(running, bd)
	}
	b.mu.Unlock()
	for _, bd := range running {
		bd.Cancel()
		<-bd.done
	}
}

// List returns the recorded builds, newest first, without their logs.
func (b *Builder) List(ctx context.Context) ([]Record, error) { return b.records.list(ctx) }

// Get returns one build's record.
func (b *Builder) Get(ctx context.Context, id string) (*Record, error) {
	rec, _, err := b.records.get(ctx, id)
	return rec, err
}

func checkOptions(opts Options) error {
	for _, t := range opts.Tags {
		if _, err := image.ParseTag(t); err != nil {
			return err
		}
	}
	if opts.Platform != "" {
		if err := checkPlatform(opts.Platform); err != nil {
			return err
		}
	}
	return nil
}

// checkPlatform accepts the host's platform only: skiff runs no emulator.
func checkPlatform(p string) error {
	os, arch := image.Platform()
	if p != os && p != os+"/"+arch {
		return invalid("platform %q is not supported: skiff builds for %s/%s only", p, os, arch)
	}
	return nil
}

func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
