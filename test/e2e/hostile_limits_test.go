package e2e

// Hostile clients against the gateway's limits: login limits that spelling
// cannot sidestep, slow and oversized clients, unbounded metric labels,
// policies that reach system namespaces, and faults (LDAP down, the policy
// source broken, the gateway and the API server restarting under running
// commands). Every case checks the answer and what reached the cluster:
// kube-apiserver's audit log.

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fromAddr is an HTTPS client for g whose connections come from the
// loopback address local (127.0.0.2, …), as another client machine would.
func (g *gw) fromAddr(local string) *http.Client {
	ca, err := os.ReadFile(g.CAFile)
	if err != nil {
		g.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: d.DialContext,
	}}
}

// loginAs posts a login from the address local and returns the status and body.
func (g *gw) loginAs(local, user, password string) (int, string) {
	g.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := g.fromAddr(local).Post(g.URL+"/kgate/v1/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// noKubeAudit fails if kube-apiserver's audit log has any event with needle
// (after waiting a moment: it is written asynchronously).
func noKubeAudit(t *testing.T, needle string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if evs := kubeAudit(t, needle); len(evs) > 0 {
		t.Errorf("%d events with %s reached the API server, the first: %v", len(evs), needle, evs[0])
	}
}

// noImpersonation fails if any kube audit event impersonated user.
func noImpersonation(t *testing.T, user string) {
	t.Helper()
	b, _ := json.Marshal(user)
	noKubeAudit(t, `"impersonatedUser":{"username":`+string(b))
}

func TestHostileLoginLimits(t *testing.T) {
	g := startGateway(t, gwOptions{args: []string{"--login-failure-limit", "3", "--login-failure-window", "1h"}})
	carol := Password(t, "carol")

	// Failures in other spellings of carol, from one address, are carol's.
	for _, spelling := range []string{"Carol", "ｃａｒｏｌ", "carol  "} {
		t.Run("failure as "+strconv.Quote(spelling), func(t *testing.T) {
			if code, body := g.loginAs("127.0.0.2", spelling, "wrong"); code != 401 || !strings.Contains(body, "invalid username or password") {
				t.Errorf("%d %s", code, body)
			}
		})
	}
	for _, spelling := range []string{"carol", "CAROL", "ｃａｒｏｌ", "carol\u200b", " CaRoL "} {
		t.Run("limited as "+strconv.Quote(spelling), func(t *testing.T) {
			code, body := g.loginAs("127.0.0.2", spelling, carol)
			if code != 429 || !strings.Contains(body, `too many failed logins for user \"carol\" from 127.0.0.2`) {
				t.Errorf("%d %s", code, body)
			}
		})
	}
	t.Run("the limit is logged under the normalized name", func(t *testing.T) {
		if l := g.lastAudit(map[string]string{"verb": "login", "decision": "deny"}); l["user"] != "carol" {
			t.Errorf("audit %v", l)
		}
	})
	// The real carol, elsewhere, is not locked out.
	t.Run("the real user from another address logs in", func(t *testing.T) {
		if code, body := g.loginAs("127.0.0.3", "carol", carol); code != 200 || !strings.Contains(body, `"user":"carol"`) {
			t.Errorf("%d %s", code, body)
		}
	})
	// Many addresses against one user: the per-user allowance (4 × 3).
	t.Run("one user attacked from many addresses waits everywhere", func(t *testing.T) {
		for i := 0; i < 9; i++ { // 3 more from each of three addresses: 12 in all
			g.loginAs(fmt.Sprintf("127.0.1.%d", i/3+1), "carol", "wrong")
		}
		code, body := g.loginAs("127.0.0.9", "carol", carol)
		if code != 429 || !strings.Contains(body, "from all addresses (the limit is 12 per 4h0m0s)") {
			t.Errorf("%d %s", code, body)
		}
	})
	// One address trying many users.
	t.Run("password spraying from one address", func(t *testing.T) {
		for i := 0; i < 12; i++ {
			g.loginAs("127.0.2.1", fmt.Sprintf("nobody%d", i), "wrong")
		}
		if code, body := g.loginAs("127.0.2.1", "erin", Password(t, "erin")); code != 429 || !strings.Contains(body, "from 127.0.2.1, for any user") {
			t.Errorf("%d %s", code, body)
		}
		if code, _ := g.loginAs("127.0.2.2", "erin", Password(t, "erin")); code != 200 {
			t.Errorf("erin from elsewhere: %d", code)
		}
	})
	// Injection and odd names: refused, never a match, never a token.
	for _, tc := range []struct {
		name string
		code int
	}{
		{"*)(uid=*", 401},
		{"*", 401},
		{"carol)(|(uid=*", 401},
		{"admin\\00", 401},
		{"admin\x00", 401},
		{"c*", 401},
		{strings.Repeat("a", 300), 400},
		{strings.Repeat("ｗ", 2000), 400},
		{"\xff\xfe", 400},
		{"   ", 400},
	} {
		t.Run("name "+strconv.QuoteToASCII(tc.name[:min(len(tc.name), 20)]), func(t *testing.T) {
			code, body := g.loginAs("127.0.3.1", tc.name, "x")
			if code != tc.code || strings.Contains(body, "token") {
				t.Errorf("%d %s", code, body)
			}
		})
	}
	// No login reaches the cluster; no one was impersonated under a strange name.
	for _, u := range []string{"ｃａｒｏｌ", "*)(uid=*", "nobody0"} {
		noImpersonation(t, u)
	}
	if strings.Contains(g.Proc.Output(), carol) {
		t.Error("a password is in the gateway's output")
	}
}

// limitsGateway is a gateway with short limits, so that the cases run quickly.
func limitsGateway(t *testing.T) *gw {
	t.Helper()
	ensureRBAC(t)
	return startGateway(t, gwOptions{args: []string{"--read-header-timeout", "2s", "--idle-timeout", "2s", "--request-body-timeout", "2s"}})
}

// closedWithin waits for the server to close conn.
func closedWithin(t *testing.T, what string, conn net.Conn, d time.Duration) {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(d + 5*time.Second))
	_, err := io.Copy(io.Discard, conn)
	if took := time.Since(start); err != nil || took > d {
		t.Errorf("%s: closed after %s (%v), want within %s", what, took.Round(time.Millisecond), err, d)
	}
}

func (g *gw) dialTLS(t *testing.T) *tls.Conn {
	t.Helper()
	ca, _ := os.ReadFile(g.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c, err := tls.Dial("tcp", strings.TrimPrefix(g.URL, "https://"), &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trickle writes head at once, then body one byte every gap, and returns
// the status line and how long it took to come.
func trickle(t *testing.T, c net.Conn, head, body string, gap time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	for i := 0; i < len(body); i++ {
		select {
		case l := <-got:
			return l, time.Since(start)
		case <-time.After(gap):
		}
		if _, err := c.Write([]byte{body[i]}); err != nil {
			break
		}
	}
	select {
	case l := <-got:
		return l, time.Since(start)
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
	}
	return "", 0
}

func TestHostileSlowAndOversizedClients(t *testing.T) {
	g := limitsGateway(t)
	alice := gwUser(t, g, "alice")
	tok := alice.token()
	host := strings.TrimPrefix(g.URL, "https://")
	mark := randomSuffix(t) // the audit log outlives test runs

	t.Run("silent TCP connection", func(t *testing.T) {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		closedWithin(t, "no TLS handshake", c, 4*time.Second)
	})
	t.Run("trickled headers (slowloris)", func(t *testing.T) {
		c := g.dialTLS(t)
		defer c.Close()
		go func() {
			_, _ = io.WriteString(c, "GET /api/v1/namespaces/payments/pods?slowloris="+mark+" HTTP/1.1\r\nHost: x\r\n")
			for i := 0; i < 30; i++ {
				if _, err := fmt.Fprintf(c, "X-Slow-%d: y\r\n", i); err != nil {
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		closedWithin(t, "trickled headers", c, 4*time.Second)
		noKubeAudit(t, "slowloris="+mark+"")
	})
	t.Run("login body one byte every 2s", func(t *testing.T) {
		c := g.dialTLS(t)
		defer c.Close()
		body := `{"username":"alice","password":"` + Password(t, "alice") + `"}`
		line, took := trickle(t, c, fmt.Sprintf("POST /kgate/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)), body, 2*time.Second)
		if !strings.Contains(line, " 408 ") || took > 6*time.Second {
			t.Errorf("%q after %s", line, took)
		}
	})
	t.Run("API body one byte every 2s", func(t *testing.T) {
		c := g.dialTLS(t)
		defer c.Close()
		body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"trickled-cm"}}`
		line, took := trickle(t, c, fmt.Sprintf("POST /api/v1/namespaces/payments/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", tok, len(body)), body, 2*time.Second)
		if !strings.Contains(line, " 408 ") || took > 6*time.Second {
			t.Errorf("%q after %s", line, took)
		}
		time.Sleep(500 * time.Millisecond)
		for _, ev := range kubeAudit(t, "/configmaps/trickled-cm", `"name":"trickled-cm"`) {
			if rs, _ := ev["responseStatus"].(map[string]any); fmt.Sprint(rs["code"]) == "201" {
				t.Errorf("the trickled ConfigMap was created: %v", ev)
			}
		}
		if r := Kubectl(t, "get", "cm", "-n", "payments", "trickled-cm"); r.Code == 0 {
			t.Error("the trickled ConfigMap exists")
		}
	})
	post := func(path, token string, body io.Reader, length int64) (int, string) {
		req, _ := http.NewRequest("POST", g.URL+path, body)
		req.ContentLength = length
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := g.client().Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("oversized login body", func(t *testing.T) {
		big := `{"username":"alice","password":"` + strings.Repeat("x", 17<<10) + `"}`
		if code, body := post("/kgate/v1/login", "", strings.NewReader(big), int64(len(big))); code != 413 || !strings.Contains(body, "16 KiB") {
			t.Errorf("%d %s", code, body)
		}
	})
	t.Run("oversized chunked login body", func(t *testing.T) {
		big := `{"username":"alice","password":"` + strings.Repeat("x", 64<<10) + `"}`
		if code, body := post("/kgate/v1/login", "", io.MultiReader(strings.NewReader(big)), -1); code != 413 {
			t.Errorf("%d %.200s", code, body)
		}
	})
	huge := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"huge-cm"},"data":{"x":"` + strings.Repeat("x", 4<<20) + `"}}`
	t.Run("oversized API body, unauthenticated", func(t *testing.T) {
		if code, body := post("/api/v1/namespaces/payments/configmaps?oversized=1"+mark, "", strings.NewReader(huge), int64(len(huge))); code != 413 || !strings.Contains(body, "3 MiB") {
			t.Errorf("%d %.200s", code, body)
		}
		noKubeAudit(t, "oversized=1"+mark)
	})
	t.Run("oversized API body, chunked, by an admin", func(t *testing.T) {
		// 413, or the connection cut while the client still writes.
		if code, body := post("/api/v1/namespaces/payments/configmaps?oversized=2"+mark, tok, io.MultiReader(strings.NewReader(huge)), -1); code != 413 &&
			!(code == 0 && (strings.Contains(body, "connection reset") || strings.Contains(body, "broken pipe"))) {
			t.Errorf("%d %.200s", code, body)
		}
		time.Sleep(500 * time.Millisecond)
		for _, ev := range kubeAudit(t, "oversized=2"+mark) {
			if rs, _ := ev["responseStatus"].(map[string]any); fmt.Sprint(rs["code"]) == "201" {
				t.Errorf("the oversized ConfigMap was created: %v", ev)
			}
		}
		if r := Kubectl(t, "get", "cm", "-n", "payments", "huge-cm"); r.Code == 0 {
			t.Error("the oversized ConfigMap exists")
		}
	})
	t.Run("oversized headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", g.URL+"/api/v1/namespaces/payments/pods?bigheader="+mark+"", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Big", strings.Repeat("b", 2<<20))
		resp, err := g.client().Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 431 {
				t.Errorf("%d", resp.StatusCode)
			}
		}
		noKubeAudit(t, "bigheader="+mark+"")
	})
	t.Run("a small body still works", func(t *testing.T) {
		name := "small-cm-" + randomSuffix(t)
		body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"` + name + `"}}`
		if code, b := post("/api/v1/namespaces/payments/configmaps", tok, strings.NewReader(body), -1); code != 201 {
			t.Errorf("%d %s", code, b)
		}
		t.Cleanup(func() { Kubectl(t, "delete", "cm", "-n", "payments", name, "--ignore-not-found") })
		for _, ev := range waitKubeAudit(t, "/configmaps") {
			if strings.Contains(fmt.Sprint(ev["objectRef"]), name) {
				if imp, _ := ev["impersonatedUser"].(map[string]any); imp["username"] != "alice" {
					t.Errorf("created as %v", ev["impersonatedUser"])
				}
			}
		}
	})
	t.Run("idle connections are closed", func(t *testing.T) {
		var conns []*tls.Conn
		for i := 0; i < 40; i++ {
			c := g.dialTLS(t)
			defer c.Close()
			_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			conns = append(conns, c)
		}
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				closedWithin(t, fmt.Sprintf("idle connection %d", i), c, 5*time.Second)
			}()
		}
		wg.Wait()
	})
	// Long streams are long by design: the body and header timeouts never
	// cut an exec session or a followed log.
	t.Run("exec longer than every timeout", func(t *testing.T) {
		pod := webPod(t, alice)
		r := alice.RunStdin("in\n", "exec", "-i", "-n", "payments", pod, "--", "sh", "-c", "sleep 5; cat; echo done")
		if r.Code != 0 || !strings.Contains(r.Stdout, "in\ndone") {
			t.Errorf("exec: %s", r)
		}
	})
	t.Run("watch longer than every timeout", func(t *testing.T) {
		p := alice.Start("get", "pods", "-n", "payments", "-w")
		time.Sleep(6 * time.Second)
		if _, done := p.Wait(0); done {
			t.Errorf("the watch ended: %s", p.Output())
		}
		p.Stop()
	})
}

func TestHostileMetricLabelsStayBounded(t *testing.T) {
	g := limitsGateway(t)
	before := metricSeries(t, g)
	mark := randomSuffix(t)
	client := g.client()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				method := fmt.Sprintf("INVENTED%d", i)
				path := fmt.Sprintf("/invented/%d/x", i)
				if i%2 == 1 {
					path = fmt.Sprintf("/api/v1/namespaces/payments/pods?metricsflood%s=%d", mark, i)
				}
				req, _ := http.NewRequest(method, g.URL+path, nil)
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for i := 0; i < 10000; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	after := metricSeries(t, g)
	if after > before+10 {
		t.Errorf("%d request series after 10,000 invented methods and paths (%d before)", after, before)
	}
	noKubeAudit(t, "metricsflood"+mark)
}

// metricSeries counts the gateway's request metric series.
func metricSeries(t *testing.T, g *gw) int {
	t.Helper()
	code, body := g.get("/metrics", "", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	n := 0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "kgate_gateway_requests_total{") || strings.HasPrefix(l, "kgate_gateway_request_duration_seconds_count{") {
			n++
			if strings.Contains(strings.ToLower(l), "invented") {
				t.Errorf("an invented label value: %s", l)
			}
		}
	}
	return n
}

func TestHostilePolicyReachingSystemNamespaces(t *testing.T) {
	u := NewUser(t)
	for _, pat := range []string{"*", "kube-*", "d*", "*-system", "kube-?ublic", "*lease", "[dk]*"} {
		t.Run("policy check refuses "+pat, func(t *testing.T) {
			file := filepath.Join(u.Dir, "p.yaml")
			writeFile(t, file, fmt.Sprintf("version: 1\nprojects:\n  wide:\n    namespaces: [%q]\n    admins: {users: [alice]}\n", pat))
			r := u.Run("policy", "check", file)
			WantCode(t, r, 1)
			wantStderr(t, r, file+":4", "system namespace", "systemNamespaces: allow")
		})
	}
	t.Run("systemNamespaces: allow is explicit", func(t *testing.T) {
		file := filepath.Join(u.Dir, "allow.yaml")
		writeFile(t, file, "version: 1\nprojects:\n  platform:\n    systemNamespaces: allow\n    namespaces: [\"kube-*\"]\n    admins: {groups: [ops]}\n  apps:\n    namespaces: [default, \"app-*\"]\n    admins: {users: [bob]}\n")
		u.MustRun("policy", "check", file)
	})
	t.Run("policy rbac binds nothing from a refused policy", func(t *testing.T) {
		file := filepath.Join(u.Dir, "rbac.yaml")
		writeFile(t, file, "version: 1\nprojects:\n  sneaky:\n    namespaces: [\"kube-*\"]\n    admins: {users: [sneaky-user]}\n")
		r := u.Run("policy", "rbac", file, "--apply")
		WantCode(t, r, 1)
		noKubeAudit(t, `"name":"sneaky-user"`)
		if out := Kubectl(t, "get", "rolebindings", "-n", "kube-system", "-o", "yaml"); strings.Contains(out.Stdout, "sneaky-user") {
			t.Error("sneaky-user is bound in kube-system")
		}
	})
	t.Run("the gateway refuses to start on it", func(t *testing.T) {
		good := startGateway(t, gwOptions{})
		tlsDir := filepath.Dir(good.CAFile)
		srv := NewUser(t)
		srv.UseLDAP()
		file := filepath.Join(srv.Dir, "p.yaml")
		writeFile(t, file, "version: 1\nprojects:\n  wide:\n    namespaces: [\"*\"]\n    admins: {users: [alice]}\n")
		p := srv.Start("serve", "--listen", "127.0.0.1:0", "--tls-cert-file", filepath.Join(tlsDir, "tls.crt"),
			"--tls-private-key-file", filepath.Join(tlsDir, "tls.key"), "--signing-key-file", filepath.Join(filepath.Dir(tlsDir), "signing.pem"), "--policy", file)
		code, done := p.Wait(20 * time.Second)
		if !done || code == 0 || !strings.Contains(p.Output(), `matches the system namespace "default"`) || strings.Contains(p.Output(), `"msg":"serving"`) {
			t.Fatalf("serve: exit %d (done %v)\n%s", code, done, p.Output())
		}
	})
	t.Run("300 hostile projects check quickly", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("version: 1\nprojects:\n")
		for i := 0; i < 300; i++ {
			fmt.Fprintf(&b, "  p%d:\n    systemNamespaces: allow\n    namespaces: [\"*?*?*?*?*?*?*?*?-*\", \"team%d-*\"]\n    admins: {users: [u%d]}\n", i, i, i)
		}
		file := filepath.Join(u.Dir, "hostile.yaml")
		writeFile(t, file, b.String())
		start := time.Now()
		r := u.MustRun("policy", "check", file)
		took := time.Since(start)
		t.Logf("policy check of 300 hostile projects: %s", took)
		if n := strings.Count(r.Stdout, "overlap:"); n != 300*299/2+300*299 {
			t.Errorf("%d overlaps", n)
		}
		// Today's figure is a fraction of a second; 14–21 s before.
		if took > 5*time.Second {
			t.Errorf("took %s", took)
		}
	})
}

func TestHostileFaults(t *testing.T) {
	ensureRBAC(t)
	t.Run("LDAP down at login", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		ln.Close()
		g := startGateway(t, gwOptions{env: map[string]string{"KGATE_LDAP_URLS": "ldap://" + dead, "KGATE_LDAP_DIALTIMEOUT": "1s"}})
		u := NewUser(t)
		r := u.RunStdin(Password(t, "alice")+"\n", "login", "--server", g.URL, "--certificate-authority", g.CAFile, "-u", "alice", "--password-stdin")
		WantCode(t, r, 6)
		wantStderr(t, r, "LDAP")
		code, body := g.loginAs("127.0.0.1", "alice", Password(t, "alice"))
		if code != 503 || !strings.Contains(body, "cannot reach the LDAP directory") {
			t.Errorf("%d %s", code, body)
		}
		// An unreachable directory is not a failed password: no lockout.
		for i := 0; i < 8; i++ {
			g.loginAs("127.0.0.1", "alice", "x")
		}
		if code, _ := g.loginAs("127.0.0.1", "alice", "x"); code != 503 {
			t.Errorf("after 8 tries with the directory down: %d", code)
		}
		// Nothing of it reached the cluster: logins never do.
		noKubeAudit(t, "/kgate/v1/login")
	})
	t.Run("policy source broken: the last good copy holds, then fails closed", func(t *testing.T) {
		g := startGateway(t, gwOptions{env: map[string]string{"KGATE_POLICY_TTL": "1s", "KGATE_POLICY_MAXSTALE": "8s"}})
		bob := gwUser(t, g, "bob")
		tok := bob.token()
		mark := randomSuffix(t)
		bob.MustRun("get", "pods", "-n", "payments")
		writeFile(t, g.Policy, "version: 1\nprojects: [this is: not valid\n")
		time.Sleep(2 * time.Second)
		// Still the good copy: bob reads, the cluster sees bob.
		if code, body := g.get("/api/v1/namespaces/payments/pods?lastgood="+mark, tok, nil); code != 200 {
			t.Errorf("with the last good copy: %d %.200s", code, body)
		}
		for _, ev := range waitKubeAudit(t, "lastgood="+mark) {
			if imp, _ := ev["impersonatedUser"].(map[string]any); imp["username"] != "bob" {
				t.Errorf("acted as %v", ev["impersonatedUser"])
			}
		}
		if !strings.Contains(g.Proc.Output(), "serves an invalid policy") {
			t.Errorf("the broken policy is not logged:\n%s", tail(g.Proc.Output(), 10))
		}
		// Past maxStale the gateway refuses everything (fails closed).
		deadline := time.Now().Add(30 * time.Second)
		code := 0
		for time.Now().Before(deadline) {
			if code, _ = g.get("/api/v1/namespaces/payments/pods?stalewait=1", tok, nil); code != 200 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if code, body := g.get("/api/v1/namespaces/payments/pods?failclosed="+mark, tok, nil); code != 503 || !strings.Contains(body, "no usable policy") {
			t.Errorf("a stale policy: %d %.200s", code, body)
		}
		WantCode(t, bob.Run("get", "pods", "-n", "payments"), 6)
		if code, _ := g.get("/readyz", "", nil); code != 503 {
			t.Errorf("/readyz: %d", code)
		}
		noKubeAudit(t, "failclosed="+mark)
		// A good policy again: back to work.
		writeFile(t, g.Policy, testPolicy)
		deadline = time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if code, _ = g.get("/api/v1/namespaces/payments/pods?recovered=1", tok, nil); code == 200 {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if code != 200 {
			t.Errorf("after the policy was fixed: %d", code)
		}
	})
	t.Run("gateway restart: a clear error, then the re-run works", func(t *testing.T) {
		g := startGateway(t, gwOptions{args: quickStop})
		bob := gwUser(t, g, "bob")
		bob.MustRun("get", "pods", "-n", "payments")
		g.Proc.Stop()
		r := bob.Run("get", "pods", "-n", "payments")
		WantCode(t, r, 6)
		wantStderr(t, r, strings.TrimPrefix(g.URL, "https://"))
		g2 := restartGateway(t, g, gwOptions{args: quickStop})
		r = bob.Run("get", "pods", "-n", "payments", "-o", "name")
		if r.Code != 0 || !strings.Contains(r.Stdout, "pod/") {
			t.Errorf("after the restart: %s\n%s", r, r.Stderr)
		}
		id := fmt.Sprint(g2.lastAudit(map[string]string{"user": "bob", "verb": "list"})["id"])
		for _, ev := range waitKubeAudit(t, `"auditID":"`+id+`"`) {
			if imp, _ := ev["impersonatedUser"].(map[string]any); imp["username"] != "bob" {
				t.Errorf("after the restart, acted as %v", ev["impersonatedUser"])
			}
		}
	})
	t.Run("gateway gone during logs -f: gives up naming the pod, exit 6", func(t *testing.T) {
		g := startGateway(t, gwOptions{args: quickStop})
		erin := gwUser(t, g, "erin")
		erin.Setenv("KGATE_LOGS_RESUMEWINDOW", "3s")
		pod := "quiet"
		p := erin.Start("logs", "-f", "-n", "sandbox", pod)
		time.Sleep(2 * time.Second)
		if _, done := p.Wait(0); done {
			t.Fatalf("logs -f ended before the gateway went away:\n%s", p.Output())
		}
		g.Proc.Stop()
		code, done := p.Wait(30 * time.Second)
		if !done || code != 6 || !strings.Contains(p.Output(), "pod/"+pod) || !strings.Contains(p.Output(), "gave up") {
			t.Errorf("logs -f: exit %d (done %v):\n%s", code, done, p.Output())
		}
	})
	t.Run("gateway restarts refusing the user during logs -f: exit 4", func(t *testing.T) {
		g := startGateway(t, gwOptions{args: quickStop})
		erin := gwUser(t, g, "erin")
		erin.Setenv("KGATE_LOGS_RESUMEWINDOW", "3s")
		pod := "quiet"
		p := erin.Start("logs", "-f", "-n", "sandbox", pod)
		time.Sleep(2 * time.Second)
		g.Proc.Stop()
		writeFile(t, g.Policy, strings.Replace(testPolicy, "admins: {users: [erin]}", "admins: {users: [nobody-here]}", 1))
		restartGateway(t, g, gwOptions{args: quickStop})
		code, done := p.Wait(40 * time.Second)
		// The gateway's own refusal is final at once (no retrying for the
		// resume window), naming the pod and giving the policy's reason.
		if !done || code != 4 || !strings.Contains(p.Output(), "pod/"+pod) || !strings.Contains(p.Output(), `user "erin" has no role in project "sandbox"`) {
			t.Errorf("logs -f: exit %d (done %v):\n%s", code, done, p.Output())
		}
	})
}

// quickStop lets a stopped gateway cut running streams at once.
var quickStop = []string{"--shutdown-grace", "1s"}

// restartGateway starts g again on the same address with the same serving
// certificate, signing key and policy file: what a restarted replica is.
func restartGateway(t *testing.T, g *gw, o gwOptions) *gw {
	t.Helper()
	tlsDir := filepath.Dir(g.CAFile)
	dir := filepath.Dir(tlsDir)
	o.policy = mustReadFile(g.Policy)
	// The same issuer too: tokens name it.
	m := regexp.MustCompile(`"msg":"serving".*"issuer":"([^"]+)"`).FindStringSubmatch(g.Proc.Output())
	if m == nil {
		t.Fatalf("no issuer in the gateway's log:\n%s", g.Proc.Output())
	}
	o.args = append(o.args, "--issuer", m[1])
	o.args = append(o.args, "--listen", strings.TrimPrefix(g.URL, "https://"),
		"--tls-cert-file", filepath.Join(tlsDir, "tls.crt"), "--tls-private-key-file", filepath.Join(tlsDir, "tls.key"),
		"--signing-key-file", filepath.Join(dir, "signing.pem"))
	g2 := startGateway(t, o)
	g2.CAFile = g.CAFile
	return g2
}

func TestHostileAPIServerRestartThroughTheGateway(t *testing.T) {
	g := sharedGateway(t)
	erin := gwUser(t, g, "erin")
	t.Run("logs -f across three restarts: every line exactly once", func(t *testing.T) {
		dir := podLogDir(t, "sandbox", "quiet")
		f, err := os.OpenFile(currentLog(t, dir, "main"), os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tag := strconv.FormatInt(time.Now().UnixNano(), 36)
		write := func(from, to int) {
			for i := from; i < to; i++ {
				fmt.Fprintf(f, "%s stdout F gwresume-%s %06d\n", time.Now().UTC().Format(time.RFC3339Nano), tag, i)
				time.Sleep(5 * time.Millisecond)
			}
		}
		p := erin.Start("logs", "-f", "-n", "sandbox", "quiet", "--since", "1s")
		write(0, 100)
		if !p.WaitFor(fmt.Sprintf("gwresume-%s %06d", tag, 99), 20*time.Second) {
			t.Fatalf("lines before the restarts did not arrive:\n%s", p.Output())
		}
		n := 100
		for round := 0; round < 3; round++ {
			restartAPIServer(t, func() { write(n, n+100) })
			write(n+100, n+200)
			n += 200
			if !p.WaitFor(fmt.Sprintf("gwresume-%s %06d", tag, n-1), 90*time.Second) {
				t.Fatalf("round %d: lines after the restart did not arrive:\n%s", round, tail(p.Output(), 20))
			}
			if _, done := p.Wait(0); done {
				t.Fatalf("round %d: logs -f ended (exit %d):\n%s", round, p.Code, tail(p.Output(), 20))
			}
		}
		time.Sleep(time.Second)
		p.Stop()
		seen := map[string]int{}
		for _, l := range lines(p.Output()) {
			if strings.HasPrefix(l, "gwresume-"+tag+" ") {
				seen[l]++
			}
		}
		for i := 0; i < n; i++ {
			if l := fmt.Sprintf("gwresume-%s %06d", tag, i); seen[l] != 1 {
				t.Errorf("line %d seen %d times", i, seen[l])
			}
		}
		if strings.Count(p.Output(), "resuming") < 3 {
			t.Errorf("the stream did not break three times:\n%s", p.Output())
		}
		// Every resumed request reached the cluster as erin.
		id := fmt.Sprint(g.lastAudit(map[string]string{"user": "erin", "resource": "pods"})["id"])
		for _, ev := range waitKubeAudit(t, `"auditID":"`+id+`"`) {
			if imp, _ := ev["impersonatedUser"].(map[string]any); imp["username"] != "erin" {
				t.Errorf("resumed as %v", ev["impersonatedUser"])
			}
		}
	})
	t.Run("exec across a restart: a clear error, never a hang", func(t *testing.T) {
		cmd := exec.Command(kgateBin, "exec", "-i", "-n", "sandbox", "quiet", "--", "cat")
		cmd.Env = erin.Env
		stdin, _ := cmd.StdinPipe()
		var out strings.Builder
		var mu sync.Mutex
		cmd.Stdout = writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(b) })
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		_, _ = io.WriteString(stdin, "before\n")
		time.Sleep(2 * time.Second)
		restartAPIServer(t, func() {})
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			mu.Lock()
			o := out.String()
			mu.Unlock()
			if err == nil || !strings.Contains(o, "before") {
				t.Errorf("exec across the restart: %v:\n%s", err, o)
			}
			t.Logf("exec across the restart: %v: %s", err, o)
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("exec hangs after the API server restart")
		}
		// The re-run works.
		if r := erin.RunStdin("again\n", "exec", "-i", "-n", "sandbox", "quiet", "--", "cat"); r.Code != 0 || r.Stdout != "again\n" {
			t.Errorf("exec after the restart: %s", r)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func TestHostileAuditLogSymlink(t *testing.T) {
	u := Operator(t)
	victim := filepath.Join(u.Dir, "victim")
	writeFile(t, victim, "mine\n")
	link := filepath.Join(u.Dir, "audit.log")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	u.Setenv("KGATE_AUDIT_PATH", link)
	marker := "symlink-audit-" + randomSuffix(t)
	r := u.Run("get", "pods", "-n", "payments", "-l", "app="+marker)
	WantCode(t, r, 1)
	wantStderr(t, r, link, "symbolic link")
	if b, _ := os.ReadFile(victim); string(b) != "mine\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	noKubeAudit(t, marker)
}
