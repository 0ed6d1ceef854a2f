package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/iostreams"
)

// TestCommandTree merges every command's flags with the persistent ones, as
// cobra does lazily at run time, so a shorthand clash fails here, not in a
// user's shell; and checks every command has help a man page can use.
func TestCommandTree(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	root := NewRootCmd(NewFactory(io))
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

// TestGeneratedDocs checks the generated files are deterministic, so that
// make check-generated can compare them with the checked-in copies, and that
// every command has a man page.
func TestGeneratedDocs(t *testing.T) {
	a, err := GeneratedDocs()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GeneratedDocs()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range a {
		if string(b[name]) != string(content) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for _, want := range []string{"man/kgate.1", "man/kgate-exec.1", "man/kgate-completion.1", "man/kgate-project-use.1",
		"completions/kgate.bash", "completions/_kgate", "completions/kgate.fish", "completions/kgate.ps1"} {
		if _, ok := a[want]; !ok {
			t.Errorf("no %s", want)
		}
	}
	page := string(a["man/kgate-exec.1"])
	for _, want := range []string{`.TH "KGATE-EXEC" "1" "" "kgate" "kgate manual"`, ".SH EXAMPLE", ".TP\n\\fB-c\\fP, \\fB--container\\fP"} {
		if !strings.Contains(page, want) {
			t.Errorf("man/kgate-exec.1 has no %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "HISTORY") || strings.Contains(page, "Auto generated") {
		t.Errorf("man/kgate-exec.1 has a dated history section")
	}
}
