package container

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// Start starts a created or stopped container.
func (s *Service) Start(ctx context.Context, ref string) error {
	c, unlock, err := s.getLocked(ctx, ref)
	if err != nil {
		return err
	}
	switch {
	case c.State.Status == containertypes.StatePaused:
		err = errdefs.ErrConflict.WithMessage("cannot start a paused container, try unpause instead")
	case c.State.Running():
		err = errdefs.ErrNotModified.WithMessage("container is already running")
	default:
		err = s.startLocked(ctx, c)
	}
	unlock()
	if err != nil && c.HostConfig.AutoRemove && !errdefs.IsNotModified(err) && !c.State.Running() {
		// As Docker does: a --rm container that cannot start is removed.
		if rmErr := s.Remove(context.WithoutCancel(ctx), c.ID, RemoveOptions{Force: true, Volumes: true}); rmErr != nil {
			s.log.Warn("remove container that failed to start", "container", c.ID, "err", rmErr)
		}
	}
	return err
}

// startLocked starts c's monitor and records the result. The caller holds
// c's lock.
func (s *Service) startLocked(ctx context.Context, c *Container) error {
	cfg, err := s.monitorConfig(ctx, c)
	if err != nil {
		return err
	}
	conn, err := s.connect(ctx, c)
	if err != nil {
		s.failPending(c.ID, err)
		return err
	}
	if conn != nil {
		cfg.Network = conn.endpoint
	}
	os.Remove(filepath.Join(cfg.StateDir, "exit.json")) // an earlier run's
	client, err := monitor.Start(context.WithoutCancel(ctx), cfg)
	if err == nil && conn != nil {
		if err = s.join(c, client.Pid(), conn); err != nil {
			client.Signal(syscall.SIGKILL)
			client.Close()
		}
	}
	var exited <-chan exitResult
	if err == nil {
		// Asked for at once: a short-lived container exits while its
		// start is being recorded below, and its monitor answers a wait
		// only once it has received it.
		exited = exitOf(client)
	}
	if err != nil {
		conn.release()
		s.failPending(c.ID, err)
		c.State.Error = err.Error()
		c.State.ExitCode = startFailureCode(err)
		if saveErr := s.saveState(ctx, c); saveErr != nil {
			s.log.Warn("record failed start", "container", c.ID, "err", saveErr)
		}
		return err
	}
	c.State = State{
		Status:       containertypes.StateRunning,
		Pid:          client.Pid(),
		StartedAt:    client.StartedAt(),
		RestartCount: c.State.RestartCount,
	}
	if conn != nil {
		c.State.Network, c.State.Connected = conn.state, conn.others
	}
	if err := s.saveState(ctx, c); err != nil {
		client.Signal(syscall.SIGKILL)
		client.Close()
		s.disconnect(c)
		return err
	}
	s.connectPending(ctx, c.ID, client)
	live := &liveContainer{client: client, exited: make(chan struct{})}
	s.mu.Lock()
	s.live[c.ID] = live
	s.mu.Unlock()
	go s.watch(c.ID, live, exited)
	s.publish(c, "start", nil)
	return nil
}

// startFailureCode is the exit code Docker records for a container whose
// process could not start: 127 for a missing command, 126 for one that
// cannot be run, 128 otherwise.
func startFailureCode(err error) int {
	switch {
	case errdefs.IsNotFound(err):
		return 127
	case errdefs.IsPermissionDenied(err):
		return 126
	}
	return 128
}

// exitResult is a container's exit, as its monitor's Client.Wait answers.
type exitResult struct {
	exit monitor.Exit
	err  error
}

// exitOf asks client for its container's exit and delivers the answer
// on the channel it returns. The goroutine ends with the container, or
// with an error once client is closed.
func exitOf(client *monitor.Client) <-chan exitResult {
	ch := make(chan exitResult, 1)
	go func() {
		exit, err := client.Wait(context.Background())
		ch <- exitResult{exit, err}
	}()
	return ch
}

