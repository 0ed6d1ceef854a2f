package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

const (
	annotationLogInterval       = "kgate.dev/log-interval"
	annotationPortForwardTarget = "kgate.dev/port-forward-target"
)

// agent holds the pod view shared by all handlers.
type agent struct {
	cs       kubernetes.Interface
	o        options
	selector labels.Selector

	pods  corelisters.PodLister
	nodes corelisters.NodeLister

	// session is put in the environment of every exec'd process
	// (KGATE_NODEAGENT_SESSION) so the agent can find its leftovers.
	session string

	mu    sync.Mutex
	known map[types.UID]*podState
	// started is when the agent started (the node's own CPU counter).
	started time.Time
}

// podState is what the agent keeps per pod it has seen on its nodes.
type podState struct {
	logDir, workDir string
	gen             *generator // nil when the pod is not running
}

func newAgent(cs kubernetes.Interface, o options) *agent {
	return &agent{cs: cs, o: o, known: map[types.UID]*podState{}, started: time.Now(),
		session: fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())}
}

func (a *agent) start(ctx context.Context) error {
	sel, err := labels.Parse(a.o.nodeSelector)
	if err != nil {
		return fmt.Errorf("--node-selector %q: %w", a.o.nodeSelector, err)
	}
	a.selector = sel
	podFactory := informers.NewSharedInformerFactoryWithOptions(a.cs, 0,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermNotEqualSelector("spec.nodeName", "").String()
		}))
	nodeFactory := informers.NewSharedInformerFactoryWithOptions(a.cs, 0,
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = sel.String() }))
	a.pods = podFactory.Core().V1().Pods().Lister()
	a.nodes = nodeFactory.Core().V1().Nodes().Lister()
	podInf := podFactory.Core().V1().Pods().Informer()
	nodeInf := nodeFactory.Core().V1().Nodes().Informer()
	podFactory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), podInf.HasSynced, nodeInf.HasSynced) {
		return fmt.Errorf("pod and node caches did not sync within 60s")
	}
	a.removeStaleLogDirs()
	go a.reconcileLoop(ctx)
	return nil
}

// pod returns a pod on one of this agent's nodes.
func (a *agent) pod(namespace, name string) (*v1.Pod, bool) {
	p, err := a.pods.Pods(namespace).Get(name)
	if err != nil {
		return nil, false
	}
	if !a.ownsNode(p.Spec.NodeName) {
		return nil, false
	}
	return p, true
}

func (a *agent) ownsNode(name string) bool {
	if name == "" {
		return false
	}
	n, err := a.nodes.Get(name)
	if err != nil {
		if !errors.IsNotFound(err) {
			klog.ErrorS(err, "node lookup", "node", name)
		}
		return false
	}
	return a.selector.Matches(labels.Set(n.Labels))
}

func podRunning(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodRunning && p.DeletionTimestamp == nil
}

// podLogDir is the kubelet's /var/log/pods layout.
func (a *agent) podLogDir(p *v1.Pod) string {
	return filepath.Join(a.o.podLogDir, fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID))
}

func (a *agent) containerLogPath(p *v1.Pod, container string, restartCount int32) string {
	return filepath.Join(a.podLogDir(p), container, fmt.Sprintf("%d.log", restartCount))
}

func (a *agent) podWorkDir(p *v1.Pod) string {
	return filepath.Join(a.o.podDir, fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID))
}

// restartCount of a container from the pod status (0 if unknown).
func restartCount(p *v1.Pod, container string) int32 {
	for _, list := range [][]v1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses, p.Status.EphemeralContainerStatuses} {
		for _, s := range list {
			if s.Name == container {
				return s.RestartCount
			}
		}
	}
	return 0
}

func containerExists(p *v1.Pod, name string) bool {
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	for _, c := range p.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

func (a *agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	for _, p := range []string{"/exec/{ns}/{pod}/{container}", "/exec/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, a.serveExec)
	}
	for _, p := range []string{"/attach/{ns}/{pod}/{container}", "/attach/{ns}/{pod}/{uid}/{container}"} {
		mux.HandleFunc(p, a.serveAttach)
	}
	for _, p := range []string{"/portForward/{ns}/{pod}", "/portForward/{ns}/{pod}/{uid}"} {
		mux.HandleFunc(p, a.servePortForward)
	}
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", a.serveContainerLogs)
	mux.HandleFunc("GET /metrics/resource", a.serveResourceMetrics)
	return requireClientCert(mux)
}

func requireClientCert(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		start := time.Now()
		next.ServeHTTP(w, r)
		if r.URL.Path != "/healthz" {
			user := ""
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				user = r.TLS.PeerCertificates[0].Subject.CommonName
			}
			klog.InfoS("request", "method", r.Method, "path", r.URL.Path, "user", user, "duration", time.Since(start))
		}
	})
}

// lookupPod resolves the pod of a request, writing a 404 like the kubelet's when
// it is unknown.
func (a *agent) lookupPod(w http.ResponseWriter, r *http.Request) (*v1.Pod, bool) {
	p, ok := a.pod(r.PathValue("ns"), r.PathValue("pod"))
	if !ok {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return nil, false
	}
	if uid := r.PathValue("uid"); uid != "" && types.UID(uid) != p.UID {
		http.Error(w, "pod not found", http.StatusNotFound)
		return nil, false
	}
	return p, true
}

