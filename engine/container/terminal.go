package container

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/monitor"
)

// AttachReplay connects to a running container's stdio as Attach does, but
// first sends the recent output its monitor keeps (the last 64 KiB), then
// live output, nothing lost or repeated in between: a terminal that opens,
// or reconnects, shows the screen it missed. A container that is not running
// is a conflict: there is no start to wait for.
func (s *Service) AttachReplay(ctx context.Context, ref string, opts AttachOptions) (*monitor.Stream, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	live := s.liveOf(c.ID)
	if live == nil {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is not running", shortID(c.ID)))
	}
	stream, err := live.client.Attach(ctx, monitor.AttachOptions{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Replay: true})
	if err != nil {
		return nil, fmt.Errorf("attach to container %s: %w", shortID(c.ID), err)
	}
	s.publish(c, "attach", nil)
	return stream, nil
}

// SignalExec sends sig to a started exec's process, as a terminal's hangup
// does when its user went away. A process that has exited is left alone.
//
// The process is named by its host PID, which stays the exec's until its
// exit is recorded (FinishExec): its monitor reaps it just before the
// session's output ends, and a PID is reused only after the kernel has
// cycled through pid_max others, so the signal cannot reach a stranger.
func (s *Service) SignalExec(ctx context.Context, id string, sig syscall.Signal) error {
	e, err := s.execOf(id)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session == nil || e.exec.ExitCode != nil {
		return nil
	}
	if err := unix.Kill(e.exec.Pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal exec %s: %w", id, err)
	}
	return nil
}
