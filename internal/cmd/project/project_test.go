package project

import (
	"context"
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
  payments: {namespaces: ["payments-*", payments], guests: {users: [bob]}}
  search: {namespaces: ["search-*"]}
`

func TestUseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"payments"}, ""},
		{[]string{"--clear"}, ""},
		{[]string{}, "give one project name"},
		{[]string{"a", "b"}, "give one project name"},
		{[]string{"a", "--clear"}, "not both"},
	} {
		ios, _, _, _ := iostreams.Test()
		cmd := NewCmdUse(&cmdutil.Factory{IOStreams: ios}, func(*UseOptions) error { return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(ios.ErrOut)
		cmd.SetErr(ios.ErrOut)
		err := cmd.Execute()
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.err)
		}
	}
}

func TestUse(t *testing.T) {
	p, err := policy.Parse("p.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	var written []string
	opts := func(name string, clear bool) *UseOptions {
		ios, _, _, _ := iostreams.Test()
		return &UseOptions{
			IO:       ios,
			Identity: func() (policy.Identity, error) { return policy.Identity{User: "bob"}, nil },
			Policy:   func() (*policy.Policy, error) { return p, nil },
			Namespaces: func(_ context.Context, pr *policy.Project) ([]string, error) {
				return pr.Expand([]string{"search-prod", "default", "search-dev"}), nil
			},
			Write: func(n, ns string) error { written = append(written, n+"/"+ns); return nil },
			Name:  name, Clear: clear,
		}
	}
	o := opts("payments", false)
	if err := useRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := o.IO.Out.(interface{ String() string }).String(); got != "Switched to project \"payments\" (namespace \"payments\"); your role there: guest.\n" {
		t.Errorf("got %q", got)
	}
	o = opts("nope", false)
	err = useRun(context.Background(), o)
	var ke *errs.Error
	if err == nil || !strings.Contains(err.Error(), `project "nope" is not in the policy`) || !errors.As(err, &ke) || ke.Kind != errs.KindNotFound {
		t.Errorf("unknown project: %v", err)
	}
	// A project of patterns: the first namespace of the cluster they match,
	// and the others named.
	o = opts("search", false)
	if err := useRun(context.Background(), o); err != nil {
		t.Fatalf("pattern-only project: %v", err)
	}
	if got := o.IO.Out.(interface{ String() string }).String(); got != "Switched to project \"search\" (namespace \"search-dev\"); you hold no role there.\n" {
		t.Errorf("got %q", got)
	}
	if got := o.IO.ErrOut.(interface{ String() string }).String(); !strings.Contains(got, "search-prod; choose one with `kgate project use search -n NAMESPACE`") {
		t.Errorf("stderr %q", got)
	}
	// -n picks one; it must be the project's.
	o = opts("search", false)
	o.Namespace = "search-prod"
	if err := useRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o = opts("search", false)
	o.Namespace = "payments"
	if err := useRun(context.Background(), o); err == nil || !errors.As(err, &ke) || ke.Kind != errs.KindUsage ||
		!strings.Contains(err.Error(), `namespace "payments" is not one of project "search"'s`) {
		t.Errorf("foreign namespace: %v", err)
	}
	// No namespace of the cluster matches (or a gateway lists a stranger
	// none): a denial for a stranger; nothing is recorded.
	o = opts("search", false)
	o.Namespaces = func(context.Context, *policy.Project) ([]string, error) { return nil, nil }
	if err := useRun(context.Background(), o); err == nil || !errors.As(err, &ke) || ke.Kind != errs.KindForbidden ||
		!strings.Contains(err.Error(), `user "bob" has no role in project "search" (namespaces search-*)`) {
		t.Errorf("no namespace: %v", err)
	}
	// -n on a project of exact names: recorded only when not the default.
	o = opts("payments", false)
	o.Namespace = "payments-a"
	if err := useRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o = opts("", true)
	if err := useRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if strings.Join(written, ",") != "payments/,search/search-dev,search/search-prod,payments/payments-a,/" {
		t.Errorf("written %q", written)
	}
}
