package cli

import (
	"github.com/spf13/cobra"
)

// newContainerCommand is the `skiff container` group, holding docker's
// aliases of the top-level container commands.
func newContainerCommand(cc *cliContext) *cobra.Command {
	return newGroupCommand("container", "Manage containers",
		renamed(newPsCommand(cc), "ls", "ps", "list"),
		renamed(newRunCommand(cc), "run"),
		renamed(newCreateCommand(cc), "create"),
		renamed(newStartCommand(cc), "start"),
		renamed(newStopCommand(cc), "stop"),
		renamed(newRestartCommand(cc), "restart"),
		renamed(newKillCommand(cc), "kill"),
		renamed(newPauseCommand(cc), "pause"),
		renamed(newUnpauseCommand(cc), "unpause"),
		renamed(newRmCommand(cc), "rm", "remove"),
		renamed(newRenameCommand(cc), "rename"),
		renamed(newWaitCommand(cc), "wait"),
		renamed(newAttachCommand(cc), "attach"),
		renamed(newLogsCommand(cc), "logs"),
		renamed(newExecCommand(cc), "exec"),
		renamed(newTopCommand(cc), "top"),
		renamed(newPortCommand(cc), "port"),
		renamed(newStatsCommand(cc), "stats"),
		renamed(newCommitCommand(cc), "commit"),
		renamed(newDiffCommand(cc), "diff"),
		renamed(newExportCommand(cc), "export"),
		newContainerInspectCommand(cc),
	)
}

// newContainerInspectCommand is `skiff container inspect`: inspect limited
// to containers.
func newContainerInspectCommand(cc *cliContext) *cobra.Command {
	opts := inspectOptions{objectType: objectContainer}
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runInspect(cmd.Context(), cc, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", inspectFormatHelp)
	flags.BoolVarP(&opts.size, "size", "s", false, "Display total file sizes")
	return cmd
}
