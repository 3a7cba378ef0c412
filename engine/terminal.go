package engine

import (
	"context"
	"syscall"
)

// ContainerAttachReplay connects to a running container's stdio after
// replaying its recent output: the dashboard's terminal, which shows the
// screen it missed when it opens or reconnects.
func (e *Engine) ContainerAttachReplay(ctx context.Context, ref string, opts ContainerAttachOptions) (*Stream, error) {
	return e.containers.AttachReplay(ctx, ref, opts)
}

// ExecSignal sends a signal to a started exec's process; one that has
// exited is left alone.
func (e *Engine) ExecSignal(ctx context.Context, id string, sig syscall.Signal) error {
	return e.containers.SignalExec(ctx, id, sig)
}
