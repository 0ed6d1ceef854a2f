package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/kgate/kgate/internal/policy"
)

// Lock targets.
const (
	LockUser  = "user"
	LockGroup = "group"
)

// Lock refuses a user, or every member of a group, until it is removed or
// expires.
type Lock struct {
	Target  string    `json:"target"` // "user" or "group"
	Name    string    `json:"name"`
	Reason  string    `json:"reason"`
	By      string    `json:"by"`
	Created time.Time `json:"created"`
	// Expires is zero for a lock that lasts until unlocked.
	Expires time.Time `json:"expires,omitzero"`
}

// Message is what a locked-out user is told.
func (l *Lock) Message() string {
	who := fmt.Sprintf("user %q", l.Name)
	if l.Target == LockGroup {
		who = fmt.Sprintf("group %q", l.Name)
	}
	msg := fmt.Sprintf("%s is locked by %s: %s", who, l.By, l.Reason)
	if !l.Expires.IsZero() {
		msg += " (until " + l.Expires.UTC().Format(time.RFC3339) + ")"
	}
	return msg
}

// revoked is a session ended by a logout; it is kept until the session
// would have expired anyway.
type revoked struct {
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// LockSet is one consistent view of the locks and revoked sessions.
type LockSet struct {
	users, groups map[string]*Lock
	sessions      map[string]revoked
}

// Empty reports whether nothing is locked or revoked.
func (s *LockSet) Empty() bool {
	return s == nil || len(s.users) == 0 && len(s.groups) == 0 && len(s.sessions) == 0
}

// Check returns the lock that refuses id at now, or, for a revoked session
// sid, a message saying so. It is a few map lookups: the gateway makes it
// on every request.
func (s *LockSet) Check(id policy.Identity, sid string, now time.Time) (lock *Lock, revokedMsg string) {
	if s.Empty() {
		return nil, ""
	}
	if sid != "" {
		if r, ok := s.sessions[sid]; ok && now.Before(r.Expires.Add(clockSkew)) {
			return nil, "the session was ended (logged out or revoked); log in again"
		}
	}
	if l, ok := s.users[strings.ToLower(id.User)]; ok && l.active(now) {
		return l, ""
	}
	for _, g := range id.Groups {
		if l, ok := s.groups[strings.ToLower(g)]; ok && l.active(now) {
			return l, ""
		}
	}
	return nil, ""
}

func (l *Lock) active(now time.Time) bool { return l.Expires.IsZero() || now.Before(l.Expires) }

// List returns the locks in effect at now, users first, by name.
func (s *LockSet) List(now time.Time) []Lock {
	out := []Lock{}
	if s == nil {
		return out
	}
	for _, m := range []map[string]*Lock{s.users, s.groups} {
		for _, l := range m {
			if l.active(now) {
				out = append(out, *l)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target == LockUser
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// LockStore keeps the locks where every replica sees them.
type LockStore interface {
	// Current is the latest view; never nil.
	Current() *LockSet
	// Lock adds or replaces a lock.
	Lock(ctx context.Context, l Lock) error
	// Unlock removes a lock; it reports whether there was one.
	Unlock(ctx context.Context, target, name string) (bool, error)
	// Revoke ends the session sid of user, which would expire at until.
	Revoke(ctx context.Context, sid, user string, until time.Time) error
}

// ConfigMapLocks keeps locks and revoked sessions in one ConfigMap in the
// gateway's namespace, which every replica watches (an informer): a change
// made through one replica reaches the others within the watch's latency.
// Writes are read-modify-write with the resourceVersion, retried on a
// conflict, and drop expired entries.
type ConfigMapLocks struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Log       *slog.Logger
	// OnChange is called after every change of the view (from the watch).
	OnChange func(*LockSet)
	Now      func() time.Time

	current atomic.Pointer[LockSet]
}

// Start makes sure the ConfigMap exists (creating it empty if it does not,
// which the deploy/ manifests make unnecessary), starts the watch and waits
// until the first list is in. The watch runs until ctx ends.
func (c *ConfigMapLocks) Start(ctx context.Context) error {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.current.Store(&LockSet{})
	cms := c.Client.CoreV1().ConfigMaps(c.Namespace)
	if _, err := cms.Get(ctx, c.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: c.Namespace,
			Labels: map[string]string{"app.kubernetes.io/name": "kgate"}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the locks ConfigMap %s/%s: %w", c.Namespace, c.Name, err)
		}
	} else if err != nil {
		return fmt.Errorf("reading the locks ConfigMap %s/%s: %w", c.Namespace, c.Name, err)
	}
	lw := cache.NewListWatchFromClient(c.Client.CoreV1().RESTClient(), "configmaps", c.Namespace,
		fields.OneTermEqualSelector("metadata.name", c.Name))
	inf := cache.NewSharedIndexInformer(lw, &corev1.ConfigMap{}, 0, cache.Indexers{})
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { c.observe(o) },
		UpdateFunc: func(_, o any) { c.observe(o) },
		DeleteFunc: func(any) { c.set(&LockSet{}) },
	})
	if err != nil {
		return err
	}
	go inf.Run(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), inf.HasSynced) {
		return fmt.Errorf("watching the locks ConfigMap %s/%s: no answer within 30s", c.Namespace, c.Name)
	}
	return nil
}

