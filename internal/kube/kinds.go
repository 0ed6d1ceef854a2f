package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/kgate/kgate/internal/atomicfile"
	"github.com/kgate/kgate/internal/errs"
)

// DefaultDiscoveryTTL is how long a cluster's discovery is trusted, as
// kubectl's discovery cache does (6 hours).
const DefaultDiscoveryTTL = 6 * time.Hour

// Kinds resolves kinds as users type them, against every kind the cluster
// serves. The built-in kinds (Resources) are the fast path and never need
// discovery; any other name is looked up in the cluster's discovery, cached
// on disk per cluster (File) for TTL and fetched again once when a name is
// not in it. A nil *Kinds knows the built-in kinds only.
//
// It is safe for concurrent use.
type Kinds struct {
	// Discover fetches the cluster's discovery (aggregated where served);
	// nil means the cluster is never asked (completion, tests).
	Discover func() ([]*metav1.APIGroup, []*metav1.APIResourceList, error)
	// File is this cluster's cache file; empty means FileFor, and when that
	// is nil too, no disk cache.
	File string
	// FileFor names the cache file when it is first needed (the built-in
	// kinds never need it, so `get pods` does not pay for it).
	FileFor func() string
	// TTL is how long the cache is trusted; 0 means DefaultDiscoveryTTL.
	TTL time.Duration
	Now func() time.Time

	mu      sync.Mutex
	loaded  bool  // the disk cache was read
	fetched bool  // discovery was asked in this process
	err     error // why discovery failed, if it did
	cache   *discoveryCache
	index   map[string][]int // name (plural, singular, kind, short) → resources
}

// discoveryCache is what the cache file holds.
type discoveryCache struct {
	Version int       `json:"version"`
	Fetched time.Time `json:"fetched"`
	// Resources are the served resources (no subresources), preferred
	// versions first within a group, in discovery's order.
	Resources []cachedResource `json:"resources"`
}

type cachedResource struct {
	Group        string   `json:"group,omitempty"`
	Version      string   `json:"version"`
	Resource     string   `json:"resource"`
	Kind         string   `json:"kind"`
	Singular     string   `json:"singular,omitempty"`
	ShortNames   []string `json:"shortNames,omitempty"`
	Namespaced   bool     `json:"namespaced,omitempty"`
	Verbs        []string `json:"verbs,omitempty"`
	Categories   []string `json:"categories,omitempty"`
	Subresources []string `json:"subresources,omitempty"`
	Preferred    bool     `json:"preferred,omitempty"`
}

const cacheVersion = 1

func (c cachedResource) resource() Resource {
	singular := c.Singular
	if singular == "" {
		singular = strings.ToLower(c.Kind)
	}
	return withAbilities(Resource{
		GVR:  schema.GroupVersionResource{Group: c.Group, Version: c.Version, Resource: c.Resource},
		Kind: c.Kind, Singular: singular, ShortNames: c.ShortNames, Namespaced: c.Namespaced,
		Verbs: c.Verbs, Categories: c.Categories,
	})
}

// NewKinds returns a resolver that discovers with d and caches in file.
func NewKinds(d discovery.DiscoveryInterface, file string) *Kinds {
	k := &Kinds{File: file}
	if d != nil {
		k.Discover = func() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
			return discovery.ServerGroupsAndResources(d)
		}
	}
	return k
}

// CacheFile returns the cache file of a cluster under dir: one file per
// cluster, server and user, as kubectl keeps one directory per server.
// cluster names the cluster apart from its URL (the policy's cluster name,
// or the kubeconfig context), since two clusters can be reached at one URL
// (a tunnel, a gateway); empty leaves it out.
func CacheFile(dir, cluster, server, user string) string {
	host := server
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	name := host + "_" + user
	key := server + "\x00" + user
	if cluster != "" {
		name = cluster + "_" + name
		key = cluster + "\x00" + key
	}
	var b strings.Builder
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, "discovery", b.String()+"-"+hex.EncodeToString(sum[:4])+".json")
}

