package engine

import (
	"context"
	"io"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/events"
	"github.com/skiff-dev/skiff/engine/layer"
	"github.com/skiff-dev/skiff/engine/logfile"
	"github.com/skiff-dev/skiff/engine/monitor"
)

// The container types the engine's API speaks, defined in engine/container.
type (
	Container              = container.Container
	ContainerState         = container.State
	ContainerNetwork       = container.NetworkState
	ContainerCreateOptions = container.CreateOptions
	ContainerListOptions   = container.ListOptions
	ContainerStopOptions   = container.StopOptions
	ContainerRemoveOptions = container.RemoveOptions
	ContainerAttachOptions = container.AttachOptions
	ContainerLogOptions    = container.LogOptions
	ContainerWaitCondition = container.WaitCondition
	ContainerWaitResult    = container.WaitResult
	ExecOptions            = container.ExecOptions
	Exec                   = container.Exec
	Volume                 = container.Volume
	ContainerCommitOptions = container.CommitOptions
	ContainerStats         = container.Stats
	Change                 = layer.Change
	LogEntry               = logfile.Entry
	Stream                 = monitor.Stream
	Event                  = events.Event
	EventSubscription      = events.Subscription
)

// ContainerCreate makes a container from an image.
func (e *Engine) ContainerCreate(ctx context.Context, opts ContainerCreateOptions) (*Container, []string, error) {
	return e.containers.Create(ctx, opts)
}

// ContainerList lists containers as docker ps does.
func (e *Engine) ContainerList(ctx context.Context, opts ContainerListOptions) ([]*Container, error) {
	return e.containers.List(ctx, opts)
}

// ContainerInspect returns one container.
func (e *Engine) ContainerInspect(ctx context.Context, ref string) (*Container, error) {
	return e.containers.Inspect(ctx, ref)
}

// ContainerStart starts a container.
func (e *Engine) ContainerStart(ctx context.Context, ref string) error {
	return e.containers.Start(ctx, ref)
}

// ContainerStop stops a container.
func (e *Engine) ContainerStop(ctx context.Context, ref string, opts ContainerStopOptions) error {
	return e.containers.Stop(ctx, ref, opts)
}

// ContainerRestart stops and starts a container.
func (e *Engine) ContainerRestart(ctx context.Context, ref string, opts ContainerStopOptions) error {
	return e.containers.Restart(ctx, ref, opts)
}

// ContainerKill sends a signal to a container.
func (e *Engine) ContainerKill(ctx context.Context, ref, signal string) error {
	return e.containers.Kill(ctx, ref, signal)
}

// ContainerPause freezes a container.
func (e *Engine) ContainerPause(ctx context.Context, ref string) error {
	return e.containers.Pause(ctx, ref)
}

// ContainerUnpause thaws a container.
func (e *Engine) ContainerUnpause(ctx context.Context, ref string) error {
	return e.containers.Unpause(ctx, ref)
}

// ContainerRemove deletes a container.
func (e *Engine) ContainerRemove(ctx context.Context, ref string, opts ContainerRemoveOptions) error {
	return e.containers.Remove(ctx, ref, opts)
}

// ContainerRename renames a container.
func (e *Engine) ContainerRename(ctx context.Context, ref, name string) error {
	return e.containers.Rename(ctx, ref, name)
}

// ContainerWait waits for a container condition.
func (e *Engine) ContainerWait(ctx context.Context, ref string, cond ContainerWaitCondition, ready func()) (ContainerWaitResult, error) {
	return e.containers.Wait(ctx, ref, cond, ready)
}

// ContainerAttach connects to a container's stdio.
func (e *Engine) ContainerAttach(ctx context.Context, ref string, opts ContainerAttachOptions) (*Stream, error) {
	return e.containers.Attach(ctx, ref, opts)
}

// ContainerResize resizes a container's terminal.
func (e *Engine) ContainerResize(ctx context.Context, ref string, rows, cols uint16) error {
	return e.containers.Resize(ctx, ref, rows, cols)
}

// ContainerLogs reads a container's log.
func (e *Engine) ContainerLogs(ctx context.Context, ref string, opts ContainerLogOptions, fn func(LogEntry) error) (*Container, error) {
	return e.containers.Logs(ctx, ref, opts, fn)
}

// ExecCreate registers a process to run in a container.
func (e *Engine) ExecCreate(ctx context.Context, ref string, opts ExecOptions) (string, error) {
	return e.containers.CreateExec(ctx, ref, opts)
}

// ExecStart starts an exec instance.
func (e *Engine) ExecStart(ctx context.Context, id string) (*Stream, error) {
	return e.containers.StartExec(ctx, id)
}

// ExecFinish waits for an exec to exit and records its code.
func (e *Engine) ExecFinish(ctx context.Context, id string) (int, error) {
	return e.containers.FinishExec(ctx, id)
}

// ExecInspect returns an exec instance.
func (e *Engine) ExecInspect(ctx context.Context, id string) (Exec, error) {
	return e.containers.InspectExec(ctx, id)
}

// ExecResize resizes an exec's terminal.
func (e *Engine) ExecResize(ctx context.Context, id string, rows, cols uint16) error {
	return e.containers.ResizeExec(ctx, id, rows, cols)
}

// VolumeCreate creates a named volume.
func (e *Engine) VolumeCreate(ctx context.Context, name string, labels map[string]string) (*Volume, error) {
	return e.containers.CreateVolume(ctx, name, labels)
}

// VolumeList lists volumes.
func (e *Engine) VolumeList(ctx context.Context) ([]*Volume, error) {
	return e.containers.ListVolumes(ctx)
}

// VolumeInspect returns a volume.
func (e *Engine) VolumeInspect(ctx context.Context, name string) (*Volume, error) {
	return e.containers.InspectVolume(ctx, name)
}

// VolumeRemove deletes a volume no container uses.
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	return e.containers.RemoveVolume(ctx, name, force)
}

// Events returns the events at or after since (none for a zero time) and a
// live feed of those to come.
func (e *Engine) Events(since time.Time) ([]Event, *EventSubscription) {
	return e.events.Subscribe(since)
}

// ContainerDir is the directory of a container's files.
func (e *Engine) ContainerDir(id string) string {
	return filepath.Join(e.root, "containers", id)
}

// ContainerTop lists a container's processes.
func (e *Engine) ContainerTop(ctx context.Context, ref string) ([]string, [][]string, error) {
	return e.containers.Top(ctx, ref)
}

// ContainerStats samples a container's resource use.
func (e *Engine) ContainerStats(ctx context.Context, ref string) (*Container, ContainerStats, error) {
	return e.containers.Stats(ctx, ref)
}

// ContainerChanges lists a container's filesystem changes.
func (e *Engine) ContainerChanges(ctx context.Context, ref string) ([]Change, error) {
	return e.containers.Changes(ctx, ref)
}

// ContainerExport writes a container's filesystem as a tar.
func (e *Engine) ContainerExport(ctx context.Context, ref string, w io.Writer) error {
	return e.containers.Export(ctx, ref, w)
}

// ContainerCommit saves a container's changes as a new image.
func (e *Engine) ContainerCommit(ctx context.Context, ref string, opts ContainerCommitOptions) (digest.Digest, error) {
	return e.containers.Commit(ctx, ref, opts)
}
