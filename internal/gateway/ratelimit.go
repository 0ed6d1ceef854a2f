package gateway

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Login failure limits, unless configured otherwise: five failed logins per
// user and per client address, one more every minute after that.
const (
	DefaultLoginFailureLimit  = 5
	DefaultLoginFailureWindow = 5 * time.Minute
)

// failureLimiter counts failed logins per key (a username, a client address)
// with a token bucket each: limit failures at once, refilled at limit per
// window. Only failures take a token; a key with no token left is refused
// before the directory is asked at all.
type failureLimiter struct {
	limit  rate.Limit
	burst  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds the limiter's memory; full buckets are dropped past it.
const maxBuckets = 50000

func newFailureLimiter(limit int, window time.Duration, now func() time.Time) *failureLimiter {
	if limit <= 0 {
		limit = DefaultLoginFailureLimit
	}
	if window <= 0 {
		window = DefaultLoginFailureWindow
	}
	return &failureLimiter{
		limit: rate.Limit(float64(limit) / window.Seconds()), burst: limit, window: window,
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

// sweep drops buckets that have refilled: they are as good as new.
func (l *failureLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}
