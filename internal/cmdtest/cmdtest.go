// Package cmdtest is the scaffolding of the commands' flag tests, gh's
// runF-capture pattern once: build the command with a runF that keeps the
// options, run it with arguments, return what it parsed.
package cmdtest

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/iostreams"
)

// Parse builds the command newCmd returns (NewCmdX) over a Factory with test
// streams, runs it with args and returns the options its run step got (nil
// when parsing failed) and the error.
func Parse[O any](t testing.TB, newCmd func(*cmdutil.Factory, func(*O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	var got *O
	cmd := newCmd(&cmdutil.Factory{IOStreams: io}, func(o *O) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return got, cmd.Execute()
}
