package cli

import (
	"context"
	"errors"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type execOptions struct {
	container   string
	command     []string
	detach      bool
	interactive bool
	tty         bool
	user        string
	workdir     string
	env         []string
	envFiles    []string
	privileged  bool
	detachKeys  string
}

func newExecCommand(cc *cliContext) *cobra.Command {
	var opts execOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  minArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container, opts.command = args[0], args[1:]
			return runExec(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.SetInterspersed(false)
	flags.BoolVarP(&opts.detach, "detach", "d", false, "Detached mode: run command in the background")
	flags.BoolVarP(&opts.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	flags.BoolVarP(&opts.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	flags.StringVarP(&opts.user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	flags.StringVarP(&opts.workdir, "workdir", "w", "", "Working directory inside the container")
	flags.VarP(&listFlag{values: &opts.env, validate: validateEnv}, "env", "e", "Set environment variables")
	flags.StringArrayVar(&opts.envFiles, "env-file", nil, "Read in a file of environment variables")
	flags.BoolVar(&opts.privileged, "privileged", false, "Give extended privileges to the command")
	flags.StringVar(&opts.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	return cmd
}

// runExec follows docker: inspect the container (so a missing one is
// reported first), create the exec, then start it detached or attached;
// attached, the command's exit code is read from GET /exec/{id}/json once
// the stream has ended.
func runExec(ctx context.Context, cc *cliContext, opts execOptions) error {
	env, err := (&containerOptions{env: opts.env, envFiles: opts.envFiles}).environment(cc.getenv)
	if err != nil {
		return err
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	if _, err := api.ContainerInspect(ctx, opts.container, client.ContainerInspectOptions{}); err != nil {
		return err
	}
	if !opts.detach {
		if err := cc.checkTTY(opts.interactive, opts.tty); err != nil {
			return err
		}
	}
	var consoleSize client.ConsoleSize
	if opts.tty {
		size := cc.consoleSize()
		consoleSize = client.ConsoleSize{Height: size[0], Width: size[1]}
	}
	created, err := api.ExecCreate(ctx, opts.container, client.ExecCreateOptions{
		User:         opts.user,
		Privileged:   opts.privileged,
		TTY:          opts.tty,
		ConsoleSize:  consoleSize,
		AttachStdin:  opts.interactive && !opts.detach,
		AttachStdout: !opts.detach,
		AttachStderr: !opts.detach,
		DetachKeys:   opts.detachKeys,
		Env:          env,
		WorkingDir:   opts.workdir,
		Cmd:          opts.command,
	})
	if err != nil {
		return err
	}
	if created.ID == "" {
		return errors.New("exec ID empty")
	}
	if opts.detach {
		_, err := api.ExecStart(ctx, created.ID, client.ExecStartOptions{Detach: true, TTY: opts.tty, ConsoleSize: consoleSize})
		return err
	}

	attached, err := api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.tty, ConsoleSize: consoleSize})
	if err != nil {
		return err
	}
	defer attached.Close()
	session := &streamSession{
		cc:         cc,
		conn:       attached.HijackedResponse,
		stdout:     cc.stdout,
		stderr:     cc.stderr,
		tty:        opts.tty,
		detachKeys: opts.detachKeys,
	}
	if opts.tty {
		session.stderr = cc.stdout
	}
	if opts.interactive {
		session.stdin = cc.stdin
	}
	stream := startStream(ctx, session)
	defer stream.stop()
	if opts.tty && cc.stdinIsTerminal {
		stop := cc.monitorTTYSize(ctx, execResizer(api, created.ID))
		defer stop()
	}
	if err := stream.wait(); err != nil {
		return err
	}

	inspected, err := api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			return statusError{code: -1}
		}
		return err
	}
	if inspected.ExitCode != 0 {
		return statusError{code: inspected.ExitCode}
	}
	return nil
}
