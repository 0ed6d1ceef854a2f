package policy

import (
	"reflect"
	"testing"
)

func TestNamespacesOf(t *testing.T) {
	p, err := Parse("policy.yaml", []byte(`version: 1
superAdmins: {groups: [ops]}
projects:
  payments:
    namespaces: [payments, payments-staging]
    guests: {users: [bob]}
  search:
    namespaces: ["search-*", search-tools]
    admins: {groups: [team-search]}
`))
	if err != nil {
		t.Fatal(err)
	}
	cluster := []string{"default", "payments", "search-dev", "search-prod", "zeta"}
	bob := Identity{User: "Bob"}
	dave := Identity{User: "dave", Groups: []string{"team-search"}}
	olga := Identity{User: "olga", Groups: []string{"ops"}}
	if p.NeedsClusterNamespaces(bob) || !p.NeedsClusterNamespaces(dave) || !p.NeedsClusterNamespaces(olga) {
		t.Error("NeedsClusterNamespaces: only globs and super admins need the cluster's list")
	}
	for _, c := range []struct {
		id      Identity
		cluster []string
		want    []string
	}{
		{bob, nil, []string{"payments", "payments-staging"}},
		{dave, nil, []string{"search-tools"}},
		{dave, cluster, []string{"search-dev", "search-prod", "search-tools"}},
		{olga, cluster, []string{"default", "payments", "payments-staging", "search-dev", "search-prod", "search-tools", "zeta"}},
		{Identity{User: "erin"}, cluster, nil},
	} {
		if got := p.NamespacesOf(c.id, c.cluster); !reflect.DeepEqual(got, c.want) {
			t.Errorf("NamespacesOf(%s, %v) = %v, want %v", c.id.User, c.cluster, got, c.want)
		}
	}
}
