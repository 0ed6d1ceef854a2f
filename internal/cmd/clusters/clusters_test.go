package clusters

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/session"
)

const pol = `version: 2
clusters:
  test: {context: kind-test}
  prod: {gateway: "https://gw.prod:8443"}
  lab: {context: lab}
superAdmins: {users: [root]}
projects:
  payments:
    namespaces: [payments]
    clusters:
      test: {admins: {groups: [team-payments]}}
      prod: {guests: {groups: [team-payments]}}
  search:
    namespaces: [search]
    guests: {users: [alice]}
`

func run(t *testing.T, output string) string {
	t.Helper()
	p, err := policy.Parse("p.yaml", []byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	ios, _, out, _ := iostreams.Test()
	err = clustersRun(&Options{IO: ios, Now: func() time.Time { return now },
		Output:  func() (string, error) { return output, nil },
		Policy:  func() (*policy.Policy, error) { return p.ForCluster("prod") },
		Current: func() (string, error) { return "prod", nil },
		Session: func(c policy.Cluster) (*session.Session, error) {
			switch c.Name {
			case "lab":
				return nil, errs.AuthErrorf("not logged in")
			case "prod":
				return &session.Session{User: "alice", Groups: []string{"team-payments"}, Expires: now.Add(2 * time.Hour), Token: "t"}, nil
			}
			return &session.Session{User: "alice", Groups: []string{"team-payments"}, Expires: now.Add(8 * time.Hour)}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestTable(t *testing.T) {
	got := run(t, "")
	want := "CURRENT   NAME   REACHED BY                     YOUR ROLES                       LOGGED IN\n" +
		"          test   context kind-test              admin: payments; guest: search   alice (8h left)\n" +
		"*         prod   gateway https://gw.prod:8443   guest: payments,search           alice (120m left)\n" +
		"          lab    context lab                    -                                no\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestJSON(t *testing.T) {
	var list []Cluster
	if err := json.Unmarshal([]byte(run(t, "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || !list[1].Current || list[1].Gateway != "https://gw.prod:8443" || !list[0].LoggedIn || list[2].LoggedIn ||
		list[0].Roles[0] != (Role{"payments", policy.RoleAdmin}) || list[1].Roles[0] != (Role{"payments", policy.RoleGuest}) {
		t.Errorf("%+v", list)
	}
}
