// Package logout implements `kgate logout`.
package logout

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/session"
)

// Options are what `kgate logout` needs.
type Options struct {
	IO    *iostreams.IOStreams
	Store func() (*session.Store, error)
}

// NewCmdLogout returns `kgate logout`; runF replaces the run step in tests.
func NewCmdLogout(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams}
	opts.Store = func() (*session.Store, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		return session.NewStore(cfg.Paths.ConfigDir), nil
	}
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the login session",
		Long: `Remove the session that kgate login wrote. Later commands need a new login.
Logging out when not logged in is not an error.`,
		Example: `  kgate logout`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(opts)
		},
	}
}

func logoutRun(opts *Options) error {
	store, err := opts.Store()
	if err != nil {
		return err
	}
	// The name is only for the message; a corrupt or foreign file goes too.
	who := ""
	if s, err := store.Read(); err == nil {
		who = s.User
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
