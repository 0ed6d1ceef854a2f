package cmdutil

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

// Confirm asks question on a terminal and reports whether the answer was
// yes. When stdin is not a terminal it never asks: it returns a usage error
// (exit 2) that names the flag a script must pass instead. When ctx ends
// while it waits (Ctrl-C), it returns ctx's error at once, which the caller
// must return as it is (exit 130) without changing anything.
func Confirm(ctx context.Context, io *iostreams.IOStreams, question, flag string) (bool, error) {
	if !io.IsStdinTTY() {
		return false, errs.WithHint(errs.UsageErrorf("refusing to go on without confirmation: stdin is not a terminal"),
			"Pass "+flag+" to confirm from a script.")
	}
	fmt.Fprintf(io.ErrOut, "%s [y/N]: ", question)
	type answer struct {
		line string
		err  error
	}
	// The read cannot be interrupted; the process ends soon after an
	// interrupt anyway, so the reader is left behind.
	ch := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(io.In).ReadString('\n')
		ch <- answer{line, err}
	}()
	var a answer
	select {
	case <-ctx.Done():
		fmt.Fprintln(io.ErrOut)
		return false, ctx.Err()
	case a = <-ch:
	}
	if a.err != nil && a.line == "" {
		fmt.Fprintln(io.ErrOut)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(a.line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
