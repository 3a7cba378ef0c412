package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"

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
	var toStart, toRemove, failed []*Container
	veths := map[string]bool{} // of the running containers
	for _, c := range list {
		wasRunning := c.State.Running()
		if wasRunning {
			if err := s.reconnect(ctx, c); err != nil {
				return err
			}
		}
		if c.State.Running() {
			for _, v := range containerVeths(c) {
				veths[v] = true
			}
			if err := s.reconnectNetwork(c); err != nil {
				s.log.Warn("make a running container reachable again", "container", c.ID, "err", err)
			}
		}
		switch {
		case c.State.Running():
		case restartsWithDaemon(c):
			toStart = append(toStart, c)
		case removedOnRestore(c):
			toRemove = append(toRemove, c)
		case wasRunning:
			failed = append(failed, c) // it exited while the daemon was away
		}
	}
	if err := s.sweepVeths(veths); err != nil {
		s.log.Warn("remove the veths of containers gone while the daemon was away", "err", err)
	}
	for _, c := range toRemove {
		if err := s.Remove(ctx, c.ID, RemoveOptions{Force: true, Volumes: true}); err != nil && !errdefs.IsNotFound(err) {
			s.log.Warn("remove an --rm container after daemon start", "container", c.ID, "err", err)
		}
	}
	if err := s.sweepStateDirs(list); err != nil {
		s.log.Warn("remove the files of removed containers", "err", err)
	}
	for _, c := range toStart {
		if err := s.Start(ctx, c.ID); err != nil && !errdefs.IsNotModified(err) {
			s.log.Warn("restart container after daemon start", "container", c.ID, "err", err)
		}
	}
	// An exit the daemon missed gets the policy it would have had: an
	// on-failure container that failed is restarted (and counted).
	for _, c := range failed {
		if restart, _ := s.shouldRestart(c); restart {
			c.State.Status = containertypes.StateRestarting
			if err := s.saveState(ctx, c); err != nil {
				return err
			}
			s.restartAfterExit(c.ID)
		}
	}
	return nil
}

// removedOnRestore reports whether a stopped container is one to remove
// when the daemon starts: an --rm container that has run, as Docker does.
// It exited while the daemon was away, or its removal was lost with the
// relaxed commit that recorded it (see commitFor). One created and never
// started waits for its start.
func removedOnRestore(c *Container) bool {
	return c.HostConfig != nil && c.HostConfig.AutoRemove && !c.State.StartedAt.IsZero()
}

