package whoami

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/session"
)

var now = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func opts(t *testing.T, output string, left time.Duration) (*Options, *strings.Builder) {
	t.Helper()
	ios, _, _, _ := iostreams.Test()
	var sb strings.Builder
	o := &Options{
		IO: ios,
		Session: func() (*session.Session, error) {
			return &session.Session{User: "alice", DN: "uid=alice,dc=test", Groups: []string{"payments-leads", "qa"},
				Issuer: "ldaps://ldap.test", Issued: now.Add(-time.Hour), Expires: now.Add(left), Token: "secret-token"}, nil
		},
		Output: func() (string, error) { return output, nil },
		Now:    func() time.Time { return now },
	}
	ios.Out = &sb
	return o, &sb
}

func TestTable(t *testing.T) {
	o, out := opts(t, "", 7*time.Hour+59*time.Minute+30*time.Second)
	if err := whoamiRun(o); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ATTRIBUTE", "Username    alice", "Groups      [payments-leads qa]", "Issuer      ldaps://ldap.test", "(7h59m left)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestJSON(t *testing.T) {
	o, out := opts(t, "json", 90*time.Minute)
	if err := whoamiRun(o); err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(out.String()), &info); err != nil {
		t.Fatal(err)
	}
	if info["user"] != "alice" || info["expiresInSeconds"] != float64(5400) {
		t.Errorf("json = %v", info)
	}
	if strings.Contains(out.String(), "secret-token") {
		t.Error("the token was printed")
	}
}

func TestYAML(t *testing.T) {
	o, out := opts(t, "yaml", time.Hour)
	if err := whoamiRun(o); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "user: alice\n") {
		t.Errorf("yaml:\n%s", out)
	}
}

func TestMinTTL(t *testing.T) {
	o, out := opts(t, "", 10*time.Minute)
	o.MinTTL = time.Hour
	err := whoamiRun(o)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindAuth || !strings.Contains(err.Error(), "10m left, less than --min-ttl 1h") {
		t.Fatalf("err = %v, want an auth error saying 10m left", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q", out)
	}
	o.MinTTL = 5 * time.Minute
	if err := whoamiRun(o); err != nil {
		t.Errorf("min-ttl 5m with 10m left: %v", err)
	}
}

func TestNotLoggedIn(t *testing.T) {
	o, _ := opts(t, "", time.Hour)
	o.Session = func() (*session.Session, error) { return nil, errs.AuthErrorf("not logged in") }
	if err := whoamiRun(o); err == nil || !strings.Contains(err.Error(), "not logged in") {
		t.Errorf("err = %v", err)
	}
}

func TestBadOutput(t *testing.T) {
	o, _ := opts(t, "wide", time.Hour)
	var e *errs.Error
	if err := whoamiRun(o); !errors.As(err, &e) || e.Kind != errs.KindUsage {
		t.Errorf("err = %v, want a usage error", err)
	}
}

func TestFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdWhoami(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"--min-ttl", "90m"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.MinTTL != 90*time.Minute {
		t.Errorf("MinTTL = %s", got.MinTTL)
	}
}

func TestHuman(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 12 * time.Second: "12s", 10 * time.Minute: "10m",
		4*time.Minute + 10*time.Second: "4m10s", 9 * time.Hour: "9h", 7*time.Hour + 59*time.Minute + 30*time.Second: "7h59m",
	} {
		if got := human(d); got != want {
			t.Errorf("human(%s) = %q, want %q", d, got, want)
		}
	}
}
