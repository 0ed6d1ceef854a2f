package main

// The gateway scenario: `kgate serve` (the binary under test) on loopback in
// front of the local API server.
//
//  1. Overhead: the same GET (a Table of the pods of a namespace, as `kgate
//     get pods` asks for it, and one pod) made many times over kept-alive
//     connections, directly with the admin kubeconfig and through the
//     gateway, alternately; p50 and p99 of each and the difference.
//  2. Load: 200 clients, each with its own connection and token, for a minute,
//     mixing get (list pods), logs -f (a few seconds of a followed log) and
//     exec (`echo`), with a short think time; the count of errors, latency
//     per kind, and the gateway's RSS sampled every second.
//
// Tokens are minted by the bench with the gateway's own signing key, for a
// user in a group that the policy makes super admin and a ClusterRoleBinding
// (created here, deleted after) binds to cluster-admin: the directory is not
// part of what is measured.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/kgate/kgate/internal/gateway"
)

const (
	benchGroup   = "kgate-bench"
	benchIssuer  = "https://kgate-bench.invalid"
	tableAccept  = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
	benchBinding = "kgate-bench-gateway"
)

func gatewayReport(kgate string) {
	fmt.Println("== gateway: overhead of kgate serve against direct access, and 200 clients under load")
	admin, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		fatal(err.Error())
	}
	cs := kubernetes.NewForConfigOrDie(admin)
	ctx := context.Background()
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: benchBinding},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: benchGroup}},
	}, metav1.CreateOptions{})
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		fatal("creating the bench's ClusterRoleBinding: " + err.Error())
	}
	defer func() { _ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, benchBinding, metav1.DeleteOptions{}) }()

	gw := startBenchGateway(kgate)
	defer gw.stop()

	ns := envOr("BENCH_GATEWAY_NAMESPACE", "bench-100")
	n, _ := strconv.Atoi(envOr("BENCH_GATEWAY_REQUESTS", "2000"))
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || len(pods.Items) == 0 {
		fatal(fmt.Sprintf("no pods in %s (run seed.sh): %v", ns, err))
	}
	direct := httpClientFor(admin)
	// The same admin credentials, impersonating the bench user as the
	// gateway does: what the API server's own impersonation check costs.
	imp := rest.CopyConfig(admin)
	imp.Impersonate = rest.ImpersonationConfig{UserName: "bench", Groups: []string{benchGroup}}
	directImp := httpClientFor(imp)
	viaGW := httpClientFor(gw.restConfig())
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tDIRECT p50\tp99\tDIRECT+IMPERSONATION p50\tp99\tGATEWAY p50\tp99\tADDED p50\tp99\tGATEWAY CPU")
	for _, target := range []struct{ name, path string }{
		{"get pods -n " + ns + " (Table)", "/api/v1/namespaces/" + ns + "/pods"},
		{"get pod " + pods.Items[0].Name, "/api/v1/namespaces/" + ns + "/pods/" + pods.Items[0].Name},
	} {
		cpu0 := gw.cpuTime()
		r := overhead(target.path, n, []*http.Client{direct, directImp, viaGW}, []string{admin.Host, admin.Host, gw.url})
		cpu := (gw.cpuTime() - cpu0) / time.Duration(n+50)
		d, di, g := r[0], r[1], r[2]
		fmt.Fprintf(tw, "%s\t%.2f ms\t%.2f ms\t%.2f ms\t%.2f ms\t%.2f ms\t%.2f ms\t%+.2f ms\t%+.2f ms\t%d µs\n", target.name,
			ms(pct(d, 0.5)), ms(pct(d, 0.99)), ms(pct(di, 0.5)), ms(pct(di, 0.99)), ms(pct(g, 0.5)), ms(pct(g, 0.99)),
			ms(pct(g, 0.5))-ms(pct(d, 0.5)), ms(pct(g, 0.99))-ms(pct(d, 0.99)), cpu.Microseconds())
	}
	tw.Flush()
	fmt.Printf("(%d requests each, in turn, over kept-alive HTTP/2 connections; ADDED is gateway minus direct, target under 1 ms at p50;\n"+
		" GATEWAY CPU is the gateway process's user+system time per request)\n\n", n)

	clients, _ := strconv.Atoi(envOr("BENCH_GATEWAY_CLIENTS", "200"))
	dur, _ := time.ParseDuration(envOr("BENCH_GATEWAY_DURATION", "60s"))
	loadTest(gw, cs, clients, dur)
}

