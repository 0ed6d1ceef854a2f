package describe

import (
	"errors"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

// Without arguments the error says what describe needs, in describe's words.
func TestNoArguments(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	cmd := NewCmdDescribe(&cmdutil.Factory{IOStreams: io}, func(*Options) error { t.Fatal("ran"); return nil })
	cmd.SetArgs(nil)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUsage || err.Error() != "you must specify the type of resource to describe" ||
		!strings.Contains(e.Hint, "pods") {
		t.Fatalf("got %v (hint %q)", err, e.Hint)
	}
}
