package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Stdio are the files a container process gets as its fds 0, 1 and 2. For
// a TTY (Process.Terminal) they are the pty slave three times. A nil file
// is /dev/null.
//
// Console mode: with Process.Terminal and all three nil, the runtime
// allocates the pty inside the container's own /dev/pts, as runc does with
// a console socket, and Task.Console returns its master. Only then does
// the process see what it sees under Docker (`tty` prints /dev/pts/0): a
// pty of the host's devpts cannot be named inside the container, and
// glibc's ttyname verifies the name (isatty still holds).
type Stdio struct{ Stdin, Stdout, Stderr *os.File }

// consoleMode reports whether the runtime allocates the pty (see Stdio).
func (s Stdio) consoleMode(p *Process) bool {
	return p.Terminal && s.Stdin == nil && s.Stdout == nil && s.Stderr == nil
}

// Hooks are called by Start and Exec while the process is being set up.
type Hooks struct {
	// Created runs in the caller with the host PID of the init (or of the
	// exec'd process), whose namespaces exist, while the role sets up (an
	// init builds the container's filesystem meanwhile) and before the
	// process is set up and started: the monitor joins the cgroup and
	// wires networking here. An error aborts the start.
	Created func(pid int) error
	// Join, if set, runs after Created and returns v1 cgroup "tasks" files
	// (cgroup.Manager.TaskFiles): the role's main thread, the one that
	// execs the process, joins those cgroups itself, writing "0" to each,
	// before it sets the process up. A thread that moves itself takes no
	// global lock in the kernel, while moving a process (Created's way)
	// may wait 5 to 13 ms for an RCU grace period. The files are closed
	// once sent.
	Join func() ([]*os.File, error)
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code, or 128+signal when a signal killed the
	// process (Docker's convention).
	Code int
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal
}

// Task is a container process started by Start or Exec, a child of the
// caller, which must Wait for it. (It is named after containerd's: Process
// is the Spec's description of a process.)
type Task struct {
	proc    *os.Process
	console *os.File
}

// Pid returns the process's host PID.
func (t *Task) Pid() int { return t.proc.Pid }

// Console returns the master of the pty allocated in console mode (see
// Stdio), nil otherwise. The caller owns it.
func (t *Task) Console() *os.File { return t.console }

// Signal sends sig to the process. Once it has been reaped the error
// wraps os.ErrProcessDone.
func (t *Task) Signal(sig syscall.Signal) error {
	if err := t.proc.Signal(sig); err != nil {
		return fmt.Errorf("signal %d to process %d: %w", sig, t.proc.Pid, err)
	}
	return nil
}

// Wait waits for the process to end, reaps it and returns how it ended.
// It may be called once.
func (t *Task) Wait() (ExitStatus, error) {
	if err := AwaitExit(context.Background(), t.proc.Pid); err != nil {
		return ExitStatus{}, fmt.Errorf("wait for process %d: %w", t.proc.Pid, err)
	}
	st, err := t.proc.Wait()
	if err != nil {
		return ExitStatus{}, fmt.Errorf("wait for process %d: %w", t.proc.Pid, err)
	}
	return exitStatusOf(st)
}

// AwaitExit returns once the process pid has exited (a child is not
// reaped), at once if there is no such process, or with ctx's error when
// ctx ends first. The goroutine waits in the Go runtime's poller, on a
// pidfd (which polls readable once its process has exited), where
// os.Process.Wait would block its thread in waitid: in a process with a
// single P, the monitor's, the other goroutines would then wait for the
// runtime to notice the blocked thread (up to milliseconds) before they
// could run.
func AwaitExit(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		if err != nil && err != unix.EINTR {
			perr = fmt.Errorf("poll pidfd: %w", err)
			return true
		}
		return n > 0
	})
	if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return errors.Join(err, perr)
}

func exitStatusOf(st *os.ProcessState) (ExitStatus, error) {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok {
		return ExitStatus{}, errors.New("wait: no wait status")
	}
	if ws.Signaled() {
		return ExitStatus{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}, nil
	}
	return ExitStatus{Code: ws.ExitStatus()}, nil
}
