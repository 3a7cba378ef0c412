package cli

import (
	"context"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type logsOptions struct {
	container  string
	follow     bool
	since      string
	until      string
	timestamps bool
	details    bool
	tail       string
}

func newLogsCommand(cc *cliContext) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			return runLogs(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.follow, "follow", "f", false, "Follow log output")
	flags.StringVar(&opts.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	flags.StringVar(&opts.until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	flags.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	flags.BoolVar(&opts.details, "details", false, "Show extra details provided to logs")
	flags.StringVarP(&opts.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

// runLogs inspects the container (to know whether it has a TTY), then
// copies its logs: raw for a TTY, demultiplexed to stdout and stderr
// otherwise. With -f it keeps reading until the daemon ends the stream
// (the container stopped) or skiff is interrupted.
func runLogs(ctx context.Context, cc *cliContext, opts logsOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	inspected, err := api.ContainerInspect(ctx, opts.container, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	c := inspected.Container
	logs, err := api.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Since:      opts.since,
		Until:      opts.until,
		Timestamps: opts.timestamps,
		Follow:     opts.follow,
		Tail:       opts.tail,
		Details:    opts.details,
	})
	if err != nil {
		return err
	}
	defer logs.Close()
	if c.Config != nil && c.Config.Tty {
		_, err = io.Copy(cc.stdout, logs)
	} else {
		_, err = stdcopy.StdCopy(cc.stdout, cc.stderr, logs)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