// reconcileLoop keeps one log generator per running pod and removes the files
// of pods that are gone, as the kubelet does.
func (a *agent) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		a.reconcile()
		select {
		case <-ctx.Done():
			a.mu.Lock()
			for _, st := range a.known {
				if st.gen != nil {
					st.gen.stop()
				}
			}
			a.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

func (a *agent) reconcile() {
	pods, err := a.pods.List(labels.Everything())
	if err != nil {
		klog.ErrorS(err, "list pods")
		return
	}
	seen := map[types.UID]*v1.Pod{}
	for _, p := range pods {
		if a.ownsNode(p.Spec.NodeName) {
			seen[p.UID] = p
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, st := range a.known {
		p, ok := seen[uid]
		if st.gen != nil && (!ok || !podRunning(p) || st.gen.interval != a.interval(p)) {
			st.gen.stop()
			st.gen = nil
		}
		if !ok {
			// The pod is gone: its processes, logs and working directory go with it.
			go a.killProcs(func(env map[string]string) bool { return env["KGATE_POD_UID"] == string(uid) })
			stopMainProcs(uid)
			_ = os.RemoveAll(st.logDir)
			_ = os.RemoveAll(st.workDir)
			delete(a.known, uid)
		}
	}
	for uid, p := range seen {
		st, ok := a.known[uid]
		if !ok {
			st = &podState{logDir: a.podLogDir(p), workDir: a.podWorkDir(p)}
			a.known[uid] = st
		}
		if podRunning(p) {
			if st.gen == nil {
				st.gen = a.newGenerator(p)
				go st.gen.run()
			}
			a.ensureLogFiles(p)
			if len(p.Spec.EphemeralContainers) > len(p.Status.EphemeralContainerStatuses) {
				go a.startEphemeral(p)
			}
		}
	}
}

func (a *agent) interval(p *v1.Pod) time.Duration {
	v, ok := p.Annotations[annotationLogInterval]
	if !ok {
		return a.o.logInterval
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		klog.InfoS("ignoring bad annotation", "pod", klog.KObj(p), "annotation", annotationLogInterval, "value", v)
		return a.o.logInterval
	}
	return d
}

// removeStaleLogDirs deletes log and working directories of pods that no longer
// exist (left by an earlier run of the agent).
func (a *agent) removeStaleLogDirs() {
	pods, _ := a.pods.List(labels.Everything())
	live := map[string]bool{}
	for _, p := range pods {
		live[fmt.Sprintf("%s_%s_%s", p.Namespace, p.Name, p.UID)] = true
	}
	for _, root := range []string{a.o.podLogDir, a.o.podDir} {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if e.IsDir() && strings.Count(e.Name(), "_") >= 2 && !live[e.Name()] {
				_ = os.RemoveAll(filepath.Join(root, e.Name()))
			}
		}
	}
}

// killAll ends every process exec started that is still around (on shutdown).
func (a *agent) killAll() { a.killProcs(func(map[string]string) bool { return true }) }

// killProcs SIGKILLs the processes started by this agent's execs (found by
// KGATE_NODEAGENT_SESSION in their environment) for which match is true,
// including background children an exec left behind.
func (a *agent) killProcs(match func(env map[string]string) bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	marker := []byte("KGATE_NODEAGENT_SESSION=" + a.session + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(b, marker) {
			continue
		}
		env := map[string]string{}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if k, v, ok := strings.Cut(string(kv), "="); ok {
				env[k] = v
			}
		}
		if match(env) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// generator appends "<pod>/<container> line <n>" to every container's current
// log file once per interval.
type generator struct {
	a        *agent
	ns, name string
	uid      types.UID
	interval time.Duration
	done     chan struct{}
	once     sync.Once
}

func (a *agent) newGenerator(p *v1.Pod) *generator {
	_ = os.MkdirAll(a.podWorkDir(p), 0o755)
	return &generator{a: a, ns: p.Namespace, name: p.Name, uid: p.UID, interval: a.interval(p), done: make(chan struct{})}
}

// ensureLogFiles creates the current log file of every container of a running
// pod, so `logs` works at once, also when generation is off, and a new file
// appears when a restart count goes up.
func (a *agent) ensureLogFiles(p *v1.Pod) {
	names := make([]string, 0, len(p.Spec.Containers)+len(p.Spec.EphemeralContainers))
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	// An ephemeral container (debug) has a log to attach to as well.
	for _, c := range p.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	for _, name := range names {
		path := a.containerLogPath(p, name, restartCount(p, name))
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			klog.ErrorS(err, "create log dir", "path", path)
			continue
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			f.Close()
		}
	}
}

func (g *generator) stop() { g.once.Do(func() { close(g.done) }) }

func (g *generator) run() {
	if g.interval <= 0 {
		return
	}
	t := time.NewTicker(g.interval)
	defer t.Stop()
	n := map[string]int{}
	for first := true; ; first = false {
		// The first line at once, so a just-started pod has logs.
		if !first {
			select {
			case <-g.done:
				return
			case <-t.C:
			}
		}
		p, ok := g.a.pod(g.ns, g.name)
		if !ok || p.UID != g.uid || !podRunning(p) {
			continue
		}
		now := time.Now().UTC().Format(time.RFC3339Nano)
		for _, c := range p.Spec.Containers {
			n[c.Name]++
			line := fmt.Sprintf("%s stdout F %s/%s line %d\n", now, p.Name, c.Name, n[c.Name])
			path := g.a.containerLogPath(p, c.Name, restartCount(p, c.Name))
			if err := appendLine(path, line); err != nil {
				klog.ErrorS(err, "append log line", "path", path)
			}
		}
	}
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
