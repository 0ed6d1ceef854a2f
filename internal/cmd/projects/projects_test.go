package projects

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
)

const pol = `
version: 1
projects:
  payments:
    namespaces: [payments, payments-staging]
    guests: {groups: [team-payments]}
  search:
    namespaces: ["search-*"]
    admins: {users: [Bob]}
  other:
    namespaces: [other]
`

func run(t *testing.T, user, output string) (string, string) {
	t.Helper()
	return runWith(t, user, output, func(_ context.Context, pr *policy.Project) ([]string, error) {
		return pr.Expand([]string{"search-prod", "default", "search-dev", "payments"}), nil
	})
}

func runWith(t *testing.T, user, output string, nss func(context.Context, *policy.Project) ([]string, error)) (string, string) {
	t.Helper()
	p, err := policy.Parse("p.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	ios, _, out, errOut := iostreams.Test()
	err = projectsRun(context.Background(), &Options{
		Namespaces: nss,
		IO:         ios,
		Identity: func() (policy.Identity, error) {
			return policy.Identity{User: user, Groups: []string{"team-payments"}}, nil
		},
		Policy:  func() (*policy.Policy, error) { return p, nil },
		Output:  func() (string, error) { return output, nil },
		Current: func() (string, error) { return "search", nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String()
}

func TestTable(t *testing.T) {
	out, _ := run(t, "bob", "")
	want := "CURRENT   PROJECT    ROLE    NAMESPACES\n" +
		"          payments   guest   payments,payments-staging\n" +
		"*         search     admin   search-dev,search-prod\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestPatternsWithoutTheCluster(t *testing.T) {
	out, errOut := runWith(t, "bob", "", func(context.Context, *policy.Project) ([]string, error) {
		return nil, errors.New("connection refused")
	})
	if !strings.Contains(out, "*         search     admin   search-*\n") || !strings.Contains(errOut, "connection refused") {
		t.Errorf("got\n%s\n%s", out, errOut)
	}
	out, _ = runWith(t, "bob", "json", func(context.Context, *policy.Project) ([]string, error) { return nil, nil })
	var got []Project
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[1].Namespaces) != 0 || got[1].Namespaces == nil || !slices.Equal(got[1].Patterns, []string{"search-*"}) {
		t.Errorf("no namespace yet: %s", out)
	}
	if out, _ = runWith(t, "bob", "", func(context.Context, *policy.Project) ([]string, error) { return nil, nil }); !strings.Contains(out, "(none yet: search-*)") {
		t.Errorf("no namespace yet:\n%s", out)
	}
}

func TestJSON(t *testing.T) {
	out, _ := run(t, "bob", "json")
	var got []Project
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Name != "search" || got[1].Role != policy.RoleAdmin || !got[1].Current || got[0].Current {
		t.Errorf("got %+v", got)
	}
	if !strings.Contains(out, `"role": "admin"`) {
		t.Errorf("role is not a word: %s", out)
	}
	if out, _ = run(t, "bob", "yaml"); !strings.Contains(out, "- current: false\n  name: payments\n  namespaces:\n  - payments\n") {
		t.Errorf("yaml: %s", out)
	}
}

func TestNone(t *testing.T) {
	p, _ := policy.Parse("p.yaml", []byte(pol))
	ios, _, out, errOut := iostreams.Test()
	err := projectsRun(context.Background(), &Options{
		IO:       ios,
		Identity: func() (policy.Identity, error) { return policy.Identity{User: "erin"}, nil },
		Policy:   func() (*policy.Policy, error) { return p, nil },
		Output:   func() (string, error) { return "", nil },
		Current:  func() (string, error) { return "", nil },
	})
	if err != nil || out.Len() != 0 || !strings.Contains(errOut.String(), "erin holds no role in any project") {
		t.Errorf("err=%v out=%q stderr=%q", err, out, errOut)
	}
	ios, _, out, _ = iostreams.Test()
	err = projectsRun(context.Background(), &Options{
		IO: ios, Identity: func() (policy.Identity, error) { return policy.Identity{User: "erin"}, nil },
		Policy: func() (*policy.Policy, error) { return p, nil }, Output: func() (string, error) { return "json", nil },
		Current: func() (string, error) { return "", nil }})
	if err != nil || strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("json for no projects: %q %v", out, err)
	}
}

const polV2 = `version: 2
clusters:
  test: {context: test}
  prod: {context: prod}
projects:
  payments:
    namespaces: [payments]
    admins: {groups: [payments-leads]}
    clusters:
      test: {admins: {groups: [team-payments]}}
      prod: {guests: {groups: [team-payments]}}
  search:
    namespaces: ["search-*"]
    guests: {users: [bob]}
`

func TestRolesPerCluster(t *testing.T) {
	whole, err := policy.Parse("p.yaml", []byte(polV2))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := whole.ForCluster("prod")
	for _, output := range []string{"", "json"} {
		ios, _, out, _ := iostreams.Test()
		err = projectsRun(context.Background(), &Options{
			IO: ios,
			Identity: func() (policy.Identity, error) {
				return policy.Identity{User: "bob", Groups: []string{"team-payments"}}, nil
			},
			Policy:  func() (*policy.Policy, error) { return prod, nil },
			Output:  func() (string, error) { return output, nil },
			Current: func() (string, error) { return "payments", nil },
			Namespaces: func(_ context.Context, pr *policy.Project) ([]string, error) {
				return pr.Expand([]string{"search-eu"}), nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if output == "" {
			want := "CURRENT   CLUSTER   PROJECT    ROLE    NAMESPACES\n" +
				"          test      payments   admin   payments\n" +
				"          test      search     guest   search-*\n" +
				"*         prod      payments   guest   payments\n" +
				"          prod      search     guest   search-eu\n"
			if out.String() != want {
				t.Errorf("got\n%s\nwant\n%s", out, want)
			}
			continue
		}
		if !strings.Contains(out.String(), `"cluster": "prod"`) || !strings.Contains(out.String(), `"cluster": "test"`) {
			t.Errorf("json: %s", out)
		}
	}
}
