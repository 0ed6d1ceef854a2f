package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// completeResult is what `kgate __complete ...` printed: the candidates
// (values, without their descriptions) and the directive.
type completeResult struct {
	Values    []string
	Lines     []string
	Directive string
	Result
}

// Complete runs cobra's completion entry point as the shell scripts do and
// fails the test unless it exits 0 with a directive as its last line.
func (u *User) Complete(args ...string) completeResult {
	u.t.Helper()
	r := u.Run(append([]string{"__complete"}, args...)...)
	if r.Code != 0 {
		u.t.Fatalf("kgate __complete %s: %s", strings.Join(args, " "), r)
	}
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		u.t.Fatalf("kgate __complete %s: no directive: %s", strings.Join(args, " "), r)
	}
	c := completeResult{Directive: last, Lines: lines[:len(lines)-1], Result: r}
	for _, l := range c.Lines {
		v, _, _ := strings.Cut(l, "\t")
		c.Values = append(c.Values, v)
	}
	slices.Sort(c.Values)
	// Only cobra's own note reaches stderr (the shell scripts discard it).
	for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		if l != "" && !strings.HasPrefix(l, "Completion ended with directive:") {
			u.t.Errorf("kgate __complete %s printed to stderr: %q", strings.Join(args, " "), l)
		}
	}
	return c
}

// podNames are the cluster's pods in ns, from kubectl as cluster admin.
func podNames(t *testing.T, ns string) []string {
	t.Helper()
	var out []string
	for _, n := range names(MustKubectl(t, "get", "pods", "-n", ns, "-o", "name").Stdout) {
		out = append(out, strings.TrimPrefix(n, "pod/"))
	}
	slices.Sort(out)
	return out
}

func wantValues(t *testing.T, what string, got completeResult, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got.Values == nil {
		got.Values = []string{}
	}
	if !slices.Equal(got.Values, want) {
		t.Errorf("%s: got %v, want %v\n%s", what, got.Values, want, got.Result)
	}
}

func TestCompletionFollowsPolicy(t *testing.T) {
	pods := podNames(t, "payments")
	if len(pods) == 0 {
		t.Fatal("no pods in payments")
	}
	bob, alice := policyUser(t, "bob"), policyUser(t, "alice")

	// A guest: logs and get, not exec or delete; an admin: all of them.
	wantValues(t, "bob: logs", bob.Complete("logs", "-n", "payments", ""), pods)
	wantValues(t, "bob: exec", bob.Complete("exec", "-n", "payments", ""), nil)
	wantValues(t, "bob: get pods", bob.Complete("get", "pods", "-n", "payments", ""), pods)
	wantValues(t, "bob: delete pods", bob.Complete("delete", "pods", "-n", "payments", ""), nil)
	wantValues(t, "bob: get secrets", bob.Complete("get", "secrets", "-n", "payments", ""), nil)
	wantValues(t, "alice: exec", alice.Complete("exec", "-n", "payments", ""), pods)
	wantValues(t, "alice: get secrets", alice.Complete("get", "secret", "-n", "payments", "web-"), []string{"web-credentials"})
	// Outside their projects, nothing, whatever the cluster holds.
	wantValues(t, "alice: logs in search-prod", alice.Complete("logs", "-n", "search-prod", ""), nil)
	// -p picks the project's namespace.
	wantValues(t, "bob: logs -p payments", bob.Complete("-p", "payments", "logs", ""), pods)
	// A pod's status is shown next to its name.
	if c := bob.Complete("logs", "-n", "payments", pods[0]); len(c.Lines) != 1 || !strings.Contains(c.Lines[0], "\t") {
		t.Errorf("no description: %q", c.Lines)
	}
}