// Lookup resolves one kind: a built-in one at once, any other through
// discovery. An unknown kind is a usage error with the nearest names.
func (k *Kinds) Lookup(name string) (Resource, error) {
	if r, ok := byName[strings.ToLower(name)]; ok {
		return r, nil
	}
	if k == nil {
		return Resource{}, unknownKind(name, nil)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.load()
	k.refreshStale()
	if r, ok := k.find(name); ok {
		return r, nil
	}
	if k.refresh() {
		if r, ok := k.find(name); ok {
			return r, nil
		}
	}
	return Resource{}, k.unknown(name)
}

// unknown is the error for a name neither the built-in kinds nor discovery
// know; when the cluster could not be asked and nothing is cached, it is
// that failure.
func (k *Kinds) unknown(name string) error {
	if k.cache == nil && k.err != nil {
		return fmt.Errorf("looking up the kind %q in the cluster's discovery: %w", name, k.err)
	}
	return unknownKind(name, k.allNames())
}

// Expand resolves a kind or a category ("all"): the resources it stands for.
func (k *Kinds) Expand(name string) ([]Resource, error) {
	lower := strings.ToLower(name)
	if r, ok := byName[lower]; ok {
		return []Resource{r}, nil
	}
	if k == nil {
		if rs := builtinCategory(lower); len(rs) > 0 {
			return rs, nil
		}
		return nil, unknownKind(name, nil)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.load()
	k.refreshStale()
	if r, ok := k.find(name); ok {
		return []Resource{r}, nil
	}
	if rs := k.category(lower); len(rs) > 0 {
		return rs, nil
	}
	if k.refresh() {
		if r, ok := k.find(name); ok {
			return []Resource{r}, nil
		}
		if rs := k.category(lower); len(rs) > 0 {
			return rs, nil
		}
	}
	if rs := builtinCategory(lower); len(rs) > 0 && k.cache == nil {
		// The cluster could not be asked: the built-in members of the category.
		return rs, nil
	}
	return nil, k.unknown(name)
}

// ParseArgs turns kubectl-style arguments into targets (see the package
// function ParseArgs), resolving kinds and categories with k.
func (k *Kinds) ParseArgs(args []string) ([]Target, error) {
	return parseArgs(args, k.Lookup, k.Expand)
}

// Known returns the kinds known without asking the cluster: the built-in
// ones and those of the disk cache, whatever its age (completion, help).
func (k *Kinds) Known() []Resource {
	out := slices.Clone(Resources)
	if k == nil {
		return out
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.load()
	if k.cache == nil {
		return out
	}
	seen := map[schema.GroupResource]bool{}
	for _, r := range out {
		seen[r.GVR.GroupResource()] = true
	}
	for _, c := range k.cache.Resources {
		r := c.resource()
		if !c.Preferred || seen[r.GVR.GroupResource()] {
			continue
		}
		seen[r.GVR.GroupResource()] = true
		out = append(out, r)
	}
	return out
}

// Served returns every resource the cluster serves at its preferred version,
// from discovery (the cache within its TTL). An error means the cluster
// could not be asked and there is no cache.
func (k *Kinds) Served() ([]Resource, error) {
	if k == nil {
		return slices.Clone(Resources), nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.load()
	var err error
	if k.cache == nil || k.stale() {
		err = k.fetch()
	}
	if k.cache == nil {
		if err == nil {
			err = errors.New("no discovery")
		}
		return nil, err
	}
	var out []Resource
	for _, c := range k.cache.Resources {
		if c.Preferred {
			out = append(out, c.resource())
		}
	}
	return out, nil
}

// Offline returns a resolver that reads k's cache but never asks the
// cluster (completion).
func (k *Kinds) Offline() *Kinds {
	if k == nil {
		return nil
	}
	return &Kinds{File: k.File, FileFor: k.FileFor, TTL: 1<<63 - 1, Now: k.Now}
}

// Refresh fetches discovery now, whatever the cache's age.
func (k *Kinds) Refresh() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetch()
}

func (k *Kinds) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Kinds) stale() bool {
	ttl := k.TTL
	if ttl == 0 {
		ttl = DefaultDiscoveryTTL
	}
	return k.cache == nil || k.now().Sub(k.cache.Fetched) > ttl || k.cache.Fetched.After(k.now().Add(time.Minute))
}

// load reads the disk cache once. A missing, unreadable or foreign file is
// no cache.
func (k *Kinds) load() {
	if k.loaded {
		return
	}
	k.loaded = true
	if k.File == "" && k.FileFor != nil {
		k.File = k.FileFor()
	}
	if k.File == "" {
		return
	}
	b, err := os.ReadFile(k.File)
	if err != nil {
		return
	}
	var c discoveryCache
	if json.Unmarshal(b, &c) != nil || c.Version != cacheVersion {
		return
	}
	k.setCache(&c)
}

// refreshStale fetches discovery when the cache is missing or past its TTL;
// when the cluster cannot be asked, a stale cache is still used.
func (k *Kinds) refreshStale() {
	if k.stale() {
		k.refresh()
	}
}

// refresh asks discovery once per process when the cache may be behind
// (stale, or missing the name asked for). It reports whether it fetched.
func (k *Kinds) refresh() bool {
	if k.fetched || k.Discover == nil {
		return false
	}
	return k.fetch() == nil
}

func (k *Kinds) fetch() error {
	if k.Discover == nil {
		return errors.New("discovery is not available")
	}
	k.fetched = true
	groups, lists, err := k.Discover()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		k.err = err
		return err
	}
	// A group that failed (an aggregated API down) is left out; the others
	// are good.
	c := &discoveryCache{Version: cacheVersion, Fetched: k.now().UTC(), Resources: fromDiscovery(groups, lists)}
	if len(c.Resources) == 0 {
		return errors.New("discovery returned no resources")
	}
	k.setCache(c)
	if k.File != "" {
		// A cache that cannot be written only costs the next run a fetch.
		_ = writeFileAtomic(k.File, c)
	}
	return nil
}

func fromDiscovery(groups []*metav1.APIGroup, lists []*metav1.APIResourceList) []cachedResource {
	byGV := map[string]*metav1.APIResourceList{}
	for _, l := range lists {
		if l != nil {
			byGV[l.GroupVersion] = l
		}
	}
	var out []cachedResource
	add := func(gv schema.GroupVersion, preferred bool) {
		l := byGV[gv.String()]
		if l == nil {
			return
		}
		subs := map[string][]string{}
		for _, r := range l.APIResources {
			if main, sub, ok := strings.Cut(r.Name, "/"); ok {
				subs[main] = append(subs[main], sub)
			}
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			c := cachedResource{
				Group: gv.Group, Version: gv.Version, Resource: r.Name, Kind: r.Kind, Singular: r.SingularName,
				ShortNames: r.ShortNames, Namespaced: r.Namespaced, Verbs: r.Verbs, Categories: r.Categories,
				Subresources: subs[r.Name], Preferred: preferred,
			}
			if r.Group != "" || r.Version != "" {
				// A resource may live in another group-version than its list.
				c.Group, c.Version = r.Group, r.Version
			}
			out = append(out, c)
		}
	}
	for _, g := range groups {
		if g == nil {
			continue
		}
		pref := g.PreferredVersion.Version
		if pref == "" && len(g.Versions) > 0 {
			pref = g.Versions[0].Version
		}
		add(schema.GroupVersion{Group: g.Name, Version: pref}, true)
		for _, v := range g.Versions {
			if v.Version != pref {
				add(schema.GroupVersion{Group: g.Name, Version: v.Version}, false)
			}
		}
	}
	return out
}

func (k *Kinds) setCache(c *discoveryCache) {
	k.cache = c
	k.index = map[string][]int{}
	for i, r := range c.Resources {
		names := []string{r.Resource, r.Singular, strings.ToLower(r.Kind)}
		for _, s := range r.ShortNames {
			names = append(names, strings.ToLower(s))
		}
		for _, n := range slices.Compact(names) {
			if n != "" {
				k.index[n] = append(k.index[n], i)
			}
		}
	}
}

// find resolves name against the cache: NAME, NAME.GROUP or
// NAME.VERSION.GROUP, as kubectl reads them. An unqualified name prefers the
// core group, then the first group discovery lists (its priority order), at
// the preferred version.
func (k *Kinds) find(typed string) (Resource, bool) {
	if k.cache == nil {
		return Resource{}, false
	}
	// Kind.group: the kind part may be capitalised ("Certificate.cert-manager.io").
	name, rest, _ := strings.Cut(typed, ".")
	name, rest = strings.ToLower(name), strings.ToLower(rest)
	cands := k.index[name]
	pick := func(ok func(cachedResource) bool) (Resource, bool) {
		best := -1
		for _, i := range cands {
			c := k.cache.Resources[i]
			if !ok(c) {
				continue
			}
			if best < 0 || better(c, k.cache.Resources[best]) {
				best = i
			}
		}
		if best < 0 {
			return Resource{}, false
		}
		return k.cache.Resources[best].resource(), true
	}
	if rest == "" {
		return pick(func(cachedResource) bool { return true })
	}
	if version, group, ok := strings.Cut(rest, "."); ok {
		if r, ok := pick(func(c cachedResource) bool { return c.Version == version && c.Group == group }); ok {
			return r, true
		}
	} else if r, ok := pick(func(c cachedResource) bool { return c.Group == "" && c.Version == rest }); ok {
		return r, true // pods.v1
	}
	return pick(func(c cachedResource) bool { return c.Group == rest })
}

// better reports whether a beats b for an unqualified name: the core group,
// then the preferred version; otherwise discovery's order (b came first).
func better(a, b cachedResource) bool {
	if (a.Group == "") != (b.Group == "") {
		return a.Group == ""
	}
	return a.Preferred && !b.Preferred
}

// category returns the preferred resources of a category, in discovery's
// order, as kubectl expands "all".
func (k *Kinds) category(name string) []Resource {
	if k.cache == nil {
		return nil
	}
	var out []Resource
	for _, c := range k.cache.Resources {
		if c.Preferred && slices.Contains(c.Categories, name) {
			out = append(out, c.resource())
		}
	}
	return out
}

func builtinCategory(name string) []Resource {
	var out []Resource
	for _, r := range Resources {
		if slices.Contains(r.Categories, name) {
			out = append(out, r)
		}
	}
	return out
}

// allNames are every name a kind may be typed as (did-you-mean).
func (k *Kinds) allNames() []string {
	var out []string
	if k.cache != nil {
		for n := range k.index {
			out = append(out, n)
		}
	}
	return out
}

// unknownKind is the usage error of a kind nobody serves, with the nearest
// names when there is one.
func unknownKind(name string, known []string) error {
	for n := range byName {
		if !strings.Contains(n, ".") {
			known = append(known, n)
		}
	}
	err := errs.UsageErrorf("the server doesn't have a resource type %q", name)
	if s := Suggest(strings.ToLower(name), known); len(s) > 0 {
		return errs.WithHint(err, "Did you mean "+quoteOr(s)+"?")
	}
	return errs.WithHint(err, "Kinds include: "+SupportedList()+"; `kgate get all` lists the usual ones.")
}

func quoteOr(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Suggest returns up to three names of known nearest to typed: those at the
// smallest edit distance, if it is at most 2 (1 for names of three letters
// or fewer).
func Suggest(typed string, known []string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	seen := map[string]bool{}
	limit := 2
	if len(typed) <= 3 {
		limit = 1
	}
	for _, n := range known {
		if seen[n] || n == typed {
			continue
		}
		seen[n] = true
		if d := distance(typed, n); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for i := 0; i < len(cs) && i < 3 && cs[i].d == cs[0].d; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// distance is the Damerau–Levenshtein distance (optimal string alignment)
// of a and b: a swapped pair of letters is one typo.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// writeFileAtomic writes v as JSON to path through a temporary file and a
// rename, in a directory only the user may read (0700, file 0600).
func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return atomicfile.Write(path, b)
}

// StaticKinds returns a resolver whose cluster serves lists (and nothing is
// cached on disk): for tests of commands that resolve kinds.
func StaticKinds(lists ...*metav1.APIResourceList) *Kinds {
	var groups []*metav1.APIGroup
	seen := map[string]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil || seen[gv.Group] {
			continue
		}
		seen[gv.Group] = true
		v := metav1.GroupVersionForDiscovery{GroupVersion: l.GroupVersion, Version: gv.Version}
		groups = append(groups, &metav1.APIGroup{Name: gv.Group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
	}
	return &Kinds{Discover: func() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) { return groups, lists, nil }}
}
