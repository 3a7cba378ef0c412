// Package cli is skiff's own command line client. It mirrors the docker
// CLI's commands, flags and output, and talks to `skiff serve` only through
// the Docker Engine API, using github.com/moby/moby/client.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// Environment variables read by the CLI.
const (
	envHost  = "SKIFF_HOST"  // daemon address, overridden by -H/--host
	envToken = "SKIFF_TOKEN" // bearer token sent with every request
)

// defaultHost is the daemon's unix socket when neither -H nor SKIFF_HOST is set.
const defaultHost = "unix:///run/skiff.sock"

// Exit codes, as docker uses them.
const (
	exitFailure     = 1   // any runtime error or bad argument count
	exitBadTemplate = 64  // a --format template that does not parse
	exitBadFlag     = 125 // an unknown or malformed flag
	exitInterrupted = 130 // cancelled by SIGINT/SIGTERM
)

// cliContext carries what every command needs: the process's streams, its
// clock and environment, and the daemon connection. It is built once per run
// and passed to each command constructor; nothing in this package is global.
type cliContext struct {
	stdin            io.Reader
	stdout           io.Writer
	stderr           io.Writer
	stdinIsTerminal  bool
	stdoutIsTerminal bool
	now              func() time.Time
	getenv           func(string) string

	// notifySignals and stopSignals subscribe a channel to signals as
	// signal.Notify and signal.Stop do (nil: those); tests replace them to
	// deliver SIGWINCH and proxied signals without signalling the process.
	notifySignals func(c chan<- os.Signal, sig ...os.Signal)
	stopSignals   func(c chan<- os.Signal)

	version string // skiff's own version, shown by --version and `skiff version`
	host    string // daemon address, bound to -H/--host

	api *client.Client // created by daemon() on first use
}

// newProcessContext returns a cliContext wired to this process's standard
// streams, wall clock and environment.
func newProcessContext(version string) *cliContext {
	return &cliContext{
		stdin:            os.Stdin,
		stdout:           os.Stdout,
		stderr:           os.Stderr,
		stdinIsTerminal:  isatty.IsTerminal(os.Stdin.Fd()),
		stdoutIsTerminal: isatty.IsTerminal(os.Stdout.Fd()),
		now:              time.Now,
		getenv:           os.Getenv,
		version:          version,
	}
}

// NewRoot returns the skiff command tree: global flags and every client
// command; extra commands (e.g. "serve", owned by the daemon package) are
// added as given.
func NewRoot(version string, extra ...*cobra.Command) *cobra.Command {
	return newRootCommand(newProcessContext(version), extra...)
}

// Main runs skiff with the process's arguments and returns its exit code:
// 0 on success, 1 on errors (printed as one line on stderr), 125 on flag
// errors, 64 on bad templates and 130 when interrupted. main.go should do
// os.Exit(cli.Main(version, serveCmd)).
func Main(version string, extra ...*cobra.Command) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, newProcessContext(version), os.Args[1:], extra...)
}

// run executes one command line and turns its outcome into an exit code.
func run(ctx context.Context, cc *cliContext, args []string, extra ...*cobra.Command) int {
	defer cc.close()
	root := newRootCommandFor(cc, commandNamed(args), extra...)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	var status statusError
	if errors.As(err, &status) {
		// A container's own exit status comes without a message.
		if status.message != "" {
			fmt.Fprintln(cc.stderr, status.message)
		}
		return status.code
	}
	fmt.Fprintln(cc.stderr, cc.explain(err))
	return exitFailure
}

// statusError is an error that ends the run with a specific exit code.
type statusError struct {
	code    int
	message string
}

func (e statusError) Error() string { return e.message }

// topLevel are skiff's client commands, in the order `skiff --help` lists
// them, by the name that calls each.
var topLevel = []struct {
	name  string
	build func(*cliContext) *cobra.Command
}{
	{"image", newImageCommand},
	{"images", newImagesCommand},
	{"import", newImportCommand},
	{"pull", newPullCommand},
	{"search", newSearchCommand},
	{"push", newPushCommand},
	{"login", newLoginCommand},
	{"logout", newLogoutCommand},
	{"load", newLoadCommand},
	{"save", newSaveCommand},
	{"tag", newTagCommand},
	{"rmi", newRmiCommand},
	{"history", newHistoryCommand},
	{"inspect", newInspectCommand},
	{"version", newVersionCommand},
	{"info", newInfoCommand},
	{"system", newSystemCommand},

	{"container", newContainerCommand},
	{"run", newRunCommand},
	{"create", newCreateCommand},
	{"start", newStartCommand},
	{"stop", newStopCommand},
	{"restart", newRestartCommand},
	{"kill", newKillCommand},
	{"pause", newPauseCommand},
	{"unpause", newUnpauseCommand},
	{"rm", newRmCommand},
	{"rename", newRenameCommand},
	{"wait", newWaitCommand},
	{"attach", newAttachCommand},
	{"logs", newLogsCommand},
	{"exec", newExecCommand},
	{"ps", newPsCommand},
	{"top", newTopCommand},
	{"port", newPortCommand},
	{"stats", newStatsCommand},
	{"commit", newCommitCommand},
	{"diff", newDiffCommand},
	{"export", newExportCommand},
	{"events", newEventsCommand},
	{"volume", newVolumeCommand},
	{"network", newNetworkCommand},
	{"build", newBuildCommand},
	{"builds", newBuildsCommand},
	{"passwd", newPasswdCommand},
}

