package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

type rmiOptions struct {
	images  []string
	force   bool
	noPrune bool
}

func newRmiCommand(cc *cliContext) *cobra.Command {
	var opts rmiOptions
	cmd := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runRmi(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.force, "force", "f", false, "Force removal of the image")
	flags.BoolVar(&opts.noPrune, "no-prune", false, "Do not delete untagged parents")
	return cmd
}

// runRmi removes every image given, going on past failures. It prints what
// each removal untagged and deleted, then fails with all the errors joined —
// unless -f was given and every failure was a missing image, in which case
// the errors are only printed.
func runRmi(ctx context.Context, cc *cliContext, opts rmiOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	removeOpts := client.ImageRemoveOptions{Force: opts.force, PruneChildren: !opts.noPrune}
	var (
		failures     []error
		onlyNotFound = true
	)
	for _, name := range opts.images {
		removed, err := api.ImageRemove(ctx, name, removeOpts)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, err)
			onlyNotFound = onlyNotFound && errdefs.IsNotFound(err)
			continue
		}
		if err := printRemoved(cc.stdout, removed.Items); err != nil {
			return err
		}
	}
	failed := errors.Join(failures...)
	if failed != nil && opts.force && onlyNotFound {
		fmt.Fprintln(cc.stderr, failed)
		return nil
	}
	return failed
}

// printRemoved prints one "Untagged: …" or "Deleted: …" line per change.
func printRemoved(out io.Writer, changes []image.DeleteResponse) error {
	for _, change := range changes {
		var err error
		if change.Deleted != "" {
			_, err = fmt.Fprintln(out, "Deleted:", change.Deleted)
		} else {
			_, err = fmt.Fprintln(out, "Untagged:", change.Untagged)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