// watch waits for a running container's exit, delivered on exited (see
// exitOf), records it and applies the restart policy. One runs per
// start, and it ends with the container.
func (s *Service) watch(id string, live *liveContainer, exited <-chan exitResult) {
	// The next monitor on standby is launched once the exit is recorded
	// and the container's clients have their answers (the removal of a
	// --rm container's included): see monitor.RefillStandby.
	defer monitor.RefillStandby()
	r := <-exited
	exit, err := r.exit, r.err
	if err != nil {
		exit = s.monitorLost(id, live, err)
		live.client.Close()
	} else {
		live.client.Release() // its monitor may serve the next container
	}
	restart, delay, c := s.recordExit(id, live, exit)
	if c == nil {
		return
	}
	switch {
	case restart:
		time.Sleep(delay)
		s.restartAfterExit(c.ID)
	case c.HostConfig.AutoRemove:
		if err := s.Remove(context.Background(), c.ID, RemoveOptions{Force: true, Volumes: true}); err != nil && !errdefs.IsNotFound(err) {
			s.log.Warn("auto-remove container", "container", c.ID, "err", err)
		}
	}
}

// recordExit stores a container's exit and wakes its waiters. It returns
// whether (and after what delay) the restart policy restarts it.
func (s *Service) recordExit(id string, live *liveContainer, exit monitor.Exit) (bool, time.Duration, *Container) {
	defer s.lock(id)()
	s.mu.Lock()
	if s.live[id] == live {
		delete(s.live, id)
	}
	s.mu.Unlock()
	defer close(live.exited)
	defer s.notifyExit(id, WaitResult{ExitCode: exit.Code, Error: exit.Error})

	ctx := context.Background()
	c, err := s.get(ctx, id)
	if err != nil {
		return false, 0, nil // removed meanwhile
	}
	s.disconnect(c)
	c.State.Status = containertypes.StateExited
	c.State.Pid = 0
	c.State.Network, c.State.Connected = nil, nil
	c.State.ExitCode = exit.Code
	c.State.OOMKilled = exit.OOMKilled
	c.State.Error = exit.Error
	c.State.FinishedAt = exit.FinishedAt
	if c.State.FinishedAt.IsZero() {
		c.State.FinishedAt = s.now()
	}
	restart, delay := s.shouldRestart(c)
	if restart {
		c.State.Status = containertypes.StateRestarting
	}
	if err := s.saveState(ctx, c); err != nil {
		s.log.Error("record container exit", "container", id, "err", err)
	}
	if exit.OOMKilled {
		s.publish(c, "oom", nil)
	}
	s.publish(c, "die", map[string]string{"exitCode": strconv.Itoa(exit.Code),
		"execDuration": strconv.Itoa(int(c.State.FinishedAt.Sub(c.State.StartedAt).Seconds()))})
	return restart, delay, c
}

// shouldRestart applies the restart policy to a container that just exited,
// with Docker's back-off: 100 ms doubling per restart, at most a minute.
func (s *Service) shouldRestart(c *Container) (bool, time.Duration) {
	p := c.HostConfig.RestartPolicy
	if c.State.StoppedByUser {
		return false, 0
	}
	var restart bool
	switch p.Name {
	case containertypes.RestartPolicyAlways, containertypes.RestartPolicyUnlessStopped:
		restart = true
	case containertypes.RestartPolicyOnFailure:
		restart = c.State.ExitCode != 0 && (p.MaximumRetryCount == 0 || c.State.RestartCount < p.MaximumRetryCount)
	}
	if !restart {
		return false, 0
	}
	delay := 100 * time.Millisecond << min(c.State.RestartCount, 10)
	return true, min(delay, time.Minute)
}

func (s *Service) restartAfterExit(id string) {
	defer s.lock(id)()
	ctx := context.Background()
	c, err := s.get(ctx, id)
	if err != nil || c.State.Status != containertypes.StateRestarting || c.State.StoppedByUser {
		return
	}
	c.State.RestartCount++
	if err := s.startLocked(ctx, c); err != nil {
		s.log.Warn("restart container", "container", id, "err", err)
		c.State.Status = containertypes.StateExited
		s.saveState(ctx, c)
		return
	}
	s.publish(c, "restart", nil)
}

// StopOptions are docker stop's.
type StopOptions struct {
	Timeout *int   // seconds before SIGKILL; nil: the container's StopTimeout or 10
	Signal  string // "" : the container's StopSignal or SIGTERM
}

