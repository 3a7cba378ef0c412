package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// Exit codes of `run` for failures of its own, as docker's.
const (
	exitRunFailure       = 125 // the daemon or the CLI failed
	exitCommandCannotRun = 126 // the command was found but cannot be run
	exitCommandNotFound  = 127 // the command does not exist
)

type runOptions struct {
	container  containerOptions
	detach     bool
	detachKeys string
	sigProxy   bool
}

func newRunCommand(cc *cliContext) *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container.image, opts.container.args = args[0], args[1:]
			opts.container.entrypointSet = cmd.Flags().Changed("entrypoint")
			return runRun(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	addContainerFlags(flags, &opts.container)
	flags.BoolVarP(&opts.detach, "detach", "d", false, "Run container in background and print container ID")
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	flags.BoolVar(&opts.sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	return cmd
}

func newCreateCommand(cc *cliContext) *cobra.Command {
	var opts containerOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.args = args[0], args[1:]
			opts.entrypointSet = cmd.Flags().Changed("entrypoint")
			return runCreate(cmd.Context(), cc, opts)
		},
	}
	addContainerFlags(cmd.Flags(), &opts)
	return cmd
}

// runCreate creates the container and prints its full ID.
func runCreate(ctx context.Context, cc *cliContext, opts containerOptions) error {
	request, err := opts.toCreateRequest(cc.getenv, cc.consoleSize())
	if err != nil {
		return withHelp("create", err)
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	id, err := createContainer(ctx, cc, api, opts, request)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cc.stdout, id)
	return err
}

// createContainer sends the create request. When the daemon lacks the
// image (404), it says so on stderr, pulls the image as docker does —
// progress on stderr — and tries again. Warnings are printed on stderr.
func createContainer(ctx context.Context, cc *cliContext, api *client.Client, opts containerOptions, request createRequest) (string, error) {
	create := func() (client.ContainerCreateResult, error) {
		return api.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config:           request.config,
			HostConfig:       request.hostConfig,
			NetworkingConfig: request.networking,
			Name:             opts.name,
		})
	}
	created, err := create()
	if err != nil && errdefs.IsNotFound(err) {
		if named := pullableReference(opts.image); named != nil {
			fmt.Fprintf(cc.stderr, "Unable to find image '%s' locally\n", reference.FamiliarString(named))
			if err := pullImage(ctx, api, named, cc.stderr); err != nil {
				return "", err
			}
			created, err = create()
		}
	}
	if err != nil {
		return "", err
	}
	for _, warning := range created.Warnings {
		fmt.Fprintln(cc.stderr, "WARNING:", warning)
	}
	return created.ID, nil
}

// pullableReference is the image named by ref with its default tag, or nil
// when ref is an image ID (which no registry can provide).
func pullableReference(ref string) reference.Named {
	parsed, err := reference.ParseAnyReference(ref)
	if err != nil {
		return nil
	}
	named, ok := parsed.(reference.Named)
	if !ok {
		return nil
	}
	return reference.TagNameOnly(named)
}

// pullImage pulls an image, printing the daemon's progress to out: stderr
// when `run` pulls before retrying a create, stdout for `pull`.
func pullImage(ctx context.Context, api *client.Client, named reference.Named, out io.Writer) error {
	progress, err := api.ImagePull(ctx, named.String(), client.ImagePullOptions{RegistryAuth: anonymousRegistryAuth})
	if err != nil {
		return err
	}
	defer progress.Close()
	return printJSONMessages(progress, out)
}

// anonymousRegistryAuth is the X-Registry-Auth of an anonymous pull: the
// base64url encoding of "{}", as the docker CLI sends it.
const anonymousRegistryAuth = "e30="

