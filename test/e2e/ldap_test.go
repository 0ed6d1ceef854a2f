package e2e

import (
	"os"
	"strings"
	"testing"
)

// LDAPEnv is the local directory that test/env/slapd.sh runs, as its
// .localenv/ldap.env describes it (make test sources that file).
type LDAPEnv struct {
	StartTLSURL string // ldap://, StartTLS; plaintext binds allowed by the server
	LDAPSURL    string // ldaps://
	TLSOnlyURL  string // ldap:// of the instance with olcSecurity simple_bind=128
	CAFile      string
	BindDN      string
	BindPW      string
	UserBase    string
	GroupBase   string
}

// Directory returns the local directory's settings; it fails the test when
// ldap.env was not sourced.
func Directory(t *testing.T) LDAPEnv {
	t.Helper()
	get := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("%s is not set: start slapd (test/env/slapd.sh start) and source .localenv/ldap.env", k)
		}
		return v
	}
	return LDAPEnv{
		StartTLSURL: get("KGATE_SLAPD_STARTTLS_URL"),
		LDAPSURL:    get("KGATE_SLAPD_LDAPS_URL"),
		TLSOnlyURL:  get("KGATE_SLAPD_TLSONLY_URL"),
		CAFile:      get("KGATE_SLAPD_CA_FILE"),
		BindDN:      get("KGATE_SLAPD_BIND_DN"),
		BindPW:      get("KGATE_SLAPD_BIND_PASSWORD"),
		UserBase:    get("KGATE_SLAPD_USER_BASE"),
		GroupBase:   get("KGATE_SLAPD_GROUP_BASE"),
	}
}

// Password is a seeded user's password (alice, bob, carol, dave, erin, olga,
// a1, a2, dup).
func Password(t *testing.T, user string) string {
	t.Helper()
	k := "KGATE_SLAPD_PASSWORD_" + strings.ToUpper(user)
	pw := os.Getenv(k)
	if pw == "" {
		t.Fatalf("%s is not set: source .localenv/ldap.env", k)
	}
	return pw
}

// UseLDAP points this user's kgate at the local directory through the
// KGATE_LDAP_* environment (StartTLS URL, CA, service account, user base),
// leaving the config file free for other settings.
func (u *User) UseLDAP() {
	u.t.Helper()
	d := Directory(u.t)
	u.Setenv("KGATE_LDAP_URLS", d.StartTLSURL)
	u.Setenv("KGATE_LDAP_CAFILE", d.CAFile)
	u.Setenv("KGATE_LDAP_BINDDN", d.BindDN)
	u.Setenv("KGATE_LDAP_BINDPASSWORD", d.BindPW)
	u.Setenv("KGATE_LDAP_USERBASE", d.UserBase)
}

// Login logs this user in as name (a seeded user) with kgate login
// --password-stdin, and fails the test unless that works.
func (u *User) Login(name string) Result {
	u.t.Helper()
	u.UseLDAP()
	r := u.RunStdin(Password(u.t, name)+"\n", "login", "--username", name, "--password-stdin")
	if r.Code != 0 {
		u.t.Fatalf("kgate login --username %s: %s", name, r)
	}
	return r
}
