// Package policycache gets the policy from its source (a file, an https://
// URL, a ConfigMap) and keeps the last good copy in the user's cache dir, so
// that most commands never fetch: within the TTL the cached copy is used;
// past it the source is asked again (with the ETag, so an unchanged policy is
// not downloaded or parsed again); when the source cannot be reached the
// cached copy is used, with a warning, until it is older than max-stale, and
// then kgate fails closed. A policy that does not parse or validate is never
// cached, and a cache entry whose bytes do not match its sha256 is never
// trusted.
package policycache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kgate/kgate/internal/atomicfile"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/policy"
)

// Defaults, as in DESIGN.md.
const (
	DefaultTTL      = 5 * time.Minute
	DefaultMaxStale = 24 * time.Hour
	DefaultTimeout  = 10 * time.Second
)

// Options configure a Cache.
type Options struct {
	// Source is a file path, an https:// URL or configmap://NAMESPACE/NAME.
	Source string
	// Cluster names the cluster the policy is read for (and, for a
	// configmap:// source, from): the policy's cluster name, or the
	// kubeconfig context and its server. The cache keeps one copy per
	// cluster and source, so one cluster's policy never answers for
	// another's; empty is a cache of the source alone.
	Cluster string
	// CAFile verifies an https:// source; empty means the system roots.
	CAFile string
	// HTTPClient, when set, fetches an https:// source instead of a client
	// built from CAFile (gateway mode: the gateway's policy, with the
	// session's token).
	HTTPClient *http.Client
	TTL        time.Duration
	MaxStale   time.Duration
	// Timeout bounds one fetch.
	Timeout time.Duration
	// Dir is the cache directory (config.Paths.CacheDir).
	Dir string
	// ConfigMaps reads configmap:// sources.
	ConfigMaps ConfigMapGetter
	// Warn receives one-line warnings (stderr).
	Warn io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Loaded is the policy in effect and where it came from.
type Loaded struct {
	Policy *policy.Policy
	// Raw is the policy document as fetched.
	Raw       []byte
	Source    string
	Cluster   string
	FetchedAt time.Time
	// Age is how long ago the source was last read successfully.
	Age    time.Duration
	SHA256 string
	ETag   string
	// Stale is set when the source could not be read and the cached copy
	// was used instead.
	Stale bool
	// Cached is set when the policy came from the cache, not the source.
	Cached bool
}

// Cache loads the policy.
type Cache struct {
	o Options
}

// New returns a Cache; it reads nothing yet.
func New(o Options) *Cache {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxStale <= 0 {
		o.MaxStale = DefaultMaxStale
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Warn == nil {
		o.Warn = io.Discard
	}
	return &Cache{o: o}
}

// Path is the cache file of the configured cluster and source. Each pair has
// its own, so switching sources or clusters never mixes them up.
func (c *Cache) Path() string {
	key := c.o.Source
	if c.o.Cluster != "" {
		key = c.o.Cluster + "\x00" + c.o.Source
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.o.Dir, "policy-"+hex.EncodeToString(sum[:8])+".cache")
}

// where names the source, and the cluster when there is one, for messages.
func (c *Cache) where() string {
	if c.o.Cluster == "" {
		return c.o.Source
	}
	return c.o.Source + " (cluster " + c.o.Cluster + ")"
}

// Load returns the policy in effect: the cached copy within its TTL, else
// the source's current policy, else (source unreachable or its policy
// invalid) the cached copy until it is older than max-stale.
func (c *Cache) Load(ctx context.Context) (*Loaded, error) {
	src, err := parseSource(c.o.Source, c.o)
	if err != nil {
		return nil, errs.WithHint(err, "Set policy.source in your kgate config file, or KGATE_POLICY_SOURCE, to a file, an https:// URL or configmap://NAMESPACE/NAME.")
	}
	now := c.o.Now()
	cached, cacheErr := c.read()
	if cacheErr != nil && !errors.Is(cacheErr, fs.ErrNotExist) {
		fmt.Fprintf(c.o.Warn, "warning: ignoring the policy cache %s: %v\n", c.Path(), cacheErr)
		cached = nil
	}
	if cached != nil {
		cached.Age = now.Sub(cached.FetchedAt)
		// A fetch time in the future (a clock that jumped) is not trusted to
		// be fresh.
		if cached.Age >= 0 && cached.Age < c.o.TTL {
			return cached, nil
		}
	}

	etag := ""
	if cached != nil {
		etag = cached.ETag
	}
	fctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	f, err := src.fetch(fctx, etag)
	cancel()
	if err == nil && f.notModified {
		if cached == nil || etag == "" {
			err = fmt.Errorf("%s answered not modified, but kgate has no copy", src.name())
		} else {
			cached.FetchedAt, cached.Age, cached.ETag = now, 0, f.etag
			if werr := c.write(cached); werr != nil {
				fmt.Fprintf(c.o.Warn, "warning: could not update the policy cache: %v\n", werr)
			}
			return cached, nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return c.fallback(cached, now, err, "is unreachable")
	}

	pol, perr := policy.Parse(src.name(), f.data)
	if perr != nil {
		if cached != nil && c.usable(cached, now) {
			return c.fallback(cached, now, perr, "serves an invalid policy")
		}
		return nil, fmt.Errorf("invalid policy:\n%w", perr)
	}
	l := &Loaded{
		Policy: pol, Raw: f.data, Source: c.o.Source, Cluster: c.o.Cluster, FetchedAt: now,
		SHA256: hexSum(f.data), ETag: f.etag,
	}
	if err := c.write(l); err != nil {
		fmt.Fprintf(c.o.Warn, "warning: could not write the policy cache: %v\n", err)
	}
	return l, nil
}

func (c *Cache) usable(l *Loaded, now time.Time) bool {
	age := now.Sub(l.FetchedAt)
	return age >= 0 && age < c.o.MaxStale
}

// fallback uses the cached copy after a failed fetch, or fails closed.
func (c *Cache) fallback(cached *Loaded, now time.Time, cause error, what string) (*Loaded, error) {
	if cached != nil && c.usable(cached, now) {
		cached.Age, cached.Stale, cached.Cached = now.Sub(cached.FetchedAt), true, true
		fmt.Fprintf(c.o.Warn, "warning: policy source %s %s (%s); using the copy cached %s ago\n",
			c.where(), what, oneLine(cause), duration.HumanDuration(cached.Age))
		return cached, nil
	}
	var e error
	if cached == nil {
		e = errs.UnavailableErrorf("policy source %s %s and there is no cached copy: %w", c.where(), what, cause)
	} else {
		e = errs.UnavailableErrorf("policy source %s %s and the cached copy is %s old, older than max-stale (%s): %w",
			c.where(), what, duration.HumanDuration(now.Sub(cached.FetchedAt)), c.o.MaxStale, cause)
	}
	return nil, errs.WithHint(e, "kgate allows nothing without a current policy. Check that the policy source is reachable, or ask your kgate administrators.")
}

func hexSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func oneLine(err error) string {
	return string(bytes.ReplaceAll([]byte(err.Error()), []byte("\n"), []byte("; ")))
}

// The cache file is a magic line, a JSON header line, then the policy as
// fetched and its compiled form, whose sizes and sha256 sums the header
// records. Loading the compiled form instead of parsing YAML is what keeps a
// 10,000-project policy under 50 ms.
const magic = "kgate-policy-cache 1\n"

type header struct {
	Source         string    `json:"source"`
	Cluster        string    `json:"cluster,omitempty"`
	FetchedAt      time.Time `json:"fetchedAt"`
	ETag           string    `json:"etag,omitempty"`
	SHA256         string    `json:"sha256"`
	Size           int       `json:"size"`
	CompiledSHA256 string    `json:"compiledSha256"`
	CompiledSize   int       `json:"compiledSize"`
}

// read returns the cached copy of the configured source. An entry that is
// torn, corrupt, for another source or writable by others is an error: the
// caller ignores it and fetches.
func (c *Cache) read() (*Loaded, error) {
	path := c.Path()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("%s is writable by others (mode %s)", path, st.Mode().Perm())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	rest, ok := bytes.CutPrefix(data, []byte(magic))
	if !ok {
		return nil, errors.New("not a kgate policy cache")
	}
	line, body, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return nil, errors.New("truncated")
	}
	var h header
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("bad header: %w", err)
	}
	if h.Source != c.o.Source {
		return nil, fmt.Errorf("holds the policy of %s, not %s", h.Source, c.o.Source)
	}
	if h.Cluster != c.o.Cluster {
		return nil, fmt.Errorf("holds the policy of %s for cluster %q, not %q", h.Source, h.Cluster, c.o.Cluster)
	}
	if h.Size < 0 || h.CompiledSize < 0 || len(body) != h.Size+h.CompiledSize {
		return nil, fmt.Errorf("truncated or padded: %d bytes, want %d", len(body), h.Size+h.CompiledSize)
	}
	raw, compiled := body[:h.Size], body[h.Size:]
	if hexSum(raw) != h.SHA256 {
		return nil, errors.New("the policy does not match its recorded sha256")
	}
	if hexSum(compiled) != h.CompiledSHA256 {
		return nil, errors.New("the compiled policy does not match its recorded sha256")
	}
	pol := &policy.Policy{}
	if err := pol.UnmarshalBinary(compiled); err != nil {
		return nil, err
	}
	return &Loaded{
		Policy: pol, Raw: raw, Source: h.Source, Cluster: h.Cluster, FetchedAt: h.FetchedAt,
		SHA256: h.SHA256, ETag: h.ETag, Cached: true,
	}, nil
}

// write replaces the cache file atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func (c *Cache) write(l *Loaded) error {
	compiled, err := l.Policy.MarshalBinary()
	if err != nil {
		return err
	}
	h := header{
		Source: c.o.Source, Cluster: c.o.Cluster, FetchedAt: l.FetchedAt.UTC(), ETag: l.ETag,
		SHA256: l.SHA256, Size: len(l.Raw),
		CompiledSHA256: hexSum(compiled), CompiledSize: len(compiled),
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, len(magic)+len(hj)+1+len(l.Raw)+len(compiled))
	buf = append(append(append(append(append(buf, magic...), hj...), '\n'), l.Raw...), compiled...)
	return atomicfile.Write(c.Path(), buf)
}
