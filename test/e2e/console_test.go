package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The web console, in Debian's Chromium driven headless by chromedp,
// against a real gateway, API server and slapd.

const chromiumPath = "/usr/bin/chromium"

// browser is one headless Chromium with a fresh profile.
type browser struct {
	t   *testing.T
	ctx context.Context
	g   *gw
}

func newBrowser(t *testing.T, g *gw) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing: run `make deps` (Debian's chromium)", chromiumPath)
	}
	// A fresh profile, removed once the browser is gone (t.TempDir's
	// cleanup can run while Chromium still writes to it).
	profile, err := os.MkdirTemp("", "kgate-console-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		// The gateway's certificate is from the test's own CA.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			t.Logf("browser: exception: %s", e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			t.Logf("browser console.%s: %s", e.Type, strings.Join(parts, " "))
		}
	})
	// Every Content-Security-Policy violation is recorded for cspClean.
	watchCSP := chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`window.__csp = [];
			document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`).Do(ctx)
		return err
	})
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 800), watchCSP); err != nil {
		cancel()
		cancelA()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelA()
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return &browser{t: t, ctx: ctx, g: g}
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) eval(js string, out any) {
	b.t.Helper()
	b.run(chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

// text is the innerText of the first element sel matches ("" if none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.eval(fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel), &s)
	return s
}

// waitText waits until sel's text matches re.
func (b *browser) waitText(sel string, re *regexp.Regexp, d time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(d)
	var s string
	for time.Now().Before(deadline) {
		if s = b.text(sel); re.MatchString(s) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.shot("failure")
	b.t.Fatalf("%s never matched %s; it says:\n%s", sel, re, s)
	return ""
}

// cspClean fails the test if the page broke its Content-Security-Policy.
func (b *browser) cspClean() {
	b.t.Helper()
	var v []string
	b.eval(`window.__csp || []`, &v)
	if len(v) > 0 {
		b.t.Errorf("Content-Security-Policy violations: %q", v)
	}
}

func (b *browser) exists(sel string) bool {
	b.t.Helper()
	var ok bool
	b.eval(fmt.Sprintf(`document.querySelector(%q) !== null`, sel), &ok)
	return ok
}

// artifacts is test/artifacts/console (git-ignored).
func artifacts(t *testing.T) string {
	dir := filepath.Join(repoRoot(t), "test", "artifacts", "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shot saves a screenshot of the viewport as a test artifact.
func (b *browser) shot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&png)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	f := filepath.Join(artifacts(b.t), strings.ReplaceAll(b.t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(f, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// figure records a measured figure for the report.
func figure(t *testing.T, name string, v float64, unit string) {
	t.Logf("figure: %s = %.1f %s", name, v, unit)
	f, err := os.OpenFile(filepath.Join(artifacts(t), "figures.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintf(f, "%s %s: %.1f %s\n", time.Now().UTC().Format(time.RFC3339), name, v, unit)
		f.Close()
	}
}

// login logs name in on the login page.
func (b *browser) login(name, password string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.g.URL+"/#/login"), chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#username').value = ''; document.querySelector('#password').value = ''`, nil),
		chromedp.SendKeys("#username", name, chromedp.ByQuery), chromedp.SendKeys("#password", password, chromedp.ByQuery),
		chromedp.Click("#login-button", chromedp.ByQuery))
}

func (b *browser) loginOK(name string) {
	b.t.Helper()
	b.login(name, Password(b.t, name))
	b.run(chromedp.WaitVisible("#namespaces ul", chromedp.ByQuery))
}

// typeLine types text into the terminal as the browser's text input does,
// then Enter.
func (b *browser) typeLine(text string) {
	b.t.Helper()
	b.run(chromedp.Focus(".xterm-helper-textarea", chromedp.ByQuery), insertText(text), chromedp.KeyEvent(kb.Enter))
}

func insertText(text string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error { return input.InsertText(text).Do(ctx) })
}

func (b *browser) open(hash string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.g.URL + "/" + hash))
}

// consoleCookie logs name in through the console's own login endpoint, as
// the page does, and returns the session cookie.
func consoleCookie(t *testing.T, g *gw, name string) *http.Cookie {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, name, Password(t, name))
	req, _ := http.NewRequest("POST", g.URL+"/kgate/console/api/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", g.URL)
	resp, err := g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("console login as %s: %d %s", name, resp.StatusCode, b)
	}
	if strings.Contains(string(b), resp.Cookies()[0].Value) {
		t.Errorf("the login answer's body holds the token: %s", b)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "__Secure-kgate-console" {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/kgate/console/" {
				t.Errorf("cookie attributes: %+v (raw %q)", c, resp.Header.Values("Set-Cookie"))
			}
			return c
		}
	}
	t.Fatalf("no session cookie in %q", resp.Header.Values("Set-Cookie"))
	return nil
}

