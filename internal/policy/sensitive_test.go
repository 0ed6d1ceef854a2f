package policy

import (
	"strings"
	"testing"
)

func TestSensitiveKinds(t *testing.T) {
	bob := Identity{User: "bob"}     // guest in payments
	alice := Identity{User: "alice"} // admin in payments
	get := func(res, group string) Request {
		return Request{Verb: VerbGet, Resource: res, Group: group, Namespace: "payments"}
	}
	def := mustParse(t, basePolicy)
	named := mustParse(t, basePolicy+"sensitiveKinds: [secrets, certificates.cert-manager.io]\n")
	none := mustParse(t, basePolicy+"sensitiveKinds: []\n")
	for _, tc := range []struct {
		name    string
		pol     *Policy
		id      Identity
		req     Request
		allowed bool
	}{
		{"default: secrets need admin", def, bob, get("secrets", ""), false},
		{"default: a CRD is readable", def, bob, get("certificates", "cert-manager.io"), true},
		{"default: another group's secrets are not core Secrets", def, bob, get("secrets", "example.com"), true},
		{"named: secrets", named, bob, get("secrets", ""), false},
		{"named: the CRD", named, bob, get("certificates", "cert-manager.io"), false},
		{"named: the CRD, by an admin", named, alice, get("certificates", "cert-manager.io"), true},
		{"named: same plural elsewhere", named, bob, get("certificates", "example.com"), true},
		{"named: list and watch too", named, bob, Request{Verb: VerbWatch, Resource: "certificates", Group: "cert-manager.io", Namespace: "payments"}, false},
		{"empty list: nothing sensitive", none, bob, get("secrets", ""), true},
	} {
		d := tc.pol.Decide(tc.id, tc.req)
		if d.Allowed != tc.allowed {
			t.Errorf("%s: allowed %v, want %v (%s)", tc.name, d.Allowed, tc.allowed, d.Reason)
		}
		if !d.Allowed && !strings.Contains(d.Reason, "needs admin") {
			t.Errorf("%s: reason %q", tc.name, d.Reason)
		}
	}
	if d := named.Decide(bob, get("certificates", "cert-manager.io")); !strings.Contains(d.Reason, "get certificates.cert-manager.io needs admin") {
		t.Errorf("the reason names the kind with its group: %s", d.Reason)
	}
}

func TestSensitiveKindsParse(t *testing.T) {
	for _, bad := range []string{"[Secrets]", "[secret/x]", "[\"\"]", "secrets"} {
		_, err := Parse("policy.yaml", []byte(basePolicy+"sensitiveKinds: "+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "sensitiveKinds") {
			t.Errorf("sensitiveKinds: %s: want an error naming the field, got %v", bad, err)
		}
	}
}

func TestClusterScopedDenial(t *testing.T) {
	p := mustParse(t, basePolicy)
	d := p.Decide(Identity{User: "bob"}, Request{Verb: VerbList, Resource: "nodes", ClusterScoped: true})
	if d.Allowed || !strings.Contains(d.Reason, `list nodes: nodes are cluster-scoped, and cluster-scoped kinds are reserved to super admins; user "bob" is not one`) {
		t.Errorf("nodes for a guest: %v %s", d.Allowed, d.Reason)
	}
	if d := p.Decide(Identity{User: "root"}, Request{Verb: VerbList, Resource: "nodes", ClusterScoped: true}); !d.Allowed {
		t.Errorf("nodes for a super admin: %s", d.Reason)
	}
}
