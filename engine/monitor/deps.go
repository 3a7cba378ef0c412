package monitor

import (
	"context"
	"io"
	"os"
	"syscall"

	"github.com/skiff-dev/skiff/engine/logfile"
	"github.com/skiff-dev/skiff/engine/runtime"
	"github.com/skiff-dev/skiff/engine/runtime/cgroup"
)

// This file is the monitor's seam onto the packages that run and account
// for the container: engine/runtime starts processes, engine/runtime/cgroup
// limits them, engine/logfile stores their output. The monitor uses them
// through the small interfaces below, so that a test can run a plain host
// process in place of a container (see theStarter).

// stdio are the files a started process gets as fds 0, 1 and 2: three
// times the pty slave for a TTY; nil is /dev/null. A starter that
// allocates consoles gets none for a TTY (see starter).
type stdio struct {
	stdin, stdout, stderr *os.File
}

// process is a started container process (the init or an exec), a child
// of the monitor.
type process interface {
	Pid() int
	Signal(syscall.Signal) error
	// Wait reaps the process and returns Docker's exit code for it: the
	// status, or 128+n when signal n killed it. It is called once.
	Wait() (int, error)
	// Console is the master of the pty the starter allocated for a TTY
	// process, nil if it allocated none.
	Console() *os.File
}

// starter starts container processes.
type starter interface {
	// allocatesConsole tells whether the starter allocates the pty of a
	// TTY process itself (in the container's own /dev/pts, where the
	// process can name it), given no stdio, and returns its master from
	// process.Console. Otherwise the monitor passes a pty slave.
	allocatesConsole() bool
	// start runs the container's init. hooks.Created runs with the init's
	// host pid before the container's process starts (the cgroup is
	// joined there, or through hooks.Join: see runtime.Hooks).
	start(ctx context.Context, spec *runtime.Spec, stdio stdio, hooks runtime.Hooks) (process, error)
	// exec runs a process in the running container whose init is spec.Pid;
	// created runs with its host pid before it starts (it joins the
	// container's cgroup there).
	exec(ctx context.Context, spec *runtime.ExecSpec, stdio stdio, created func(pid int) error) (process, error)
}

// cgroupManager is the container's cgroup.
type cgroupManager interface {
	Add(pid int) error
	// TaskFiles and JoinV2 join the cgroup in two steps, when
	// cgroup.SelfJoin: the init's thread itself on v1, its processes on v2.
	TaskFiles() ([]*os.File, error)
	JoinV2() error
	OOMKilled() (bool, error)
	Destroy() error
}

// logWriter is the container's json-file log.
type logWriter interface {
	Stream(name string) io.Writer
	// Err reports the writes that failed (they never block the output).
	Err() error
	Close() error
}

// The implementations in use. The monitor role reads them, so a test
// replaces them in TestMain, before MaybeReexec, to affect the monitors its
// binary runs.
var (
	theStarter   starter = runtimeStarter{}
	newCgroup            = newRuntimeCgroup
	newLogWriter         = func(cfg logfile.WriterConfig) (logWriter, error) { return logfile.NewWriter(cfg) }
)

// runtimeStarter starts container processes with engine/runtime, in console
// mode for a TTY. A monitor on standby gives it the init it started ahead
// of its container (see prestartInit), which start then uses.
type runtimeStarter struct{ ahead *runtime.Prestarted }

func (runtimeStarter) allocatesConsole() bool { return true }

func (s runtimeStarter) start(ctx context.Context, spec *runtime.Spec, stdio stdio, hooks runtime.Hooks) (process, error) {
	start := runtime.Start
	if s.ahead != nil {
		start = s.ahead.Start
	}
	t, err := start(ctx, spec, stdio.runtime(), hooks)
	if err != nil {
		return nil, err
	}
	return task{t}, nil
}

func (runtimeStarter) exec(ctx context.Context, spec *runtime.ExecSpec, stdio stdio, created func(pid int) error) (process, error) {
	t, err := runtime.Exec(ctx, spec, stdio.runtime(), runtime.Hooks{Created: created})
	if err != nil {
		return nil, err
	}
	return task{t}, nil
}

func (s stdio) runtime() runtime.Stdio {
	return runtime.Stdio{Stdin: s.stdin, Stdout: s.stdout, Stderr: s.stderr}
}

// task adapts a runtime.Task.
type task struct{ *runtime.Task }

func (t task) Wait() (int, error) {
	st, err := t.Task.Wait()
	return st.Code, err // Code is already Docker's: 128+signal when killed
}

func newRuntimeCgroup(parent, id string, r cgroup.Resources) (cgroupManager, error) {
	m, err := cgroup.New(parent, id, r)
	if err != nil {
		return nil, err
	}
	return m, nil
}
