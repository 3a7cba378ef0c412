package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Start starts spec.Process as PID 1 of a new container and returns once it
// has been exec'd, or the reason it could not be: an error whose text a user
// understands and whose errdefs class the CLI maps to an exit code.
// `exec: "nosuch": executable file not found in $PATH` is
// errdefs.ErrNotFound (127), `exec: "/etc": permission denied` is
// errdefs.ErrPermissionDenied (126), a bad user, working directory or limit
// is errdefs.ErrInvalidArgument.
//
// ctx bounds the start only: once Start has returned, the container runs
// until it exits or is signalled.
func Start(ctx context.Context, spec *Spec, stdio Stdio, hooks Hooks) (*Task, error) {
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	exe, err := sealedExe()
	if err != nil {
		return nil, err
	}
	return launch(ctx, exe, role{
		name:       roleInit,
		spec:       spec,
		cloneflags: initCloneflags(spec.Network),
		console:    stdio.consoleMode(&spec.Process),
	}, stdio, hooks)
}

// initCloneflags are the namespaces a container's init is born in: all of
// Docker's but the network one when it uses the host's or joins another.
func initCloneflags(network string) uintptr {
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWPID)
	if isNewNetwork(network) {
		flags |= unix.CLONE_NEWNET
	}
	return flags
}

// isNewNetwork reports whether network asks for a namespace of its own
// ("none", or empty), rather than the host's or one to join (a path).
func isNewNetwork(network string) bool { return network == "" || network == "none" }

// role is a role process to launch.
type role struct {
	name       string
	spec       any // *Spec or *ExecSpec, sent in msgSpec
	cloneflags uintptr
	// extraFiles become the role's fds 4, 5, ...
	extraFiles []*os.File
	// fork, if set, runs the function that starts the process (Exec runs
	// it on a thread inside the container's namespaces).
	fork func(start func() (*os.Process, error)) (*os.Process, error)
	// console: the role allocates the pty (see Stdio).
	console bool
}

// launch starts the role process from exe and drives the sync protocol
// until the container process runs (see the package documentation).
func launch(ctx context.Context, exe *os.File, r role, stdio Stdio, hooks Hooks) (*Task, error) {
	m, err := specMessage(r.spec, r.console)
	if err != nil {
		return nil, err
	}
	rp, err := spawn(exe, r, stdio)
	if err != nil {
		return nil, err
	}
	return rp.finish(ctx, m, nil, hooks)
}

// specMessage is the msgSpec message carrying spec (a *Spec or *ExecSpec).
func specMessage(spec any, console bool) (message, error) {
	payload, err := json.Marshal(spec)
	if err != nil {
		return message{}, fmt.Errorf("encode spec: %w", err)
	}
	return message{Type: msgSpec, Spec: payload, Console: console}, nil
}

// roleProc is a role process that waits for its spec.
type roleProc struct {
	name string
	proc *os.Process
	conn syncConn
}

// spawn starts the role process r from exe, with stdio as its fds 0, 1
// and 2.
func spawn(exe *os.File, r role, stdio Stdio) (*roleProc, error) {
	parentFD, childFD, err := newSyncPair()
	if err != nil {
		return nil, err
	}
	child := os.NewFile(uintptr(childFD), "sync")
	// The role's end must be closed here once the role has it, or its
	// EOF, which says execve succeeded, never comes.
	defer child.Close()
	files, closeStdio, err := stdio.files()
	if err != nil {
		unix.Close(parentFD)
		return nil, err
	}
	defer closeStdio()
	attr := &os.ProcAttr{
		Files: append(append(files, child), r.extraFiles...),
		Env:   []string{},
		Sys:   &syscall.SysProcAttr{Cloneflags: r.cloneflags},
	}
	start := func() (*os.Process, error) {
		return os.StartProcess(exePath(exe), []string{"skiff", r.name}, attr)
	}
	var proc *os.Process
	if r.fork != nil {
		proc, err = r.fork(start)
	} else {
		proc, err = start()
	}
	if err != nil {
		unix.Close(parentFD)
		return nil, fmt.Errorf("start %s: %w", r.name, err)
	}
	return &roleProc{name: r.name, proc: proc, conn: syncConn{fd: parentFD}}, nil
}

// finish sends the role its spec (with fds attached, if any) and drives the
// rest of the sync protocol until the container process runs. On failure
// the role is killed and reaped. Either way the role's sync socket is
// closed.
func (rp *roleProc) finish(ctx context.Context, spec message, fds []int, hooks Hooks) (*Task, error) {
	defer rp.conn.close()
	t := &Task{proc: rp.proc}
	stop := context.AfterFunc(ctx, func() { rp.proc.Kill() })
	err := handshake(rp.conn, t, spec, fds, hooks)
	if !stop() {
		err = ctx.Err() // the role was killed, whatever happened meanwhile
	}
	if err != nil {
		st, werr := rp.kill()
		if errors.Is(err, errExitedEarly) && werr == nil {
			err = fmt.Errorf("%s %w (%v)", rp.name, err, st)
		}
		if t.console != nil {
			t.console.Close()
		}
		return nil, err
	}
	return t, nil
}

// kill kills the role and reaps it.
func (rp *roleProc) kill() (*os.ProcessState, error) {
	rp.proc.Kill()
	return rp.proc.Wait()
}

