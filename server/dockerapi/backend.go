// Package dockerapi serves the Docker Engine API (the subset in
// shared/reference/engine-api.md) over the engine, with moby's API types, so
// the docker CLI, skiff's CLI and the dashboard all speak one API.
package dockerapi

import (
	"context"
	"io"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine"
	"github.com/skiff-dev/skiff/engine/registry"
)

// Backend is what the Docker API handlers need from the engine.
type Backend interface {
	Info(ctx context.Context) (engine.Info, error)
	DiskUsage(ctx context.Context, opts engine.DiskUsageOptions) (*engine.DiskUsage, error)
	ImageBackend
	ContainerBackend
	NetworkBackend
	EventsBackend
	RegistryBackend
}

// EventsBackend feeds /events.
type EventsBackend interface {
	Events(since time.Time) ([]engine.Event, *engine.EventSubscription)
}

// ContainerBackend runs containers, their execs and volumes.
type ContainerBackend interface {
	ContainerCreate(ctx context.Context, opts engine.ContainerCreateOptions) (*engine.Container, []string, error)
	ContainerList(ctx context.Context, opts engine.ContainerListOptions) ([]*engine.Container, error)
	ContainerInspect(ctx context.Context, ref string) (*engine.Container, error)
	ContainerDir(id string) string
	ContainerStart(ctx context.Context, ref string) error
	ContainerStop(ctx context.Context, ref string, opts engine.ContainerStopOptions) error
	ContainerRestart(ctx context.Context, ref string, opts engine.ContainerStopOptions) error
	ContainerKill(ctx context.Context, ref, signal string) error
	ContainerPause(ctx context.Context, ref string) error
	ContainerUnpause(ctx context.Context, ref string) error
	ContainerRemove(ctx context.Context, ref string, opts engine.ContainerRemoveOptions) error
	ContainerRename(ctx context.Context, ref, name string) error
	ContainerWait(ctx context.Context, ref string, cond engine.ContainerWaitCondition, ready func()) (engine.ContainerWaitResult, error)
	ContainerAttach(ctx context.Context, ref string, opts engine.ContainerAttachOptions) (*engine.Stream, error)
	ContainerResize(ctx context.Context, ref string, rows, cols uint16) error
	ContainerLogs(ctx context.Context, ref string, opts engine.ContainerLogOptions, fn func(engine.LogEntry) error) (*engine.Container, error)

	ContainerTop(ctx context.Context, ref string) ([]string, [][]string, error)
	ContainerStats(ctx context.Context, ref string) (*engine.Container, engine.ContainerStats, error)
	ContainerChanges(ctx context.Context, ref string) ([]engine.Change, error)
	ContainerExport(ctx context.Context, ref string, w io.Writer) error
	ContainerCommit(ctx context.Context, ref string, opts engine.ContainerCommitOptions) (digest.Digest, error)

	ExecCreate(ctx context.Context, ref string, opts engine.ExecOptions) (string, error)
	ExecStart(ctx context.Context, id string) (*engine.Stream, error)
	ExecFinish(ctx context.Context, id string) (int, error)
	ExecInspect(ctx context.Context, id string) (engine.Exec, error)
	ExecResize(ctx context.Context, id string, rows, cols uint16) error

	VolumeCreate(ctx context.Context, name string, labels map[string]string) (*engine.Volume, error)
	VolumeList(ctx context.Context) ([]*engine.Volume, error)
	VolumeInspect(ctx context.Context, name string) (*engine.Volume, error)
	VolumeRemove(ctx context.Context, name string, force bool) error
}

// BuildBackend runs Dockerfile builds. A build is named by its ID: the
// server adapts the engine's *Build to this (server/builds.go), which keeps
// the handlers testable with a fake.
type BuildBackend interface {
	// BuildStart reads the build context from src and starts the build;
	// cancelling ctx cancels the build.
	BuildStart(ctx context.Context, src io.Reader, opts engine.BuildOptions) (id string, err error)
	// BuildFollow calls fn with a build's messages so far, then the live
	// ones until the build ends.
	BuildFollow(ctx context.Context, id string, fn func(engine.BuildMessage) error) error
	BuildCancel(ctx context.Context, id string) error
}

// ImageBackend stores images.
type ImageBackend interface {
	ImageList(ctx context.Context, opts engine.ImageListOptions) ([]engine.ImageSummary, error)
	ImageInspect(ctx context.Context, ref string) (*engine.Image, error)
	ImageHistory(ctx context.Context, ref string) ([]engine.ImageHistoryItem, error)
	ImageTag(ctx context.Context, source, target string) error
	ImageDelete(ctx context.Context, ref string, force, prune bool) ([]engine.ImageDeleteRecord, error)
	ImageImport(ctx context.Context, r io.Reader, opts engine.ImageImportOptions) (digest.Digest, error)
	ImagePull(ctx context.Context, ref string, opts engine.ImagePullOptions) (engine.ImagePullResult, error)
	ImageLoad(ctx context.Context, r io.Reader) ([]engine.ImageLoadResult, error)
	ImageSave(ctx context.Context, w io.Writer, refs []string) error
	PushBackend
}

// PushBackend pushes images and logs in to registries.
type PushBackend interface {
	ImagePush(ctx context.Context, ref string, opts registry.PushOptions) (registry.PushResult, error)
	ImagePushTags(ctx context.Context, name string) ([]string, error)
	RegistryLogin(ctx context.Context, server string, creds registry.Credentials) (status, identityToken string, err error)
}

// Options configure the API.
type Options struct {
	// Version is skiff's version string.
	Version string
}

// Register adds the Docker API routes to e.
func Register(e *echo.Echo, b Backend, builds BuildBackend, opts Options) {
	sys := &systemRoutes{b: b, version: opts.Version}
	e.GET("/_ping", sys.ping)
	e.HEAD("/_ping", sys.ping)
	e.GET("/version", sys.versionInfo)
	e.GET("/info", sys.info)
	e.GET("/system/df", sys.diskUsage)

	img := &imageRoutes{b: b}
	e.GET("/images/json", img.list)
	e.POST("/images/create", img.create)
	e.POST("/images/load", img.load)
	e.GET("/images/get", img.saveMany)
	e.GET("/images/search", img.search)
	e.POST("/auth", img.login)
	e.GET("/images/*", img.getByName)
	e.HEAD("/images/*", img.getByName)
	e.POST("/images/*", img.postByName)
	e.DELETE("/images/*", img.remove)

	(&containerRoutes{b: b, now: time.Now}).register(e)
	(&execRoutes{b: b}).register(e)
	(&volumeRoutes{b: b}).register(e)
	(&networkRoutes{b: b}).register(e)
	e.GET("/events", eventsHandler(b))
	(&buildRoutes{b: builds}).register(e)
}
