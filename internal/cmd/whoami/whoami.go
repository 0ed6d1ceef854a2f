// Package whoami implements `kgate whoami`.
package whoami

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/printers"
	"github.com/kgate/kgate/internal/session"
)

// Options are what `kgate whoami` needs.
type Options struct {
	IO      *iostreams.IOStreams
	Session func() (*session.Session, error)
	Output  func() (string, error)
	Now     func() time.Time

	MinTTL time.Duration
}

// Info is the identity as printed with -o json|yaml. The token is never printed.
type Info struct {
	User    string    `json:"user"`
	DN      string    `json:"dn,omitempty"`
	Groups  []string  `json:"groups"`
	Issuer  string    `json:"issuer"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	// ExpiresInSeconds is the time left, for scripts.
	ExpiresInSeconds int64 `json:"expiresInSeconds"`
}

// NewCmdWhoami returns `kgate whoami`; runF replaces the run step in tests.
func NewCmdWhoami(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Now: time.Now}
	opts.Session = func() (*session.Session, error) { return f.Session() }
	opts.Output = f.OutputFormat()
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who you are logged in as",
		Long: `Show the logged-in user, their groups, who vouched for them (the LDAP server
or gateway) and how long the session has left.

Not logged in, or the session expired: exit 3. With --min-ttl, also exit 3 when
less than that is left, so a script can log in again before a long job.`,
		Example: `  kgate whoami
  kgate whoami -o json

  # in a script: make sure the session outlives the next hour
  kgate whoami --min-ttl 1h >/dev/null || kgate login -u "$USER" --password-stdin < "$PWFILE"`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.MinTTL < 0 {
				return errs.UsageErrorf("--min-ttl %s is negative", opts.MinTTL)
			}
			if runF != nil {
				return runF(opts)
			}
			return whoamiRun(opts)
		},
	}
	cmd.Flags().DurationVar(&opts.MinTTL, "min-ttl", 0, "Exit 3 unless the session is valid for at least this long (e.g. 30m, 2h)")
	return cmd
}

func whoamiRun(opts *Options) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	if out != "" && out != "json" && out != "yaml" {
		return errs.UsageErrorf("unsupported output format %q for whoami: use json or yaml", out)
	}
	s, err := opts.Session()
	if err != nil {
		return err
	}
	now := opts.Now()
	left := s.Remaining(now)
	if opts.MinTTL > 0 && left < opts.MinTTL {
		return errs.WithHint(errs.AuthErrorf("the session of %s has %s left, less than --min-ttl %s",
			s.User, human(left), human(opts.MinTTL)), session.LoginHint)
	}
	groups := s.Groups
	if groups == nil {
		groups = []string{}
	}
	info := Info{User: s.User, DN: s.DN, Groups: groups, Issuer: s.Issuer, Issued: s.Issued, Expires: s.Expires,
		ExpiresInSeconds: int64(left / time.Second)}
	switch out {
	case "json":
		return printers.Value(opts.IO.Out, "json", info)
	case "yaml":
		return printers.Value(opts.IO.Out, "yaml", info)
	default:
		// kubectl auth whoami's shape, with kgate's extra attributes.
		tw := tabwriter.NewWriter(opts.IO.Out, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "ATTRIBUTE\tVALUE")
		fmt.Fprintf(tw, "Username\t%s\n", info.User)
		fmt.Fprintf(tw, "Groups\t[%s]\n", strings.Join(info.Groups, " "))
		if info.DN != "" {
			fmt.Fprintf(tw, "DN\t%s\n", info.DN)
		}
		fmt.Fprintf(tw, "Issuer\t%s\n", info.Issuer)
		fmt.Fprintf(tw, "Expires\t%s (%s left)\n", info.Expires.Local().Format("2006-01-02 15:04:05 MST"), human(left))
		return tw.Flush()
	}
}

// human rounds d for people: 7h59m, 9h, 4m10s, 10m, 12s.
func human(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if d >= time.Hour {
		d = d.Truncate(time.Minute)
	} else {
		d = d.Truncate(time.Second)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") || strings.HasSuffix(s, "h0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