func TestCompletionNamespaces(t *testing.T) {
	all := names(MustKubectl(t, "get", "namespaces", "-o", "name").Stdout)
	for i := range all {
		all[i] = strings.TrimPrefix(all[i], "namespace/")
	}
	for _, tc := range []struct {
		user string
		args []string
		want []string
	}{
		{"bob", []string{"-n", ""}, []string{"payments", "payments-staging"}},
		{"bob", []string{"logs", "-n", ""}, []string{"payments", "payments-staging"}},
		{"bob", []string{"exec", "-n", ""}, nil},
		{"alice", []string{"exec", "-n", ""}, []string{"payments", "payments-staging"}},
		// "search-*" is expanded against the cluster's namespaces.
		{"dave", []string{"-n", ""}, []string{"search-dev", "search-prod"}},
		{"carol", []string{"-n", ""}, []string{"payments", "payments-staging", "search-dev", "search-prod"}},
		{"carol", []string{"exec", "-n", ""}, nil},
		{"carol", []string{"-p", "search", "get", "pods", "-n", ""}, []string{"search-dev", "search-prod"}},
		{"olga", []string{"-n", ""}, all},
		{"bob", []string{"-p", ""}, []string{"payments"}},
		{"carol", []string{"project", "use", ""}, []string{"payments", "search"}},
		{"bob", []string{"get", "ns", ""}, []string{"payments", "payments-staging"}},
	} {
		u := policyUser(t, tc.user)
		c := u.Complete(tc.args...)
		wantValues(t, tc.user+" "+strings.Join(tc.args, " "), c, tc.want)
		if c.Directive != ":4" {
			t.Errorf("%v: directive %s offers files", tc.args, c.Directive)
		}
	}
}

func TestCompletionTypeName(t *testing.T) {
	bob, alice := policyUser(t, "bob"), policyUser(t, "alice")
	wantValues(t, "get deploy/", bob.Complete("get", "-n", "payments", "deploy/"), []string{"deploy/web"})
	wantValues(t, "get deployments.apps/", bob.Complete("get", "-n", "payments", "deployments.apps/"), []string{"deployments.apps/web"})
	wantValues(t, "describe deploy/web svc/", bob.Complete("describe", "-n", "payments", "deploy/web", "svc/"), []string{"svc/web"})
	wantValues(t, "logs deploy/", bob.Complete("logs", "-n", "payments", "deploy/w"), []string{"deploy/web"})
	wantValues(t, "bob: exec deploy/", bob.Complete("exec", "-n", "payments", "deploy/"), nil)
	wantValues(t, "alice: exec deploy/", alice.Complete("exec", "-n", "payments", "deploy/"), []string{"deploy/web"})
	wantValues(t, "alice: scale deploy/", alice.Complete("scale", "-n", "payments", "deploy/"), []string{"deploy/web"})
	wantValues(t, "alice: delete cronjob/", alice.Complete("delete", "-n", "payments", "cj/"), []string{"cj/nightly-report"})
	// After a TYPE/NAME, kinds come with their slash and no space.
	if c := bob.Complete("get", "-n", "payments", "deploy/web", "se"); !slices.Equal(c.Values, []string{"secrets/", "serviceaccounts/", "services/"}) || c.Directive != ":6" {
		t.Errorf("kinds after TYPE/NAME: %v %s", c.Values, c.Directive)
	}
	wantValues(t, "kinds", bob.Complete("get", "dep"), []string{"deployments"})
	wantValues(t, "scale kinds", bob.Complete("scale", ""), []string{"deployments", "replicasets", "statefulsets"})

	// Containers of the pod or workload already on the line.
	wantValues(t, "exec -c", alice.Complete("exec", "-n", "payments", "deploy/web", "-c", ""), []string{"app", "sidecar"})
	pod := podNames(t, "payments")[0]
	wantValues(t, "bob: exec -c", bob.Complete("exec", "-n", "payments", pod, "-c", ""), nil)
	if c := bob.Complete("logs", "-n", "payments", "deploy/web", "-c", ""); len(c.Values) != 2 {
		t.Errorf("logs -c: %v", c.Values)
	}
	// Contexts come from the kubeconfig.
	wantValues(t, "--context", bob.Complete("--context", ""), []string{"kgate-local"})
}

