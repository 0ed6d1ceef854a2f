package cli

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/factory"
	"github.com/kgate/kgate/internal/iostreams"
)

// TestCommandTree merges every command's flags with the persistent ones, as
// cobra does lazily at run time, so a shorthand clash fails here, not in a
// user's shell; and checks every command has help a man page can use.
func TestCommandTree(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(factory.New(io))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: %v", c.CommandPath(), r)
			}
		}()
		_ = c.Flags()
		_ = c.InheritedFlags()
		_ = c.LocalFlags()
		if c.Short == "" && !c.Hidden {
			t.Errorf("%s has no Short description", c.CommandPath())
		}
		// Its man page (make man) needs a description, and examples for
		// what a user runs.
		if c.IsAvailableCommand() || !c.HasParent() {
			if c.Long == "" {
				t.Errorf("%s has no Long description", c.CommandPath())
			}
			if c.Example == "" && c.Runnable() {
				t.Errorf("%s has no Example", c.CommandPath())
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// TestHelpListsExitCodes: kgate --help (and so man kgate) carries the exit
// code contract, every code of it.
func TestHelpListsExitCodes(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	root := NewRootCmd(factory.New(io))
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	if !strings.Contains(help, "Exit codes:") {
		t.Fatalf("no exit codes in --help:\n%s", help)
	}
	for code, meaning := range map[int]string{
		ExitOK: "success", ExitError: "any other error", ExitUsage: "usage", ExitAuth: "not logged in",
		ExitForbidden: "forbidden", ExitNotFound: "not found", ExitUnavailable: "unavailable", ExitInterrupted: "interrupted",
	} {
		if !regexp.MustCompile(`(?m)^  ` + strconv.Itoa(code) + ` +` + meaning).MatchString(help) {
			t.Errorf("--help does not list exit %d (%s)", code, meaning)
		}
	}
	if !strings.Contains(help, "exec passes on the remote command's own exit code") {
		t.Error("--help does not say exec passes the remote exit code on")
	}
}