// wsHandshake sends a WebSocket upgrade for an exec by hand and returns the
// status code and body of the answer.
func wsHandshake(t *testing.T, g *gw, path string, ck *http.Cookie, origin string) (int, string) {
	t.Helper()
	u, _ := url.Parse(g.URL)
	tc := g.client().Transport.(*http.Transport).TLSClientConfig
	conn, err := tls.Dial("tcp", u.Host, tc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n"
	if origin != "" {
		req += "Origin: " + origin + "\r\n"
	}
	if ck != nil {
		req += "Cookie: " + ck.Name + "=" + ck.Value + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func execPath(pod, query string) string {
	return "/kgate/console/k8s/api/v1/namespaces/payments/pods/" + pod + "/exec?" + query
}

const shellQuery = "container=app&command=sh&stdin=true&stdout=true&tty=true"

// TestConsoleGuest: bob, a guest of payments, logs in, sees the pods (and
// a new one appear, live), a pod's details, follows its logs and searches
// them; he has no terminal, and a WebSocket made by hand is refused with
// the policy's reason.
func TestConsoleGuest(t *testing.T) {
	g := sharedGateway(t)
	op := Operator(t)
	pod := webPod(t, op)
	b := newBrowser(t, g)

	// First page load, cold (a fresh profile, nothing cached; the renderer
	// already started): to the login form. Figures are reported; the
	// bounds here only catch gross regressions (timing a shared machine in
	// a test is not a benchmark).
	b.run(chromedp.Navigate("about:blank"))
	start := time.Now()
	b.run(chromedp.Navigate(g.URL+"/"), chromedp.WaitVisible("#username", chromedp.ByQuery))
	wall := time.Since(start)
	var nav float64
	b.eval(`(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()`, &nav)
	figure(t, "first page load, cold (navigation start to load event)", nav, "ms")
	figure(t, "first page load, cold (to the login form, from the test)", float64(wall.Milliseconds()), "ms")
	if nav > 1000 {
		t.Logf("warning: the first page load took %.0f ms, the target is < 1 s", nav)
	}
	if wall > 5*time.Second {
		t.Errorf("the first page load took %s", wall)
	}
	b.shot("login")

	b.loginOK("bob")
	if got := b.text("#projects"); !strings.Contains(got, "payments") || !strings.Contains(got, "guest") {
		t.Errorf("projects: %q", got)
	}
	b.shot("namespaces")
	// The token is nowhere the page's scripts can reach.
	var leaked string
	b.eval(`document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + location.href`, &leaked)
	if strings.Contains(leaked, "eyJ") {
		t.Errorf("the token is visible to scripts: %q", leaked)
	}

	// Pods, and a new one appearing while the page is open (the watch).
	b.open("#/ns/payments")
	b.waitText("#pods", regexp.MustCompile(regexp.QuoteMeta(pod)+`\s+\d/\d\s+Running`), 15*time.Second)
	b.waitText("#watch-state", regexp.MustCompile(`live`), 10*time.Second)
	b.shot("pods")
	// Dark by the system setting, and a narrow screen.
	b.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}),
		chromedp.EmulateViewport(760, 700))
	b.shot("pods-dark-narrow")
	b.run(emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}),
		chromedp.EmulateViewport(1280, 800))
	extra := "console-watch-" + randomSuffix(t)
	MustKubectl(t, "run", extra, "-n", "payments", "--image=busybox", "--restart=Never", "--overrides",
		`{"spec":{"nodeSelector":{"type":"kwok"},"tolerations":[{"operator":"Exists"}]}}`)
	t.Cleanup(func() { Kubectl(t, "delete", "pod", extra, "-n", "payments", "--ignore-not-found", "--wait=false") })
	b.waitText("#pods", regexp.MustCompile(regexp.QuoteMeta(extra)), 20*time.Second)
	MustKubectl(t, "delete", "pod", extra, "-n", "payments", "--wait=false", "--grace-period=0", "--force")
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(b.text("#pods"), extra) {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted pod %s is still listed", extra)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The pod's page: details, containers, no terminal.
	b.open("#/ns/payments/pod/" + pod)
	b.waitText("#containers", regexp.MustCompile(`app[\s\S]*sidecar`), 10*time.Second)
	b.waitText("#events", regexp.MustCompile(`\S`), 10*time.Second)
	if b.exists("#tab-terminal") || !b.exists("#no-terminal") {
		t.Errorf("a guest sees a terminal tab")
	}
	b.shot("pod")

	// Logs: followed, new lines arrive; search marks the matches.
	b.open("#/ns/payments/pod/" + pod + "/logs")
	b.waitText("#log", regexp.MustCompile(`/app line`), 15*time.Second)
	first := b.text("#log")
	lastLine := func(s string) string {
		l := strings.Split(strings.TrimSpace(s), "\n")
		return l[len(l)-1]
	}
	deadline = time.Now().Add(10 * time.Second)
	for lastLine(b.text("#log")) == lastLine(first) {
		if time.Now().After(deadline) {
			t.Fatalf("no new log line arrived in 10s; last: %q", lastLine(first))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.run(chromedp.SendKeys("#log-search", "app line", chromedp.ByQuery))
	b.waitText("#log-count", regexp.MustCompile(`^\d+ matching of \d+ lines`), 5*time.Second)
	var marks int
	b.eval(`document.querySelectorAll('#log mark').length`, &marks)
	if marks == 0 {
		t.Errorf("the search marks nothing")
	}
	// The sidecar, from the container picker.
	b.run(chromedp.SetValue("#log-container", "sidecar", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#log-container').dispatchEvent(new Event('change'))`, nil))
	b.waitText("#log", regexp.MustCompile(`/sidecar line`), 15*time.Second)
	b.shot("logs")
	b.cspClean()
	// The last 3 lines, not followed: exactly 3.
	b.eval(`(() => {
		const s = document.querySelector('#log-search'); s.value = ''; s.dispatchEvent(new Event('input'));
		document.querySelector('#log-follow').checked = false;
		const n = document.querySelector('#log-tail'); n.value = '3'; n.dispatchEvent(new Event('change'));
		return true; })()`, nil)
	b.waitText("#log-state", regexp.MustCompile(`end of log`), 10*time.Second)
	b.waitText("#log-count", regexp.MustCompile(`^3 lines`), 5*time.Second)
	if got := strings.Split(strings.TrimSpace(b.text("#log")), "\n"); len(got) != 3 || !strings.Contains(got[2], "/sidecar line") {
		t.Errorf("--tail 3 in the page: %q", got)
	}
	// Download: the log as a file.
	dl := t.TempDir()
	b.run(cdpbrowser.SetDownloadBehavior(cdpbrowser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(dl),
		chromedp.Click("#log-download", chromedp.ByQuery))
	var saved []byte
	deadline = time.Now().Add(10 * time.Second)
	for saved == nil && time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dl, pod+"_sidecar_*.log"))
		if len(files) == 1 {
			saved, _ = os.ReadFile(files[0])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(string(saved), "/sidecar line"); n != 3 {
		t.Errorf("the downloaded log has %d lines:\n%s", n, saved)
	}

	// The terminal page, asked for by URL: the policy's reason.
	b.open("#/ns/payments/pod/" + pod + "/terminal")
	b.waitText("#terminal-refused", regexp.MustCompile(`needs admin`), 10*time.Second)
	b.shot("terminal-refused")
	// A WebSocket made by hand in the page: refused before it opens.
	var res string
	b.eval(fmt.Sprintf(`new Promise((resolve) => {
		const ws = new WebSocket('wss://' + location.host + %q, ['v5.channel.k8s.io']);
		ws.onopen = () => resolve('open');
		ws.onclose = (e) => resolve('closed ' + e.code);
	})`, execPath(pod, shellQuery)), &res)
	if res == "open" {
		t.Errorf("a guest's WebSocket to exec opened")
	}
	if l := g.lastAudit(map[string]string{"user": "bob", "verb": "exec"}); l["decision"] != "deny" || !strings.Contains(fmt.Sprint(l["reason"]), "needs admin") {
		t.Errorf("audit of the refused exec: %v", l)
	}
	// By hand outside the browser, the answer says why.
	ck := consoleCookie(t, g, "bob")
	code, body := wsHandshake(t, g, execPath(pod, shellQuery), ck, g.URL)
	if code != 403 || !strings.Contains(body, `user \"bob\" is a guest in project \"payments\"`) || !strings.Contains(body, "needs admin") {
		t.Errorf("a guest's exec upgrade: %d %s", code, body)
	}

	// Logging out clears the cookie; the page goes back to the login form.
	b.open("#/")
	b.run(chromedp.WaitVisible("#logout", chromedp.ByQuery), chromedp.Click("#logout", chromedp.ByQuery),
		chromedp.WaitVisible("#username", chromedp.ByQuery))
	if msg := b.text("#login-message"); !strings.Contains(msg, "logged out") {
		t.Errorf("after logout: %q", msg)
	}
	var status int
	b.eval(`fetch('/kgate/console/api/session').then(r => r.status)`, &status)
	if status != 401 {
		t.Errorf("the session after logout: %d", status)
	}
}

// TestConsoleAdminTerminal: alice, an admin of payments, opens a terminal,
// computes 42, resizes the window and sees `stty size` follow, exits 3 and
// sees the exit code; the session is one audit line joined to the API
// server's. Keystroke-to-echo latency is measured here.
func TestConsoleAdminTerminal(t *testing.T) {
	g := sharedGateway(t)
	pod := webPod(t, Operator(t))
	b := newBrowser(t, g)
	b.loginOK("alice")
	b.open("#/ns/payments/pod/" + pod)
	b.run(chromedp.WaitVisible("#tab-terminal", chromedp.ByQuery), chromedp.Click("#tab-terminal", chromedp.ByQuery))
	b.waitText("#term-status", regexp.MustCompile(`connected: sh in app`), 15*time.Second)
	screen := "#terminal .xterm-rows"
	b.typeLine("echo $((6*7))")
	b.waitText(screen, regexp.MustCompile(`(?m)(^|\s)42\s*$`), 10*time.Second)
	b.shot("terminal-42")
	b.cspClean()

	// Keystroke to echo on the screen, in the page: from the keydown to the
	// screen's change.
	b.eval(`(() => {
		window.__lat = []; let t0 = 0;
		const ta = document.querySelector('.xterm-helper-textarea');
		for (const ev of ['keydown', 'beforeinput']) ta.addEventListener(ev, () => { if (!t0) t0 = performance.now(); }, true);
		new MutationObserver(() => { if (t0) { window.__lat.push(performance.now() - t0); t0 = 0; } })
			.observe(document.querySelector('#terminal .xterm-rows'), { subtree: true, childList: true, characterData: true });
		return true; })()`, nil)
	b.run(insertText(": "))
	time.Sleep(200 * time.Millisecond)
	b.eval(`window.__lat = []`, nil)
	for i := 0; i < 40; i++ {
		var n int
		b.eval(`window.__lat.length`, &n)
		b.run(insertText("x"))
		for j := 0; j < 100; j++ {
			var m int
			b.eval(`window.__lat.length`, &m)
			if m > n {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	b.run(chromedp.KeyEvent(kb.Enter))
	var lat []float64
	b.eval(`window.__lat`, &lat)
	if len(lat) < 30 {
		t.Fatalf("only %d echoes measured", len(lat))
	}
	sort.Float64s(lat)
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
	figure(t, "keystroke-to-echo p50", p50, "ms")
	figure(t, "keystroke-to-echo p95", p95, "ms")
	if p50 >= 30 {
		t.Logf("warning: keystroke-to-echo p50 %.1f ms, the target is < 30 ms (all: %v)", p50, lat)
	}
	if p50 >= 150 {
		t.Errorf("keystroke-to-echo p50 %.1f ms (all: %v)", p50, lat)
	}

	// stty size follows the window.
	sizes := 0
	sttySize := func() (int, int) {
		sizes++
		tag := fmt.Sprintf("size%d:", sizes)
		b.typeLine("clear; echo " + tag + " $(stty size)")
		re := regexp.MustCompile(`(?m)(?:^|\s)` + tag + ` (\d+) (\d+)\s*$`)
		m := re.FindStringSubmatch(b.waitText(screen, re, 10*time.Second))
		r, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return r, c
	}
	rows1, cols1 := sttySize()
	var domRows int
	b.eval(`document.querySelector('#terminal .xterm-rows').children.length`, &domRows)
	if rows1 != domRows || cols1 < 40 {
		t.Errorf("stty size %d %d; the screen has %d rows", rows1, cols1, domRows)
	}
	b.run(chromedp.EmulateViewport(900, 600))
	time.Sleep(500 * time.Millisecond)
	rows2, cols2 := sttySize()
	b.eval(`document.querySelector('#terminal .xterm-rows').children.length`, &domRows)
	if rows2 >= rows1 || cols2 >= cols1 || rows2 != domRows {
		t.Errorf("after resizing to 900x600: stty size %d %d (was %d %d; the screen has %d rows)", rows2, cols2, rows1, cols1, domRows)
	}
	b.shot("terminal-narrow")
	b.run(chromedp.EmulateViewport(1280, 800))

	// exit 3: the exit code, on the page and in the audit line.
	b.typeLine("exit 3")
	b.waitText("#term-status", regexp.MustCompile(`exited with code 3`), 10*time.Second)
	b.shot("terminal-exit")
	var line map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for line == nil && time.Now().Before(deadline) {
		for _, l := range g.auditLines() {
			if l["client"] == "web" && l["user"] == "alice" && l["name"] == pod && fmt.Sprint(l["exitCode"]) == "3" {
				line = l
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if line == nil {
		t.Fatalf("no audit line for the terminal session:\n%s", g.Proc.Output())
	}
	if line["container"] != "app" || fmt.Sprint(line["command"]) != "[sh]" || line["start"] == nil || line["end"] == nil || line["verb"] != "exec" {
		t.Errorf("session audit line: %v", line)
	}
	id := fmt.Sprint(line["id"])
	// The gateway's decision, and the API server's own events, under the same id.
	if l := g.lastAudit(map[string]string{"id": id, "decision": "allow", "verb": "exec"}); l["user"] != "alice" {
		t.Errorf("decision line: %v", l)
	}
	waitKubeAudit(t, id)

	// Reconnect: a new session.
	b.run(chromedp.Click("#term-connect", chromedp.ByQuery))
	b.waitText("#term-status", regexp.MustCompile(`connected`), 15*time.Second)
	b.typeLine("echo re$((1+1))connected")
	b.waitText(screen, regexp.MustCompile(`(?m)(^|\s)re2connected\s*$`), 10*time.Second)

	// Paste (Ctrl+Shift+V) from the clipboard, and copy (Ctrl+Shift+C) the
	// selection to it.
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		b.run(cdpbrowser.SetPermission(&cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			cdpbrowser.PermissionSettingGranted).WithOrigin(g.URL))
	}
	b.eval(`navigator.clipboard.writeText('echo pas$((3+4))ted').then(() => true)`, nil)
	b.run(chromedp.Focus(".xterm-helper-textarea", chromedp.ByQuery),
		chromedp.KeyEvent("V", chromedp.KeyModifiers(input.ModifierCtrl, input.ModifierShift)))
	time.Sleep(300 * time.Millisecond)
	b.run(chromedp.KeyEvent(kb.Enter))
	b.waitText(screen, regexp.MustCompile(`(?m)(^|\s)pas7ted\s*$`), 10*time.Second)
	b.eval(`navigator.clipboard.writeText('').then(() => true)`, nil)
	// A double click on the output selects the word.
	var xy []float64
	b.eval(`(() => {
		const row = [...document.querySelectorAll('#terminal .xterm-rows > div')].find((d) => /^pas7ted/.test(d.innerText.trim()));
		const r = row.getBoundingClientRect();
		return [r.left + 5, r.top + r.height / 2]; })()`, &xy)
	b.run(chromedp.MouseClickXY(xy[0], xy[1], chromedp.ClickCount(2)),
		chromedp.Focus(".xterm-helper-textarea", chromedp.ByQuery),
		chromedp.KeyEvent("C", chromedp.KeyModifiers(input.ModifierCtrl, input.ModifierShift)))
	var copied string
	deadline = time.Now().Add(5 * time.Second)
	for copied != "pas7ted" && time.Now().Before(deadline) {
		b.eval(`navigator.clipboard.readText()`, &copied)
		time.Sleep(100 * time.Millisecond)
	}
	if copied != "pas7ted" {
		t.Errorf("Ctrl+Shift+C copied %q", copied)
	}

	// bash is offered when the container has it.
	_, bashErr := exec.LookPath("bash")
	if bashErr == nil {
		var disabled bool
		b.eval(`document.querySelector('#term-shell option[value=bash]').disabled`, &disabled)
		if disabled {
			t.Errorf("bash is on this machine (the node agent runs commands here) but the console does not offer it")
		} else {
			b.eval(`(() => { const s = document.querySelector('#term-shell'); s.value = 'bash'; s.dispatchEvent(new Event('change')); return true; })()`, nil)
			b.waitText("#term-status", regexp.MustCompile(`connected: bash in app`), 15*time.Second)
			b.typeLine("echo bash${BASH_VERSINFO[0]}here")
			b.waitText(screen, regexp.MustCompile(`(?m)(^|\s)bash\d+here\s*$`), 10*time.Second)
			b.shot("terminal-bash")
		}
	}
	b.typeLine("exit")
	b.waitText("#term-status", regexp.MustCompile(`exited with code 0`), 10*time.Second)
}

// TestConsoleCrossOrigin: a page on another origin, even another port of
// the same host, cannot open a WebSocket to exec with the user's cookie;
// nor can a POST from it log out or log in.
func TestConsoleCrossOrigin(t *testing.T) {
	g := sharedGateway(t)
	pod := webPod(t, Operator(t))
	ck := consoleCookie(t, g, "alice")
	u, _ := url.Parse(g.URL)
	host, _, _ := net.SplitHostPort(u.Host)
	for _, origin := range []string{"https://" + host + ":1", "http://" + u.Host, "https://evil.example", "null", ""} {
		code, body := wsHandshake(t, g, execPath(pod, shellQuery), ck, origin)
		if code != 403 || !strings.Contains(body, "does not come from the gateway's own page") {
			t.Errorf("Origin %q: %d %s", origin, code, body)
		}
	}
	// The same request from the gateway's own origin opens.
	if code, body := wsHandshake(t, g, execPath(pod, shellQuery), ck, g.URL); code != 101 {
		t.Errorf("same origin: %d %s", code, body)
	}

	// In the browser: alice logged in, then a page served from another port
	// of 127.0.0.1 (same site, so her SameSite=Strict cookie goes along).
	b := newBrowser(t, g)
	b.loginOK("alice")
	dir := filepath.Dir(g.CAFile)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>evil</title><script>
			const ws = new WebSocket(%q, ['v5.channel.k8s.io']);
			ws.onopen = () => { document.title = 'result: open'; };
			ws.onclose = (e) => { if (document.title !== 'result: open') document.title = 'result: closed ' + e.code; };
			</script>`, "wss://"+u.Host+execPath(pod, shellQuery))
	})}
	go func() { _ = srv.ServeTLS(ln, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")) }()
	t.Cleanup(func() { srv.Close() })
	b.run(chromedp.Navigate("https://" + ln.Addr().String() + "/"))
	var title string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.run(chromedp.Title(&title))
		if strings.HasPrefix(title, "result:") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if title == "result: open" || !strings.HasPrefix(title, "result:") {
		t.Errorf("the other origin's WebSocket: %q", title)
	}
	if !strings.Contains(g.Proc.Output(), `refused a WebSocket from another origin`) {
		t.Errorf("the gateway did not log the refusal:\n%s", g.Proc.Output())
	}

	// POSTs: another origin, no CSRF header, a form's content type.
	post := func(path, origin, ctype, csrf string) int {
		req, _ := http.NewRequest("POST", g.URL+path, strings.NewReader(`{}`))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Content-Type", ctype)
		if csrf != "" {
			req.Header.Set("X-Kgate-Csrf", csrf)
		}
		req.AddCookie(ck)
		resp, err := g.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/kgate/console/api/logout", "https://"+host+":1", "application/json", ""); c != 403 {
		t.Errorf("logout from another origin: %d", c)
	}
	if c := post("/kgate/console/api/logout", g.URL, "application/json", "wrong"); c != 403 {
		t.Errorf("logout without the CSRF value: %d", c)
	}
	if c := post("/kgate/console/api/login", g.URL, "application/x-www-form-urlencoded", ""); c != 415 {
		t.Errorf("a form-encoded login: %d", c)
	}
	// The console proxies reads only.
	req, _ := http.NewRequest("DELETE", g.URL+"/kgate/console/k8s/api/v1/namespaces/payments/pods/"+pod, nil)
	req.Header.Set("Origin", g.URL)
	req.AddCookie(ck)
	resp, err := g.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("DELETE through the console: %d", resp.StatusCode)
	}
	// The page's headers: a strict CSP, no framing.
	resp, err = g.client().Get(g.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP: %q", csp)
	}
}

// TestConsoleTokenExpiry: a terminal and a followed log end when the token
// does, with a message; the session's audit line says why.
func TestConsoleTokenExpiry(t *testing.T) {
	ensureRBAC(t)
	g := startGateway(t, gwOptions{args: []string{"--token-lifetime", "12s", "--stream-recheck", "1s"}})
	pod := webPod(t, Operator(t))
	b := newBrowser(t, g)
	b.loginOK("alice")
	start := time.Now()
	b.open("#/ns/payments/pod/" + pod + "/terminal")
	b.waitText("#term-status", regexp.MustCompile(`connected`), 15*time.Second)
	b.typeLine("echo still$((2+3))here")
	b.waitText("#terminal .xterm-rows", regexp.MustCompile(`(?m)(^|\s)still5here\s*$`), 10*time.Second)
	b.waitText("#term-status", regexp.MustCompile(`login expired`), 30*time.Second)
	figure(t, "terminal ended after token expiry (12s lifetime)", time.Since(start).Seconds(), "s")
	b.shot("terminal-expired")
	var line map[string]any
	for _, l := range g.auditLines() {
		if l["client"] == "web" && l["user"] == "alice" {
			line = l
		}
	}
	if line == nil || !strings.Contains(fmt.Sprint(line["reason"]), "terminal session cut: the login expired") || line["exitCode"] != nil {
		t.Errorf("session audit line: %v", line)
	}
	// Any click now lands on the login page.
	b.open("#/ns/payments")
	b.run(chromedp.WaitVisible("#username", chromedp.ByQuery))
	if msg := b.text("#login-message"); !strings.Contains(msg, "expired") {
		t.Errorf("login page after expiry: %q", msg)
	}
}

// TestConsoleLoginErrors: a wrong password, too many of them, and the
// directory down, each a clear message on the login page.
func TestConsoleLoginErrors(t *testing.T) {
	g := sharedGateway(t)
	b := newBrowser(t, g)
	b.login("bob", "not-his-password")
	b.waitText("#login-message", regexp.MustCompile(`Wrong username or password`), 10*time.Second)
	b.shot("wrong-password")
	if l := g.lastAudit(map[string]string{"user": "bob", "verb": "login"}); l["decision"] != "deny" {
		t.Errorf("audit: %v", l)
	}

	// The gateway's own login limits apply: the third failure in a row is
	// refused before the directory is asked.
	limited := startGateway(t, gwOptions{args: []string{"--login-failure-limit", "2", "--login-failure-window", "10m"}})
	bl := newBrowser(t, limited)
	for i := 0; i < 2; i++ {
		bl.login("carol", "wrong")
		bl.waitText("#login-message", regexp.MustCompile(`Wrong username or password`), 10*time.Second)
	}
	bl.login("carol", Password(t, "carol"))
	bl.waitText("#login-message", regexp.MustCompile(`Too many failed logins\. Try again in \d+ (seconds|minutes)`), 10*time.Second)
	bl.shot("rate-limited")

	down := startGateway(t, gwOptions{env: map[string]string{"KGATE_LDAP_URLS": "ldap://" + closedPort(t)}})
	b2 := newBrowser(t, down)
	b2.login("bob", Password(t, "bob"))
	b2.waitText("#login-message", regexp.MustCompile(`LDAP directory\) is unavailable`), 20*time.Second)
	b2.shot("ldap-down")
}

// TestConsolePolicyRevoked: a terminal ends when the policy in effect no
// longer makes its user an admin (re-checked while it runs).
func TestConsolePolicyRevoked(t *testing.T) {
	ensureRBAC(t)
	g := startGateway(t, gwOptions{args: []string{"--stream-recheck", "500ms"}, env: map[string]string{"KGATE_POLICY_TTL": "1s"}})
	pod := webPod(t, Operator(t))
	b := newBrowser(t, g)
	b.loginOK("alice")
	b.open("#/ns/payments/pod/" + pod + "/terminal")
	b.waitText("#term-status", regexp.MustCompile(`connected`), 15*time.Second)
	b.typeLine("echo before$((1+1))")
	b.waitText("#terminal .xterm-rows", regexp.MustCompile(`(?m)(^|\s)before2\s*$`), 10*time.Second)
	// payments-leads become guests.
	revoked := strings.Replace(testPolicy, "admins: {groups: [payments-leads]}\n    guests: {groups: [team-payments]}",
		"admins: {groups: [nobody]}\n    guests: {groups: [team-payments, payments-leads]}", 1)
	if revoked == testPolicy {
		t.Fatal("testdata/policy.yaml changed: this test's edit no longer applies")
	}
	writePolicy(t, g.Policy, revoked)
	start := time.Now()
	b.waitText("#term-status", regexp.MustCompile(`connection closed`), 15*time.Second)
	figure(t, "terminal cut after the policy changed", time.Since(start).Seconds(), "s")
	b.shot("terminal-revoked")
	var line map[string]any
	for _, l := range g.auditLines() {
		if l["client"] == "web" && l["user"] == "alice" && l["name"] == pod && fmt.Sprint(l["command"]) == "[sh]" {
			line = l
		}
	}
	if line == nil || !strings.Contains(fmt.Sprint(line["reason"]), "the policy no longer allows it") {
		t.Errorf("session audit line: %v", line)
	}
	// The page no longer offers a terminal.
	b.open("#/ns/payments/pod/" + pod)
	b.run(chromedp.WaitVisible("#no-terminal", chromedp.ByQuery))
}
