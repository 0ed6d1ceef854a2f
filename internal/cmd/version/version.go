// Package version implements `kgate version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/build"
	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/printers"
)

// Options are what `kgate version` needs.
type Options struct {
	IO     *iostreams.IOStreams
	Output func() (string, error)
}

// Info is the version information, as printed with -o json|yaml.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// NewCmdVersion returns `kgate version`; runF replaces the run step in tests.
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	opts.Output = f.OutputFormat()
	return &cobra.Command{
		Use:   "version",
		Short: "Print kgate's version",
		Long:  "Print the version, commit and build date of this kgate binary.",
		Example: `  kgate version
  kgate version -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *Options) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	v, c, d := build.Get()
	info := Info{v, c, d, runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}
	switch out {
	case "":
		fmt.Fprintf(opts.IO.Out, "kgate %s (commit %s, built %s, %s, %s)\n", info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
	case "json":
		return printers.Value(opts.IO.Out, "json", info)
	case "yaml":
		return printers.Value(opts.IO.Out, "yaml", info)
	default:
		return errs.UsageErrorf("unsupported output format %q for version: use json or yaml", out)
	}
	return nil
}
