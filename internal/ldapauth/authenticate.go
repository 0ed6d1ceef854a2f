package ldapauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/errs"
)

// Identity is who the directory says the user is.
type Identity struct {
	// Username is the value of the username attribute (uid), else what was typed.
	Username string
	DN       string
	Groups   []string
	// Server is the URL of the server that authenticated the user.
	Server string
}

// errInvalidCredentials is the one answer for an unknown user, an ambiguous
// one and a wrong password, so that the message does not reveal which.
func errInvalidCredentials() error {
	return errs.WithHint(errs.AuthErrorf("invalid username or password"),
		"Check your username and password and run `kgate login` again.")
}

// conn is the part of *ldap.Conn the authenticator uses; tests fake it.

// Authenticate checks username and password against the directory and
// returns the user's identity. An empty password is refused before anything
// is sent: to LDAP an empty password is an unauthenticated bind, which succeeds.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string) (*Identity, error) {
	if strings.TrimSpace(username) == "" {
		return nil, errs.AuthErrorf("empty username")
	}
	if password == "" {
		return nil, errs.WithHint(errs.AuthErrorf("empty password: refusing to log in %s", username),
			"An empty password would be an anonymous bind; give your LDAP password.")
	}
	return a.eachServer(ctx, func(s server) (*Identity, error) { return a.authenticateAt(ctx, s, username, password) })
}

// eachServer runs at against the configured servers in order until one
// answers: the first answer (an identity, or a refusal such as a wrong
// password) is the result; a server that cannot be reached passes to the
// next, and when none can, the failures are summarized.
func (a *Authenticator) eachServer(ctx context.Context, at func(server) (*Identity, error)) (*Identity, error) {
	var failures []*transportError
	for _, s := range a.servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, err := at(s)
		if err == nil {
			return id, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var te *transportError
		if !errors.As(err, &te) {
			return nil, err
		}
		failures = append(failures, te)
	}
	return nil, a.summarize(failures)
}

func (a *Authenticator) authenticateAt(ctx context.Context, s server, username, password string) (*Identity, error) {
	c, err := a.connect(ctx, s)
	if err != nil {
		return nil, err
	}
	defer c.Close()

	if a.cfg.BindDN != "" {
		if err := c.Bind(a.cfg.BindDN, a.bindPassword); err != nil {
			return nil, a.opError(s, stepServiceBind, err)
		}
	}

	filter := strings.ReplaceAll(a.cfg.UserFilter, "%s", ldap.EscapeFilter(username))
	var attrs []string
	if a.cfg.UsernameAttribute != "" {
		attrs = append(attrs, a.cfg.UsernameAttribute)
	}
	if a.cfg.GroupBase == "" {
		attrs = append(attrs, a.cfg.GroupAttribute)
	}
	if len(attrs) == 0 {
		attrs = []string{"1.1"} // RFC 4511: the DN only
	}
	// A size limit of 2 is enough to tell one entry from several.
	res, err := c.Search(ldap.NewSearchRequest(a.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(a.cfg.Timeout/time.Second), false, filter, attrs, nil))
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, errInvalidCredentials()
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, configError(fmt.Sprintf("LDAP server %s: the user base %s does not exist or the service account cannot see it", s.url, a.cfg.UserBase),
			"Check ldap.userBase and the service account's rights.")
	case err != nil:
		return nil, a.opError(s, stepUserSearch, err)
	case len(res.Entries) != 1:
		return nil, errInvalidCredentials()
	}
	entry := res.Entries[0]

	if err := c.Bind(entry.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return nil, errInvalidCredentials()
		}
		return nil, a.opError(s, stepUserBind, err)
	}

	id := &Identity{Username: canonicalName(entry, a.cfg.UsernameAttribute, username), DN: entry.DN, Server: s.url}
	if err := a.readGroups(c, s, entry, id); err != nil {
		return nil, err
	}
	return id, nil
}

// readGroups fills id.Groups from the entry's memberOf, or with a group
// search as the service account.
func (a *Authenticator) readGroups(c conn, s server, entry *ldap.Entry, id *Identity) error {
	if a.cfg.GroupBase == "" {
		for _, v := range entry.GetEqualFoldAttributeValues(a.cfg.GroupAttribute) {
			id.Groups = append(id.Groups, groupName(v, a.cfg.GroupNameAttribute))
		}
	} else {
		// The user's own bind may not see the groups; the service account does.
		if a.cfg.BindDN != "" {
			if err := c.Bind(a.cfg.BindDN, a.bindPassword); err != nil {
				return a.opError(s, stepServiceBind, err)
			}
		}
		gf := strings.NewReplacer("%s", ldap.EscapeFilter(entry.DN), "%u", ldap.EscapeFilter(id.Username)).Replace(a.cfg.GroupFilter)
		gres, err := c.Search(ldap.NewSearchRequest(a.cfg.GroupBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, int(a.cfg.Timeout/time.Second), false, gf, []string{a.cfg.GroupNameAttribute}, nil))
		if err != nil {
			return a.opError(s, stepGroupSearch, err)
		}
		for _, g := range gres.Entries {
			if vs := g.GetEqualFoldAttributeValues(a.cfg.GroupNameAttribute); len(vs) > 0 {
				id.Groups = append(id.Groups, vs[0])
			}
		}
	}
	slices.Sort(id.Groups)
	id.Groups = slices.Compact(id.Groups)
	return nil
}

// canonicalName is the entry's value of attr that matches what was typed
// (LDAP matched it case-insensitively), else its first value, else typed.
func canonicalName(e *ldap.Entry, attr, typed string) string {
	if attr == "" {
		return typed
	}
	vs := e.GetEqualFoldAttributeValues(attr)
	for _, v := range vs {
		if strings.EqualFold(v, strings.TrimSpace(typed)) {
			return v
		}
	}
	if len(vs) > 0 {
		return vs[0]
	}
	return typed
}

// groupName turns a memberOf DN into a group name: the value of nameAttr in
// its first RDN (cn=team-payments,ou=groups,... -> team-payments).
func groupName(dn, nameAttr string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) == 0 {
		return dn
	}
	for _, at := range parsed.RDNs[0].Attributes {
		if strings.EqualFold(at.Type, nameAttr) {
			return at.Value
		}
	}
	return parsed.RDNs[0].Attributes[0].Value
}

// step names the operation that failed, for messages.
