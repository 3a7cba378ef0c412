package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// Container lifecycle: start, stop, restart, kill, pause, unpause, rm,
// rename and wait.

type startOptions struct {
	containers  []string
	attach      bool
	interactive bool
	detachKeys  string
}

func newStartCommand(cc *cliContext) *cobra.Command {
	var opts startOptions
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.containers = args
			if opts.attach || opts.interactive {
				return runStartAttached(cmd.Context(), cc, opts)
			}
			return runStart(cmd.Context(), cc, opts.containers)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	flags.BoolVarP(&opts.interactive, "interactive", "i", false, "Attach container's STDIN")
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runStart starts each container in turn, printing the name of those
// started and the error of the others, then fails naming the failures.
func runStart(ctx context.Context, cc *cliContext, containers []string) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	var failed []string
	for _, name := range containers {
		if _, err := api.ContainerStart(ctx, name, client.ContainerStartOptions{}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintln(cc.stderr, cc.explain(err))
			failed = append(failed, name)
			continue
		}
		fmt.Fprintln(cc.stdout, name)
	}
	if len(failed) > 0 {
		return fmt.Errorf("Error: failed to start containers: %s", strings.Join(failed, ", "))
	}
	return nil
}

// runStartAttached is `start -a` / `start -i`, in docker's order: inspect,
// attach (by ID), wait (next-exit, or removed for an --rm container),
// start, resize. It streams until the container exits and returns its
// exit status; detaching ends it quietly.
func runStartAttached(ctx context.Context, cc *cliContext, opts startOptions) error {
	if len(opts.containers) > 1 {
		return errors.New("you cannot start and attach multiple containers at once")
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	inspected, err := api.ContainerInspect(ctx, opts.containers[0], client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := inspected.Container
	tty, openStdin, autoRemove := false, false, false
	if c.Config != nil {
		tty, openStdin = c.Config.Tty, c.Config.OpenStdin
	}
	if c.HostConfig != nil {
		autoRemove = c.HostConfig.AutoRemove
	}

	if !tty {
		stop := cc.proxySignals(ctx, api, c.ID)
		defer stop()
	}
	stdinAttached := opts.interactive && openStdin
	attached, err := api.ContainerAttach(ctx, c.ID, client.ContainerAttachOptions{
		Stream:     true,
		Stdin:      stdinAttached,
		Stdout:     true,
		Stderr:     true,
		DetachKeys: opts.detachKeys,
	})
	if err != nil {
		return err
	}
	defer attached.Close()
	session := &streamSession{
		cc:         cc,
		conn:       attached.HijackedResponse,
		stdout:     cc.stdout,
		stderr:     cc.stderr,
		tty:        tty,
		detachKeys: opts.detachKeys,
	}
	if stdinAttached {
		session.stdin = cc.stdin
	}
	stream := startStream(ctx, session)
	defer stream.stop()

	condition := container.WaitConditionNextExit
	if autoRemove {
		condition = container.WaitConditionRemoved
	}
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	status := waitForExit(waitCtx, cc, api, c.ID, condition)

	if _, err := api.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		_ = stream.stop()
		if autoRemove {
			<-status
		}
		return err
	}
	if tty && cc.stdoutIsTerminal {
		stop := cc.monitorTTYSize(ctx, containerResizer(api, c.ID))
		defer stop()
	}
	if err := stream.wait(); err != nil {
		if errors.Is(err, errDetached) {
			return nil
		}
		return err
	}
	select {
	case code := <-status:
		if code != 0 {
			return statusError{code: code}
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type stopOptions struct {
	timeout int
	signal  string
}

func newStopCommand(cc *cliContext) *cobra.Command {
	return newStopLikeCommand(cc, "stop", "Stop one or more running containers",
		func(ctx context.Context, api *client.Client, name string, opts stopOptions, timeout *int) error {
			_, err := api.ContainerStop(ctx, name, client.ContainerStopOptions{Signal: opts.signal, Timeout: timeout})
			return err
		})
}

func newRestartCommand(cc *cliContext) *cobra.Command {
	return newStopLikeCommand(cc, "restart", "Restart one or more containers",
		func(ctx context.Context, api *client.Client, name string, opts stopOptions, timeout *int) error {
			_, err := api.ContainerRestart(ctx, name, client.ContainerRestartOptions{Signal: opts.signal, Timeout: timeout})
			return err
		})
}

// newStopLikeCommand builds stop and restart, which share their flags:
// -t/--timeout (sent only when given) and -s/--signal.
func newStopLikeCommand(cc *cliContext, name, short string,
	op func(ctx context.Context, api *client.Client, name string, opts stopOptions, timeout *int) error,
) *cobra.Command {
	var opts stopOptions
	cmd := &cobra.Command{
		Use:   name + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: short,
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var timeout *int
			if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time") {
				timeout = &opts.timeout
			}
			return forEachContainer(cmd.Context(), cc, args, func(ctx context.Context, api *client.Client, container string) error {
				return op(ctx, api, container, opts, timeout)
			})
		},
	}
	flags := cmd.Flags()
	flags.IntVarP(&opts.timeout, "timeout", "t", 0, "Seconds to wait before killing the container")
	flags.IntVar(&opts.timeout, "time", 0, "Seconds to wait before killing the container (deprecated: use --timeout)")
	_ = flags.MarkDeprecated("time", "use --timeout instead")
	flags.StringVarP(&opts.signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newKillCommand(cc *cliContext) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachContainer(cmd.Context(), cc, args, func(ctx context.Context, api *client.Client, name string) error {
				_, err := api.ContainerKill(ctx, name, client.ContainerKillOptions{Signal: signal})
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newPauseCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Pause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachContainer(cmd.Context(), cc, args, func(ctx context.Context, api *client.Client, name string) error {
				_, err := api.ContainerPause(ctx, name, client.ContainerPauseOptions{})
				return err
			})
		},
	}
}

func newUnpauseCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Unpause all processes within one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachContainer(cmd.Context(), cc, args, func(ctx context.Context, api *client.Client, name string) error {
				_, err := api.ContainerUnpause(ctx, name, client.ContainerUnpauseOptions{})
				return err
			})
		},
	}
}

