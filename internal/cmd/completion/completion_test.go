package completion

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

func TestFlags(t *testing.T) {
	cases := []struct {
		args    []string
		shell   string
		noDesc  bool
		wantErr bool
	}{
		{[]string{"bash"}, "bash", false, false},
		{[]string{"zsh", "--no-descriptions"}, "zsh", true, false},
		{[]string{}, "", false, true},
		{[]string{"bash", "zsh"}, "", false, true},
	}
	for _, tc := range cases {
		io, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdCompletion(io, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tc.wantErr {
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.KindUsage {
				t.Errorf("%v: want a usage error, got %v", tc.args, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got.Shell != tc.shell || got.NoDescriptions != tc.noDesc {
			t.Errorf("%v: got %+v", tc.args, got)
		}
	}
}

func TestWrite(t *testing.T) {
	root := &cobra.Command{Use: "kgate"}
	root.AddCommand(&cobra.Command{Use: "get", Run: func(*cobra.Command, []string) {}})
	for _, shell := range Shells {
		for _, desc := range []bool{true, false} {
			var b bytes.Buffer
			if err := Write(root, &b, shell, desc); err != nil {
				t.Fatalf("%s: %v", shell, err)
			}
			if !strings.Contains(b.String(), "__complete") || !strings.Contains(b.String(), "kgate") {
				t.Errorf("%s: not a completion script for kgate:\n%.200s", shell, b.String())
			}
		}
	}
	if err := Write(root, &bytes.Buffer{}, "tcsh", true); err == nil {
		t.Error("tcsh: no error")
	}
}

func TestRun(t *testing.T) {
	io, _, out, _ := iostreams.Test()
	root := &cobra.Command{Use: "kgate"}
	root.AddCommand(NewCmdCompletion(io, nil))
	root.SetArgs([]string{"completion", "zsh"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "#compdef kgate") {
		t.Errorf("zsh script:\n%.200s", out.String())
	}
}
