package gateway

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login failure limits, unless configured otherwise: five failed logins per
// user and client address, one more every minute after that.
const (
	DefaultLoginFailureLimit  = 5
	DefaultLoginFailureWindow = 5 * time.Minute
)

// loginScale is how much larger the per-user (any address) and per-address
// (any user) allowances are than the per-(user, address) one.
const loginScale = 4

// loginLimits are the three limits on failed logins. Failing on purpose
// from one address locks out only that (user, address) pair: the real user
// elsewhere still logs in. A user attacked from many addresses at once is
// held by the per-user allowance, larger but refilled no faster than one
// pair's; one address trying many users is held by the per-address one.
type loginLimits struct {
	pair, user, addr *failureLimiter
}

func newLoginLimits(limit int, window time.Duration, now func() time.Time) *loginLimits {
	if limit <= 0 {
		limit = DefaultLoginFailureLimit
	}
	if window <= 0 {
		window = DefaultLoginFailureWindow
	}
	return &loginLimits{
		pair: newFailureLimiter(limit, window, now),
		// As many failures as four addresses get, refilled at one pair's rate.
		user: newFailureLimiter(loginScale*limit, loginScale*window, now),
		addr: newFailureLimiter(loginScale*limit, window, now),
	}
}

// check reports whether user (normalized) may try from addr now; when not,
// how long to wait and which limit holds, for messages.
func (l *loginLimits) check(user, addr string) (wait time.Duration, why string, lim *failureLimiter, scope string) {
	if w := l.pair.retryAfter(user + "\x00" + addr); w > 0 {
		wait, lim, scope = w, l.pair, "user-address"
		why = fmt.Sprintf("too many failed logins for user %q from %s", user, addr)
	}
	if w := l.user.retryAfter(user); w > wait {
		wait, lim, scope = w, l.user, "user"
		why = fmt.Sprintf("too many failed logins for user %q from all addresses", user)
	}
	if w := l.addr.retryAfter(addr); w > wait {
		wait, lim, scope = w, l.addr, "address"
		why = fmt.Sprintf("too many failed logins from %s, for any user", addr)
	}
	if lim != nil {
		why += fmt.Sprintf(" (the limit is %d per %s)", lim.burst, lim.window)
	}
	return wait, why, lim, scope
}

// fail records a failed login of user from addr.
func (l *loginLimits) fail(user, addr string) {
	l.pair.fail(user + "\x00" + addr)
	l.user.fail(user)
	l.addr.fail(addr)
}

// failureLimiter counts failed logins per key with a token bucket each:
// burst failures at once, refilled at burst per window. Only failures take a
// token; a key with no token left is refused before the directory is asked.
type failureLimiter struct {
	limit  rate.Limit
	burst  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds a limiter's memory: full buckets are dropped past it,
// and if none is full, arbitrary ones.
const maxBuckets = 50000

func newFailureLimiter(burst int, window time.Duration, now func() time.Time) *failureLimiter {
	return &failureLimiter{
		limit: rate.Limit(float64(burst) / window.Seconds()), burst: burst, window: window,
		now: now, buckets: map[string]*rate.Limiter{},
	}
}

// retryAfter reports how long key must wait before its next attempt; zero
// when it may try now.
func (l *failureLimiter) retryAfter(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return 0
	}
	tokens := b.TokensAt(l.now())
	if tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1-tokens)/float64(l.limit))) * time.Second
}

// fail records a failed attempt by key.
func (l *failureLimiter) fail(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	b.AllowN(now, 1)
}

// sweep drops buckets that have refilled: they are as good as new. If that
// frees nothing (a flood of invented keys), it drops a tenth of them.
func (l *failureLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < maxBuckets*9/10 {
			break
		}
		delete(l.buckets, k)
	}
}