// overhead measures GET path n times with each client, in turn, after a
// warm-up, so that the machine's load falls on all alike.
func overhead(path string, n int, clients []*http.Client, bases []string) [][]time.Duration {
	get := func(c *http.Client, base string) time.Duration {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept", tableAccept)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			fatal(err.Error())
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fatal(fmt.Sprintf("GET %s%s: %s", base, path, resp.Status))
		}
		return time.Since(start)
	}
	out := make([][]time.Duration, len(clients))
	for i := -50; i < n; i++ {
		for j, c := range clients {
			d := get(c, bases[j])
			if i >= 0 {
				out[j] = append(out[j], d)
			}
		}
	}
	return out
}

func httpClientFor(c *rest.Config) *http.Client {
	hc, err := rest.HTTPClientFor(c)
	if err != nil {
		fatal(err.Error())
	}
	return hc
}

type benchGateway struct {
	cmd    *exec.Cmd
	url    string
	ca     []byte
	tokens *gateway.Tokens
	out    *os.File
}

// startBenchGateway starts `kgate serve` with a throwaway serving
// certificate and signing key, and the admin kubeconfig as its credentials.
func startBenchGateway(kgate string) *benchGateway {
	dir, err := os.MkdirTemp("", "kgate-bench-gateway-")
	if err != nil {
		fatal(err.Error())
	}
	certPEM, keyPEM := selfSigned()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	signing := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	policy := "version: 1\nsuperAdmins:\n  groups: [" + benchGroup + "]\nprojects: {}\n"
	for name, b := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "signing.pem": signing, "policy.yaml": []byte(policy)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			fatal(err.Error())
		}
	}
	key, _ := gateway.NewKey(priv)
	tokens, err := gateway.NewTokens(benchIssuer, "", time.Hour, &key, nil)
	if err != nil {
		fatal(err.Error())
	}
	out, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		fatal(err.Error())
	}
	cmd := exec.Command(kgate, "serve", "--listen", "127.0.0.1:0", "--issuer", benchIssuer,
		"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-private-key-file", filepath.Join(dir, "tls.key"),
		"--signing-key-file", filepath.Join(dir, "signing.pem"), "--policy", filepath.Join(dir, "policy.yaml"),
		"--shutdown-grace", "2s")
	// The directory is never asked (the bench mints tokens), but the
	// configuration must be valid.
	cmd.Env = append(os.Environ(), "KGATE_LDAP_URLS=ldaps://127.0.0.1:1", "KGATE_LDAP_USERBASE=dc=bench",
		"KGATE_CONFIG_DIR="+dir, "KGATE_CACHE_DIR="+dir, "KGATE_STATE_DIR="+dir)
	// Audit lines are counted, not kept in memory.
	cmd.Stdout = out
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		fatal(err.Error())
	}
	re := regexp.MustCompile(`"msg":"serving","address":"([0-9.:]+)"`)
	sc := bufio.NewScanner(stderr)
	addr := ""
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
		fmt.Fprintln(os.Stderr, sc.Text())
	}
	if addr == "" {
		fatal("the gateway did not start")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	return &benchGateway{cmd: cmd, url: "https://" + addr, ca: certPEM, tokens: tokens, out: out}
}

func (g *benchGateway) restConfig() *rest.Config {
	tok, _, err := g.tokens.Issue("bench", "", []string{benchGroup})
	if err != nil {
		fatal(err.Error())
	}
	c := gateway.RESTConfig(g.url, tok, g.ca)
	c.QPS, c.Burst = -1, 0 // no client-side rate limit: measure the gateway
	return c
}

func (g *benchGateway) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb
		}
	}
	return 0
}

// cpuTime is the gateway process's user and system CPU time so far.
func (g *benchGateway) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces), from field 3.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func (g *benchGateway) stop() {
	_ = g.cmd.Process.Signal(os.Interrupt)
	_ = g.cmd.Wait()
	g.out.Close()
	_ = os.RemoveAll(filepath.Dir(g.out.Name()))
}

func selfSigned() (certPEM, keyPEM []byte) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kgate-bench-gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		fatal(err.Error())
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

type opStats struct {
	mu   sync.Mutex
	lat  map[string][]time.Duration
	errs map[string]int
	msgs []string
}

func (s *opStats) add(kind string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errs[kind]++
		if len(s.msgs) < 5 {
			s.msgs = append(s.msgs, kind+": "+err.Error())
		}
		return
	}
	s.lat[kind] = append(s.lat[kind], d)
}

