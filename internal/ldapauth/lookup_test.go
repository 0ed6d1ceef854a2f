package ldapauth

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/errs"
)

func TestLookupRereadsGroupsWithOneBindAndOneSearch(t *testing.T) {
	d := newFake()
	a := newAuth(t, testConfig(), d)
	id, err := a.Lookup(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if id.Username != "alice" || id.DN != alice || !slices.Equal(id.Groups, []string{"payments-leads", "team-payments"}) {
		t.Errorf("identity = %+v", id)
	}
	want := []string{"bind " + reader, "search ou=people,dc=test (uid=alice)"}
	if !slices.Equal(d.log, want) {
		t.Errorf("operations = %q, want %q (no user bind, one search)", d.log, want)
	}
}

func TestLookupGoneOrDisabledIsAuth(t *testing.T) {
	d := newFake()
	a := newAuth(t, testConfig(), d)
	if _, err := a.Lookup(context.Background(), "bob"); kindOf(err) != errs.KindAuth {
		t.Errorf("a user not in the directory: %v (kind %v), want KindAuth", err, kindOf(err))
	}
	cfg := testConfig()
	cfg.ActiveFilter = "!(pwdAccountLockedTime=*)"
	a = newAuth(t, cfg, d)
	_, err := a.Lookup(context.Background(), "alice")
	if kindOf(err) != errs.KindAuth {
		t.Errorf("a disabled user: %v, want KindAuth", err)
	}
	if got := d.log[len(d.log)-1]; got != "search ou=people,dc=test (&(uid=alice)(!(pwdAccountLockedTime=*)))" {
		t.Errorf("the search was %q", got)
	}
	// Several entries: refused, not the first picked.
	if _, err := newAuth(t, testConfig(), d).Lookup(context.Background(), "twin"); kindOf(err) != errs.KindAuth {
		t.Errorf("an ambiguous user: %v", err)
	}
}

func TestLookupEscapesTheName(t *testing.T) {
	d := newFake()
	a := newAuth(t, testConfig(), d)
	if _, err := a.Lookup(context.Background(), "a*"); kindOf(err) != errs.KindAuth {
		t.Errorf("a wildcard name: %v", err)
	}
	if got := d.log[len(d.log)-1]; got != `search ou=people,dc=test (uid=a\2a)` {
		t.Errorf("the search was %q", got)
	}
}

func TestLookupUnreachableIsUnavailable(t *testing.T) {
	d := newFake()
	d.errs["search:(uid=alice)"] = ldap.NewError(ldap.ErrorNetwork, errors.New("connection reset"))
	a := newAuth(t, testConfig(), d)
	if _, err := a.Lookup(context.Background(), "alice"); kindOf(err) != errs.KindUnavailable {
		t.Errorf("a lost connection: %v (kind %v), want KindUnavailable", err, kindOf(err))
	}
}