// runRun creates and starts a container in docker's call order: create,
// attach (unless -d), wait (next-exit, or removed with --rm) before start,
// start, then resize for -t. In the foreground it streams until the
// container exits and returns its exit status.
func runRun(ctx context.Context, cc *cliContext, opts runOptions) error {
	request, err := opts.container.toCreateRequest(cc.getenv, cc.consoleSize())
	if err != nil {
		return withHelp("run", err)
	}
	config := request.config
	if opts.detach {
		config.AttachStdin, config.AttachStdout, config.AttachStderr = false, false, false
		config.StdinOnce = false
	} else if err := cc.checkTTY(config.AttachStdin, config.Tty); err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}

	// The session outlives an interrupt: with --sig-proxy the signal goes
	// to the container, whose exit ends the run. The proxy subscribes
	// while the container is created (see signalProxy).
	sessionCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	var proxy *signalProxy
	if opts.sigProxy && !opts.detach {
		proxy = cc.startSignalProxy(ctx, api, abort)
		defer proxy.stop()
	} else {
		stop := context.AfterFunc(ctx, abort)
		defer stop()
	}

	id, err := createContainer(ctx, cc, api, opts.container, request)
	if err != nil {
		return runFailure(ctx, cc, err)
	}
	if proxy != nil {
		proxy.forward(id)
	}
	if opts.detach {
		// docker prints the ID as soon as it has it, before starting.
		fmt.Fprintln(cc.stdout, id)
	}

	var stream *backgroundStream
	if !opts.detach {
		attached, err := api.ContainerAttach(sessionCtx, id, client.ContainerAttachOptions{
			Stream:     true,
			Stdin:      config.AttachStdin,
			Stdout:     config.AttachStdout,
			Stderr:     config.AttachStderr,
			DetachKeys: opts.detachKeys,
		})
		if err != nil {
			return runFailure(ctx, cc, err)
		}
		defer attached.Close()
		session := &streamSession{
			cc:         cc,
			conn:       attached.HijackedResponse,
			stdout:     cc.stdout,
			stderr:     cc.stderr,
			tty:        config.Tty,
			detachKeys: opts.detachKeys,
		}
		if config.AttachStdin {
			session.stdin = cc.stdin
		}
		stream = startStream(sessionCtx, session)
		defer stream.stop()
	}

	condition := container.WaitConditionNextExit
	if opts.container.autoRemove {
		condition = container.WaitConditionRemoved
	}
	waitCtx, cancelWait := context.WithCancel(sessionCtx)
	defer cancelWait()
	status := waitForExit(waitCtx, cc, api, id, condition)

	if proxy != nil {
		proxy.waitSubscribed() // long done, in practice
	}
	if _, err := api.ContainerStart(sessionCtx, id, client.ContainerStartOptions{}); err != nil {
		if stream != nil {
			_ = stream.stop() // restores the terminal before printing
		}
		if opts.container.autoRemove {
			<-status // the daemon removes the container
		}
		return runFailure(ctx, cc, err)
	}
	if opts.detach {
		return nil
	}

	if config.Tty && cc.stdoutIsTerminal {
		stop := cc.monitorTTYSize(sessionCtx, containerResizer(api, id))
		defer stop()
	}
	if err := stream.wait(); err != nil {
		if errors.Is(err, errDetached) {
			return nil // the user detached; the container runs on
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	select {
	case code := <-status:
		if code != 0 {
			return statusError{code: code}
		}
		return nil
	case <-sessionCtx.Done():
		return ctx.Err()
	}
}

// backgroundStream is a streamSession running in its own goroutine, as
// run and start -a stream while they start the container.
type backgroundStream struct {
	done   chan struct{}
	err    error
	cancel context.CancelFunc
}

func startStream(ctx context.Context, session *streamSession) *backgroundStream {
	ctx, cancel := context.WithCancel(ctx)
	b := &backgroundStream{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(b.done)
		b.err = session.run(ctx)
	}()
	return b
}

// wait returns the session's outcome once it has ended.
func (b *backgroundStream) wait() error {
	<-b.done
	return b.err
}

// stop ends the session and waits for it, so the terminal is restored.
func (b *backgroundStream) stop() error {
	b.cancel()
	return b.wait()
}

// waitForExit starts POST /containers/{id}/wait?condition=… and returns
// the channel delivering the exit status — 125 when the wait fails, as
// docker's waitExitOrRemoved.
func waitForExit(ctx context.Context, cc *cliContext, api *client.Client, id string, condition container.WaitCondition) <-chan int {
	wait := api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: condition})
	status := make(chan int, 1)
	go func() {
		select {
		case result := <-wait.Result:
			if result.Error != nil {
				fmt.Fprintf(cc.stderr, "Error waiting for container: %v\n", result.Error.Message)
				status <- exitRunFailure
				return
			}
			status <- int(result.StatusCode)
		case err := <-wait.Error:
			if ctx.Err() == nil {
				fmt.Fprintf(cc.stderr, "error waiting for container: %v\n", err)
			}
			status <- exitRunFailure
		}
	}()
	return status
}

// runFailure maps an error of `run` to docker's exit status: 127 when the
// command was not found, 126 when it could not be executed, 125 otherwise;
// the message reads "skiff: <error>" followed by the usage hint.
func runFailure(ctx context.Context, cc *cliContext, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err = cc.explain(err)
	message := err.Error()
	code := exitRunFailure
	switch {
	case strings.Contains(message, "executable file not found"),
		strings.Contains(message, "no such file or directory"),
		strings.Contains(message, "system cannot find the file specified"):
		code = exitCommandNotFound
	case strings.Contains(message, syscall.EACCES.Error()),
		strings.Contains(message, syscall.EISDIR.Error()):
		code = exitCommandCannotRun
	}
	return statusError{code: code, message: helpMessage("run", err)}
}

// withHelp is a usage mistake of command: exit status 125 and docker's
// "skiff: <error>\n\nRun 'skiff <command> --help' ..." message.
func withHelp(command string, err error) error {
	return statusError{code: exitBadFlag, message: helpMessage(command, err)}
}

func helpMessage(command string, err error) string {
	return fmt.Sprintf("skiff: %v\n\nRun 'skiff %s --help' for more information", err, command)
}