// sweepStateDirs removes the directories of containers that are not in
// list: a daemon stopped in the middle of a removal leaves one, the
// container's record gone.
func (s *Service) sweepStateDirs(list []*Container) error {
	known := make(map[string]bool, len(list))
	for _, c := range list {
		known[c.ID] = true
	}
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && isContainerID(e.Name()) && !known[e.Name()] {
			if err := os.RemoveAll(filepath.Join(s.root, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// isContainerID reports whether name has a container ID's form: 64
// lower-case hex digits.
func isContainerID(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, r := range name {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// restartsWithDaemon applies Docker's rules to a stopped container at
// daemon start: "always" restarts it even after a docker stop,
// "unless-stopped" unless it was stopped by the user; a container never
// started stays created.
func restartsWithDaemon(c *Container) bool {
	if c.State.StartedAt.IsZero() {
		return false
	}
	switch c.HostConfig.RestartPolicy.Name {
	case containertypes.RestartPolicyAlways:
		return true
	case containertypes.RestartPolicyUnlessStopped:
		return !c.State.StoppedByUser
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
		go s.watch(c.ID, live, exitOf(client))
		return nil
	}
	if !errdefs.IsNotFound(err) {
		return fmt.Errorf("reconnect to container %s: %w", shortID(c.ID), err)
	}
	exit, err := monitor.ReadExit(dir)
	if err != nil {
		// The monitor died without recording an exit: its container may
		// run on, unsupervised. Docker reports 255.
		s.killOrphan(c)
		exit = monitor.Exit{Code: 255, Error: "the container's monitor exited unexpectedly", FinishedAt: s.now()}
	}
	if cg, err := cgroup.Load(cgroupParent, c.ID); err == nil {
		if err := cg.Destroy(); err != nil {
			s.log.Warn("remove the cgroup of an exited container", "container", c.ID, "err", err)
		}
	}
	s.disconnect(c)
	c.State.Status, c.State.Network, c.State.Connected = containertypes.StateExited, nil, nil
	c.State.Pid, c.State.ExitCode, c.State.OOMKilled, c.State.Error = 0, exit.Code, exit.OOMKilled, exit.Error
	c.State.FinishedAt = exit.FinishedAt
	return s.saveState(ctx, c)
}

// initPidFile is the file in which a monitor keeps its container init's
// pid in the container's state directory (see engine/monitor).
const initPidFile = "init.pid"

// monitorLost is the exit of a container whose Wait failed: when the
// monitor still runs (the error was the connection's, not the monitor's
// death), the wait is retried; when it is gone without recording an exit,
// its container is killed (killOrphan) and exits with 255, as Docker
// records a container whose shim died.
func (s *Service) monitorLost(id string, live *liveContainer, err error) monitor.Exit {
	dir := s.stateDir(id)
	for attempt := 0; err != nil && monitor.Running(dir) && attempt < 50; attempt++ {
		time.Sleep(100 * time.Millisecond)
		var exit monitor.Exit
		if exit, err = live.client.Wait(context.Background()); err == nil {
			return exit
		}
	}
	if exit, rerr := monitor.ReadExit(dir); rerr == nil {
		return exit
	}
	s.log.Warn("lost the monitor of a running container: killing the container", "container", id, "err", err)
	if c, gerr := s.get(context.Background(), id); gerr == nil {
		s.killOrphan(c)
		if cg, cerr := cgroup.Load(cgroupParent, id); cerr == nil {
			if derr := cg.Destroy(); derr != nil {
				s.log.Warn("remove the cgroup of a container whose monitor died", "container", id, "err", derr)
			}
		}
	}
	return monitor.Exit{Code: 255, Error: fmt.Sprintf("lost the container's monitor: %v", err), FinishedAt: s.now()}
}

// killOrphan kills the init of a container whose monitor died without
// recording its exit: the process named by the state directory's init.pid,
// if it is still that process (started when the container did, and in its
// cgroup while that exists; pids are reused). Killing the init, PID 1 of
// its namespace, ends every process of the container; the caller removes
// the cgroup, which kills anything left.
func (s *Service) killOrphan(c *Container) {
	pid, err := readPid(filepath.Join(s.stateDir(c.ID), initPidFile))
	if err != nil {
		return
	}
	if !isContainerInit(pid, c) {
		s.log.Info("the recorded init of a container is another process now: not killing it", "container", c.ID, "pid", pid)
		return
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		s.log.Warn("kill the init of a container whose monitor died", "container", c.ID, "pid", pid, "err", err)
		return
	}
	s.log.Info("killed the init of a container whose monitor died", "container", c.ID, "pid", pid)
}

// isContainerInit reports whether pid is still c's init: a live process
// whose start time is the container's, within the error of /proc's clock
// ticks and boot time (seconds), and which is in c's cgroup if the process's
// cgroups name skiff's.
func isContainerInit(pid int, c *Container) bool {
	state, started, err := procStart(pid)
	if err != nil || state == 'Z' || state == 'X' || c.State.StartedAt.IsZero() {
		return false
	}
	// The init is cloned a little before the monitor records StartedAt.
	if d := c.State.StartedAt.Sub(started); d < -2*time.Second || d > 10*time.Second {
		return false
	}
	cgroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	if bytes.Contains(cgroups, []byte("/"+cgroupParent+"/")) && !bytes.Contains(cgroups, []byte("/"+cgroupParent+"/"+c.ID)) {
		return false
	}
	return true
}

// procStart returns a process's state letter and when it started, from
// /proc/<pid>/stat (start time in clock ticks after boot) and /proc/stat's
// boot time.
func procStart(pid int) (byte, time.Time, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, time.Time{}, err
	}
	// The command may hold spaces and parentheses: fields start after the
	// last ')'.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 || end+2 > len(stat) {
		return 0, time.Time{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(stat[end+2:]))
	// fields[0] is field 3 (state); the start time is field 22.
	if len(fields) < 20 {
		return 0, time.Time{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	ticks, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("malformed /proc/%d/stat: %w", pid, err)
	}
	boot, err := bootTime()
	if err != nil {
		return 0, time.Time{}, err
	}
	const userHZ = 100 // USER_HZ, fixed on Linux's userspace ABI
	started := boot.Add(time.Duration(ticks) * time.Second / userHZ)
	return fields[0][0], started, nil
}

func bootTime() (time.Time, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}, err
	}
	for _, line := range strings.Split(string(stat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("malformed btime in /proc/stat: %w", err)
			}
			return time.Unix(sec, 0), nil
		}
	}
	return time.Time{}, errors.New("no btime in /proc/stat")
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("bad pid in %s: %q", path, b)
	}
	return pid, nil
}
