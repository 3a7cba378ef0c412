package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

func newPushCommand(cc *cliContext) *cobra.Command {
	var all, quiet bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd.Context(), cc, args[0], all, quiet)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-tags", "a", false, "Push all tags of an image to the repository")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}

// runPush pushes ref as docker push does: "latest" when it names no tag
// (saying so), every local tag of the repository with --all-tags. The
// daemon uses the account skiff login stored for the registry.
func runPush(ctx context.Context, cc *cliContext, ref string, all, quiet bool) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return fmt.Errorf("invalid reference format: %w", err)
	}
	if all && !reference.IsNameOnly(named) {
		return errors.New("tag can't be used with --all-tags/-a")
	}
	out := cc.stdout
	if quiet {
		out = io.Discard
	}
	if !all && reference.IsNameOnly(named) {
		named = reference.TagNameOnly(named)
		if tagged, ok := named.(reference.Tagged); ok {
			fmt.Fprintf(out, "Using default tag: %s\n", tagged.Tag())
		}
	}
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	stream, err := api.ImagePush(ctx, reference.FamiliarString(named), client.ImagePushOptions{All: all, RegistryAuth: anonymousRegistryAuth})
	if err != nil {
		return err
	}
	defer stream.Close()
	if err := cc.printProgress(stream, out); err != nil {
		return err
	}
	if quiet {
		_, err = fmt.Fprintln(cc.stdout, named.String())
	}
	return err
}
