package e2e

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/kgate/kgate/internal/gateway"
)

// The hostile-client suite: requests an attacker would make, against one
// gateway on least privilege (deploy/rbac.yaml's account), the real API
// server and slapd. Each case asserts the status the client gets AND what
// reached the cluster, read from kube-apiserver's audit log by the case's
// own User-Agent: nothing at all, the request as the real LDAP user
// (impersonatedUser), or the gateway's one documented call of its own
// (namespace names).

// reached is what a case expects in kube-apiserver's audit log.
type reached int

const (
	// reachedNothing: no request of the case reached the API server.
	reachedNothing reached = iota
	// reachedAsUser: every request reached it made by the gateway's account
	// as hostileCase.as (impersonatedUser), none as anyone else.
	reachedAsUser
	// reachedOwn: the gateway's own namespace listing, not impersonated.
	reachedOwn
)

// transport is how a case's request is sent.
type transport int

const (
	// raw HTTP/1.1: the request line and header lines exactly as written.
	http1Raw transport = iota
	// Go's HTTP/2 client.
	http2Client
	// raw HTTP/2 frames: header fields exactly as written, even those
	// HTTP/2 forbids.
	http2Raw
)

type hostileCase struct {
	name   string
	proto  transport
	token  string // the bearer token; "" for none
	method string
	path   string
	// hdr are header lines ("Name: value") sent as they are.
	hdr  []string
	body string
	// want is the status; wantAny lists others that are as good (a
	// refusal whose code the API server picks).
	want    int
	wantAny []int
	reached reached
	as      string
	// notGroups must not be among the impersonated groups.
	notGroups []string
	// bodyHas must be in the answer's body.
	bodyHas []string
	// bodyLacks must not be.
	bodyLacks []string
	// http10 sends the request line as HTTP/1.0.
	http10 bool
	// malformed: Go's HTTP server refuses it before the gateway sees it
	// (a plain-text 400, not a Status).
	malformed bool
}

type hostileResult struct {
	status int
	reset  bool // HTTP/2 stream or connection reset
	body   string
	err    error
}

// hostileTLS is a TLS config that trusts the gateway.
func hostileTLS(t *testing.T, g *gw, protos ...string) *tls.Config {
	ca, err := os.ReadFile(g.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{RootCAs: pool, NextProtos: protos, ServerName: "127.0.0.1"}
}

func (c hostileCase) send(t *testing.T, g *gw, ua string) hostileResult {
	host := strings.TrimPrefix(g.URL, "https://")
	switch c.proto {
	case http2Client:
		tr := &http2.Transport{TLSClientConfig: hostileTLS(t, g, "h2")}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequest(c.method, g.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			return hostileResult{err: err}
		}
		req.Header["User-Agent"] = []string{ua}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		for _, h := range c.hdr {
			k, v, _ := strings.Cut(h, ":")
			req.Header[k] = append(req.Header[k], strings.TrimSpace(v)) // as spelled
		}
		resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			return hostileResult{err: err}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.ProtoMajor != 2 {
			return hostileResult{err: fmt.Errorf("answered over %s", resp.Proto)}
		}
		return hostileResult{status: resp.StatusCode, body: string(b)}
	case http2Raw:
		return hostileH2(t, g, c, ua)
	}
	conn, err := tls.Dial("tcp", host, hostileTLS(t, g, "http/1.1"))
	if err != nil {
		return hostileResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	version := "HTTP/1.1"
	if c.http10 {
		version = "HTTP/1.0"
	}
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\nUser-Agent: %s\r\n", c.method, c.path, version, host, ua)
	if c.token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", c.token)
	}
	for _, h := range c.hdr {
		b.WriteString(h + "\r\n")
	}
	if c.body != "" || c.method == "POST" || c.method == "PUT" || c.method == "PATCH" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(c.body))
	}
	b.WriteString("\r\n" + c.body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return hostileResult{err: err}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return hostileResult{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return hostileResult{status: resp.StatusCode}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return hostileResult{status: resp.StatusCode, body: string(body)}
}

// hostileH2 sends the case's header fields in raw HTTP/2 frames.
func hostileH2(t *testing.T, g *gw, c hostileCase, ua string) hostileResult {
	conn, err := tls.Dial("tcp", strings.TrimPrefix(g.URL, "https://"), hostileTLS(t, g, "h2"))
	if err != nil {
		return hostileResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		return hostileResult{err: err}
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		return hostileResult{err: err}
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := [][2]string{{":method", c.method}, {":scheme", "https"}, {":authority", strings.TrimPrefix(g.URL, "https://")},
		{":path", c.path}, {"user-agent", ua}}
	if c.token != "" {
		fields = append(fields, [2]string{"authorization", "Bearer " + c.token})
	}
	for _, h := range c.hdr {
		k, v, _ := strings.Cut(h, ":")
		fields = append(fields, [2]string{strings.ToLower(k), strings.TrimSpace(v)})
	}
	for _, f := range fields {
		_ = enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		return hostileResult{err: err}
	}
	dec := hpack.NewDecoder(4096, nil)
	res := hostileResult{}
	for {
		frame, err := fr.ReadFrame()
		if err != nil {
			if res.status != 0 {
				return res
			}
			return hostileResult{reset: true}
		}
		switch f := frame.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.RSTStreamFrame:
			return hostileResult{reset: true}
		case *http2.GoAwayFrame:
			if res.status != 0 {
				return res
			}
			return hostileResult{reset: true}
		case *http2.HeadersFrame:
			hf, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return hostileResult{err: err}
			}
			for _, h := range hf {
				if h.Name == ":status" {
					fmt.Sscan(h.Value, &res.status)
				}
			}
			if f.StreamEnded() {
				return res
			}
		case *http2.DataFrame:
			res.body += string(f.Data())
			if f.StreamEnded() {
				return res
			}
		}
	}
}

