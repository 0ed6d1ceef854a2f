package cani

import (
	"errors"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
)

const pol = `
version: 1
projects:
  payments:
    namespaces: [payments]
    admins: {users: [alice]}
    guests: {users: [bob]}
`

func TestFlags(t *testing.T) {
	tests := []struct {
		args            []string
		verb, res, name string
		why             bool
		wantErr         string
	}{
		{[]string{"exec", "pods"}, "exec", "pods", "", false, ""},
		{[]string{"GET", "secret/db", "--why"}, "get", "secret", "db", true, ""},
		{[]string{"delete", "deploy", "web"}, "delete", "deploy", "web", false, ""},
		{[]string{"get", "pod/a", "b"}, "", "", "", false, "not both"},
		{[]string{"get"}, "", "", "", false, "accepts between 2 and 3"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdCanI(&cmdutil.Factory{IOStreams: ios}, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(ios.ErrOut)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: got %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got.Verb != tt.verb || got.Resource != tt.res || got.Name != tt.name || got.Why != tt.why {
			t.Errorf("%v: got %+v", tt.args, got)
		}
	}
}

func TestCanI(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, verb, res, name string
		why                   bool
		want                  string
		code                  int
	}{
		{"bob", "get", "po", "", false, "yes\n", 0},
		{"bob", "exec", "pods", "web", false, "no\n", 4},
		{"bob", "get", "secrets", "", true, "no\nuser \"bob\" is a guest in project \"payments\" (namespace \"payments\"); get secrets needs admin. Project admins: alice\n", 4},
		{"alice", "delete", "deploy", "web", true, "yes\nuser \"alice\" is an admin in project \"payments\" (namespace \"payments\")\n", 0},
		{"bob", "get", "nodes", "", false, "no\n", 4},
		{"bob", "get", "ns", "payments", false, "yes\n", 0},
	}
	for _, tt := range tests {
		ios, _, out, _ := iostreams.Test()
		opts := &Options{
			IO:        ios,
			Identity:  func() (policy.Identity, error) { return policy.Identity{User: tt.user}, nil },
			Policy:    func() (*policy.Policy, error) { return p, nil },
			Namespace: func() (string, bool, error) { return "payments", true, nil },
			Verb:      tt.verb, Resource: tt.res, Name: tt.name, Why: tt.why,
		}
		err := canIRun(opts)
		code := 0
		var ce *errs.ExitCodeError
		if errors.As(err, &ce) {
			code = ce.Code
			if ce.Msg != "" {
				t.Error("a no prints a message")
			}
		} else if err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want || code != tt.code {
			t.Errorf("%s %s %s: got %q exit %d, want %q exit %d", tt.user, tt.verb, tt.res, out, code, tt.want, tt.code)
		}
	}
}

func TestCanIUsageErrors(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ verb, res string }{{"frob", "pods"}, {"get", "frobnicators"}, {"get", "pdos"}} {
		ios, _, out, _ := iostreams.Test()
		opts := &Options{
			IO:        ios,
			Identity:  func() (policy.Identity, error) { return policy.Identity{User: "bob"}, nil },
			Policy:    func() (*policy.Policy, error) { return p, nil },
			Namespace: func() (string, bool, error) { return "payments", true, nil },
			Verb:      tc.verb, Resource: tc.res,
		}
		err := canIRun(opts)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage || out.String() != "" {
			t.Errorf("can-i %s %s: want a usage error and no answer, got %v %q", tc.verb, tc.res, err, out)
		}
	}
}