func (c *ConfigMapLocks) observe(o any) {
	cm, ok := o.(*corev1.ConfigMap)
	if !ok {
		return
	}
	c.set(parseLockSet(cm.Data, c.Log))
}

func (c *ConfigMapLocks) set(s *LockSet) {
	c.current.Store(s)
	if c.OnChange != nil {
		c.OnChange(s)
	}
}

// Notify sets OnChange; call it before Start.
func (c *ConfigMapLocks) Notify(f func(*LockSet)) { c.OnChange = f }

// Current implements LockStore.
func (c *ConfigMapLocks) Current() *LockSet {
	if s := c.current.Load(); s != nil {
		return s
	}
	return &LockSet{}
}

// Lock implements LockStore.
func (c *ConfigMapLocks) Lock(ctx context.Context, l Lock) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return c.update(ctx, func(d map[string]string) bool {
		d[dataKey(l.Target, l.Name)] = string(b)
		return true
	})
}

// Unlock implements LockStore.
func (c *ConfigMapLocks) Unlock(ctx context.Context, target, name string) (bool, error) {
	found := false
	err := c.update(ctx, func(d map[string]string) bool {
		k := dataKey(target, name)
		_, found = d[k]
		delete(d, k)
		return found
	})
	return found, err
}

// Revoke implements LockStore.
func (c *ConfigMapLocks) Revoke(ctx context.Context, sid, user string, until time.Time) error {
	b, _ := json.Marshal(revoked{User: user, Expires: until.UTC()})
	return c.update(ctx, func(d map[string]string) bool {
		d[dataKey("session", sid)] = string(b)
		return true
	})
}