func TestCompletionWithoutSession(t *testing.T) {
	u := NewUser(t)
	u.UsePolicy(testPolicy)
	for _, args := range [][]string{
		{"logs", "-n", "payments", ""},
		{"get", "pods", "-n", "payments", ""},
		{"get", "-n", "payments", "deploy/"},
		{"-n", ""},
		{"-p", ""},
	} {
		c := u.Complete(args...)
		wantValues(t, "no session: "+strings.Join(args, " "), c, nil)
	}

	// An expired session is no session.
	v := NewUser(t)
	v.UsePolicy(testPolicy)
	v.Setenv("KGATE_SESSION_LIFETIME", "1s")
	v.Login("olga")
	wantValues(t, "fresh session", v.Complete("get", "ns", "payments"), []string{"payments", "payments-staging"})
	time.Sleep(1500 * time.Millisecond)
	wantValues(t, "expired session", v.Complete("logs", "-n", "payments", ""), nil)

	// No policy source: nothing, and no error in the shell.
	w := NewUser(t)
	w.UsePolicy(testPolicy)
	w.Login("olga")
	w.Setenv("KGATE_POLICY_SOURCE", "")
	w.Setenv("KGATE_CACHE_DIR", t.TempDir())
	wantValues(t, "no policy", w.Complete("logs", "-n", "payments", ""), nil)
}

