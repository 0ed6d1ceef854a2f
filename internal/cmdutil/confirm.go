package cmdutil

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

// Confirm asks question on a terminal and reports whether the answer was
// yes. When stdin is not a terminal it never asks: it returns a usage error
// (exit 2) that names the flag a script must pass instead.
func Confirm(io *iostreams.IOStreams, question, flag string) (bool, error) {
	if !io.IsStdinTTY() {
		return false, errs.WithHint(errs.UsageErrorf("refusing to go on without confirmation: stdin is not a terminal"),
			"Pass "+flag+" to confirm from a script.")
	}
	fmt.Fprintf(io.ErrOut, "%s [y/N]: ", question)
	line, err := bufio.NewReader(io.In).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(io.ErrOut)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
