package cmdutil

import (
	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/errs"
)

// The argument validators of kgate's commands, as gh has them: cobra's
// checks in cobra's words, but as errs.KindUsage errors (exit 2), so that
// the error mapping never has to recognise cobra's strings.

// NoArgs refuses any argument: for a command with subcommands, an unknown one.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usage(cmd, "unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// ExactArgs wants exactly n arguments.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usage(cmd, "accepts %d arg(s), received %d", n, len(args))
		}
		return nil
	}
}

// MaximumNArgs wants at most n arguments.
func MaximumNArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usage(cmd, "accepts at most %d arg(s), received %d", n, len(args))
		}
		return nil
	}
}

// RangeArgs wants between lo and hi arguments.
func RangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usage(cmd, "accepts between %d and %d arg(s), received %d", lo, hi, len(args))
		}
		return nil
	}
}

// UnknownCommand is the usage error for cobra's own "unknown command" (a
// root command's argument that names no subcommand), with its suggestions.
func UnknownCommand(err error) error {
	return errs.WithHint(errs.UsageErrorf("%s", err.Error()), "See 'kgate --help' for usage.")
}

func usage(_ *cobra.Command, format string, a ...any) error {
	return errs.WithHint(errs.UsageErrorf(format, a...), "See 'kgate --help' for usage.")
}