// errExitedEarly is returned when the role process went away during setup
// without saying why (killed, or crashed).
var errExitedEarly = errors.New("exited during setup")

// handshake is the parent's side of the sync protocol. The role's
// namespaces exist from its clone on, so Hooks.Created runs, and resume
// goes, while the role sets up (an init builds the container's
// filesystem meanwhile): the role finds resume waiting when it is done,
// rather than asking for it and waiting for the hooks.
func handshake(conn syncConn, t *Task, spec message, fds []int, hooks Hooks) error {
	if err := conn.send(spec, fds...); err != nil {
		if peerClosed(err) {
			return errExitedEarly
		}
		return err
	}
	if hooks.Created != nil {
		if err := hooks.Created(t.proc.Pid); err != nil {
			// The role's own error, if it failed meanwhile, says more: the
			// hook may have failed because the role is gone.
			if _, rerr := conn.expect(msgCreated); rerr != nil && !errors.Is(rerr, io.EOF) {
				return rerr
			}
			return fmt.Errorf("created hook (pid %d): %w", t.proc.Pid, err)
		}
	}
	// A role that failed meanwhile has closed its end: its error is read
	// below.
	if err := resume(conn, hooks); err != nil && !peerClosed(err) {
		return err
	}
	if _, err := conn.expect(msgCreated); err != nil {
		if errors.Is(err, io.EOF) {
			return errExitedEarly
		}
		return err
	}
	execing := false
	for {
		m, fds, err := conn.recv()
		switch {
		case errors.Is(err, io.EOF) && execing:
			return nil // fd 3 was closed by a successful execve
		case errors.Is(err, io.EOF):
			return errExitedEarly
		case err != nil:
			return err
		}
		switch {
		case m.Type == msgConsole && len(fds) == 1 && t.console == nil:
			t.console = os.NewFile(uintptr(fds[0]), "pty-master")
		case m.Type == msgExec && len(fds) == 0:
			execing = true
		case m.Type == msgError && m.Error != nil:
			closeAll(fds)
			return m.Error.err()
		default:
			closeAll(fds)
			return fmt.Errorf("sync protocol: unexpected %q message with %d fds", m.Type, len(fds))
		}
	}
}

// peerClosed reports whether a send failed because the role has closed its
// end: EPIPE, or ECONNRESET when it went with a message of ours unread (a
// role killed before it read the spec).
func peerClosed(err error) bool {
	return errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET)
}

// resume sends msgResume, with the cgroup files of hooks.Join.
func resume(conn syncConn, hooks Hooks) error {
	var files []*os.File
	if hooks.Join != nil {
		var err error
		if files, err = hooks.Join(); err != nil {
			return fmt.Errorf("join hook: %w", err)
		}
	}
	fds := make([]int, len(files))
	for i, f := range files {
		defer f.Close()
		fds[i] = int(f.Fd())
	}
	if len(fds) > maxMsgFds {
		return fmt.Errorf("join hook: %d cgroup files, at most %d", len(fds), maxMsgFds)
	}
	return conn.send(message{Type: msgResume}, fds...)
}

// files returns the role's fds 0, 1 and 2, /dev/null in place of a nil
// file, and a function closing what it opened.
func (s Stdio) files() ([]*os.File, func(), error) {
	files := []*os.File{s.Stdin, s.Stdout, s.Stderr}
	var null *os.File
	for i, f := range files {
		if f != nil {
			continue
		}
		if null == nil {
			var err error
			if null, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
				return nil, nil, err
			}
		}
		files[i] = null
	}
	return files, func() {
		if null != nil {
			null.Close()
		}
	}, nil
}

// validateSpec rejects what the init would fail on late, or misread.
func validateSpec(spec *Spec) error {
	if spec == nil {
		return errdefs.ErrInvalidArgument.WithMessage("no spec")
	}
	r := spec.Root
	switch {
	case !filepath.IsAbs(r.Target):
		return invalid("rootfs target %q is not an absolute path", r.Target)
	case !filepath.IsAbs(r.UpperDir):
		return invalid("rootfs upper directory %q is not an absolute path", r.UpperDir)
	case len(r.LowerDirs) > 0 && !filepath.IsAbs(r.WorkDir):
		return invalid("rootfs work directory %q is not an absolute path", r.WorkDir)
	}
	for _, l := range r.LowerDirs {
		if !filepath.IsAbs(l) {
			return invalid("rootfs layer %q is not an absolute path", l)
		}
	}
	if n := spec.Network; !isNewNetwork(n) && n != "host" && !filepath.IsAbs(n) {
		return invalid("network %q: want none, host or the path of a network namespace", n)
	}
	for _, m := range spec.Mounts {
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Destination) {
			return invalid("mount %s:%s: source and destination must be absolute paths", m.Source, m.Destination)
		}
	}
	return validateProcess(&spec.Process)
}

func validateProcess(p *Process) error {
	if len(p.Args) == 0 || p.Args[0] == "" {
		return errdefs.ErrInvalidArgument.WithMessage("no command specified")
	}
	if p.Cwd != "" && !filepath.IsAbs(p.Cwd) {
		return invalid("the working directory %q is invalid, it needs to be an absolute path", p.Cwd)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, args...))
}
