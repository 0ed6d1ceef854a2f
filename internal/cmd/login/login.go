// Package login implements `kgate login`.
package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/session"
)

// maxPasswordBytes bounds what --password-stdin reads.
const maxPasswordBytes = 4096

// Authenticator checks a username and password; *ldapauth.Authenticator is one.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*ldapauth.Identity, error)
}

// Options are what `kgate login` needs.
type Options struct {
	IO        *iostreams.IOStreams
	Config    func() (*config.Config, error)
	LookupEnv func(string) (string, bool)
	Now       func() time.Time
	// NewAuthenticator checks the LDAP configuration; it runs before any prompt.
	NewAuthenticator func(cfg config.LDAP, warnf func(string, ...any)) (Authenticator, error)
	// Prompt and PromptPassword ask on the terminal; called only when stdin is one.
	Prompt         func(ctx context.Context, prompt string) (string, error)
	PromptPassword func(ctx context.Context, prompt string) (string, error)

	Username      string
	PasswordStdin bool
	LDAPURLs      []string
	CAFile        string

	// Gateway mode (config key server, --server): the gateway's CA file,
	// whether to print a kubeconfig for kubectl, and the login call.
	GatewayCAFile   string
	PrintKubeconfig bool
	GatewayLogin    GatewayLoginFunc
}

// NewCmdLogin returns `kgate login`; runF replaces the run step in tests.
func NewCmdLogin(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO:        f.IOStreams,
		Config:    f.Config,
		LookupEnv: os.LookupEnv,
		Now:       time.Now,
		NewAuthenticator: func(cfg config.LDAP, warnf func(string, ...any)) (Authenticator, error) {
			a, err := ldapauth.New(cfg)
			if err != nil {
				return nil, err
			}
			a.Warnf = warnf
			return a, nil
		},
	}
	opts.Prompt = func(ctx context.Context, prompt string) (string, error) { return promptLine(ctx, opts.IO, prompt) }
	opts.PromptPassword = func(ctx context.Context, prompt string) (string, error) {
		return promptPassword(ctx, opts.IO, prompt)
	}
	cmd := &cobra.Command{
		Use:   "login [flags]",
		Short: "Log in with your LDAP account",
		Long: `Log in with your company LDAP account. kgate checks your password against the
directory, reads your groups, and keeps a session (user, groups, expiry; never
the password) in its config directory for every later command. A session lasts
8 hours unless session.lifetime says otherwise.

The username comes from --username, else KGATE_USERNAME, else a prompt. The
password comes from --password-stdin, else KGATE_PASSWORD, else a prompt that
does not echo. kgate prompts only when stdin is a terminal: in a script a
missing username or password is exit 3, naming the flag or variable to use.

With --server (or the config key server), kgate logs in through a kgate
gateway instead: the password goes to the gateway over TLS, the gateway checks
it against the directory and returns a short-lived signed token, and every
later command goes through the gateway with that token.`,
		Example: `  # log in interactively
  kgate login

  # in a script: the password on stdin, never on the command line
  kgate login --username alice --password-stdin < ~/.secrets/ldap

  # against a directory not in the config file
  kgate login --ldap-url ldaps://ldap1.example.com --ldap-url ldaps://ldap2.example.com`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.Username, "username", "u", "", "LDAP username (default: KGATE_USERNAME, else a prompt)")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "Read the password from stdin (default: KGATE_PASSWORD, else a prompt)")
	fl.StringSliceVar(&opts.LDAPURLs, "ldap-url", nil, "LDAP server URL, ldaps:// or ldap:// (StartTLS); repeat for failover (default: ldap.urls)")
	fl.StringVar(&opts.CAFile, "ldap-ca-file", "", "CA certificate file for the LDAP servers (default: ldap.caFile)")
	fl.StringVar(&opts.GatewayCAFile, "certificate-authority", "", "With --server: CA certificate file of the gateway (default: gateway.caFile, else the system's CAs)")
	fl.BoolVar(&opts.PrintKubeconfig, "print-kubeconfig", false, "With --server: print a kubeconfig (gateway URL, CA, token) for plain kubectl")
	completion.NoFiles(cmd, "username", "ldap-url")
	return cmd
}

func loginRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if cfg.Server != "" {
		return gatewayLoginRun(ctx, opts, cfg)
	}
	if opts.PrintKubeconfig || opts.GatewayCAFile != "" {
		return errs.UsageErrorf("--print-kubeconfig and --certificate-authority need a gateway: --server URL")
	}
	ldapCfg := cfg.LDAP
	if len(opts.LDAPURLs) > 0 {
		ldapCfg.URLs = opts.LDAPURLs
	}
	if opts.CAFile != "" {
		ldapCfg.CAFile = opts.CAFile
	}
	lifetime := cfg.Session.Lifetime
	if lifetime < 0 {
		return errs.UsageErrorf("session.lifetime %s is negative", lifetime)
	}
	if lifetime == 0 {
		lifetime = session.DefaultLifetime
	}
	warnf := func(format string, a ...any) { fmt.Fprintf(opts.IO.ErrOut, "warning: "+format+"\n", a...) }
	auth, err := opts.NewAuthenticator(ldapCfg, warnf)
	if err != nil {
		return err
	}

	username, err := opts.username(ctx)
	if err != nil {
		return err
	}
	password, err := opts.password(ctx, username)
	if err != nil {
		return err
	}
	id, err := auth.Authenticate(ctx, username, password)
	if err != nil {
		return err
	}

	now := opts.Now()
	s := &session.Session{
		User: id.Username, DN: id.DN, Groups: id.Groups, Issuer: id.Server,
		Issued: now.UTC(), Expires: now.Add(lifetime).UTC(),
	}
	if s.Groups == nil {
		s.Groups = []string{}
	}
	store := session.NewStore(cfg.Paths.ConfigDir)
	if err := store.Save(s); err != nil {
		return err
	}
	groups := "no groups"
	if len(s.Groups) > 0 {
		groups = "groups: " + strings.Join(s.Groups, ", ")
	}
	fmt.Fprintf(opts.IO.ErrOut, "Logged in as %s (%s) until %s.\n", s.User, groups, s.Expires.Local().Format("2006-01-02 15:04 MST"))
	return nil
}

func (opts *Options) username(ctx context.Context) (string, error) {
	if opts.Username != "" {
		return opts.Username, nil
	}
	if u, _ := opts.LookupEnv("KGATE_USERNAME"); u != "" {
		return u, nil
	}
	if opts.PasswordStdin {
		return "", errs.WithHint(errs.AuthErrorf("--password-stdin needs the username from --username or KGATE_USERNAME"),
			"Run `kgate login --username NAME --password-stdin`.")
	}
	if !opts.IO.IsStdinTTY() {
		return "", errs.WithHint(errs.AuthErrorf("no username, and stdin is not a terminal to ask for one"),
			"Pass --username NAME or set KGATE_USERNAME.")
	}
	u, err := opts.Prompt(ctx, "Username: ")
	if err != nil {
		return "", err
	}
	if u = strings.TrimSpace(u); u == "" {
		return "", errs.AuthErrorf("empty username")
	}
	return u, nil
}

func (opts *Options) password(ctx context.Context, username string) (string, error) {
	if opts.PasswordStdin {
		b, err := io.ReadAll(io.LimitReader(opts.IO.In, maxPasswordBytes+1))
		if err != nil {
			return "", fmt.Errorf("reading the password from stdin: %w", err)
		}
		if len(b) > maxPasswordBytes {
			return "", errs.UsageErrorf("--password-stdin: more than %d bytes on stdin", maxPasswordBytes)
		}
		// One trailing newline is the end of the line, not the password.
		pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if pw == "" {
			return "", errs.WithHint(errs.AuthErrorf("--password-stdin: no password on stdin"),
				"Pipe the password in, e.g. `kgate login -u NAME --password-stdin < FILE`.")
		}
		return pw, nil
	}
	// Set but empty counts as given: Authenticate refuses it rather than
	// kgate prompting over it.
	if pw, ok := opts.LookupEnv("KGATE_PASSWORD"); ok {
		return pw, nil
	}
	if !opts.IO.IsStdinTTY() {
		return "", errs.WithHint(errs.AuthErrorf("no password, and stdin is not a terminal to ask for one"),
			"Pass --password-stdin and pipe the password in, or set KGATE_PASSWORD.")
	}
	return opts.PromptPassword(ctx, fmt.Sprintf("Password for %s: ", username))
}

// promptLine reads one line from stdin byte by byte, so that nothing after
// the newline is consumed before the password prompt reads the terminal.
func promptLine(ctx context.Context, ios *iostreams.IOStreams, prompt string) (string, error) {
	fmt.Fprint(ios.ErrOut, prompt)
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var sb strings.Builder
		b := make([]byte, 1)
		for {
			n, err := ios.In.Read(b)
			if n == 1 {
				if b[0] == '\n' {
					break
				}
				sb.WriteByte(b[0])
			}
			if err != nil {
				if errors.Is(err, io.EOF) && sb.Len() > 0 {
					break
				}
				ch <- result{"", err}
				return
			}
		}
		ch <- result{strings.TrimSuffix(sb.String(), "\r"), nil}
	}()
	select {
	case r := <-ch:
		if errors.Is(r.err, io.EOF) {
			return "", errs.AuthErrorf("no username: stdin was closed")
		}
		return r.s, r.err
	case <-ctx.Done():
		fmt.Fprintln(ios.ErrOut)
		return "", ctx.Err()
	}
}

// promptPassword reads a password from the terminal without echo. Ctrl-C
// restores the terminal before kgate exits.
func promptPassword(ctx context.Context, ios *iostreams.IOStreams, prompt string) (string, error) {
	f, ok := ios.In.(*os.File)
	if !ok {
		return "", errs.AuthErrorf("cannot prompt for a password: stdin is not a terminal")
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("prompting for the password: %w", err)
	}
	fmt.Fprint(ios.ErrOut, prompt)
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		fmt.Fprintln(ios.ErrOut)
		if r.err != nil {
			return "", fmt.Errorf("reading the password: %w", r.err)
		}
		return string(r.b), nil
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(ios.ErrOut)
		return "", ctx.Err()
	}
}
