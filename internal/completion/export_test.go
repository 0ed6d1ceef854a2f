package completion

import (
	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
)

// Completer and Candidate let the tests of the command tree
// (commands_test.go, package completion_test, which imports the commands)
// build completers.
type (
	Completer = completer
	Candidate = candidate
)

// SetCompleter makes every completion request get its completer from
// newC, and returns what puts the Factory's back.
func SetCompleter(newC func(cmd *cobra.Command) *completer) (restore func()) {
	old := newCompleter
	newCompleter = func(cmd *cobra.Command, _ *cmdutil.Factory) *completer { return newC(cmd) }
	return func() { newCompleter = old }
}
