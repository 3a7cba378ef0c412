package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/containerd/errdefs"

	"github.com/skiff-dev/skiff/engine/runtime"
)

// hostStarter is the tests' starter: it runs the spec's process as a plain
// host process (in a session of its own, with the stdio the monitor made)
// instead of a container. Two commands are special: "block-start" blocks
// until the start is cancelled, for the tests of an abandoned Start.
type hostStarter struct{}

func (hostStarter) allocatesConsole() bool { return false }

// start ignores hooks.Join: a host process joins no v1 cgroup.
func (hostStarter) start(ctx context.Context, spec *runtime.Spec, stdio stdio, hooks runtime.Hooks) (process, error) {
	return startHost(ctx, spec.Process, stdio, hooks.Created)
}

func (hostStarter) exec(ctx context.Context, spec *runtime.ExecSpec, stdio stdio, created func(pid int) error) (process, error) {
	return startHost(ctx, spec.Process, stdio, created)
}

func startHost(ctx context.Context, p runtime.Process, stdio stdio, created func(int) error) (process, error) {
	if p.Args[0] == "block-start" {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	path, err := exec.LookPath(p.Args[0])
	if err != nil {
		// The message Docker shows for a missing command.
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("exec: %q: executable file not found in $PATH", p.Args[0]))
	}
	cmd := exec.Command(path, p.Args[1:]...)
	cmd.Args[0] = p.Args[0]
	cmd.Env, cmd.Dir = p.Env, p.Cwd
	// A nil *os.File in an io.Reader would not be nil: set only real ones.
	if stdio.stdin != nil {
		cmd.Stdin = stdio.stdin
	}
	if stdio.stdout != nil {
		cmd.Stdout = stdio.stdout
	}
	if stdio.stderr != nil {
		cmd.Stderr = stdio.stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: p.Terminal}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Args[0], err)
	}
	if created != nil {
		if err := created(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, err
		}
	}
	return hostProcess{cmd}, nil
}

type hostProcess struct{ cmd *exec.Cmd }

func (p hostProcess) Pid() int                        { return p.cmd.Process.Pid }
func (p hostProcess) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }
func (p hostProcess) Console() *os.File               { return nil }

func (p hostProcess) Wait() (int, error) {
	err := p.cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, err
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
