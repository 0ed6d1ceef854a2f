package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/policy"
)

// lockSetOf1000 is a store with 500 user and 500 group locks and 1000
// revoked sessions, none of which concerns bob.
func lockSetOf1000(b *testing.B) LockStore {
	m := NewMemoryLocks()
	for i := range 500 {
		_ = m.Lock(context.Background(), Lock{Target: LockUser, Name: fmt.Sprintf("user%d", i), Reason: "r", By: "o"})
		_ = m.Lock(context.Background(), Lock{Target: LockGroup, Name: fmt.Sprintf("group%d", i), Reason: "r", By: "o"})
	}
	for i := range 1000 {
		_ = m.Revoke(context.Background(), fmt.Sprintf("%032x", i), "u", time.Now().Add(time.Hour))
	}
	return m
}

// BenchmarkLockCheck is the lock check every request makes: a user with
// five groups against 1000 locks and 1000 revoked sessions.
func BenchmarkLockCheck(b *testing.B) {
	s := lockSetOf1000(b).Current()
	id := policy.Identity{User: "bob", Groups: []string{"team-payments", "qa", "a", "b", "c"}}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if l, msg := s.Check(id, "0123456789abcdef0123456789abcdef", now); l != nil || msg != "" {
			b.Fatal("locked")
		}
	}
}

// BenchmarkProxyGetLocks is BenchmarkProxyGet with those locks checked.
func BenchmarkProxyGetLocks(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	f.g.o.Locks = lockSetOf1000(b)
	tok := f.token(t, "bob")
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/namespaces/payments/pods/web-1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
