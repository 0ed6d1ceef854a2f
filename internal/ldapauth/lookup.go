package ldapauth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/kgate/kgate/internal/errs"
)

// Lookup reads a user's entry again with the service account - no user
// password - as a session refresh does: the user must still be found by
// ldap.userFilter (and ldap.activeFilter, when set: an entry it does not
// match counts as disabled), and the groups are read afresh. It costs one
// bind and one search (two searches with a group search). A user no longer
// found is a KindAuth error; an unreachable directory KindUnavailable.
func (a *Authenticator) Lookup(ctx context.Context, username string) (*Identity, error) {
	if strings.TrimSpace(username) == "" {
		return nil, errs.AuthErrorf("empty username")
	}
	return a.eachServer(ctx, func(s server) (*Identity, error) { return a.lookupAt(ctx, s, username) })
}

// noLongerHint is the hint of a refresh refused because the directory
// no longer has the user, or has them disabled.
const noLongerHint = "Ask your directory administrators about your account, then run `kgate login` again."

func (a *Authenticator) lookupAt(ctx context.Context, s server, username string) (*Identity, error) {
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
	if f := strings.TrimSpace(a.cfg.ActiveFilter); f != "" {
		if !strings.HasPrefix(f, "(") {
			f = "(" + f + ")"
		}
		filter = "(&" + filter + f + ")"
	}
	attrs := []string{}
	if a.cfg.UsernameAttribute != "" {
		attrs = append(attrs, a.cfg.UsernameAttribute)
	}
	if a.cfg.GroupBase == "" {
		attrs = append(attrs, a.cfg.GroupAttribute)
	}
	if len(attrs) == 0 {
		attrs = []string{"1.1"}
	}
	res, err := c.Search(ldap.NewSearchRequest(a.cfg.UserBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(a.cfg.Timeout/time.Second), false, filter, attrs, nil))
	switch {
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, errs.WithHint(errs.AuthErrorf("user %q matches several directory entries", username), noLongerHint)
	case err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return nil, configError(fmt.Sprintf("LDAP server %s: the user base %s does not exist or the service account cannot see it", s.url, a.cfg.UserBase),
			"Check ldap.userBase and the service account's rights.")
	case err != nil:
		return nil, a.opError(s, stepUserSearch, err)
	case len(res.Entries) == 0:
		return nil, errs.WithHint(errs.AuthErrorf("user %q is no longer in the directory, or is disabled", username), noLongerHint)
	case len(res.Entries) > 1:
		return nil, errs.WithHint(errs.AuthErrorf("user %q matches several directory entries", username), noLongerHint)
	}
	entry := res.Entries[0]
	id := &Identity{Username: canonicalName(entry, a.cfg.UsernameAttribute, username), DN: entry.DN, Server: s.url}
	if err := a.readGroups(c, s, entry, id); err != nil {
		return nil, err
	}
	return id, nil
}
