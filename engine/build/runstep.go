package build

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/moby/api/pkg/stdcopy"
	containertypes "github.com/moby/moby/api/types/container"

	"github.com/skiff-dev/skiff/engine/container"
	"github.com/skiff-dev/skiff/engine/image"
)

// runStep runs a RUN instruction in a container made from the stage's
// image and commits the container's changes as the step's image.
func (r *run) runStep(ctx context.Context, st *stageState, c *instructions.RunCommand) error {
	if st.image == "" {
		return invalid("RUN needs files to run: the stage is FROM scratch and has none yet")
	}
	args := slices.Clone(c.CmdLine)
	if c.PrependShell {
		shell := image.DefaultShell
		if len(st.config.Shell) > 0 {
			shell = st.config.Shell
		}
		args = append(slices.Clone(shell), strings.Join(c.CmdLine, " "))
	}
	argEnv := st.buildArgEnv()
	// As the classic builder's history: the build args a RUN saw, then its
	// command.
	createdBy := strings.Join(args, " ")
	if len(argEnv) > 0 {
		createdBy = fmt.Sprintf("|%d %s %s", len(argEnv), strings.Join(argEnv, " "), createdBy)
	}
	key := stepKey("run", createdBy, configKey(st))
	if r.useCache(ctx, st, key) {
		return nil
	}
	cs := r.b.cfg.Containers
	ctr, _, err := cs.Create(ctx, container.CreateOptions{
		Config: &containertypes.Config{
			Image:      st.image.String(),
			Cmd:        args,
			Entrypoint: []string{""}, // a RUN never goes through the image's entrypoint
			Env:        argEnv,
		},
		HostConfig: &containertypes.HostConfig{},
	})
	if err != nil {
		return fmt.Errorf("create the container of RUN: %w", err)
	}
	short := ctr.ID[:12]
	r.out.println(" ---> Running in " + short)
	code, err := r.runContainer(ctx, ctr.ID)
	if err == nil && code != 0 {
		err = &exitError{command: strings.Join(args, " "), code: code}
	}
	if err != nil {
		r.discardContainer(ctx, ctr.ID, err)
		return err
	}
	cfg := st.config
	id, err := cs.Commit(ctx, ctr.ID, container.CommitOptions{ImageConfig: &cfg, CreatedBy: createdBy, Author: st.author})
	if err != nil {
		r.discardContainer(ctx, ctr.ID, err)
		return err
	}
	if r.opts.Remove || r.opts.ForceRemove {
		r.out.println("Removing intermediate container " + short)
		if err := cs.Remove(ctx, ctr.ID, container.RemoveOptions{Force: true}); err != nil {
			return err
		}
	}
	return r.stepDone(ctx, st, key, id)
}

// runContainer starts a step's container with its output going to the
// build's log and returns its exit code. A cancelled build kills it.
//
// The attach and the wait are in place before the start, as docker run
// does it: a quick command could otherwise exit before either, losing its
// output or its exit.
func (r *run) runContainer(ctx context.Context, id string) (int, error) {
	cs := r.b.cfg.Containers
	attaching, copied := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(copied)
		stream, err := cs.Attach(ctx, id, container.AttachOptions{
			Stdout: true, Stderr: true,
			Waiting: func() { attaching <- nil },
		})
		if err != nil {
			attaching <- err // unread if Waiting was called: the buffer holds one
			return
		}
		defer stream.Close()
		stdcopy.StdCopy(r.out, r.out, stream)
	}()
	if err := <-attaching; err != nil {
		return 0, err
	}
	type outcome struct {
		res container.WaitResult
		err error
	}
	waited, registered := make(chan outcome, 1), make(chan struct{})
	go func() {
		res, err := cs.Wait(ctx, id, container.WaitNextExit, func() { close(registered) })
		waited <- outcome{res, err}
	}()
	select {
	case <-registered:
	case o := <-waited:
		return 0, o.err
	}
	if err := cs.Start(ctx, id); err != nil {
		return 0, err
	}
	o := <-waited
	if o.err != nil {
		return 0, o.err
	}
	// The stream ends once the process has exited and its output is all
	// delivered.
	select {
	case <-copied:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return o.res.ExitCode, nil
}

// discardContainer deals with the container of a failed step: removed
// when the build was cancelled or --force-rm says so, otherwise kept for
// the user to inspect (docker commit, or a shell in its state).
func (r *run) discardContainer(ctx context.Context, id string, cause error) {
	cs := r.b.cfg.Containers
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if ctx.Err() != nil || r.opts.ForceRemove {
		if err := cs.Remove(bg, id, container.RemoveOptions{Force: true}); err != nil {
			r.b.log.Warn("remove the container of a failed step", "container", id, "err", err)
		}
		if ctx.Err() == nil {
			r.out.println("Removing intermediate container " + id[:12])
		}
		return
	}
	cs.Kill(bg, id, "KILL") // it may still run if the failure was ours
	r.build.record.FailedContainer = id
}

// exitError is a RUN that failed, in the classic builder's words.
type exitError struct {
	command string
	code    int
}

func (e *exitError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", e.command, e.code)
}
