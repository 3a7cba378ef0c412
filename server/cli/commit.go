package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// A container's filesystem as an image or an archive: commit, diff, export.

type commitOptions struct {
	container string
	reference string
	author    string
	message   string
	changes   []string
	pause     bool
}

func newCommitCommand(cc *cliContext) *cobra.Command {
	var opts commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.container = args[0]
			if len(args) > 1 {
				opts.reference = args[1]
			}
			return runCommit(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	flags.StringVarP(&opts.message, "message", "m", "", "Commit message")
	flags.StringArrayVarP(&opts.changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	flags.BoolVarP(&opts.pause, "pause", "p", true, "Pause container during commit")
	return cmd
}

// runCommit prints the new image's ID (sha256:…).
func runCommit(ctx context.Context, cc *cliContext, opts commitOptions) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.ContainerCommit(ctx, opts.container, client.ContainerCommitOptions{
		Reference: opts.reference,
		Comment:   opts.message,
		Author:    opts.author,
		Changes:   opts.changes,
		NoPause:   !opts.pause,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cc.stdout, res.ID)
	return err
}

func newDiffCommand(cc *cliContext) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.Context(), cc, args[0])
		},
	}
}

// runDiff prints one "A|C|D path" line per change.
func runDiff(ctx context.Context, cc *cliContext, container string) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	res, err := api.ContainerDiff(ctx, container, client.ContainerDiffOptions{})
	if err != nil {
		return err
	}
	for _, change := range res.Changes {
		if _, err := fmt.Fprintf(cc.stdout, "%s %s\n", change.Kind, change.Path); err != nil {
			return err
		}
	}
	return nil
}

func newExportCommand(cc *cliContext) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExport(cmd.Context(), cc, args[0], output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// runExport streams the container's filesystem to -o or stdout, refusing
// a terminal. A file is written under a temporary name and renamed into
// place only once complete.
func runExport(ctx context.Context, cc *cliContext, container, output string) error {
	if output == "" {
		if cc.stdoutIsTerminal {
			return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
		}
		return exportContainer(ctx, cc, container, cc.stdout)
	}
	file, err := createPendingFile(output, savedArchiveMode)
	if err != nil {
		return fmt.Errorf("failed to export container: %w", err)
	}
	defer file.cleanup()
	if err := exportContainer(ctx, cc, container, file); err != nil {
		return err
	}
	if err := file.commit(); err != nil {
		return fmt.Errorf("failed to export container: %w", err)
	}
	return nil
}

func exportContainer(ctx context.Context, cc *cliContext, container string, out io.Writer) error {
	api, err := cc.daemon()
	if err != nil {
		return err
	}
	archive, err := api.ContainerExport(ctx, container, client.ContainerExportOptions{})
	if err != nil {
		return err
	}
	defer archive.Close()
	if _, err := io.Copy(out, archive); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("receiving the container archive: %w", err)
	}
	return nil
}
