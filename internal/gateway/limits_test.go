package gateway

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// trickleRequest writes head, then body one byte every gap, on a plain
// connection to the fixture's server, and returns the status line the
// server answered with and when.
func trickleRequest(t *testing.T, addr, head, body string, gap time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	for i := 0; i < len(body); i++ {
		select {
		case line := <-got:
			return line, time.Since(start)
		case <-time.After(gap):
		}
		if _, err := conn.Write([]byte{body[i]}); err != nil {
			break
		}
	}
	select {
	case line := <-got:
		return line, time.Since(start)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	return "", 0
}

func limitsFixture(t *testing.T, bodyTimeout time.Duration) *fixture {
	f := newFixture(t)
	f.g.o.RequestBodyTimeout = bodyTimeout
	return f
}

func TestTrickledLoginBodyIsCutOff(t *testing.T) {
	f := limitsFixture(t, 300*time.Millisecond)
	body := `{"username":"alice","password":"alice-pw"}`
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", LoginPath, len(body))
	line, took := trickleRequest(t, f.srv.Listener.Addr().String(), head, body, 100*time.Millisecond)
	if !strings.Contains(line, "408") || took > 2*time.Second {
		t.Errorf("a login body trickled byte by byte: %q after %s, want 408 within the body timeout", line, took)
	}
	if f.auth.calls != 0 {
		t.Error("the trickled login reached the directory")
	}
}

func TestTrickledAPIBodyIsCutOff(t *testing.T) {
	f := limitsFixture(t, 300*time.Millisecond)
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`
	head := fmt.Sprintf("POST /api/v1/namespaces/payments/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		f.token(t, "alice"), len(body))
	line, took := trickleRequest(t, f.srv.Listener.Addr().String(), head, body, 100*time.Millisecond)
	if !strings.Contains(line, "408") || took > 2*time.Second {
		t.Errorf("an API body trickled: %q after %s, want 408", line, took)
	}
}

func TestOversizedBodies(t *testing.T) {
	f := newFixture(t)
	post := func(path, token string, body io.Reader, length int64) (int, string) {
		req, _ := http.NewRequest("POST", f.srv.URL+path, body)
		req.ContentLength = length
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	big := strings.Repeat(" ", maxLoginBody+1)
	if code, body := post(LoginPath, "", strings.NewReader(big), int64(len(big))); code != 413 || !strings.Contains(body, "16 KiB") {
		t.Errorf("an oversized login body with its length: %d %s", code, body)
	}
	// Without a declared length (chunked): cut off at the limit.
	if code, body := post(LoginPath, "", io.MultiReader(strings.NewReader(`{"username":"`), strings.NewReader(big)), -1); code != 413 {
		t.Errorf("an oversized chunked login body: %d %s", code, body)
	}
	n := len(f.up.reqs)
	huge := strings.Repeat("x", MaxRequestBody+1)
	if code, body := post("/api/v1/namespaces/payments/configmaps", "", strings.NewReader(huge), int64(len(huge))); code != 413 || !strings.Contains(body, "3 MiB") {
		t.Errorf("an oversized API body, unauthenticated: %d %.200s", code, body)
	}
	tok := f.token(t, "alice")
	if code, body := post("/api/v1/namespaces/payments/configmaps", tok, io.MultiReader(strings.NewReader(huge)), -1); code != 413 {
		t.Errorf("an oversized chunked API body: %d %.200s", code, body)
	}
	if code, _ := post("/api/v1/namespaces/payments/configmaps", tok, strings.NewReader(`{"kind":"ConfigMap"}`), -1); code != 200 {
		t.Errorf("a small body: %d", code)
	}
	if got := len(f.up.reqs) - n; got > 2 {
		t.Errorf("%d requests reached the API server, want at most the chunked one and the small one", got)
	}
}

func TestMetricLabelsAreClosedSets(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 300; i++ {
		req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), f.srv.URL+fmt.Sprintf("/invented/%d", i), nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		req, _ = http.NewRequest(fmt.Sprintf("Q%d", i), f.srv.URL+"/api/v1/namespaces/payments/pods", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	rec := httptest.NewRecorder()
	f.g.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	series := 0
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, "kgate_gateway_requests_total{") || strings.HasPrefix(l, "kgate_gateway_request_duration_seconds_count{") {
			series++
			if strings.Contains(l, "m1x") || strings.Contains(l, "invented") {
				t.Errorf("an invented label: %s", l)
			}
		}
	}
	if series > 10 {
		t.Errorf("%d series after 600 invented requests", series)
	}
	for _, c := range []int{200, 404, 799, 99, 0, 299} {
		if got := metricCode(c); (c == 200 || c == 404) != (got == fmt.Sprint(c)) {
			t.Errorf("metricCode(%d) = %s", c, got)
		}
	}
}

func TestSlowHeadersAndIdleConnectionsAreClosed(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	go func() {
		_ = f.g.Serve(ctx, ServeOptions{
			Listen: "127.0.0.1:0", CertFile: cert, KeyFile: key, ShutdownGrace: time.Second,
			ReadHeaderTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond,
			Listening: func(a net.Addr) { addr <- a },
		})
	}()
	defer cancel()
	a := (<-addr).String()
	closedWithin := func(what string, conn net.Conn, d time.Duration) {
		t.Helper()
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		if took := time.Since(start); err != nil || took > d {
			t.Errorf("%s: closed after %s (%v), want within %s", what, took, err, d)
		}
	}
	// A connection that never says anything (not even the TLS handshake).
	raw, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	closedWithin("silent connection", raw, 2*time.Second)
	// Slowloris: headers one at a time, never the blank line.
	tc, err := tls.Dial("tcp", a, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < 20; i++ {
			if _, err := fmt.Fprintf(tc, "X-%d: y\r\n", i); i == 0 {
				_, _ = io.WriteString(tc, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
			} else if err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	closedWithin("trickled headers", tc, 2*time.Second)
	// Idle after a request.
	ic, err := tls.Dial("tcp", a, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(ic, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(ic)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	closedWithin("idle keep-alive connection", ic, 2*time.Second)
}

// selfSigned writes a serving certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(k)
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}