// forEachContainer applies op to every container, concurrently as docker
// does, then prints — in argument order — the name of each container it
// succeeded on, and fails with the errors of the others joined.
func forEachContainer(ctx context.Context, cc *cliContext, names []string,
	op func(ctx context.Context, api *client.Client, name string) error,
) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	results := inParallel(ctx, names, func(ctx context.Context, name string) error {
		return op(ctx, api, name)
	})
	var failures []error
	for i, name := range names {
		if results[i] != nil {
			failures = append(failures, results[i])
			continue
		}
		fmt.Fprintln(cc.stdout, name)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(failures...)
}

// maxParallel bounds the requests in flight, as docker's parallelOperation.
const maxParallel = 50

// inParallel runs op for every name and returns the errors by position.
func inParallel(ctx context.Context, names []string, op func(ctx context.Context, name string) error) []error {
	results := make([]error, len(names))
	slots := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			results[i] = op(ctx, name)
		}()
	}
	wg.Wait()
	return results
}

type rmOptions struct {
	force   bool
	volumes bool
	link    bool
}

func newRmCommand(cc *cliContext) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd.Context(), cc, args, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	flags.BoolVarP(&opts.volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	flags.BoolVarP(&opts.link, "link", "l", false, "Remove the specified link")
	return cmd
}

// runRm removes the containers concurrently and prints each removed name
// in argument order. With -f a missing container is only reported on
// stderr; other errors are collected and make the command fail.
func runRm(ctx context.Context, cc *cliContext, names []string, opts rmOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	removeOpts := client.ContainerRemoveOptions{Force: opts.force, RemoveVolumes: opts.volumes, RemoveLinks: opts.link}
	results := inParallel(ctx, names, func(ctx context.Context, name string) error {
		name = strings.Trim(name, "/")
		if name == "" {
			return errors.New("container name cannot be empty")
		}
		_, err := api.ContainerRemove(ctx, name, removeOpts)
		return err
	})
	var failures []error
	for i, name := range names {
		switch err := results[i]; {
		case err == nil:
			fmt.Fprintln(cc.stdout, name)
		case opts.force && errdefs.IsNotFound(err):
			fmt.Fprintln(cc.stderr, err)
		default:
			failures = append(failures, err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(failures...)
}

func newRenameCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRename(cmd.Context(), cc, args[0], args[1])
		},
	}
}

func runRename(ctx context.Context, cc *cliContext, oldName, newName string) error {
	oldName, newName = strings.TrimSpace(oldName), strings.TrimSpace(newName)
	if oldName == "" || newName == "" {
		return errors.New("Error: Neither old nor new names may be empty")
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	if _, err := api.ContainerRename(ctx, oldName, client.ContainerRenameOptions{NewName: newName}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintln(cc.stderr, cc.explain(err))
		return fmt.Errorf("Error: failed to rename container named %s", oldName)
	}
	return nil
}

func newWaitCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWait(cmd.Context(), cc, args)
		},
	}
}

// runWait waits for each container in turn and prints its exit code; the
// errors are reported together at the end.
func runWait(ctx context.Context, cc *cliContext, names []string) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	var failures []string
	for _, name := range names {
		wait := api.ContainerWait(ctx, name, client.ContainerWaitOptions{})
		select {
		case result := <-wait.Result:
			fmt.Fprintln(cc.stdout, result.StatusCode)
		case err := <-wait.Error:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, cc.explain(err).Error())
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "\n"))
	}
	return nil
}
