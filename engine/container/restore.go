package container

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// Restore brings the service in line with what runs after a daemon start:
// containers whose monitor still runs are reconnected (they never noticed
// the daemon was gone); those that exited meanwhile get their true exit
// code; then the restart policies apply.
func (s *Service) Restore(ctx context.Context) error {
	list, err := s.List(ctx, ListOptions{All: true})
	if err != nil {
		return err
	}
	var toStart []*Container
	for _, c := range list {
		if c.State.Running() {
			if err := s.reconnect(ctx, c); err != nil {
				return err
			}
		}
		if !c.State.Running() && !c.State.StoppedByUser && restartsWithDaemon(c) {
			toStart = append(toStart, c)
		}
	}
	for _, c := range toStart {
		if err := s.Start(ctx, c.ID); err != nil && !errdefs.IsNotModified(err) {
			s.log.Warn("restart container after daemon start", "container", c.ID, "err", err)
		}
	}
	return nil
}

func restartsWithDaemon(c *Container) bool {
	switch c.HostConfig.RestartPolicy.Name {
	case containertypes.RestartPolicyAlways, containertypes.RestartPolicyUnlessStopped:
		return true
	}
	return false
}

// reconnect reattaches to a running container's monitor, or records the
// exit of a container that ended while the daemon was away.
func (s *Service) reconnect(ctx context.Context, c *Container) error {
	dir := s.stateDir(c.ID)
	client, err := monitor.Connect(ctx, dir)
	if err == nil {
		live := &liveContainer{client: client, exited: make(chan struct{})}
		s.mu.Lock()
		s.live[c.ID] = live
		s.mu.Unlock()
		go s.watch(c.ID, live)
		return nil
	}
	if !errdefs.IsNotFound(err) {
		return fmt.Errorf("reconnect to container %s: %w", shortID(c.ID), err)
	}
	exit, err := monitor.ReadExit(dir)
	if err != nil {
		// The monitor died without recording an exit: Docker reports 255.
		exit = monitor.Exit{Code: 255, Error: "the container's monitor exited unexpectedly", FinishedAt: time.Now()}
	}
	if cg, err := cgroup.Load(cgroupParent, c.ID); err == nil {
		cg.Destroy()
	}
	c.State.Status = containertypes.StateExited
	c.State.Pid, c.State.ExitCode, c.State.OOMKilled, c.State.Error = 0, exit.Code, exit.OOMKilled, exit.Error
	c.State.FinishedAt = exit.FinishedAt
	return s.saveState(ctx, c)
}