// Stop sends the stop signal, then SIGKILL after the timeout, and waits
// for the container to exit.
func (s *Service) Stop(ctx context.Context, ref string, opts StopOptions) error {
	c, unlock, err := s.getLocked(ctx, ref)
	if err != nil {
		return err
	}
	live := s.liveOf(c.ID)
	if !c.State.Running() || live == nil {
		if c.State.Status == containertypes.StateRestarting {
			c.State.Status, c.State.StoppedByUser = containertypes.StateExited, true
			s.saveState(ctx, c)
		}
		unlock()
		return errdefs.ErrNotModified.WithMessage("container is already stopped")
	}
	c.State.StoppedByUser = true
	if err := s.saveState(ctx, c); err != nil {
		unlock()
		return err
	}
	unlock()

	sig, err := parseSignal(firstNonEmpty(opts.Signal, c.Config.StopSignal, "SIGTERM"))
	if err != nil {
		return err
	}
	timeout := 10
	if c.Config.StopTimeout != nil {
		timeout = *c.Config.StopTimeout
	}
	if opts.Timeout != nil {
		timeout = *opts.Timeout
	}
	s.thaw(c)
	s.publish(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
	if timeout != 0 {
		if err := live.client.Signal(sig); err != nil && !isGone(err) {
			return fmt.Errorf("stop container %s: %w", shortID(c.ID), err)
		}
	}
	if timeout < 0 || waitClosed(ctx, live.exited, time.Duration(timeout)*time.Second) {
		if timeout < 0 {
			<-live.exited
		}
		s.publish(c, "stop", nil)
		return nil
	}
	s.publish(c, "kill", map[string]string{"signal": "9"})
	if err := live.client.Signal(syscall.SIGKILL); err != nil && !isGone(err) {
		return fmt.Errorf("kill container %s: %w", shortID(c.ID), err)
	}
	select {
	case <-live.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.publish(c, "stop", nil)
	return nil
}

// waitClosed reports whether ch closed within d.
func waitClosed(ctx context.Context, ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func isGone(err error) bool {
	return errdefs.IsNotFound(err) || errors.Is(err, unix.ESRCH)
}

// Kill sends a signal (any: docker sends WINCH on every resize) to the
// container's process.
func (s *Service) Kill(ctx context.Context, ref, signal string) error {
	c, err := s.get(ctx, ref)
	if err != nil {
		return err
	}
	sig, err := parseSignal(firstNonEmpty(signal, "SIGKILL"))
	if err != nil {
		return err
	}
	live := s.liveOf(c.ID)
	if live == nil || !c.State.Running() {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("cannot kill container: %s: container %s is not running", ref, c.ID))
	}
	if sig == syscall.SIGKILL {
		unlock := s.lock(c.ID)
		if cur, err := s.get(ctx, c.ID); err == nil {
			cur.State.StoppedByUser = true
			s.saveState(ctx, cur)
		}
		unlock()
		s.thaw(c)
	}
	if err := live.client.Signal(sig); err != nil {
		if !isGone(err) {
			return fmt.Errorf("kill container %s: %w", shortID(c.ID), err)
		}
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("cannot kill container: %s: container %s is not running", ref, c.ID))
	}
	s.publish(c, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
	if sig == syscall.SIGKILL {
		// As Docker's: a SIGKILL returns once the container has stopped,
		// so that docker kill then docker rm works.
		select {
		case <-live.exited:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Restart stops a container (if running) and starts it again.
func (s *Service) Restart(ctx context.Context, ref string, opts StopOptions) error {
	c, err := s.get(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.Stop(ctx, c.ID, opts); err != nil && !errdefs.IsNotModified(err) {
		return err
	}
	if err := s.Start(ctx, c.ID); err != nil {
		return err
	}
	if c, err = s.get(ctx, c.ID); err == nil {
		s.publish(c, "restart", nil)
	}
	return nil
}

// Pause freezes every process of a running container.
func (s *Service) Pause(ctx context.Context, ref string) error {
	return s.setPaused(ctx, ref, true)
}

// Unpause thaws a paused container.
func (s *Service) Unpause(ctx context.Context, ref string) error {
	return s.setPaused(ctx, ref, false)
}

func (s *Service) setPaused(ctx context.Context, ref string, pause bool) error {
	c, unlock, err := s.getLocked(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	switch {
	case pause && c.State.Status == containertypes.StatePaused:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is already paused", c.ID))
	case pause && c.State.Status != containertypes.StateRunning:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", c.ID))
	case !pause && c.State.Status != containertypes.StatePaused:
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not paused", c.ID))
	}
	cg, err := cgroup.Load(cgroupParent, c.ID)
	if err != nil {
		return err
	}
	action, status := "pause", containertypes.StatePaused
	if pause {
		err = cg.Freeze()
	} else {
		action, status = "unpause", containertypes.StateRunning
		err = cg.Thaw()
	}
	if err != nil {
		return fmt.Errorf("%s container %s: %w", action, shortID(c.ID), err)
	}
	c.State.Status = status
	if err := s.saveState(ctx, c); err != nil {
		return err
	}
	s.publish(c, action, nil)
	return nil
}

// thaw unfreezes a paused container so that it can receive signals.
func (s *Service) thaw(c *Container) {
	if c.State.Status != containertypes.StatePaused {
		return
	}
	if cg, err := cgroup.Load(cgroupParent, c.ID); err == nil {
		cg.Thaw()
	}
	c.State.Status = containertypes.StateRunning
	s.saveState(context.Background(), c)
}

// RemoveOptions are docker rm's.
type RemoveOptions struct {
	Force   bool // kill a running container first
	Volumes bool // also remove its anonymous volumes
}

// Remove deletes a container: its row, its files, and with Volumes its
// anonymous volumes.
func (s *Service) Remove(ctx context.Context, ref string, opts RemoveOptions) error {
	c, err := s.get(ctx, ref)
	if err != nil {
		return err
	}
	if c.State.Running() {
		if !opts.Force {
			if c.State.Status == containertypes.StatePaused {
				return errdefs.ErrConflict.WithMessage(fmt.Sprintf("cannot remove container \"/%s\": container is paused and must be unpaused first", c.Name))
			}
			return errdefs.ErrConflict.WithMessage(fmt.Sprintf("cannot remove container \"/%s\": container is running: stop the container before removing or force remove", c.Name))
		}
		zero := 0
		if err := s.Stop(ctx, c.ID, StopOptions{Timeout: &zero, Signal: "SIGKILL"}); err != nil && !errdefs.IsNotModified(err) {
			return err
		}
	}
	defer s.lock(c.ID)()
	anonymous, err := s.anonymousVolumes(ctx, c.ID)
	if err != nil {
		return err
	}
	err = s.commitFor(c)(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM containers WHERE id = ?`, c.ID)
		if err != nil {
			return fmt.Errorf("remove container %s: %w", shortID(c.ID), err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return noSuchContainer(ref)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if opts.Volumes {
		for _, v := range anonymous {
			if err := s.RemoveVolume(ctx, v, false); err != nil && !errdefs.IsConflict(err) {
				s.log.Warn("remove anonymous volume", "volume", v, "err", err)
			}
		}
	}
	if err := s.images.ReleaseLayers(ctx, c.TopLayer); err != nil {
		s.log.Warn("release layers", "container", c.ID, "err", err)
	}
	s.publish(c, "destroy", nil)
	// Gone for every client from here on; its files are no one's, and
	// `run --rm` need not wait for them (a millisecond of its ~25).
	// Restore removes those a crash left behind.
	s.notifyRemoved(c.ID)
	if err := os.RemoveAll(s.stateDir(c.ID)); err != nil {
		s.log.Warn("remove container files", "container", c.ID, "err", err)
	}
	return nil
}

func (s *Service) anonymousVolumes(ctx context.Context, id string) ([]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT cv.volume FROM container_volumes cv JOIN volumes v ON v.name = cv.volume
		WHERE cv.container_id = ? AND v.anonymous = 1`, id)
	if err != nil {
		return nil, fmt.Errorf("read volumes of %s: %w", shortID(id), err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Rename gives a container a new name.
func (s *Service) Rename(ctx context.Context, ref, newName string) error {
	newName = trimSlash(newName)
	if err := checkName(newName); err != nil {
		return err
	}
	c, err := s.get(ctx, ref)
	if err != nil {
		return err
	}
	defer s.lock(c.ID)()
	if c.Name == newName {
		return errdefs.ErrInvalidArgument.WithMessage("Renaming a container with the same name as its current name")
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var other string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM containers WHERE name = ?`, newName).Scan(&other); err == nil {
			return nameConflict(newName, other)
		}
		_, err := tx.ExecContext(ctx, `UPDATE containers SET name = ? WHERE id = ?`, newName, c.ID)
		return err
	})
	if err != nil {
		return err
	}
	old := c.Name
	c.Name = newName
	s.publish(c, "rename", map[string]string{"oldName": "/" + old})
	return nil
}

// parseSignal accepts "SIGTERM", "TERM", "term" or "15".
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid signal: %s", s))
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid signal: %s", s))
	}
	return sig, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
