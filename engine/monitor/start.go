package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// abandonTimeout bounds how long Start waits, after giving up on a monitor
// (its context ended), for the monitor to kill the container and exit
// before it kills the monitor itself.
const abandonTimeout = 10 * time.Second

// Start launches a monitor for cfg and returns once the container's process
// has been exec'd, or with the error that prevented it. A runtime error
// keeps its errdefs class and message ("executable file not found" is
// errdefs.ErrNotFound here too), and leaves no monitor running.
//
// The monitor is this binary re-executed with os.Args[1] == Role, in a
// session of its own, with /dev/null as stdin and StateDir/monitor.log as
// stdout and stderr, and no other descriptor of the caller: the caller may
// exit or crash and the container runs on. While the caller lives, a
// goroutine waits for the monitor, so it never lingers as a zombie.
//
// The returned Client holds the monitor open: after the container exits,
// the monitor still answers Attach (replaying the output kept) and Wait
// until that Client is closed (or its process dies), so that a caller can
// attach after Start to a container that has already exited. Close the
// Client once the container's exit has been handled.
//
// If ctx ends before the container runs, the monitor kills it (its exit is
// recorded) and Start returns ctx's error.
func Start(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	cfg.StateDir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	if err := awaitPrevious(ctx, dir); err != nil {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s already has a running monitor: %v", cfg.ID, err))
	}
	if cfg.CgroupParent != "" && !cgroup.SelfJoin() {
		// The monitor moves the init into its cgroup about 10 ms from
		// now: have the kernel's wait that comes with a first migration
		// happen meanwhile (see cgroup.WarmMigrations). Where the init
		// joins its cgroups itself, nothing waits for that move.
		stopWarm := cgroup.WarmMigrations()
		defer stopWarm()
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode monitor config: %w", err)
	}
	if err := writeFileAtomic(dir, configFile, b); err != nil {
		return nil, fmt.Errorf("write monitor config: %w", err)
	}

	p, err := launch(dir)
	if err != nil {
		return nil, fmt.Errorf("start monitor for %s: %w", cfg.ID, err)
	}
	syncConn, reaped := p.conn, p.reaped

	// letGo closes the socket and waits for the monitor to exit: by itself
	// after a failure it reported, or, not acknowledged, after killing the
	// container. abandonTimeout bounds the wait.
	letGo := func() {
		syncConn.Close()
		select {
		case <-reaped:
		case <-time.After(abandonTimeout):
			p.cmd.Process.Kill()
			<-reaped
		}
	}
	msg, err := readSyncCtx(ctx, syncConn)
	scheduleRefill()
	switch {
	case err == nil && msg.Type == syncStarted:
		if err := writeSync(syncConn, syncMsg{Type: syncAck}); err != nil {
			letGo()
			return nil, fmt.Errorf("start monitor for %s: %w", cfg.ID, err)
		}
		return &Client{
			dir:       dir,
			pid:       msg.Pid,
			startedAt: msg.StartedAt,
			tty:       cfg.Tty,
			hold:      syncConn,
			proc:      p,
			reaped:    reaped,
			conns:     make(map[*net.UnixConn]struct{}),
		}, nil
	case err == nil && msg.Type == syncFailed:
		letGo()
		return nil, msg.Error.err()
	case ctx.Err() != nil:
		letGo()
		return nil, fmt.Errorf("start container %s: %w", cfg.ID, context.Cause(ctx))
	default:
		letGo()
		if err == nil {
			err = fmt.Errorf("unexpected %q message", msg.Type)
		}
		return nil, fmt.Errorf("monitor for %s failed before starting the container: %w%s", cfg.ID, err, logTail(dir))
	}
}

// finishTimeout bounds the wait for a monitor whose container has exited
// to finish: its sessions take at most flushTimeout, then lingerTimeout.
const finishTimeout = flushTimeout + lingerTimeout + time.Second

// awaitPrevious returns nil when no monitor runs in dir any more. A
// monitor that answers there is either running its container (an error) or,
// its container exited and its Client closed a moment ago, finishing its
// sessions before it removes its files and exits (docker stop, then docker
// start at once): awaitPrevious then waits for it to be gone, so that it
// does not remove the files of the next one. One that no longer answers
// may still be finishing too, its socket closed but its files not yet
// removed: its pid file then names it, and it is waited for as well.
func awaitPrevious(ctx context.Context, dir string) error {
	c := &Client{dir: dir, conns: make(map[*net.UnixConn]struct{})}
	defer c.Close()
	var r reply
	info, cancel := context.WithTimeout(ctx, callTimeout)
	err := c.call(info, request{Op: opInfo}, &r)
	timedOut := info.Err() != nil && ctx.Err() == nil
	cancel()
	switch {
	case errdefs.IsNotFound(err):
		// Nobody listens: gone, or closing down.
	case ctx.Err() != nil:
		return ctx.Err()
	case timedOut:
		return errors.New("it does not answer")
	case err == nil && r.Exit == nil:
		return errors.New("its container is running")
	}
	// It answered with the exit, closed the connection as it shuts down,
	// or no longer listens.
	pid, ok := monitorOf(dir)
	if !ok {
		return nil
	}
	return awaitDone(ctx, dir, pid)
}

