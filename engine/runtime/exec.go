package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// execNamespaces are the namespaces of the container that a process
// started by Exec is born in. The mount namespace is not among them: the
// kernel lets a thread join one only if it shares its filesystem
// information (root, cwd, umask) with no other thread, which no thread of a
// Go process does, so the exec-init role joins it itself (see Exec).
const execNamespaces = unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP

// Exec starts spec.Process in the running container whose init is
// spec.Pid, as docker exec does, and returns once it has been exec'd, with
// the errors Start returns. The process is a child of the caller, so
// Task.Wait reports its own exit status.
//
// How the process gets into the container:
//
//  1. The caller opens a pidfd of the container's init: every namespace is
//     then entered through it, with no /proc/<pid> path that PID reuse
//     could redirect.
//  2. A goroutine locks itself to an OS thread (not the main one), joins
//     the PID, network, UTS, IPC and cgroup namespaces with one
//     setns(pidfd) and forks the exec-init role from that thread: the
//     child is born in them (and in the container's PID namespace, since
//     setns(CLONE_NEWPID) applies to children). The goroutine then exits
//     without unlocking, so Go terminates the thread instead of reusing
//     it, and the caller's other threads never leave the host's
//     namespaces.
//  3. exec-init, on its locked main thread, calls unshare(CLONE_FS) so that
//     the thread owns its root and cwd, then setns(pidfd, CLONE_NEWNS): its
//     root and cwd become the container's root. It then applies the user,
//     working directory, limits, capabilities and seccomp, as init does,
//     and execs. Only the thread that calls execve survives it.
func Exec(ctx context.Context, spec *ExecSpec, stdio Stdio, hooks Hooks) (*Task, error) {
	if spec == nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage("no exec spec")
	}
	if err := validateProcess(&spec.Process); err != nil {
		return nil, err
	}
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	pidfd, err := unix.PidfdOpen(spec.Pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.EINVAL) {
			return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("container process %d is not running", spec.Pid))
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", spec.Pid, err)
	}
	pidFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidFile.Close()
	return launch(ctx, exe, role{
		name:       roleExecInit,
		spec:       spec,
		extraFiles: []*os.File{pidFile},
		fork: func(start func() (*os.Process, error)) (*os.Process, error) {
			return forkInNamespaces(pidfd, spec.Pid, start)
		},
		console: stdio.consoleMode(&spec.Process),
	}, stdio, hooks)
}

// forkInNamespaces runs start on a new OS thread that has joined the
// execNamespaces of the process pidfd refers to (step 2 of Exec).
func forkInNamespaces(pidfd, pid int, start func() (*os.Process, error)) (*os.Process, error) {
	done := make(chan forkResult, 1)
	go enterAndFork(pidfd, pid, start, done)
	r := <-done
	return r.proc, r.err
}

type forkResult struct {
	proc *os.Process
	err  error
}

// enterAndFork is forkInNamespaces' goroutine. Its thread is never
// unlocked: it is in the container's namespaces from the setns on, and Go
// terminates a thread whose goroutine exits locked.
//
// Except the main thread, which Go parks for good instead: it would stay
// in the container's namespaces, and /proc/self/ns/* and /proc/self/net
// of the caller, which follow the main thread, would show the
// container's. So on the main thread the work is handed to another
// goroutine, which cannot be scheduled on this thread while it is locked.
func enterAndFork(pidfd, pid int, start func() (*os.Process, error), done chan<- forkResult) {
	goruntime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		inner := make(chan forkResult, 1)
		go enterAndFork(pidfd, pid, start, inner)
		r := <-inner
		goruntime.UnlockOSThread() // untouched
		done <- r
		return
	}
	if err := unix.Setns(pidfd, execNamespaces); err != nil {
		done <- forkResult{err: fmt.Errorf("setns into the namespaces of container process %d: %w", pid, err)}
		return
	}
	proc, err := start()
	if errors.Is(err, unix.ENOMEM) {
		// fork into a PID namespace whose init has exited
		err = errdefs.ErrNotFound.WithMessage(fmt.Sprintf("container process %d is not running", pid))
	}
	done <- forkResult{proc, err}
}

// runExecInit is the exec-init role (step 3 of Exec). It returns only on
// failure.
func runExecInit(conn syncConn) error {
	if err := roleStarted(); err != nil {
		return err
	}
	var spec ExecSpec
	m, err := receiveSpec(conn, &spec)
	if err != nil {
		return err
	}
	p := newProcessSetup(conn, &spec.Process, &spec.Security, spec.Rlimits, m.Console)
	p.consoleSize = spec.ConsoleSize
	steps := append([]func() error{
		p.awaitResume,
		joinMountNamespace,
	}, p.steps()...)
	return runSteps(steps)
}

// joinMountNamespace makes the calling thread's root and cwd the
// container's.
func joinMountNamespace() error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	if err := unix.Setns(fdContainerPid, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("setns into the container's mount namespace: %w", err)
	}
	return unix.Close(fdContainerPid)
}