// loadTest runs clients concurrent clients for dur against the gateway.
func loadTest(gw *benchGateway, admin kubernetes.Interface, clients int, dur time.Duration) {
	ctx := context.Background()
	ns := envOr("BENCH_GATEWAY_LOAD_NAMESPACE", "payments")
	pl, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	var running []string
	for _, p := range pl.Items {
		if p.Status.Phase == corev1.PodRunning {
			running = append(running, p.Name)
		}
	}
	if err != nil || len(running) == 0 {
		fatal(fmt.Sprintf("no running web pods in %s: %v", ns, err))
	}
	think, _ := time.ParseDuration(envOr("BENCH_GATEWAY_THINK", "200ms"))
	st := &opStats{lat: map[string][]time.Duration{}, errs: map[string]int{}}
	var logLines atomic.Int64
	stop := time.Now().Add(dur)
	rss0 := gw.rss()
	var peak atomic.Int64
	peak.Store(rss0)
	var samples []int64
	var sampleMu sync.Mutex
	sampleDone := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sampleDone:
				return
			case <-t.C:
				r := gw.rss()
				sampleMu.Lock()
				samples = append(samples, r)
				sampleMu.Unlock()
				if r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cfg := gw.restConfig()
			// Its own connection, as a separate user's process would have.
			cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second}).DialContext
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				st.add("setup", 0, err)
				return
			}
			rng := mrand.New(mrand.NewPCG(uint64(i), 42))
			time.Sleep(time.Duration(rng.Int64N(int64(time.Second)))) // spread the start
			for time.Now().Before(stop) {
				pod := running[rng.IntN(len(running))]
				switch x := rng.IntN(4); {
				case x < 2:
					start := time.Now()
					_, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
					st.add("get", time.Since(start), err)
				case x == 2:
					start := time.Now()
					n, err := followFor(ctx, cs, ns, pod, time.Duration(2+rng.IntN(4))*time.Second)
					logLines.Add(int64(n))
					if err == nil && n == 0 {
						err = errors.New("no log line in the follow window")
					}
					st.add("logs -f", time.Since(start), err)
				default:
					start := time.Now()
					err := execEcho(ctx, cfg, cs, ns, pod)
					st.add("exec", time.Since(start), err)
				}
				time.Sleep(think/2 + time.Duration(rng.Int64N(int64(think))))
			}
		}(i)
	}
	wg.Wait()
	close(sampleDone)
	rssEnd := gw.rss()

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "LOAD (%d clients, %s, think %s)\tOPS\tERRORS\tp50\tp99\n", clients, dur, think)
	kinds := []string{"get", "logs -f", "exec"}
	total, errsN := 0, 0
	for _, k := range kinds {
		l := st.lat[k]
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
		total += len(l) + st.errs[k]
		errsN += st.errs[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f ms\t%.1f ms\n", k, len(l), st.errs[k], ms(pct(l, 0.5)), ms(pct(l, 0.99)))
	}
	errsN += st.errs["setup"]
	tw.Flush()
	sampleMu.Lock()
	mid := int64(0)
	if len(samples) > 0 {
		mid = samples[len(samples)/2]
	}
	sampleMu.Unlock()
	fmt.Printf("total %d operations, %d errors, %d followed log lines; gateway RSS: %.1f MiB idle, %.1f MiB at half time, %.1f MiB peak, %.1f MiB at the end\n",
		total, errsN, logLines.Load(), float64(rss0)/1024, float64(mid)/1024, float64(peak.Load())/1024, float64(rssEnd)/1024)
	for _, m := range st.msgs {
		fmt.Println("  error:", m)
	}
	fmt.Println()
}

// followFor follows a pod's log for d and returns the lines it got.
func followFor(ctx context.Context, cs kubernetes.Interface, ns, pod string, d time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tail := int64(1)
	rc, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "app", Follow: true, TailLines: &tail}).Stream(ctx)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n := 0
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return n, err
	}
	return n, nil
}

// execEcho runs `echo ok` in the pod over WebSocket, as kgate does first.
func execEcho(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, ns, pod string) error {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: "app", Command: []string{"echo", "ok"}, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ex, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &out, Stderr: &errb}); err != nil {
		return err
	}
	if out.String() != "ok\n" {
		return fmt.Errorf("exec output %q %q", out.String(), errb.String())
	}
	return nil
}
