// Package logout implements `kgate logout`.
package logout

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/session"
)

// Options are what `kgate logout` needs.
type Options struct {
	IO    *iostreams.IOStreams
	Store func() (*session.Store, error)
	// Revoke ends a gateway session on the gateway; gateway.Logout is one.
	Revoke func(ctx context.Context, server string, caPEM []byte, refreshToken string) error
	Now    func() time.Time
	// Local forgets the session here without telling the gateway.
	Local bool
}

// NewCmdLogout returns `kgate logout`; runF replaces the run step in tests.
func NewCmdLogout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Revoke: gateway.Logout, Now: time.Now}
	opts.Store = func() (*session.Store, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		return session.NewStore(cfg.Paths.ConfigDir), nil
	}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "End the login session",
		Long: `Remove the session that kgate login wrote. Later commands need a new login.
Logging out when not logged in is not an error.

A gateway session is revoked on the gateway first: its refresh credential and
every access token issued under it are refused by every replica from then on,
also where they were copied. If the gateway cannot be reached, the session is
kept (run logout again), unless --local says to forget it here only.`,
		Example: `  kgate logout`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Local, "local", false, "Only forget the session here; a gateway session stays valid on the gateway until it expires")
	return cmd
}

func logoutRun(ctx context.Context, opts *Options) error {
	store, err := opts.Store()
	if err != nil {
		return err
	}
	// The name is only for the message; a corrupt or foreign file goes too.
	who := ""
	if s, err := store.Read(); err == nil {
		who = s.User
		if s.RefreshToken != "" && !opts.Local && opts.Now().Before(s.Expires) {
			if err := opts.Revoke(ctx, s.Issuer, []byte(s.GatewayCA), s.RefreshToken); err != nil {
				return errs.WithHint(fmt.Errorf("revoking the session of %s on the gateway %s: %w", s.User, s.Issuer, err),
					fmt.Sprintf("The session is kept; run `kgate logout` again, or `kgate logout --local` to forget it here only (it then stays valid until %s).",
						s.Expires.Local().Format(time.DateTime)))
			}
		}
	}
	removed, err := store.Delete()
	if err != nil {
		return err
	}
	switch {
	case !removed:
		fmt.Fprintln(opts.IO.ErrOut, "Not logged in.")
	case who != "":
		fmt.Fprintf(opts.IO.ErrOut, "Logged out %s.\n", who)
	default:
		fmt.Fprintf(opts.IO.ErrOut, "Removed the session %s.\n", store.Path())
	}
	return nil
}
