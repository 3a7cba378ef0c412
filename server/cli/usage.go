package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// The argument validators below report bad usage the way docker does, e.g.
//
//	skiff: 'skiff rmi' requires at least 1 argument
//
//	Usage:  skiff rmi [OPTIONS] IMAGE [IMAGE...]
//
//	See 'skiff rmi --help' for more information
//
// and exit with status 1.

// noArgs rejects any argument; for a group command such as `skiff image`
// an argument is an unknown subcommand.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		usage := ""
		if cmd.HasParent() {
			usage = fmt.Sprintf("Usage:  %s\n\n", cmd.UseLine())
		}
		return fmt.Errorf("%s: unknown command: %s %s\n\n%sRun '%s --help' for more information",
			cmd.Root().Name(), cmd.CommandPath(), args[0], usage, cmd.CommandPath())
	}
	return usageError(cmd, "accepts no arguments", "Run")
}

// exactArgs requires exactly n arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("requires %d %s", n, pluralize("argument", n)), "Run")
	}
}

// minArgs requires at least n arguments.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("requires at least %d %s", n, pluralize("argument", n)), "See")
	}
}

// maxArgs allows at most n arguments.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) <= n {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("requires at most %d %s", n, pluralize("argument", n)), "Run")
	}
}

// rangeArgs allows between lo and hi arguments.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return usageError(cmd, fmt.Sprintf("requires at least %d and at most %d %s", lo, hi, pluralize("argument", hi)), "Run")
	}
}

// usageError formats a bad-usage message; hintVerb is "See" or "Run",
// following docker's wording for each kind of mistake.
func usageError(cmd *cobra.Command, problem, hintVerb string) error {
	return fmt.Errorf("%s: '%s' %s\n\nUsage:  %s\n\n%s '%s --help' for more information",
		cmd.Root().Name(), cmd.CommandPath(), problem, cmd.UseLine(), hintVerb, cmd.CommandPath())
}

// flagError reports an unknown or malformed flag, exiting with 125 as docker does.
func flagError(cmd *cobra.Command, err error) error {
	return statusError{
		code: exitBadFlag,
		message: fmt.Sprintf("%s\n\nUsage:  %s\n\nRun '%s --help' for more information",
			err, cmd.UseLine(), cmd.CommandPath()),
	}
}

func pluralize(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
