package login

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/config"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/ldapauth"
	"github.com/kgate/kgate/internal/session"
)

func TestFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdLogin(&cmdutil.Factory{IOStreams: ios}, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"-u", "alice", "--password-stdin", "--ldap-url", "ldaps://a", "--ldap-url", "ldaps://b,ldap://c", "--ldap-ca-file", "/ca.crt"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Username != "alice" || !got.PasswordStdin || got.CAFile != "/ca.crt" ||
		!reflect.DeepEqual(got.LDAPURLs, []string{"ldaps://a", "ldaps://b", "ldap://c"}) {
		t.Errorf("options = %+v", got)
	}
}

type fakeAuth struct {
	user, pw string
	calls    int
	cfg      config.LDAP
}

func (f *fakeAuth) Authenticate(_ context.Context, user, pw string) (*ldapauth.Identity, error) {
	f.calls++
	f.user, f.pw = user, pw
	if pw == "" {
		return nil, errs.AuthErrorf("empty password")
	}
	return &ldapauth.Identity{Username: strings.ToLower(user), DN: "uid=" + user, Groups: []string{"qa"}, Server: "ldaps://ldap.test"}, nil
}

var now = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

// setup returns options for a run with the given environment; prompts fail
// the test unless allowed.
func setup(t *testing.T, env map[string]string, tty bool) (*Options, *fakeAuth, *iostreams.IOStreams) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	ios.SetTTY(tty, false, false)
	auth := &fakeAuth{}
	dir := t.TempDir()
	opts := &Options{
		IO: ios,
		Config: func() (*config.Config, error) {
			return &config.Config{Paths: config.Paths{ConfigDir: dir}, Session: config.Session{Lifetime: 2 * time.Hour},
				LDAP: config.LDAP{URLs: []string{"ldaps://from-config"}}}, nil
		},
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Now:       func() time.Time { return now },
		NewAuthenticator: func(cfg config.LDAP, _ func(string, ...any)) (Authenticator, error) {
			auth.cfg = cfg
			return auth, nil
		},
		Prompt: func(context.Context, string) (string, error) {
			t.Error("prompted for a username")
			return "", errors.New("no prompt")
		},
		PromptPassword: func(context.Context, string) (string, error) {
			t.Error("prompted for a password")
			return "", errors.New("no prompt")
		},
	}
	return opts, auth, ios
}

func TestPasswordStdin(t *testing.T) {
	opts, auth, ios := setup(t, nil, false)
	opts.Username, opts.PasswordStdin = "alice", true
	ios.In = strings.NewReader("s3cret word\r\n")
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if auth.user != "alice" || auth.pw != "s3cret word" {
		t.Errorf("authenticated %q with %q", auth.user, auth.pw)
	}
	cfg, _ := opts.Config()
	s, err := (&session.Store{Dir: cfg.Paths.ConfigDir, Now: func() time.Time { return now }}).Load()
	if err != nil {
		t.Fatal(err)
	}
	want := &session.Session{User: "alice", DN: "uid=alice", Groups: []string{"qa"}, Issuer: "ldaps://ldap.test",
		Issued: now, Expires: now.Add(2 * time.Hour)}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("session = %+v, want %+v", s, want)
	}
}

func TestEnvironment(t *testing.T) {
	opts, auth, _ := setup(t, map[string]string{"KGATE_USERNAME": "bob", "KGATE_PASSWORD": "pw"}, false)
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if auth.user != "bob" || auth.pw != "pw" {
		t.Errorf("authenticated %q with %q", auth.user, auth.pw)
	}
}

func TestFlagsOverrideConfig(t *testing.T) {
	opts, auth, _ := setup(t, map[string]string{"KGATE_USERNAME": "bob", "KGATE_PASSWORD": "pw"}, false)
	opts.LDAPURLs, opts.CAFile = []string{"ldaps://from-flag"}, "/flag/ca.crt"
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(auth.cfg.URLs, []string{"ldaps://from-flag"}) || auth.cfg.CAFile != "/flag/ca.crt" {
		t.Errorf("ldap config = %+v", auth.cfg)
	}
}

func TestNoPromptWithoutTerminal(t *testing.T) {
	cases := map[string]struct {
		env   map[string]string
		user  string
		stdin bool
		want  string
	}{
		"no username":                {env: map[string]string{"KGATE_PASSWORD": "pw"}, want: "KGATE_USERNAME"},
		"no password":                {user: "alice", want: "KGATE_PASSWORD"},
		"password-stdin, no user":    {stdin: true, want: "--username"},
		"password-stdin, empty pipe": {user: "alice", stdin: true, want: "no password on stdin"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			opts, auth, _ := setup(t, c.env, false)
			opts.Username, opts.PasswordStdin = c.user, c.stdin
			err := loginRun(context.Background(), opts)
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.KindAuth {
				t.Fatalf("err = %v, want an auth error", err)
			}
			if text := e.Error() + " " + e.Hint; !strings.Contains(text, c.want) {
				t.Errorf("%q does not mention %q", text, c.want)
			}
			if auth.calls != 0 {
				t.Error("authenticated anyway")
			}
		})
	}
}

func TestEmptyPasswordVariableIsNotPrompted(t *testing.T) {
	opts, auth, _ := setup(t, map[string]string{"KGATE_PASSWORD": ""}, true)
	opts.Username = "alice"
	if err := loginRun(context.Background(), opts); err == nil {
		t.Fatal("logged in with an empty password")
	}
	if auth.pw != "" {
		t.Errorf("password %q", auth.pw)
	}
}

func TestPromptsOnTerminal(t *testing.T) {
	opts, auth, _ := setup(t, nil, true)
	var prompts []string
	opts.Prompt = func(_ context.Context, p string) (string, error) {
		prompts = append(prompts, p)
		return " carol \n", nil
	}
	opts.PromptPassword = func(_ context.Context, p string) (string, error) { prompts = append(prompts, p); return "pw", nil }
	if err := loginRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if auth.user != "carol" || auth.pw != "pw" {
		t.Errorf("authenticated %q with %q", auth.user, auth.pw)
	}
	if want := []string{"Username: ", "Password for carol: "}; !reflect.DeepEqual(prompts, want) {
		t.Errorf("prompts = %q, want %q", prompts, want)
	}
}

func TestConfigCheckedBeforePrompt(t *testing.T) {
	opts, _, _ := setup(t, nil, true)
	opts.NewAuthenticator = func(config.LDAP, func(string, ...any)) (Authenticator, error) {
		return nil, errors.New("no LDAP server is configured")
	}
	if err := loginRun(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "no LDAP server") {
		t.Errorf("err = %v", err)
	}
}
