// Package docs generates the files that are checked in beside the code: the
// shell completion scripts and the man pages. It lives apart from
// internal/cli so that kgate itself does not link the man-page renderer.
package docs

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/kgate/kgate/internal/cli"
	"github.com/kgate/kgate/internal/cmd/completion"
	"github.com/kgate/kgate/internal/factory"
	"github.com/kgate/kgate/internal/iostreams"
)

// CompletionFiles are the names of the completion scripts in completions/,
// by shell: what each shell looks for when it loads completion from a
// directory.
var CompletionFiles = map[string]string{
	"bash":       "kgate.bash",
	"zsh":        "_kgate",
	"fish":       "kgate.fish",
	"powershell": "kgate.ps1",
}

// GeneratedDocs returns the generated files that are checked in: the shell
// completion scripts ("completions/kgate.bash", ...) and one man page per
// command ("man/kgate-exec.1", ...). The output depends on the command tree
// alone (no dates, no paths), so it can be compared with the checked-in copy.
func GeneratedDocs() (map[string][]byte, error) {
	io, _, _, _ := iostreams.Test()
	root := cli.NewRootCmd(factory.New(io))
	files := map[string][]byte{}
	for _, shell := range completion.Shells {
		var b bytes.Buffer
		if err := completion.Write(root, &b, shell, true); err != nil {
			return nil, fmt.Errorf("%s completion: %w", shell, err)
		}
		files["completions/"+CompletionFiles[shell]] = b.Bytes()
	}
	var err error
	visitDocumented(root, func(c *cobra.Command) {
		if err != nil {
			return
		}
		var page []byte
		if page, err = manPage(c); err == nil {
			files["man/"+strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = page
		}
	})
	return files, err
}

// visitDocumented calls fn for every command a user can run or read help
// for: not hidden, not `help`.
func visitDocumented(c *cobra.Command, fn func(*cobra.Command)) {
	if !c.IsAvailableCommand() && c.HasParent() {
		return
	}
	fn(c)
	for _, s := range c.Commands() {
		visitDocumented(s, fn)
	}
}

var (
	// thDate matches the date field of a man page's .TH line.
	thDate = regexp.MustCompile(`(?m)^(\.TH "[^"]*" "[^"]*" )"[^"]*"`)
	// option matches a flag and its tab-indented description, which cobra
	// writes as one paragraph that man runs together.
	option = regexp.MustCompile(`(?m)^(?:\.PP\n)?(\\fB-.*)\n\t(.*)$`)
)

// manPage renders one command's man page. The header's date is left empty
// (a date would change the page on every run) and cobra's "auto generated"
// history section is left out.
func manPage(c *cobra.Command) ([]byte, error) {
	c.DisableAutoGenTag = true
	epoch := time.Unix(0, 0).UTC()
	header := &doc.GenManHeader{Section: "1", Date: &epoch, Source: "kgate", Manual: "kgate manual"}
	var b bytes.Buffer
	if err := doc.GenMan(c, header, &b); err != nil {
		return nil, fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
	}
	page := thDate.ReplaceAll(b.Bytes(), []byte(`$1""`))
	// A tagged paragraph per flag: the flag, and its description indented below.
	page = option.ReplaceAll(page, []byte(".TP\n$1\n$2"))
	// Examples and commands indented, as man pages show them.
	page = bytes.ReplaceAll(page, []byte("\n.EX\n"), []byte("\n.RS\n.EX\n"))
	return bytes.ReplaceAll(page, []byte("\n.EE\n"), []byte("\n.EE\n.RE\n")), nil
}