// awaitDone waits, at most finishTimeout, until the process pid is no
// longer the monitor of dir: it exited, or went on standby again (see
// recycle) once it removed its files. A wait for its exit alone would
// last as long as the process serves other containers.
func awaitDone(ctx context.Context, dir string, pid int) error {
	ctx, cancel := context.WithTimeoutCause(ctx, finishTimeout, fmt.Errorf("monitor %d still runs after %v", pid, finishTimeout))
	defer cancel()
	for {
		if p, ok := monitorOf(dir); !ok || p != pid {
			return nil
		}
		// Its exit ends the wait at once; its going on standby, within
		// the millisecond.
		tick, stop := context.WithTimeout(ctx, time.Millisecond)
		err := runtime.AwaitExit(tick, pid)
		stop()
		switch {
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case err == nil:
			return nil
		case tick.Err() == nil:
			return err
		}
	}
}

// Running reports whether the monitor recorded in the container state
// directory stateDir still runs as that directory's monitor (see
// monitorOf): a daemon that lost its connection to it asks.
func Running(stateDir string) bool {
	dir, err := filepath.Abs(stateDir)
	if err != nil {
		return false
	}
	_, ok := monitorOf(dir)
	return ok
}

// monitorOf returns the pid of the monitor process of dir, if its pid file
// names a live process whose command line is that monitor's (a pid file
// left by a monitor that was killed may name a reused pid).
func monitorOf(dir string) (int, bool) {
	pid, err := readPid(dir, monitorPidFile)
	if err != nil {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("\x00"+Role+"\x00"+dir+"\x00")) {
		return 0, false
	}
	return pid, true
}

func (cfg *Config) validate() error {
	switch {
	case cfg.ID == "":
		return errdefs.ErrInvalidArgument.WithMessage("monitor config without a container ID")
	case cfg.StateDir == "":
		return errdefs.ErrInvalidArgument.WithMessage("monitor config without a state directory")
	case len(cfg.Spec.Process.Args) == 0:
		return errdefs.ErrInvalidArgument.WithMessage("no command specified")
	}
	return nil
}

// launch starts the monitor of the container in dir: the one on standby
// if there is one (see KeepStandby), or a new one.
func launch(dir string) (*proc, error) {
	out, err := os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	if p := takeStandby(); p != nil {
		if err := p.assign(dir, out); err == nil {
			return p, nil
		}
		p.conn.Close() // it exits at the EOF, if it has not died already
	}
	return launchProc(out, dir)
}

// launchProc re-executes this binary as a monitor with the arguments args
// (the state directory, or standbyArg), with out (nil: /dev/null) as its
// stdout and stderr, connected to the caller by a SOCK_SEQPACKET
// socketpair (the monitor's fd 3). A goroutine reaps it, whether or not a
// Client is still around.
func launchProc(out *os.File, args ...string) (*proc, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "monitor-sync"), os.NewFile(uintptr(fds[1]), "monitor-sync")
	defer ours.Close()
	defer theirs.Close()
	conn, err := net.FileConn(ours) // a dup: ours is closed on return
	if err != nil {
		return nil, err
	}

	cmd := &exec.Cmd{
		// /proc/self/exe is the running binary even if its file was
		// replaced or removed since.
		Path:       "/proc/self/exe",
		Args:       append([]string{os.Args[0], Role}, args...),
		Dir:        "/", // pin no directory of the caller
		ExtraFiles: []*os.File{theirs},
		// A session (and so a process group) of its own: no signal sent
		// to the daemon's group or terminal reaches it. No Pdeathsig: the
		// monitor outlives the daemon.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	if err := cmd.Start(); err != nil {
		conn.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, conn: conn.(*net.UnixConn), reaped: make(chan struct{})}
	go func() { // ends when the monitor exits
		cmd.Wait()
		close(p.reaped)
	}()
	return p, nil
}

// readSyncCtx reads one sync message, giving up when ctx ends.
func readSyncCtx(ctx context.Context, c *net.UnixConn) (syncMsg, error) {
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	return readSync(c, 64<<10)
}

// readSync reads one sync message (one packet) of at most max bytes.
func readSync(c *net.UnixConn, max int) (syncMsg, error) {
	buf := make([]byte, max)
	n, err := c.Read(buf)
	if err != nil {
		return syncMsg{}, err
	}
	var m syncMsg
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		return syncMsg{}, fmt.Errorf("decode sync message: %w", err)
	}
	return m, nil
}

// writeSync sends one sync message (one packet).
func writeSync(c *net.UnixConn, m syncMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = c.Write(b)
	return err
}

// logTail is the last line the monitor wrote to its log, to explain why it
// died, as ": <line>"; empty when there is none.
func logTail(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		return ""
	}
	b = bytes.TrimRight(b, "\n")
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) == 0 {
		return ""
	}
	return ": " + string(b)
}
