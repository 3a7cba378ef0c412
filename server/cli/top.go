package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newTopCommand(cc *cliContext) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "Display the running processes of a container",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTop(cmd.Context(), cc, args[0], args[1:])
		},
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// runTop prints the daemon's process table in docker's 20-wide columns;
// extra arguments are ps options, sent as one ps_args string.
func runTop(ctx context.Context, cc *cliContext, container string, psArgs []string) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	top, err := api.ContainerTop(ctx, container, client.ContainerTopOptions{Arguments: psArgs})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(cc.stdout, 20, 1, 3, ' ', 0)
	fmt.Fprintln(w, strings.Join(top.Titles, "\t"))
	for _, process := range top.Processes {
		fmt.Fprintln(w, strings.Join(process, "\t"))
	}
	return w.Flush()
}