// commandNamed returns the top-level command a command line runs, when the
// line names one of topLevel before anything else but the global flags;
// "" otherwise (help, an unknown command, an extra one such as serve).
func commandNamed(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-H" || a == "--host":
			i++ // its value
		case strings.HasPrefix(a, "--host=") || strings.HasPrefix(a, "-H") && len(a) > 2:
		case strings.HasPrefix(a, "-"):
			return "" // --help, --version, a mistake: cobra deals with it
		default:
			for _, c := range topLevel {
				if c.name == a {
					return a
				}
			}
			return ""
		}
	}
	return ""
}

// newRootCommand returns the whole command tree, for help and completion.
func newRootCommand(cc *cliContext, extra ...*cobra.Command) *cobra.Command {
	return newRootCommandFor(cc, "", extra...)
}

// newRootCommandFor returns the command tree with only the top-level
// command only (see commandNamed), or all of them when only is "". A
// command line builds only the command it runs: building every command and
// its flags is about a third of a millisecond of each run of the CLI.
func newRootCommandFor(cc *cliContext, only string, extra ...*cobra.Command) *cobra.Command {
	if cc.host == "" {
		cc.host = cc.defaultHost()
	}
	root := &cobra.Command{
		Use:   "skiff [OPTIONS] COMMAND [ARG...]",
		Short: "A Docker-compatible container engine",
		// Global flags go before the command, as with docker; this keeps
		// -H free for commands such as `history -H`.
		TraverseChildren: true,
		SilenceUsage:     true,
		SilenceErrors:    true,
		Version:          cc.version,
		Args:             noArgs,
		RunE:             showHelp,
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: true,
		},
	}
	root.SetIn(cc.stdin)
	root.SetOut(cc.stdout)
	root.SetErr(cc.stderr)
	root.SetVersionTemplate("skiff version {{.Version}}\n")
	root.SetFlagErrorFunc(flagError)
	root.Flags().StringVarP(&cc.host, "host", "H", cc.host,
		"Daemon socket to connect to: unix:///path or tcp://host:port (env "+envHost+")")
	root.Flags().BoolP("version", "v", false, "Print version information and quit")

	for _, c := range topLevel {
		if only == "" || only == c.name {
			root.AddCommand(c.build(cc))
		}
	}
	disableFlagsInUseLine(root)
	root.AddCommand(extra...)
	return root
}

// defaultHost is SKIFF_HOST when set, else the standard unix socket.
func (cc *cliContext) defaultHost() string {
	if host := cc.getenv(envHost); host != "" {
		return host
	}
	return defaultHost
}

// close releases the daemon client's idle connections, if one was made.
func (cc *cliContext) close() {
	if cc.api != nil {
		_ = cc.api.Close()
	}
}

// disableFlagsInUseLine keeps cobra from appending "[flags]" to usage lines:
// like docker's, ours spell out [OPTIONS] themselves.
func disableFlagsInUseLine(cmd *cobra.Command) {
	cmd.DisableFlagsInUseLine = true
	for _, sub := range cmd.Commands() {
		disableFlagsInUseLine(sub)
	}
}

// newGroupCommand returns a command such as `skiff image` that only holds
// subcommands: without arguments it prints its help, with an unknown one it
// fails like docker.
func newGroupCommand(use, short string, subcommands ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE:  showHelp,
	}
	cmd.AddCommand(subcommands...)
	return cmd
}

// renamed adapts a top-level command for use inside a group, e.g. `images`
// becoming `image ls`: it replaces the name in Use and sets the aliases.
func renamed(cmd *cobra.Command, name string, aliases ...string) *cobra.Command {
	if _, args, hasArgs := strings.Cut(cmd.Use, " "); hasArgs {
		name += " " + args
	}
	cmd.Use = name
	cmd.Aliases = aliases
	return cmd
}

func showHelp(cmd *cobra.Command, _ []string) error {
	return cmd.Help()
}
