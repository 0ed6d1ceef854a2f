package enforce

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

const testPolicy = `
version: 1
superAdmins: {groups: [ops]}
projects:
  payments:
    namespaces: [payments, payments-staging]
    admins: {users: [alice]}
    guests: {groups: [team-payments]}
  search:
    namespaces: ["search-*"]
    guests: {users: [bob]}
`

type memLog struct{ entries []audit.Entry }

func (m *memLog) Log(e audit.Entry) error { m.entries = append(m.entries, e); return nil }
func (m *memLog) Close() error            { return nil }

type failLog struct{}

func (failLog) Log(audit.Entry) error { return errors.New("disk full") }
func (failLog) Close() error          { return nil }

func fixture(t *testing.T, id policy.Identity) (*Access, *memLog, *[]string) {
	t.Helper()
	pol, err := policy.Parse("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	log := &memLog{}
	a := &Authorizer{
		Identity: func() (policy.Identity, error) { return id, nil },
		Policy:   func() (*policy.Policy, error) { return pol, nil },
		Audit:    func() (audit.Logger, error) { return log, nil },
		Now:      func() time.Time { return time.Unix(100, 0) },
	}
	var nsCalls []string
	acc := &Access{
		Check:    a.Authorize,
		Identity: a.Identity,
		Policy:   a.Policy,
		Namespaces: func(ctx context.Context) ([]string, error) {
			nsCalls = append(nsCalls, "list")
			if _, ok := audit.IDFrom(ctx); !ok {
				t.Error("the namespace list carries no audit id")
			}
			return []string{"default", "payments", "search-a", "search-b", "kube-system"}, nil
		},
	}
	return acc, log, &nsCalls
}

func TestAuthorize(t *testing.T) {
	acc, log, _ := fixture(t, policy.Identity{User: "bob", Groups: []string{"team-payments"}})
	ctx, err := acc.Authorize(context.Background(), policy.Request{Verb: "get", Resource: "pods", Namespace: "payments", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	id, ok := audit.IDFrom(ctx)
	if !ok {
		t.Fatal("no audit id in the context")
	}
	// A second decision of the same command keeps the id.
	if _, err := acc.Authorize(ctx, policy.Request{Verb: "exec", Resource: "pods", Namespace: "payments", Name: "web"}, "sh", "-c", "ls"); err == nil {
		t.Fatal("a guest may exec")
	} else {
		var ke *errs.Error
		if !errors.As(err, &ke) || ke.Kind != errs.KindForbidden || !strings.Contains(err.Error(), `user "bob" is a guest in project "payments"`) {
			t.Errorf("denial: %v", err)
		}
	}
	if len(log.entries) != 2 {
		t.Fatalf("%d audit entries, want 2", len(log.entries))
	}
	a, d := log.entries[0], log.entries[1]
	if a.ID != id || d.ID != id || a.Decision != audit.Allow || d.Decision != audit.Deny {
		t.Errorf("entries: %+v", log.entries)
	}
	if a.User != "bob" || a.Project != "payments" || a.Namespace != "payments" || a.Verb != "get" || a.Resource != "pods" ||
		a.Name != "web" || !a.Time.Equal(time.Unix(100, 0)) || !slices.Equal(a.Groups, []string{"team-payments"}) {
		t.Errorf("allow entry: %+v", a)
	}
	if !slices.Equal(d.Command, []string{"sh", "-c", "ls"}) || d.Reason == "" {
		t.Errorf("deny entry: %+v", d)
	}
}

func TestAuthorizeFailsClosed(t *testing.T) {
	acc, _, _ := fixture(t, policy.Identity{User: "alice"})
	a := &Authorizer{Identity: acc.Identity, Policy: acc.Policy, Audit: func() (audit.Logger, error) { return failLog{}, nil }}
	if _, err := a.Authorize(context.Background(), policy.Request{Verb: "get", Resource: "pods", Namespace: "payments"}); err == nil ||
		!strings.Contains(err.Error(), "audit log") {
		t.Errorf("an unlogged decision went through: %v", err)
	}
	notLoggedIn := errs.AuthErrorf("not logged in")
	a = &Authorizer{Identity: func() (policy.Identity, error) { return policy.Identity{}, notLoggedIn }}
	if _, err := a.Authorize(context.Background(), policy.Request{}); !errors.Is(err, notLoggedIn) {
		t.Errorf("got %v", err)
	}
}

func TestListScopes(t *testing.T) {
	tests := []struct {
		name       string
		id         policy.Identity
		verb, res  string
		ns         string
		namespaced bool
		all        bool
		want       []string
		keep       map[string]bool // nil: Keep must be nil
		nsListed   bool
		err        string
	}{
		{"one namespace", policy.Identity{User: "bob"}, "list", "pods", "search-a", true, false, []string{"search-a"}, nil, false, ""},
		{"denied namespace", policy.Identity{User: "bob"}, "list", "pods", "payments", true, false, nil, nil, false, `user "bob" has no role in project "payments"`},
		{"all, exact names only", policy.Identity{User: "carl", Groups: []string{"team-payments"}}, "list", "pods", "", true, true,
			[]string{"payments", "payments-staging"}, nil, false, ""},
		{"all, globs expanded from the cluster", policy.Identity{User: "bob"}, "list", "pods", "", true, true,
			[]string{"search-a", "search-b"}, nil, true, ""},
		{"all, super admin lists cluster-wide", policy.Identity{User: "o", Groups: []string{"ops"}}, "list", "pods", "", true, true,
			[]string{""}, nil, false, ""},
		{"all secrets: only where admin", policy.Identity{User: "alice", Groups: []string{"team-payments"}}, "list", "secrets", "", true, true,
			[]string{"payments", "payments-staging"}, nil, false, ""},
		{"all secrets, guest everywhere", policy.Identity{User: "bob"}, "list", "secrets", "", true, true,
			nil, nil, true, "list secrets needs admin"},
		{"all, no projects", policy.Identity{User: "nobody"}, "list", "pods", "", true, true, nil, nil, false, ""},
		{"namespaces filtered", policy.Identity{User: "bob"}, "list", "namespaces", "payments", false, false,
			[]string{""}, map[string]bool{"search-a": true, "payments": false, "default": false}, false, ""},
		{"namespaces, super admin", policy.Identity{User: "o", Groups: []string{"ops"}}, "list", "namespaces", "", false, true,
			[]string{""}, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, log, calls := fixture(t, tt.id)
			ctx, sc, err := acc.List(context.Background(), policy.Request{Verb: tt.verb, Resource: tt.res, Namespace: tt.ns, ClusterScoped: !tt.namespaced}, tt.all)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sc.Namespaces, tt.want) {
				t.Errorf("namespaces %q, want %q", sc.Namespaces, tt.want)
			}
			if (len(*calls) > 0) != tt.nsListed {
				t.Errorf("namespaces listed: %v, want %v", *calls, tt.nsListed)
			}
			if tt.keep == nil && sc.Keep != nil {
				t.Error("Keep is set")
			}
			for n, want := range tt.keep {
				if sc.Keep == nil || sc.Keep(n) != want {
					t.Errorf("Keep(%s) != %v", n, want)
				}
			}
			if len(sc.Namespaces) > 0 {
				if _, ok := audit.IDFrom(ctx); !ok {
					t.Error("no audit id")
				}
			}
			for _, e := range log.entries {
				if e.ID != log.entries[0].ID {
					t.Error("one command, several audit ids")
				}
			}
		})
	}
}

func TestTargets(t *testing.T) {
	acc, log, _ := fixture(t, policy.Identity{User: "bob"})
	pods, _ := kube.Lookup("pods")
	secrets, _ := kube.Lookup("secrets")
	nss, _ := kube.Lookup("namespaces")

	_, scopes, err := acc.Targets(context.Background(), "get", "list",
		[]kube.Target{{Resource: pods}, {Resource: pods, Names: []string{"a", "b"}}, {Resource: nss, Names: []string{"search-x"}}}, "search-a", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(scopes) != 3 || !slices.Equal(scopes[0].Namespaces, []string{"search-a"}) {
		t.Errorf("scopes: %+v", scopes)
	}
	var got []string
	for _, e := range log.entries {
		got = append(got, e.Verb+" "+e.Resource+" "+e.Namespace+"/"+e.Name+" "+e.Decision)
	}
	want := []string{"list pods search-a/ allow", "get pods search-a/a allow", "get pods search-a/b allow", "get namespaces /search-x allow"}
	if !slices.Equal(got, want) {
		t.Errorf("decisions:\n got %q\nwant %q", got, want)
	}

	// One denial fails the command, whatever came before.
	log.entries = nil
	_, _, err = acc.Targets(context.Background(), "get", "list",
		[]kube.Target{{Resource: pods}, {Resource: secrets, Names: []string{"db"}}}, "search-a", false)
	if err == nil || !strings.Contains(err.Error(), "get secrets/db needs admin") {
		t.Fatalf("got %v", err)
	}
	if n := len(log.entries); n != 2 || log.entries[1].Decision != audit.Deny {
		t.Errorf("entries: %+v", log.entries)
	}
}

func TestPickNamespace(t *testing.T) {
	pol, _ := policy.Parse("policy.yaml", []byte(testPolicy))
	search, _ := pol.ProjectByName("search")
	payments, _ := pol.ProjectByName("payments")
	for _, tc := range []struct {
		name    string
		user    string
		cluster []string
		pr      *policy.Project
		want    string
		kind    errs.Kind
	}{
		{"a member: the first it may see", "bob", nil, search, "search-a", -1},
		{"a stranger: the first, for the policy to refuse", "alice", nil, search, "search-a", -1},
		{"exact names need no cluster", "bob", []string{}, payments, "payments", -1},
		{"a member, nothing matches yet", "bob", []string{}, search, "", errs.KindNotFound},
		{"a stranger who sees none (a gateway's list)", "alice", []string{}, search, "", errs.KindForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc, _, calls := fixture(t, policy.Identity{User: tc.user})
			if tc.cluster != nil {
				acc.Namespaces = func(context.Context) ([]string, error) { *calls = append(*calls, "list"); return tc.cluster, nil }
			}
			ns, _, err := acc.PickNamespace(context.Background(), tc.pr)
			if tc.kind >= 0 {
				var ke *errs.Error
				if !errors.As(err, &ke) || ke.Kind != tc.kind {
					t.Fatalf("got %q, %v; want kind %v", ns, err, tc.kind)
				}
				if tc.kind == errs.KindForbidden && !strings.Contains(err.Error(), `user "alice" has no role in project "search" (namespaces search-*)`) {
					t.Errorf("denial: %v", err)
				}
				return
			}
			if err != nil || ns != tc.want {
				t.Errorf("got %q, %v; want %q", ns, err, tc.want)
			}
			if tc.pr == payments && len(*calls) > 0 {
				t.Error("the cluster was asked for a project of exact names")
			}
		})
	}
}
