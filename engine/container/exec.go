package container

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine/monitor"
	"github.com/skiff-dev/skiff/engine/runtime"
)

// ExecOptions are docker exec's.
type ExecOptions struct {
	Cmd         []string
	Env         []string
	User        string
	WorkingDir  string
	Tty         bool
	AttachStdin bool
	Privileged  bool
	ConsoleSize [2]uint16
}

// Exec is an exec instance: created, then started once.
type Exec struct {
	ID          string
	ContainerID string
	Options     ExecOptions
	Running     bool
	ExitCode    *int // set once it exited
	Pid         int
}

type execInstance struct {
	mu      sync.Mutex
	exec    Exec
	session *monitor.ExecSession
	done    chan struct{} // closed once the exit code is recorded
}

// CreateExec registers a process to run in a running container.
func (s *Service) CreateExec(ctx context.Context, ref string, opts ExecOptions) (string, error) {
	c, err := s.get(ctx, ref)
	if err != nil {
		return "", err
	}
	switch {
	case c.State.Status == containertypes.StatePaused:
		return "", errdefs.ErrConflict.WithMessage(fmt.Sprintf("Container %s is paused, unpause the container before exec", c.ID))
	case !c.State.Running() || s.liveOf(c.ID) == nil:
		return "", errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", c.ID))
	case len(opts.Cmd) == 0:
		return "", errdefs.ErrInvalidArgument.WithMessage("no exec command specified")
	}
	id := newID()
	s.mu.Lock()
	s.execs[id] = &execInstance{exec: Exec{ID: id, ContainerID: c.ID, Options: opts}, done: make(chan struct{})}
	s.mu.Unlock()
	s.publish(c, execAction("exec_create", opts.Cmd), map[string]string{"execID": id})
	return id, nil
}

// execAction is the action of an exec's events as Docker words it: the
// command after the event's name, "exec_create: echo hi" ("exec_create:
// true " for a command without arguments).
func execAction(event string, cmd []string) string {
	return event + ": " + cmd[0] + " " + strings.Join(cmd[1:], " ")
}

func (s *Service) execOf(id string) (*execInstance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.execs[id]
	if !ok {
		return nil, errdefs.ErrNotFound.WithMessage("No such exec instance: " + id)
	}
	return e, nil
}

// StartExec starts an exec instance and returns its stream. The caller
// copies the stream and then calls FinishExec, so that the exit code is
// recorded before the client asks for it.
func (s *Service) StartExec(ctx context.Context, id string) (*monitor.Stream, error) {
	e, err := s.execOf(id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.session != nil || e.exec.ExitCode != nil {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("exec %s has already been started", id))
	}
	c, err := s.get(ctx, e.exec.ContainerID)
	if err != nil {
		return nil, err
	}
	live := s.liveOf(c.ID)
	if live == nil {
		return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("container %s is not running", c.ID))
	}
	security, err := securityOf(c.HostConfig)
	if err != nil {
		return nil, err
	}
	if e.exec.Options.Privileged {
		security.Capabilities, security.Seccomp = runtime.AllCapabilities(), false
	}
	if err := compileSeccomp(&security); err != nil {
		return nil, err
	}
	proc := processOf(c.Config)
	proc.Args = e.exec.Options.Cmd
	proc.Env = mergeEnv(proc.Env, e.exec.Options.Env)
	proc.Terminal = e.exec.Options.Tty
	if e.exec.Options.User != "" {
		proc.User = e.exec.Options.User
	}
	if e.exec.Options.WorkingDir != "" {
		proc.Cwd = e.exec.Options.WorkingDir
	}
	session, err := live.client.Exec(ctx, monitor.ExecConfig{
		Process:     proc,
		Security:    security,
		Tty:         e.exec.Options.Tty,
		OpenStdin:   e.exec.Options.AttachStdin,
		ConsoleSize: e.exec.Options.ConsoleSize,
	})
	if err != nil {
		code := startFailureCode(err)
		e.exec.ExitCode = &code
		close(e.done)
		return nil, err
	}
	e.session = session
	e.exec.Running, e.exec.Pid = true, session.Pid()
	s.publish(c, execAction("exec_start", e.exec.Options.Cmd), map[string]string{"execID": id})
	return session.Stream(), nil
}

// FinishExec waits for an exec's process to exit and records its code.
func (s *Service) FinishExec(ctx context.Context, id string) (int, error) {
	e, err := s.execOf(id)
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	session := e.session
	e.mu.Unlock()
	if session == nil {
		select {
		case <-e.done:
			return *e.exec.ExitCode, nil
		default:
			return 0, errdefs.ErrConflict.WithMessage(fmt.Sprintf("exec %s has not been started", id))
		}
	}
	code, err := session.Wait(ctx)
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exec.ExitCode == nil {
		e.exec.ExitCode, e.exec.Running = &code, false
		close(e.done)
		if c, err := s.get(context.WithoutCancel(ctx), e.exec.ContainerID); err == nil {
			s.publish(c, "exec_die", map[string]string{"execID": id, "exitCode": fmt.Sprint(code)})
		}
	}
	return code, nil
}

// InspectExec returns an exec instance.
func (s *Service) InspectExec(ctx context.Context, id string) (Exec, error) {
	e, err := s.execOf(id)
	if err != nil {
		return Exec{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exec, nil
}

// ResizeExec sets the terminal size of a running exec.
func (s *Service) ResizeExec(ctx context.Context, id string, rows, cols uint16) error {
	e, err := s.execOf(id)
	if err != nil {
		return err
	}
	e.mu.Lock()
	session := e.session
	e.mu.Unlock()
	if session == nil {
		return errdefs.ErrConflict.WithMessage(fmt.Sprintf("exec %s is not running", id))
	}
	return session.Resize(rows, cols)
}