// kubeconfigFor writes a kubeconfig whose only cluster is at server.
func kubeconfigFor(t *testing.T, dir, server string) string {
	t.Helper()
	path := filepath.Join(dir, "kubeconfig-"+strings.NewReplacer(":", "-", "/", "-").Replace(server))
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: away
  cluster: {server: "%s", insecure-skip-tls-verify: true}
users:
- name: me
  user: {token: nothing}
contexts:
- name: away
  context: {cluster: away, user: me, namespace: payments}
current-context: away
`, server)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompletionUnreachableAPIServer(t *testing.T) {
	u := policyUser(t, "olga")
	stalled, accepted := stallingListener(t)
	for _, server := range []string{"https://127.0.0.1:1", "https://" + stalled} {
		u.Setenv("KUBECONFIG", kubeconfigFor(t, u.Dir, server))
		start := time.Now()
		c := u.Complete("logs", "")
		took := time.Since(start)
		wantValues(t, server, c, nil)
		// The budget is two seconds; allow for a loaded machine.
		if took > 4*time.Second {
			t.Errorf("%s: completion took %v", server, took)
		}
		// The namespaces of the policy are still offered: they need no cluster.
		wantValues(t, server+" -n", u.Complete("-n", "payments-"), []string{"payments-staging"})
	}
	if accepted.Load() == 0 {
		t.Error("the stalling API server was never asked")
	}
}

// TestCompletionHonoursKubeconfigFlags checks that --kubeconfig and
// --context typed on the line choose the cluster completion asks.
func TestCompletionHonoursKubeconfigFlags(t *testing.T) {
	u := policyUser(t, "olga")
	pods := podNames(t, "payments")
	away := kubeconfigFor(t, u.Dir, "https://127.0.0.1:1")
	wantValues(t, "--kubeconfig away", u.Complete("--kubeconfig", away, "logs", "-n", "payments", ""), nil)
	wantValues(t, "--kubeconfig local", u.Complete("--kubeconfig", kubeconfig, "logs", "-n", "payments", ""), pods)
	// Both files merged: the local cluster's context is current, "away" is not.
	u.Setenv("KUBECONFIG", kubeconfig+string(os.PathListSeparator)+away)
	wantValues(t, "contexts", u.Complete("--context", ""), []string{"away", "kgate-local"})
	wantValues(t, "current context", u.Complete("logs", "-n", "payments", ""), pods)
	wantValues(t, "--context away", u.Complete("--context", "away", "logs", "-n", "payments", ""), nil)
	wantValues(t, "--context kgate-local", u.Complete("logs", "--context", "kgate-local", "-n", "payments", ""), pods)
}

// TestCompletionScripts checks the checked-in scripts are what the binary
// prints, so that release archives and `kgate completion` agree.
func TestCompletionScripts(t *testing.T) {
	u := NewUser(t)
	for shell, file := range map[string]string{"bash": "kgate.bash", "zsh": "_kgate", "fish": "kgate.fish", "powershell": "kgate.ps1"} {
		want, err := os.ReadFile(filepath.Join(repoRoot(t), "completions", file))
		if err != nil {
			t.Fatal(err)
		}
		if got := u.MustRun("completion", shell).Stdout; got != string(want) {
			t.Errorf("kgate completion %s differs from completions/%s: run make completions", shell, file)
		}
	}
	WantCode(t, u.Run("completion", "tcsh"), 2)
	WantCode(t, u.Run("completion"), 2)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// shellUser is bob, logged in, with kgate on the PATH. It returns a pod
// name, and the directory to put first on PATH (tmux sets a new session's
// PATH from its client, so the shell must export it).
func shellUser(t *testing.T) (*User, string, string) {
	t.Helper()
	u := policyUser(t, "bob")
	bin := t.TempDir()
	if err := os.Symlink(kgateBin, filepath.Join(bin, "kgate")); err != nil {
		t.Fatal(err)
	}
	// A pod name and a prefix that only it has.
	pods := podNames(t, "payments")
	pod := pods[len(pods)-1]
	prefix := pod[:len(pod)-3]
	for _, p := range pods {
		if p != pod && strings.HasPrefix(p, prefix) {
			t.Fatalf("prefix %q is not unique in %v", prefix, pods)
		}
	}
	return u, pod, bin
}

// waitForPrompt waits until the screen has been cleared and shows prompt.
func waitForPrompt(tm *tmux, prompt string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// tmux drops trailing spaces.
		if first, _, _ := strings.Cut(tm.screen(), "\n"); first == strings.TrimSpace(prompt) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// TestCompletionInBash loads the checked-in script into a real bash, with
// the bash-completion package as Debian's interactive bash loads it, and
// completes a pod name with TAB.
func TestCompletionInBash(t *testing.T) {
	u, pod, bin := shellUser(t)
	tm := newTmux(t, u, 200, 40)
	script := filepath.Join(repoRoot(t), "completions", "kgate.bash")
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Fatal("the bash-completion package is needed (make deps installs it)")
	}
	tm.send(fmt.Sprintf("export PATH=%s:$PATH; PS1='bash$ '; source %s; source %s; clear", bin, bashCompletion, script), "Enter")
	if !waitForPrompt(tm, "bash$ ") {
		t.Fatalf("no prompt:\n%s", tm.screen())
	}
	prefix := pod[:len(pod)-3]
	tm.send("kgate logs -n payments " + prefix)
	tm.send("Tab")
	if !tm.waitFor("bash$ kgate logs -n payments "+pod, 10*time.Second) {
		t.Fatalf("bash did not complete %s:\n%s", pod, tm.screen())
	}
	tm.send("C-u")
	// exec: bob is a guest, so nothing is offered and the line stays as typed.
	tm.send("clear", "Enter")
	tm.send("kgate exec -n payments " + prefix)
	tm.send("Tab")
	time.Sleep(2 * time.Second)
	if s := tm.screen(); !strings.Contains(s, "bash$ kgate exec -n payments "+prefix) || strings.Contains(s, pod) {
		t.Fatalf("bash completed exec for a guest:\n%s", s)
	}
	tm.send("C-u")
}

// TestCompletionInZsh does the same in a real zsh, with descriptions.
func TestCompletionInZsh(t *testing.T) {
	u, pod, bin := shellUser(t)
	tm := newTmux(t, u, 200, 40)
	tm.send("exec zsh -f", "Enter")
	script := filepath.Join(repoRoot(t), "completions", "_kgate")
	tm.send(fmt.Sprintf("export PATH=%s:$PATH; PS1='zsh> '; autoload -U compinit; compinit -u; source %s; clear", bin, script), "Enter")
	if !waitForPrompt(tm, "zsh> ") {
		t.Fatalf("no prompt:\n%s", tm.screen())
	}
	tm.send("kgate logs -n payments " + pod[:len(pod)-3])
	tm.send("Tab")
	if !tm.waitFor("zsh> kgate logs -n payments "+pod, 10*time.Second) {
		t.Fatalf("zsh did not complete %s:\n%s", pod, tm.screen())
	}
	tm.send("C-u")
	// Several candidates are listed with their descriptions (the pod's status).
	tm.send("clear", "Enter")
	tm.send("kgate logs -n payments ")
	tm.send("Tab")
	if !tm.waitFor(pod, 10*time.Second) || !tm.waitFor("Running", 5*time.Second) {
		t.Fatalf("zsh did not list the pods with their status:\n%s", tm.screen())
	}
}