func (c *ConfigMapLocks) update(ctx context.Context, change func(map[string]string) bool) error {
	cms := c.Client.CoreV1().ConfigMaps(c.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, c.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		pruned := prune(cm.Data, c.Now())
		if !change(cm.Data) && !pruned {
			return nil
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("updating the locks ConfigMap %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

// prune drops expired locks and revocations; it reports whether it did.
func prune(d map[string]string, now time.Time) bool {
	changed := false
	for k, v := range d {
		var e struct {
			Expires time.Time `json:"expires"`
		}
		if json.Unmarshal([]byte(v), &e) == nil && !e.Expires.IsZero() && now.After(e.Expires.Add(clockSkew)) {
			delete(d, k)
			changed = true
		}
	}
	return changed
}

// plainKey reports whether name is a ConfigMap key as it is: a lower-case
// letter or digit, then up to 200 of those, '-', '_' and '.'. (Checked by
// hand: the regexp ^[a-z0-9][-a-z0-9_.]{0,200}$ compiles its bounded
// repeat into 200 states at start-up, most of a CLI command's init time.)
func plainKey(name string) bool {
	if len(name) == 0 || len(name) > 201 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_' || c == '.')) {
			return false
		}
	}
	return true
}

// dataKey is the ConfigMap key of an entry: TARGET.NAME when the name is a
// valid key, else TARGET.x + the name in hex.
func dataKey(target, name string) string {
	name = strings.ToLower(name)
	if plainKey(name) {
		return target + "." + name
	}
	return target + ".x" + hex.EncodeToString([]byte(name))
}

func parseLockSet(d map[string]string, lg *slog.Logger) *LockSet {
	s := &LockSet{users: map[string]*Lock{}, groups: map[string]*Lock{}, sessions: map[string]revoked{}}
	for k, v := range d {
		target, id, _ := strings.Cut(k, ".")
		switch target {
		case "session":
			var r revoked
			if err := json.Unmarshal([]byte(v), &r); err != nil {
				lg.Error("a revoked session in the locks ConfigMap does not parse; ignoring it", "key", k, "err", err)
				continue
			}
			s.sessions[id] = r
		case LockUser, LockGroup:
			l := &Lock{}
			if err := json.Unmarshal([]byte(v), l); err != nil || l.Name == "" || l.Target != target {
				// A lock that cannot be read must still lock: an operator
				// editing the ConfigMap by hand means it.
				name := strings.TrimPrefix(id, "x")
				if b, herr := hex.DecodeString(name); herr == nil && strings.HasPrefix(id, "x") {
					name = string(b)
				} else {
					name = id
				}
				lg.Error("a lock in the locks ConfigMap does not parse; it locks anyway", "key", k, "err", err)
				l = &Lock{Target: target, Name: name, Reason: "locked (the lock entry does not parse)", By: "an operator"}
			}
			m := s.users
			if target == LockGroup {
				m = s.groups
			}
			m[strings.ToLower(l.Name)] = l
		default:
			lg.Warn("unknown key in the locks ConfigMap", "key", k)
		}
	}
	return s
}

// staticLocks is a LockStore in memory, for a gateway without a cluster
// store (unit tests).
type staticLocks struct {
	mu       sync.Mutex
	d        map[string]string
	cur      atomic.Pointer[LockSet]
	onChange func(*LockSet)
	now      func() time.Time
}

// NewMemoryLocks returns a LockStore kept in memory (one replica only).
func NewMemoryLocks() LockStore { return &staticLocks{d: map[string]string{}} }

func (m *staticLocks) Notify(f func(*LockSet)) { m.mu.Lock(); m.onChange = f; m.mu.Unlock() }

func (m *staticLocks) Current() *LockSet {
	if s := m.cur.Load(); s != nil {
		return s
	}
	return &LockSet{}
}

func (m *staticLocks) apply(change func(map[string]string) bool) bool {
	m.mu.Lock()
	found := change(m.d)
	s := parseLockSet(m.d, slog.New(slog.DiscardHandler))
	m.cur.Store(s)
	f := m.onChange
	m.mu.Unlock()
	if f != nil {
		f(s)
	}
	return found
}

func (m *staticLocks) Lock(_ context.Context, l Lock) error {
	b, _ := json.Marshal(l)
	m.apply(func(d map[string]string) bool { d[dataKey(l.Target, l.Name)] = string(b); return true })
	return nil
}

func (m *staticLocks) Unlock(_ context.Context, target, name string) (bool, error) {
	return m.apply(func(d map[string]string) bool {
		k := dataKey(target, name)
		_, ok := d[k]
		delete(d, k)
		return ok
	}), nil
}

func (m *staticLocks) Revoke(_ context.Context, sid, user string, until time.Time) error {
	b, _ := json.Marshal(revoked{User: user, Expires: until.UTC()})
	m.apply(func(d map[string]string) bool { d[dataKey("session", sid)] = string(b); return true })
	return nil
}

// errNoLocks is returned by lock operations on a gateway without a store.
var errNoLocks = errors.New("this gateway has no lock store")
