package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newPullCommand(cc *cliContext) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), cc, args[0], quiet)
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

// runPull pulls ref (tagged "latest" when it names no tag or digest),
// printing the daemon's progress as docker does (bars redrawn in place on a
// terminal, the steps as lines elsewhere), then the full reference pulled.
func runPull(ctx context.Context, cc *cliContext, ref string, quiet bool) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("invalid reference format: %w", err)
	}
	named = reference.TagNameOnly(named)
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	if cc.stdoutIsTerminal && !quiet {
		progress, err := api.ImagePull(ctx, named.String(), client.ImagePullOptions{RegistryAuth: anonymousRegistryAuth})
		if err != nil {
			return err
		}
		defer progress.Close()
		if err := cc.printProgress(progress, cc.stdout); err != nil {
			return err
		}
	} else {
		out := cc.stdout
		if quiet {
			out = io.Discard
		}
		if err := pullImage(ctx, api, named, out); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(cc.stdout, named.String())
	return err
}