// forger signs tokens as an attacker would try to.
type forger struct {
	t      *testing.T
	key    gateway.Key
	iss    string
	claims map[string]any // a real token's claims (bob's)
	parts  []string       // a real token's parts
}

func newForger(t *testing.T, g *gw, real string) *forger {
	parts := strings.Split(real, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	claims := map[string]any{}
	_ = json.Unmarshal(b, &claims)
	return &forger{t: t, key: g.key, iss: fmt.Sprint(claims["iss"]), claims: claims, parts: parts}
}

// claimsFor are valid claims for sub and groups.
func (f *forger) claimsFor(sub string, groups ...string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": f.iss, "aud": "kgate", "sub": sub, "groups": groups,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func (f *forger) sign(key gateway.Key, c jwt.MapClaims) string {
	tok := jwt.NewWithClaims(key.Method, c)
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(key.Private)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// own signs with the gateway's own key: what only a stolen key could do.
func (f *forger) own(c jwt.MapClaims) string { return f.sign(f.key, c) }

func (f *forger) with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	c[k] = v
	return c
}

// raw builds a token from a header and claims, with the given signature.
func (f *forger) raw(header map[string]any, c any, sig string) string {
	h, _ := json.Marshal(header)
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(b) + "." + sig
}

// tampered is the real token with changed claims and its own signature.
func (f *forger) tampered(k string, v any) string {
	c := map[string]any{}
	for kk, vv := range f.claims {
		c[kk] = vv
	}
	c[k] = v
	b, _ := json.Marshal(c)
	return f.parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + f.parts[2]
}

// hmacWithPublicKey is HS256 keyed with the gateway's public key, the
// classic confusion of an RSA/EdDSA verifier.
func (f *forger) hmacWithPublicKey() string {
	der, _ := x509.MarshalPKIXPublicKey(f.key.Public)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, f.claimsFor("olga", "ops"))
	tok.Header["kid"] = f.key.ID
	s, err := tok.SignedString(der)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func TestHostileClients(t *testing.T) {
	g := sharedGateway(t)
	bob, alice, dave, erin, olga := gwUser(t, g, "bob"), gwUser(t, g, "alice"), gwUser(t, g, "dave"), gwUser(t, g, "erin"), gwUser(t, g, "olga")
	tb, ta, td, te, to := bob.token(), alice.token(), dave.token(), erin.token(), olga.token()
	pod := webPod(t, alice)
	fg := newForger(t, g, tb)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := gateway.NewKey(otherPriv)
	other.ID = g.key.ID // claims to be the gateway's key

	pods := "/api/v1/namespaces/payments/pods"
	podPath := pods + "/" + pod
	refusedHeader := []string{"only close, keep-alive and Upgrade are allowed"}
	review := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	spdy := []string{"Connection: Upgrade", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: v4.channel.k8s.io"}
	ws := []string{"Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Protocol: v5.channel.k8s.io"}
	expired := fg.claimsFor("bob", "team-payments")
	expired["iat"], expired["nbf"], expired["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	future := fg.claimsFor("bob", "team-payments")
	future["nbf"] = time.Now().Add(time.Hour).Unix()

	get := func(name, token, path string, want int, r reached, as string, hdr ...string) hostileCase {
		return hostileCase{name: name, token: token, method: "GET", path: path, hdr: hdr, want: want, reached: r, as: as}
	}
	cases := []hostileCase{
		// ---- hop-by-hop and impersonation headers, HTTP/1.1
		{name: "hop/the issue's request", token: tb, method: "POST", path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
			hdr: []string{"Connection: Impersonate-User, Impersonate-Group", "Content-Type: application/json"}, body: review, want: 400, bodyHas: refusedHeader},
		{name: "hop/the issue's request without Connection", token: tb, method: "POST", path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
			hdr: []string{"Content-Type: application/json"}, body: review, want: 201, reached: reachedAsUser, as: "bob",
			bodyHas: []string{`"username":"bob"`}, bodyLacks: []string{"serviceaccount"}},
		{name: "hop/whoami with impersonation headers", token: tb, method: "POST", path: "/apis/authentication.k8s.io/v1/selfsubjectreviews",
			hdr: []string{"Content-Type: application/json", "Impersonate-User: system:admin", "Impersonate-Group: system:masters"}, body: review,
			want: 201, reached: reachedAsUser, as: "bob", notGroups: []string{"system:masters"}, bodyHas: []string{`"username":"bob"`}},
		get("hop/lower case", tb, pods, 400, reachedNothing, "", "connection: impersonate-user"),
		get("hop/upper case", tb, pods, 400, reachedNothing, "", "CONNECTION: IMPERSONATE-USER"),
		get("hop/mixed case", tb, pods, 400, reachedNothing, "", "cOnNeCtIoN: iMpErSoNaTe-GrOuP"),
		get("hop/second Connection line", tb, pods, 400, reachedNothing, "", "Connection: keep-alive", "Connection: Impersonate-Group"),
		get("hop/after close", tb, pods, 400, reachedNothing, "", "Connection: close, Impersonate-User"),
		get("hop/empty list items", tb, pods, 400, reachedNothing, "", "Connection: , ,impersonate-user,"),
		get("hop/no spaces", tb, pods, 400, reachedNothing, "", "Connection: keep-alive,Impersonate-User,Impersonate-Group"),
		get("hop/impersonate uid", tb, pods, 400, reachedNothing, "", "Connection: Impersonate-Uid"),
		get("hop/impersonate extra", tb, pods, 400, reachedNothing, "", "Connection: Impersonate-Extra-Scopes"),
		get("hop/audit id", tb, pods, 400, reachedNothing, "", "Connection: Audit-ID"),
		get("hop/authorization", tb, pods, 400, reachedNothing, "", "Connection: Authorization"),
		get("hop/x-forwarded-for", tb, pods, 400, reachedNothing, "", "Connection: X-Forwarded-For"),
		get("hop/content-type", tb, pods, 400, reachedNothing, "", "Connection: Content-Type"),
		get("hop/h2c upgrade", tb, pods, 400, reachedNothing, "", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"),
		get("hop/watch", tb, pods+"?watch=true&timeoutSeconds=1", 400, reachedNothing, "", "Connection: Impersonate-User"),
		get("hop/namespace list", tb, "/api/v1/namespaces", 400, reachedNothing, "", "Connection: Impersonate-User"),
		get("hop/no token", "", pods, 400, reachedNothing, "", "Connection: Impersonate-User"),
		{name: "hop/spdy exec", token: ta, method: "POST", path: podPath + "/exec?command=true&stdout=true",
			hdr: []string{"Connection: Upgrade, Impersonate-User, Impersonate-Group", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: v4.channel.k8s.io"}, want: 400},
		{name: "hop/spdy exec two lines", token: ta, method: "POST", path: podPath + "/exec?command=true&stdout=true",
			hdr: []string{"Connection: Upgrade", "connection: impersonate-user", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: v4.channel.k8s.io"}, want: 400},
		{name: "hop/websocket exec", token: ta, method: "GET", path: podPath + "/exec?command=true&stdout=true",
			hdr: append([]string{"Connection: Upgrade, Impersonate-User"}, ws[1:]...), want: 400},
		{name: "hop/websocket attach", token: ta, method: "GET", path: podPath + "/attach?stdout=true",
			hdr: append([]string{"Connection: Upgrade,Impersonate-Group"}, ws[1:]...), want: 400},
		{name: "hop/spdy portforward", token: ta, method: "POST", path: podPath + "/portforward",
			hdr: []string{"Connection: Upgrade, Audit-ID", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: portforward.k8s.io"}, want: 400},
		get("hop/keep-alive passes", tb, pods, 200, reachedAsUser, "bob", "Connection: keep-alive"),
		get("hop/close passes", tb, pods, 200, reachedAsUser, "bob", "Connection: close"),
		get("hop/Keep-Alive, CLOSE passes", tb, pods, 200, reachedAsUser, "bob", "connection: Keep-Alive, CLOSE"),
		get("hop/Proxy-Connection naming a header", tb, pods, 200, reachedAsUser, "bob", "Proxy-Connection: Impersonate-User"),
		get("hop/Keep-Alive header", tb, pods, 200, reachedAsUser, "bob", "Keep-Alive: timeout=5, max=1000"),
		get("hop/TE naming a header", tb, pods, 200, reachedAsUser, "bob", "TE: trailers, Impersonate-User"),
		{name: "imp/user and group", token: tb, method: "GET", path: pods, hdr: []string{"Impersonate-User: system:admin", "Impersonate-Group: system:masters"},
			want: 200, reached: reachedAsUser, as: "bob", notGroups: []string{"system:masters"}},
		get("imp/lower case user", tb, pods, 200, reachedAsUser, "bob", "impersonate-user: olga"),
		get("imp/underscore for hyphen", tb, pods, 200, reachedAsUser, "bob", "Impersonate_User: system:admin", "Impersonate_Group: system:masters"),
		{name: "imp/space before the colon", token: tb, method: "GET", path: pods, hdr: []string{"Impersonate-User : system:admin"}, want: 400, malformed: true},
		{name: "hop/HTTP/1.0", http10: true, token: tb, method: "GET", path: pods, hdr: []string{"Connection: Impersonate-User"}, want: 400, bodyHas: refusedHeader},
		{name: "hop/HTTP/1.0 keep-alive passes", http10: true, token: tb, method: "GET", path: pods, hdr: []string{"Connection: keep-alive", "Impersonate-User: olga"},
			want: 200, reached: reachedAsUser, as: "bob"},
		{name: "imp/upper case group", token: tb, method: "GET", path: pods, hdr: []string{"IMPERSONATE-GROUP: ops"}, want: 200, reached: reachedAsUser, as: "bob", notGroups: []string{"ops"}},
		get("imp/uid", tb, pods, 200, reachedAsUser, "bob", "Impersonate-Uid: 0"),
		get("imp/extra", tb, pods, 200, reachedAsUser, "bob", "Impersonate-Extra-Scopes: cluster-admin"),
		get("imp/twice", tb, pods, 200, reachedAsUser, "bob", "Impersonate-User: olga", "Impersonate-User: system:admin"),
		{name: "imp/front proxy headers", token: tb, method: "GET", path: pods, hdr: []string{"X-Remote-User: system:admin", "X-Remote-Group: system:masters", "X-Remote-Extra-Scopes: all"},
			want: 200, reached: reachedAsUser, as: "bob", notGroups: []string{"system:masters"}},
		get("imp/client audit id not adopted", tb, pods, 200, reachedAsUser, "bob", "Audit-ID: 11111111-2222-4333-8444-555555555555"),
		get("imp/forwarded-for", tb, pods, 200, reachedAsUser, "bob", "X-Forwarded-For: 10.0.0.1", "Forwarded: for=10.0.0.1"),
		get("imp/second Authorization a super admin's", tb, "/api/v1/pods", 403, reachedNothing, "", "Authorization: Bearer "+to),
		{name: "imp/spdy exec as guest with impersonation", token: tb, method: "POST", path: podPath + "/exec?command=true&stdout=true",
			hdr: append(slices.Clone(spdy), "Impersonate-User: alice", "Impersonate-Group: payments-leads"), want: 403},
		// ---- HTTP/2
		{name: "h2/impersonation headers", proto: http2Client, token: tb, method: "GET", path: pods,
			hdr: []string{"impersonate-user: system:admin", "impersonate-group: system:masters"}, want: 200, reached: reachedAsUser, as: "bob", notGroups: []string{"system:masters"}},
		{name: "h2/watch with impersonation", proto: http2Client, token: tb, method: "GET", path: pods + "?watch=true&timeoutSeconds=1",
			hdr: []string{"Impersonate-User: olga"}, want: 200, reached: reachedAsUser, as: "bob"},
		{name: "h2/audit id", proto: http2Client, token: tb, method: "GET", path: pods, hdr: []string{"audit-id: 11111111-2222-4333-8444-666666666666"},
			want: 200, reached: reachedAsUser, as: "bob"},
		{name: "h2/raw connection header", proto: http2Raw, token: tb, method: "GET", path: pods, hdr: []string{"connection: impersonate-user"}, want: -1},
		{name: "h2/raw connection keep-alive", proto: http2Raw, token: tb, method: "GET", path: pods, hdr: []string{"connection: keep-alive"}, want: -1},
		{name: "h2/raw upgrade", proto: http2Raw, token: ta, method: "GET", path: podPath + "/exec?command=true", hdr: []string{"upgrade: websocket"}, want: -1},
		{name: "h2/raw te not trailers", proto: http2Raw, token: tb, method: "GET", path: pods, hdr: []string{"te: gzip, impersonate-user"}, want: -1},
		{name: "h2/raw impersonation", proto: http2Raw, token: tb, method: "GET", path: pods, hdr: []string{"impersonate-user: system:admin", "impersonate-group: system:masters"},
			want: 200, reached: reachedAsUser, as: "bob", notGroups: []string{"system:masters"}},
		{name: "h2/namespace list", proto: http2Client, token: tb, method: "GET", path: "/api/v1/namespaces", hdr: []string{"impersonate-user: olga"},
			want: 200, reached: reachedOwn, bodyHas: []string{`"payments"`}, bodyLacks: []string{"kube-system", "search-prod"}},
		// ---- path canonicalisation
		get("path/dot dot", tb, pods+"/../../kube-system/secrets", 400, reachedNothing, ""),
		get("path/encoded dot dot", tb, pods+"/%2e%2e/%2e%2e/kube-system/pods", 400, reachedNothing, ""),
		get("path/upper encoded dot dot", tb, pods+"/%2E%2E/x", 400, reachedNothing, ""),
		get("path/double slash", tb, "/api/v1/namespaces/payments//pods", 400, reachedNothing, ""),
		get("path/leading double slash", tb, "//api/v1/namespaces/kube-system/pods", 400, reachedNothing, ""),
		get("path/encoded slash", tb, pods+"/a%2Fb", 400, reachedNothing, ""),
		get("path/encoded slash to another namespace", tb, "/api/v1/namespaces/payments%2F..%2Fkube-system/pods", 400, reachedNothing, ""),
		get("path/dot segment", tb, "/api/v1/namespaces/payments/./pods", 400, reachedNothing, ""),
		get("path/trailing dot dot", tb, pods+"/..", 400, reachedNothing, ""),
		get("path/encoded letter", tb, "/api/v1/namespaces/%70ayments/pods", 400, reachedNothing, ""),
		get("path/encoded question mark", tb, pods+"%3Fwatch=true", 400, reachedNothing, ""),
		get("path/backslash dot dot", tb, pods+"/..%5C..%5Ckube-system", 400, reachedNothing, ""),
		get("path/apps climbing out", tb, "/apis/apps/v1/namespaces/payments/deployments/../../../../api/v1/secrets", 400, reachedNothing, ""),
		get("path/upper-case API", tb, "/API/v1/namespaces/payments/pods", 403, reachedNothing, ""),
		get("path/absolute form", tb, "https://kubernetes.default.svc/api/v1/pods", 403, reachedNothing, ""),
		get("path/semicolon junk", tb, pods+";x=y", 400, reachedNothing, ""),
		get("path/raw backslash", tb, pods+`/..\..\kube-system`, 400, reachedNothing, ""),
		get("path/encoded NUL", tb, "/api/v1/namespaces/kube-system%00/pods", 400, reachedNothing, ""),
		get("path/encoded percent", tb, pods+"/%252e%252e", 400, reachedNothing, ""),
		get("path/trailing slash", tb, pods+"/", 200, reachedAsUser, "bob"),
		get("path/field selector on another namespace", tb, pods+"?fieldSelector=metadata.namespace%3Dkube-system", 200, reachedAsUser, "bob"),
		// ---- cluster-wide and cross-project
		get("scope/pods in all namespaces", tb, "/api/v1/pods", 403, reachedNothing, ""),
		get("scope/secrets in all namespaces", ta, "/api/v1/secrets", 403, reachedNothing, ""),
		get("scope/nodes", ta, "/api/v1/nodes", 403, reachedNothing, ""),
		get("scope/persistent volumes", tb, "/api/v1/persistentvolumes", 403, reachedNothing, ""),
		get("scope/cluster roles", ta, "/apis/rbac.authorization.k8s.io/v1/clusterroles", 403, reachedNothing, ""),
		get("scope/kube-system", tb, "/api/v1/namespaces/kube-system/pods", 403, reachedNothing, ""),
		get("scope/default namespace", ta, "/api/v1/namespaces/default/secrets", 403, reachedNothing, ""),
		get("scope/another project", tb, "/api/v1/namespaces/search-prod/pods", 403, reachedNothing, ""),
		get("scope/another project's secrets", ta, "/api/v1/namespaces/search-prod/secrets", 403, reachedNothing, ""),
		get("scope/another project's namespace", tb, "/api/v1/namespaces/search-prod", 403, reachedNothing, ""),
		get("scope/glob project outside", td, "/api/v1/namespaces/payments/configmaps", 403, reachedNothing, ""),
		get("scope/no project", te, pods, 403, reachedNothing, ""),
		get("scope/watch one foreign namespace", tb, "/api/v1/watch/namespaces/kube-system", 403, reachedNothing, ""),
		{name: "scope/delete own namespace", token: ta, method: "DELETE", path: "/api/v1/namespaces/payments", want: 403},
		{name: "scope/create a namespace", token: ta, method: "POST", path: "/api/v1/namespaces", body: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"hostile"}}`, want: 403},
		{name: "scope/subject access review for another", token: tb, method: "POST", path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"olga","resourceAttributes":{"verb":"get","resource":"secrets"}}}`, want: 403},
		{name: "scope/admin binds herself a role (RBAC refuses)", token: ta, method: "POST", path: "/apis/rbac.authorization.k8s.io/v1/namespaces/payments/rolebindings?dryRun=All",
			hdr:  []string{"Content-Type: application/json"},
			body: `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"hostile"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"bob"}]}`,
			want: 403, reached: reachedAsUser, as: "alice"},
		{name: "scope/namespace list filtered", token: tb, method: "GET", path: "/api/v1/namespaces", want: 200, reached: reachedOwn,
			bodyHas: []string{`"payments-staging"`}, bodyLacks: []string{"kube-system", "search-dev", "kgate-system"}},
		{name: "scope/namespace watch filtered", token: td, method: "GET", path: "/api/v1/namespaces?watch=true&timeoutSeconds=1", want: 200, reached: reachedOwn,
			bodyHas: []string{`"search-prod"`}, bodyLacks: []string{`"payments"`, "kube-system"}},
		get("scope/super admin control", to, "/api/v1/pods?limit=1", 200, reachedAsUser, "olga"),
		// ---- subresources
		{name: "sub/exec as guest", token: tb, method: "POST", path: podPath + "/exec?command=true&stdout=true", hdr: spdy, want: 403},
		{name: "sub/exec over websocket as guest", token: tb, method: "GET", path: podPath + "/exec?command=true&stdout=true", hdr: ws, want: 403},
		{name: "sub/exec without upgrade as guest", token: tb, method: "POST", path: podPath + "/exec?command=true", want: 403},
		{name: "sub/attach as guest", token: tb, method: "POST", path: podPath + "/attach?stdout=true", hdr: spdy, want: 403},
		{name: "sub/portforward as guest", token: tb, method: "POST", path: podPath + "/portforward", hdr: spdy, want: 403},
		get("sub/pod proxy as guest", tb, podPath+"/proxy/", 403, reachedNothing, ""),
		get("sub/service proxy as guest", tb, "/api/v1/namespaces/payments/services/web/proxy/", 403, reachedNothing, ""),
		{name: "sub/ephemeral containers as guest", token: tb, method: "PATCH", path: podPath + "/ephemeralcontainers", hdr: []string{"Content-Type: application/strategic-merge-patch+json"}, body: `{}`, want: 403},
		{name: "sub/eviction as guest", token: tb, method: "POST", path: podPath + "/eviction", hdr: []string{"Content-Type: application/json"},
			body: `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"` + pod + `"}}`, want: 403},
		{name: "sub/service account token as guest", token: tb, method: "POST", path: "/api/v1/namespaces/payments/serviceaccounts/default/token",
			hdr: []string{"Content-Type: application/json"}, body: `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`, want: 403},
		{name: "sub/scale as guest", token: tb, method: "PUT", path: "/apis/apps/v1/namespaces/payments/deployments/web/scale", hdr: []string{"Content-Type: application/json"},
			body: `{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web","namespace":"payments"},"spec":{"replicas":9}}`, want: 403},
		{name: "sub/pod status as guest", token: tb, method: "PUT", path: podPath + "/status", hdr: []string{"Content-Type: application/json"}, body: `{}`, want: 403},
		{name: "sub/binding as guest", token: tb, method: "POST", path: podPath + "/binding", hdr: []string{"Content-Type: application/json"}, body: `{}`, want: 403},
		get("sub/read scale as guest", tb, "/apis/apps/v1/namespaces/payments/deployments/web/scale", 200, reachedAsUser, "bob"),
		get("sub/log as guest", tb, podPath+"/log?tailLines=1&container=app", 200, reachedAsUser, "bob"),
		get("sub/read status as guest", tb, podPath+"/status", 200, reachedAsUser, "bob"),
		{name: "sub/service account token as admin (RBAC refuses)", token: ta, method: "POST", path: "/api/v1/namespaces/payments/serviceaccounts/default/token",
			hdr: []string{"Content-Type: application/json"}, body: `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}`,
			want: 403, reached: reachedAsUser, as: "alice"},
		{name: "sub/ephemeral containers as admin (dry run)", token: ta, method: "PATCH", path: podPath + "/ephemeralcontainers?dryRun=All",
			hdr: []string{"Content-Type: application/strategic-merge-patch+json"}, body: `{}`, want: 200, reached: reachedAsUser, as: "alice"},
		{name: "sub/eviction as admin (dry run)", token: ta, method: "POST", path: podPath + "/eviction", hdr: []string{"Content-Type: application/json"},
			body: `{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"` + pod + `","namespace":"payments"},"deleteOptions":{"dryRun":["All"]}}`,
			want: 201, reached: reachedAsUser, as: "alice"},
		{name: "sub/exec over spdy as admin", token: ta, method: "POST", path: podPath + "/exec?command=true&stdout=true&container=app", hdr: spdy,
			want: 101, reached: reachedAsUser, as: "alice"},
		{name: "sub/exec over websocket as admin", token: ta, method: "GET", path: podPath + "/exec?command=true&stdout=true&container=app", hdr: ws,
			want: 101, reached: reachedAsUser, as: "alice"},
		{name: "sub/exec over spdy as admin with impersonation", token: ta, method: "POST", path: podPath + "/exec?command=true&stdout=true&container=app",
			hdr:  append(slices.Clone(spdy), "Impersonate-User: system:admin", "Impersonate-Group: system:masters"),
			want: 101, reached: reachedAsUser, as: "alice", notGroups: []string{"system:masters"}},
		{name: "sub/attach as admin", token: ta, method: "POST", path: podPath + "/attach?stdout=true&container=app", hdr: spdy,
			want: 101, wantAny: []int{400, 500}, reached: reachedAsUser, as: "alice"},
		{name: "sub/portforward as admin", token: ta, method: "POST", path: podPath + "/portforward", hdr: []string{"Connection: Upgrade", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: portforward.k8s.io"},
			want: 101, reached: reachedAsUser, as: "alice"},
		{name: "sub/scale as admin (dry run)", token: ta, method: "PATCH", path: "/apis/apps/v1/namespaces/payments/deployments/web/scale?dryRun=All",
			hdr: []string{"Content-Type: application/merge-patch+json"}, body: `{"spec":{"replicas":1}}`, want: 200, reached: reachedAsUser, as: "alice"},
		// ---- non-resource URLs
		get("nonres/logs", tb, "/logs/", 403, reachedNothing, ""),
		get("nonres/debug", ta, "/debug/pprof/", 403, reachedNothing, ""),
		get("nonres/readyz of etcd", tb, "/readyz/etcd", 403, reachedNothing, ""),
		get("nonres/healthz of etcd", tb, "/healthz/etcd", 403, reachedNothing, ""),
		get("nonres/oidc discovery", tb, "/.well-known/openid-configuration", 403, reachedNothing, ""),
		get("nonres/service account keys", tb, "/openid/v1/jwks", 403, reachedNothing, ""),
		get("nonres/metrics are the gateway's", tb, "/metrics", 200, reachedNothing, ""),
		get("nonres/livez is the gateway's", tb, "/livez", 200, reachedNothing, ""),
		get("nonres/discovery", tb, "/apis", 200, reachedAsUser, "bob"),
		get("nonres/version", te, "/version", 200, reachedAsUser, "erin"),
		get("nonres/openapi", tb, "/openapi/v3", 200, reachedAsUser, "bob"),
		get("nonres/discovery without a token", "", "/api", 401, reachedNothing, ""),
		get("nonres/super admin's logs (RBAC refuses)", to, "/logs/", 403, reachedAsUser, "olga"),
		// ---- access reviews
		{name: "review/guest asks about secrets", token: tb, method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			hdr:  []string{"Content-Type: application/json"},
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"resourceAttributes":{"namespace":"payments","verb":"list","resource":"secrets"}}}`,
			want: 201, reached: reachedAsUser, as: "bob", bodyHas: []string{`"denied":true`, "kgate: "}, bodyLacks: []string{`"allowed":true`}},
		{name: "review/guest's rules", token: tb, method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
			hdr:  []string{"Content-Type: application/json", "Impersonate-User: alice"},
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","spec":{"namespace":"payments"}}`,
			want: 201, reached: reachedAsUser, as: "bob", bodyHas: []string{`"pods"`}, bodyLacks: []string{`"secrets"`, `"pods/exec"`, `"nodes"`}},
		{name: "review/another's review at the self path", token: tb, method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
			hdr:  []string{"Content-Type: application/json"},
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"olga","groups":["ops"],"resourceAttributes":{"verb":"get","resource":"secrets"}}}`,
			want: 400},
		{name: "review/junk", token: tb, method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", hdr: []string{"Content-Type: application/json"},
			body: `{"kind":`, want: 400},
		{name: "review/oversized", token: tb, method: "POST", path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", hdr: []string{"Content-Type: application/json"},
			body: `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectAccessReview","spec":{"nonResourceAttributes":{"verb":"get","path":"/` + strings.Repeat("a", 100<<10) + `"}}}`,
			want: 413},
		// ---- token forgery
		get("token/alg none", fg.raw(map[string]any{"alg": "none", "typ": "JWT", "kid": g.key.ID}, fg.claimsFor("olga", "ops"), ""), pods, 401, reachedNothing, ""),
		get("token/alg None", fg.raw(map[string]any{"alg": "None", "kid": g.key.ID}, fg.claimsFor("olga", "ops"), ""), pods, 401, reachedNothing, ""),
		get("token/HMAC with the public key", fg.hmacWithPublicKey(), pods, 401, reachedNothing, ""),
		get("token/expired", fg.own(expired), pods, 401, reachedNothing, ""),
		get("token/not yet valid", fg.own(future), pods, 401, reachedNothing, ""),
		get("token/wrong key", fg.sign(other, fg.claimsFor("olga", "ops")), pods, 401, reachedNothing, ""),
		get("token/unknown kid", func() string { k := other; k.ID = "nope"; return fg.sign(k, fg.claimsFor("olga", "ops")) }(), pods, 401, reachedNothing, ""),
		get("token/tampered groups", fg.tampered("groups", []string{"ops"}), "/api/v1/pods", 401, reachedNothing, ""),
		get("token/tampered subject", fg.tampered("sub", "olga"), "/api/v1/pods", 401, reachedNothing, ""),
		get("token/tampered expiry", fg.tampered("exp", time.Now().Add(24*time.Hour).Unix()), pods, 401, reachedNothing, ""),
		get("token/signature of another token", strings.Join(strings.Split(fg.tampered("sub", "olga"), ".")[:2], ".")+"."+strings.Split(to, ".")[2], pods, 401, reachedNothing, ""),
		get("token/other issuer", fg.own(fg.with(fg.claimsFor("bob", "team-payments"), "iss", "https://evil.example.com")), pods, 401, reachedNothing, ""),
		get("token/other audience", fg.own(fg.with(fg.claimsFor("bob", "team-payments"), "aud", "kubernetes")), pods, 401, reachedNothing, ""),
		get("token/no subject", fg.own(fg.with(fg.claimsFor("bob"), "sub", "")), pods, 401, reachedNothing, ""),
		get("token/garbage", "abc.def.ghi", pods, 401, reachedNothing, ""),
		get("token/the cluster's own token", strings.TrimSpace(mustTokenFor(t)), pods, 401, reachedNothing, ""),
		get("token/in the query", "", pods+"?access_token="+tb, 401, reachedNothing, ""),
		get("token/basic auth", "", pods, 401, reachedNothing, "", "Authorization: Basic Ym9iOmJvYg=="),
		get("token/system:admin signed with the gateway's key", fg.own(fg.claimsFor("system:admin", "system:masters")), pods, 403, reachedNothing, ""),
		get("token/System:Admin in mixed case", fg.own(fg.claimsFor("System:Admin")), pods, 403, reachedNothing, ""),
		get("token/the gateway's account as subject", fg.own(fg.claimsFor(gatewayAccountUser)), pods, 403, reachedNothing, ""),
		get("token/system:anonymous", fg.own(fg.claimsFor("system:anonymous", "system:unauthenticated")), "/api", 403, reachedNothing, ""),
		get("token/leading space before system:", fg.own(fg.claimsFor(" system:admin")), pods, 403, reachedNothing, ""),
		{name: "token/system:masters group dropped", token: fg.own(fg.claimsFor("olga", "ops", "system:masters", "SYSTEM:MASTERS")), method: "GET", path: "/api/v1/pods?limit=1",
			want: 200, reached: reachedAsUser, as: "olga", notGroups: []string{"system:masters", "SYSTEM:MASTERS"}},
		get("token/upper-case subject is lower-cased", fg.own(fg.claimsFor("BOB", "TEAM-PAYMENTS")), pods, 200, reachedAsUser, "bob"),
	}

	// Send every case, each with its own User-Agent.
	run := "kgate-hostile-" + randomSuffix(t)
	ua := func(i int) string { return fmt.Sprintf("%s/%03d", run, i) }
	results := make([]hostileResult, len(cases))
	for i, c := range cases {
		results[i] = c.send(t, g, ua(i))
	}
	// A last request, to know the API server wrote the audit events of all
	// the earlier ones (they end before it starts).
	sentinel := get("sentinel", tb, pods+"?limit=1", 200, reachedAsUser, "bob")
	if r := sentinel.send(t, g, run+"/sentinel"); r.status != 200 {
		t.Fatalf("sentinel: %+v", r)
	}
	waitKubeAudit(t, `"userAgent":"`+run+`/sentinel"`)
	time.Sleep(500 * time.Millisecond)
	byUA := map[string][]kubeEvent{}
	for _, ev := range kubeAudit(t, `"userAgent":"`+run+`/`) {
		b, _ := json.Marshal(ev)
		e, _ := parseEvent(string(b))
		u, _ := ev["userAgent"].(string)
		byUA[u] = append(byUA[u], e)
	}

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			switch {
			case r.err != nil:
				t.Fatalf("sending: %v", r.err)
			case c.want == -1:
				// HTTP/2 forbids the header: the stream is reset or refused.
				if !r.reset && r.status != 400 {
					t.Errorf("status %d, want a reset stream or 400: %s", r.status, r.body)
				}
			case r.status != c.want && !slices.Contains(c.wantAny, r.status):
				t.Errorf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			for _, s := range c.bodyHas {
				if !strings.Contains(r.body, s) {
					t.Errorf("the answer lacks %q: %s", s, r.body)
				}
			}
			for _, s := range c.bodyLacks {
				if strings.Contains(r.body, s) {
					t.Errorf("the answer has %q: %s", s, r.body)
				}
			}
			if r.status >= 400 && r.body != "" && c.proto != http2Raw && !c.malformed && c.reached == reachedNothing && !strings.Contains(r.body, `"kind":"Status"`) {
				t.Errorf("a refusal that is not a Kubernetes Status: %s", r.body)
			}
			evs := byUA[ua(i)]
			switch c.reached {
			case reachedNothing:
				if len(evs) != 0 {
					t.Errorf("%d requests reached the API server, the first %s %s as %s (impersonating %v)", len(evs), evs[0].Verb, evs[0].RequestURI, evs[0].User.Username, evs[0].ImpersonatedUser)
				}
			case reachedAsUser, reachedOwn:
				if len(evs) == 0 {
					t.Fatal("nothing reached the API server")
				}
				for _, ev := range evs {
					if ev.User.Username != gatewayAccountUser {
						t.Errorf("made by %q, not the gateway's account", ev.User.Username)
					}
					for _, h := range c.hdr {
						if strings.HasPrefix(strings.ToLower(h), "audit-id:") && strings.Contains(h, ev.AuditID) {
							t.Errorf("the client's Audit-ID %s was adopted", ev.AuditID)
						}
					}
					if c.reached == reachedOwn {
						if ev.ImpersonatedUser != nil || ev.ObjectRef == nil || ev.ObjectRef.Resource != "namespaces" || ev.ObjectRef.Name != "" {
							t.Errorf("not the gateway's namespace listing: %+v", ev)
						}
						continue
					}
					if ev.ImpersonatedUser == nil || ev.ImpersonatedUser.Username != c.as {
						t.Errorf("%s %s reached the API server impersonating %+v, want %q", ev.Verb, ev.RequestURI, ev.ImpersonatedUser, c.as)
						continue
					}
					for _, grp := range c.notGroups {
						if slices.Contains(ev.ImpersonatedUser.Groups, grp) {
							t.Errorf("impersonated groups %v include %q", ev.ImpersonatedUser.Groups, grp)
						}
					}
				}
			}
		})
	}
	t.Logf("%d hostile cases", len(cases))
}

// mustTokenFor is a real cluster token (the gateway account's): the
// gateway takes only its own tokens.
func mustTokenFor(t *testing.T) string {
	return MustKubectl(t, "create", "token", gatewayAccountName, "-n", gatewayAccountNS, "--duration", "10m").Stdout
}
