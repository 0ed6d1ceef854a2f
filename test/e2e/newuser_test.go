package e2e

// What a new user met in the first hour (issue 17), each against the real
// cluster, slapd and, where it matters, a real terminal.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// podNamesIn is what the cluster has in ns, as `-o name` prints it.
func podNamesIn(t *testing.T, ns string) []string {
	t.Helper()
	return names(MustKubectl(t, "get", "pods", "-n", ns, "-o", "name").Stdout)
}

// The first command after login, with no -n, no -p and no current project
// (the test kubeconfig's context names no namespace).
func TestFirstCommandWithoutAProject(t *testing.T) {
	// One project: it stands in for the namespace.
	for user, ns := range map[string]string{"bob": "payments", "erin": "sandbox", "dave": "search-dev"} {
		u := policyUser(t, user)
		if got, want := names(u.MustRun("get", "pods", "-o", "name").Stdout), podNamesIn(t, ns); !slices.Equal(got, want) || len(want) == 0 {
			t.Errorf("%s get pods: %v, want %s's %v", user, got, ns, want)
		}
	}
	// Several: the error names them and how to pick one, and nothing is listed.
	carol := policyUser(t, "carol")
	r := carol.Run("get", "pods")
	WantCode(t, r, 2)
	wantStderr(t, r, `no namespace given (the kubeconfig's is "default", where user "carol" holds no role); pick one of your projects: "payments", "search"`,
		"kgate project use payments", "-n NAMESPACE")
	if strings.Contains(r.Stderr, "belongs to no project") || r.Stdout != "" {
		t.Errorf("carol get pods: %s", r)
	}
	// Commands that need no namespace are unchanged.
	carol.MustRun("get", "namespaces")
	carol.MustRun("get", "pods", "-A")
	// Once picked, it is used.
	carol.MustRun("project", "use", "payments")
	if got, want := names(carol.MustRun("get", "pods", "-o", "name").Stdout), podNamesIn(t, "payments"); !slices.Equal(got, want) {
		t.Errorf("after project use: %v, want %v", got, want)
	}
	// No project at all: a denial that says so.
	u := NewUser(t)
	u.UsePolicy(testPolicy)
	u.Login("a1")
	wantDenied(t, u.Run("get", "pods"), `user "a1" holds no role in any project`)
	// A super admin keeps kubectl's default namespace.
	olga := policyUser(t, "olga")
	if got, want := names(olga.MustRun("get", "pods", "-o", "name").Stdout), podNamesIn(t, "default"); !slices.Equal(got, want) {
		t.Errorf("olga: %v, want %v", got, want)
	}
}

// A project defined by patterns (search-*) stands for the namespaces of the
// cluster they match.
func TestProjectOfPatterns(t *testing.T) {
	dave := policyUser(t, "dave")
	out := dave.MustRun("projects").Stdout
	if rows := Fields(out); len(rows) != 2 || !slices.Equal(rows[1], []string{"search", "admin", "search-dev,search-prod"}) {
		t.Errorf("dave's projects:\n%s", out)
	}
	var ps []struct {
		Name       string   `json:"name"`
		Namespaces []string `json:"namespaces"`
		Patterns   []string `json:"patterns"`
	}
	if err := json.Unmarshal([]byte(dave.MustRun("projects", "-o", "json").Stdout), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !slices.Equal(ps[0].Namespaces, []string{"search-dev", "search-prod"}) || !slices.Equal(ps[0].Patterns, []string{"search-*"}) {
		t.Errorf("projects -o json: %+v", ps)
	}

	r := dave.MustRun("project", "use", "search")
	if !strings.Contains(r.Stdout, `Switched to project "search" (namespace "search-dev"); your role there: admin.`) ||
		!strings.Contains(r.Stderr, "search-prod; choose one with `kgate project use search -n NAMESPACE`") {
		t.Errorf("project use search: %s", r)
	}
	if got, want := names(dave.MustRun("get", "pods", "-o", "name").Stdout), podNamesIn(t, "search-dev"); !slices.Equal(got, want) {
		t.Errorf("in search: %v, want %v", got, want)
	}
	r = dave.MustRun("project", "use", "search", "-n", "search-prod")
	if !strings.Contains(r.Stdout, `Switched to project "search" (namespace "search-prod")`) {
		t.Errorf("project use search -n search-prod: %s", r)
	}
	if got, want := names(dave.MustRun("get", "pods", "-o", "name").Stdout), podNamesIn(t, "search-prod"); !slices.Equal(got, want) {
		t.Errorf("in search-prod: %v, want %v", got, want)
	}
	if out := dave.MustRun("projects").Stdout; !strings.Contains(out, "*         search") {
		t.Errorf("current project not marked:\n%s", out)
	}
	r = dave.Run("project", "use", "search", "-n", "payments")
	WantCode(t, r, 2)
	wantStderr(t, r, `namespace "payments" is not one of project "search"'s (search-*)`)
	// -p of patterns: the first namespace; -n still wins.
	if got, want := names(dave.MustRun("get", "pods", "-p", "search", "-o", "name").Stdout), podNamesIn(t, "search-dev"); !slices.Equal(got, want) {
		t.Errorf("-p search: %v, want %v", got, want)
	}

	// A stranger to search: refused by the policy (exit 4), not a usage error.
	alice := policyUser(t, "alice")
	wantDenied(t, alice.Run("get", "pods", "-p", "search"),
		`user "alice" has no role in project "search" (namespace "search-dev"); list pods needs guest. Project admins: group team-search`)
	r = alice.Run("project", "use", "search")
	if r.Code != 0 || !strings.Contains(r.Stdout, "you hold no role there") {
		t.Errorf("alice project use search: %s", r)
	}
	wantDenied(t, alice.Run("get", "pods"), `user "alice" has no role in project "search"`)

	// Through a gateway, which lists a stranger none of search's namespaces:
	// still a denial, naming the project and its admins.
	g := sharedGateway(t)
	gwAlice := gwUser(t, g, "alice")
	wantDenied(t, gwAlice.Run("get", "pods", "-p", "search"), `user "alice" has no role in project "search" (namespaces search-*). Project admins: group team-search`)
	gwDave := gwUser(t, g, "dave")
	if got, want := names(gwDave.MustRun("get", "pods", "-p", "search", "-o", "name").Stdout), podNamesIn(t, "search-dev"); !slices.Equal(got, want) {
		t.Errorf("dave -p search through the gateway: %v, want %v", got, want)
	}
}

// logs --prefix=false prints a workload's lines raw, for jq and the like;
// the prefix stays the default.
func TestLogsPrefixFalse(t *testing.T) {
	u := Operator(t)
	pods := names(u.MustRun("get", "pods", "-n", "payments", "-l", "app=web", "-o", "name").Stdout)
	if len(pods) < 2 {
		t.Fatalf("want several web pods: %v", pods)
	}
	var want []string
	for _, p := range pods {
		want = append(want, lines(u.MustRun("logs", "-n", "payments", strings.TrimPrefix(p, "pod/"), "-c", "app", "--tail", "3").Stdout)...)
	}
	for _, args := range [][]string{
		{"logs", "-n", "payments", "deploy/web", "-c", "app", "--tail", "3", "--prefix=false"},
		{"logs", "-n", "payments", "-l", "app=web", "-c", "app", "--tail", "3", "--prefix=false"},
	} {
		got := lines(u.MustRun(args...).Stdout)
		for _, l := range got {
			if strings.HasPrefix(l, "[") {
				t.Errorf("%v: prefixed line %q", args, l)
			}
		}
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		// Lines arrive while the logs grow: each read line is one of the pods' own.
		if len(got) != len(w) {
			t.Errorf("%v: %d lines, want %d:\n%s", args, len(got), len(w), strings.Join(got, "\n"))
		}
	}
	// --all-containers of one pod, raw too.
	pod := strings.TrimPrefix(pods[0], "pod/")
	for _, l := range lines(u.MustRun("logs", "-n", "payments", pod, "--all-containers", "--tail", "1", "--prefix=false").Stdout) {
		if strings.HasPrefix(l, "[") {
			t.Errorf("--all-containers --prefix=false: %q", l)
		}
	}
	// Followed, raw as well.
	p := u.Start("logs", "-f", "-n", "payments", "deploy/web", "-c", "app", "--tail", "1", "--prefix=false")
	if !p.WaitFor("/app line ", 15*time.Second) {
		t.Fatalf("logs -f: %s", p.Output())
	}
	p.Stop()
	for _, l := range lines(p.Output()) {
		if strings.HasPrefix(l, "[pod/") {
			t.Errorf("logs -f --prefix=false: %q", l)
		}
	}
	// The default keeps the prefix.
	for _, l := range lines(u.MustRun("logs", "-n", "payments", "deploy/web", "-c", "app", "--tail", "1").Stdout) {
		if !strings.HasPrefix(l, "[pod/web-") {
			t.Errorf("default: unprefixed %q", l)
		}
	}
}

// writesTo counts the kube-apiserver's audit events of changes (not reads)
// that kgate made to one object or its subresources (the controllers' own
// status updates left out).
func writesTo(t *testing.T, resource, ns, name string) int {
	t.Helper()
	n := 0
	for _, ev := range kubeAudit(t, fmt.Sprintf(`"resource":%q,"namespace":%q,"name":%q`, resource, ns, name)) {
		if ua, _ := ev["userAgent"].(string); !strings.HasPrefix(ua, "kgate/") {
			continue
		}
		switch ev["verb"] {
		case "delete", "update", "patch", "create", "deletecollection":
			n++
		}
	}
	return n
}

// Ctrl-C at a [y/N] prompt ends kgate at once with 130, and nothing reaches
// the API server.
func TestPromptInterrupted(t *testing.T) {
	erin := policyUser(t, "erin")
	t.Cleanup(func() { Kubectl(t, "delete", "cm", "-n", "sandbox", "-l", "kgate.dev/test=interrupt") })
	labelledConfigMap(t, "sandbox", "ask-interrupt", "kgate.dev/test=interrupt")
	workload(t, "sandbox", "interrupt", 1)
	cmBefore, deployBefore := writesTo(t, "configmaps", "sandbox", "ask-interrupt"), writesTo(t, "deployments", "sandbox", "interrupt")

	tm := newTmux(t, erin, 120, 30)
	for _, c := range []struct{ cmd, object string }{
		{"delete cm/ask-interrupt -n sandbox", "configmap/ask-interrupt"},
		{"scale deploy/interrupt --replicas=0 -n sandbox", "deployment.apps/interrupt"},
	} {
		tm.send("clear", "Enter")
		// The last command's prompt and code must be gone before the next.
		deadline := time.Now().Add(10 * time.Second)
		for s := tm.screen(); (strings.Contains(s, "[y/N]") || strings.Contains(s, "code=")) && time.Now().Before(deadline); s = tm.screen() {
			time.Sleep(100 * time.Millisecond)
		}
		tm.send(fmt.Sprintf("%s %s; echo code=$?", kgateBin, c.cmd), "Enter")
		if !tm.waitFor("[y/N]", 15*time.Second) {
			t.Fatalf("%s: no prompt:\n%s", c.cmd, tm.screen())
		}
		start := time.Now()
		tm.send("C-c")
		if !tm.waitFor("code=130", 3*time.Second) {
			t.Fatalf("%s: Ctrl-C did not end the prompt:\n%s", c.cmd, tm.screen())
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: ended %s after Ctrl-C", c.cmd, d)
		}
		if s := tm.screen(); !strings.Contains(s, "Interrupted; nothing was") || !strings.Contains(s, c.object) {
			t.Errorf("%s:\n%s", c.cmd, s)
		}
	}
	MustKubectl(t, "get", "cm", "ask-interrupt", "-n", "sandbox")
	if n := replicas(t, "sandbox", "interrupt"); n != 1 {
		t.Errorf("replicas %d after an interrupted scale to zero", n)
	}
	// The API server's own log: no write after the interrupts. Its audit log
	// is written asynchronously: give it a moment.
	time.Sleep(1500 * time.Millisecond)
	if n := writesTo(t, "configmaps", "sandbox", "ask-interrupt"); n != cmBefore {
		t.Errorf("%d writes to the configmap after an interrupted delete", n-cmBefore)
	}
	if n := writesTo(t, "deployments", "sandbox", "interrupt"); n != deployBefore {
		t.Errorf("%d writes to the deployment after an interrupted scale", n-deployBefore)
	}
	// The count sees kgate's writes: a confirmed scale is one.
	erin.MustRun("scale", "deploy/interrupt", "--replicas=0", "-n", "sandbox", "--yes")
	deadline := time.Now().Add(10 * time.Second)
	for writesTo(t, "deployments", "sandbox", "interrupt") == deployBefore && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if writesTo(t, "deployments", "sandbox", "interrupt") == deployBefore {
		t.Error("a confirmed scale left no write in the API server's audit log: the check above proves nothing")
	}
}

type kgateDecision struct {
	Verb, Resource, Subresource, Namespace, Name, Decision, Reason string
}

func decisions(t *testing.T, u *User) []kgateDecision {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(u.Dir, "state", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []kgateDecision
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var d kgateDecision
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, d)
	}
	return out
}

// A denial for TYPE/NAME names what the user typed, in the message and in
// the audit line.
func TestDenialNamesTypeName(t *testing.T) {
	alice := policyUser(t, "alice")
	for _, c := range []struct {
		args []string
		want string
		verb string
		sub  string
	}{
		{[]string{"logs", "deploy/indexer", "-n", "search-prod"}, "logs deployments/indexer needs guest", "logs", ""},
		{[]string{"exec", "deploy/indexer", "-n", "search-prod", "--", "true"}, "exec deployments/indexer needs admin", "exec", ""},
		{[]string{"logs", "sts/store", "-n", "search-prod"}, "logs statefulsets/store needs guest", "logs", ""},
		{[]string{"attach", "deploy/indexer", "-n", "search-prod"}, "attach deployments/indexer needs admin", "exec", "attach"},
		{[]string{"port-forward", "deploy/indexer", "8080", "-n", "search-prod"}, "port-forward deployments/indexer needs admin", "exec", "portforward"},
	} {
		r := alice.Run(c.args...)
		wantDenied(t, r, `user "alice" has no role in project "search" (namespace "search-prod"); `+c.want)
		if strings.Contains(r.Stderr, "pods/") {
			t.Errorf("%v names a pod: %s", c.args, r.Stderr)
		}
		log := decisions(t, alice)
		last := log[len(log)-1]
		typed := strings.SplitN(c.args[1], "/", 2)[1]
		if last.Decision != "deny" || last.Verb != c.verb || last.Name != typed || last.Resource == "pods" || last.Subresource != c.sub {
			t.Errorf("%v: audit line %+v", c.args, last)
		}
	}
	// A pod by name keeps its words.
	wantDenied(t, alice.Run("logs", "store-0", "-n", "search-prod"), "logs pods/store-0 (log) needs guest")
}

// Wording a newcomer reads.
func TestNewcomerWording(t *testing.T) {
	u := Operator(t)
	r := u.Run("describe")
	WantCode(t, r, 2)
	wantStderr(t, r, "you must specify the type of resource to describe")
	if strings.Contains(r.Stderr, "to get") {
		t.Errorf("describe: %s", r.Stderr)
	}
	r = u.Run("delete")
	WantCode(t, r, 2)
	wantStderr(t, r, "you must specify the type of resource to delete")

	// The expiry has a time zone.
	e := NewUser(t)
	e.UseLDAP()
	e.Setenv("KGATE_SESSION_LIFETIME", "1s")
	WantCode(t, loginStdin(e, "alice", Password(t, "alice")), 0)
	time.Sleep(1100 * time.Millisecond)
	r = e.Run("whoami")
	WantCode(t, r, 3)
	if !regexp.MustCompile(`expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [A-Z+\-0-9]{3,5} \(`).MatchString(r.Stderr) {
		t.Errorf("expiry without its zone: %s", r.Stderr)
	}

	// Through the gateway: a guest's port-forward, and deleting a namespace.
	g := sharedGateway(t)
	bob := gwUser(t, g, "bob")
	pod := webPod(t, bob)
	r = gwKubectl(t, bob, "port-forward", "-n", "payments", "pod/"+pod, ":1")
	if r.Code == 0 || !strings.Contains(r.Stderr, "port-forward pods/"+pod+" needs admin") || strings.Contains(r.Stderr, "(portforward)") {
		t.Errorf("port-forward as a guest: %s", r)
	}
	alice := gwUser(t, g, "alice")
	r = gwKubectl(t, alice, "delete", "namespace", "payments-staging")
	if r.Code == 0 || !strings.Contains(r.Stderr, "delete namespaces/payments-staging acts on a cluster-wide object and is reserved to super admins") ||
		strings.Contains(r.Stderr, "without a namespace") {
		t.Errorf("delete namespace through the gateway: %s", r)
	}
	MustKubectl(t, "get", "namespace", "payments-staging")
}

// Exit codes agree with the table, which --help and man kgate carry.
func TestExitCodesNewcomerMet(t *testing.T) {
	u := Operator(t)
	// exec into a completed pod: not a usage error.
	done := names(MustKubectl(t, "get", "pods", "-n", "payments", "--field-selector=status.phase=Succeeded", "-o", "name").Stdout)
	if len(done) == 0 {
		t.Fatal("no completed pod in payments (the seed's job db-migrate)")
	}
	r := u.Run("exec", "-n", "payments", strings.TrimPrefix(done[0], "pod/"), "--", "true")
	WantCode(t, r, 1)
	wantStderr(t, r, "cannot exec into a container in a completed pod; current phase is Succeeded")

	// --server naming another gateway: whoami refuses the session as get does.
	g := sharedGateway(t)
	bob := gwUser(t, g, "bob")
	other := "https://" + closedPort(t)
	w, gt := bob.Run("--server", other, "whoami"), bob.Run("--server", other, "get", "pods", "-n", "payments")
	WantCode(t, w, 3)
	WantCode(t, gt, 3)
	if w.Stderr != gt.Stderr || !strings.Contains(w.Stderr, "is with the gateway "+g.URL+", not "+other) {
		t.Errorf("whoami and get disagree:\n%s\n%s", w, gt)
	}
	bob.MustRun("--server", g.URL, "whoami")

	help := u.MustRun("--help").Stdout
	manPage, err := exec.Command("man", filepath.Join(repoRoot(t), "man", "kgate.1")).Output()
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(repoRoot(t), "man", "kgate.1"))
		manPage = b
	}
	for _, want := range []string{"Exit codes:", "0    success", "2    usage", "3    not logged in", "4    forbidden", "5    not found",
		"6    unavailable", "130  interrupted", "remote command's own exit code"} {
		if !strings.Contains(help, want) {
			t.Errorf("kgate --help lacks %q", want)
		}
		if !strings.Contains(strings.ReplaceAll(string(manPage), `\-`, "-"), want) {
			t.Errorf("man kgate lacks %q", want)
		}
	}
}

// The demo shows what it runs, tells alice's password, and lists the pods
// that remain after scaling down.
func TestDemo(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command("bash", filepath.Join(root, "test", "demo.sh"))
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	s := string(out)
	pw := Password(t, "alice")
	for _, want := range []string{
		"$ kgate login --username alice --password-stdin <<< " + pw,
		"password in the local directory is " + pw,
		"kgate login -u alice    # password " + pw,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("demo lacks %q", want)
		}
	}
	if strings.Contains(s, "alice.password") {
		t.Error("the demo shows a file that does not exist")
	}
	// The dry-run delete right after scaling to 2 lists 2 pods.
	i := strings.Index(s, "$ kgate delete pod -l app=web --dry-run=server")
	if i < 0 {
		t.Fatalf("no delete step:\n%s", s)
	}
	step := s[i:]
	if j := strings.Index(step, "\n# "); j > 0 {
		step = step[:j]
	}
	if n := strings.Count(step, "deleted from payments namespace (server dry run)"); n != 2 {
		t.Errorf("the dry-run delete after scaling to 2 lists %d pods:\n%s", n, step)
	}
}

// The environment's pods look like a kubelet's: every container of a running
// pod has an ID, an image ID and a start time; exec and logs still find them.
func TestPodsLookLikeAKubelets(t *testing.T) {
	// A pod with an init container and a sidecar, beside the seed's.
	y := `apiVersion: v1
kind: Pod
metadata: {name: kubelet-like, namespace: sandbox, labels: {kgate.dev/test: kubelet-like}}
spec:
  nodeSelector: {type: kwok}
  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  initContainers:
  - {name: setup, image: busybox:1.36}
  - {name: shipper, image: registry.example.com/platform/log-shipper:2.1.0, restartPolicy: Always}
  containers: [{name: main, image: registry.example.com/app:1}]
`
	f := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(f, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	MustKubectl(t, "apply", "-f", f)
	t.Cleanup(func() {
		Kubectl(t, "delete", "pod", "kubelet-like", "-n", "sandbox", "--ignore-not-found", "--wait=false")
	})
	waitPods(t, "sandbox", "kgate.dev/test=kubelet-like", 1)
	// ... and an ephemeral container, which the node agent reports.
	MustKubectl(t, "debug", "-n", "sandbox", "kubelet-like", "--image=busybox:1.36", "-c", "dbg", "--", "true")
	deadline := time.Now().Add(30 * time.Second)
	for MustKubectl(t, "get", "pod", "kubelet-like", "-n", "sandbox", "-o", "jsonpath={.status.ephemeralContainerStatuses[*].name}").Stdout != "dbg" {
		if time.Now().After(deadline) {
			t.Fatal("the ephemeral container was never reported")
		}
		time.Sleep(300 * time.Millisecond)
	}

	type status struct {
		Name, Image, ImageID, ContainerID string
		Started                           *bool
		State                             struct {
			Running    *struct{ StartedAt string }
			Terminated *struct{ StartedAt, ContainerID string }
		}
	}
	var list struct {
		Items []struct {
			Metadata struct{ Namespace, Name string }
			Spec     struct {
				InitContainers []struct{ Name, RestartPolicy string }
			}
			Status struct {
				Phase                      string
				ContainerStatuses          []status
				InitContainerStatuses      []status
				EphemeralContainerStatuses []status
			}
		}
	}
	if err := json.Unmarshal([]byte(MustKubectl(t, "get", "pods", "-A", "-o", "json").Stdout), &list); err != nil {
		t.Fatal(err)
	}
	idRE := regexp.MustCompile(`^containerd://[0-9a-f]{64}$`)
	imageRE := regexp.MustCompile(`^[^@\s]+@sha256:[0-9a-f]{64}$`)
	seen := map[string]string{}
	running := 0
	for _, p := range list.Items {
		if p.Status.Phase != "Running" && p.Status.Phase != "Succeeded" {
			continue
		}
		pod := p.Metadata.Namespace + "/" + p.Metadata.Name
		if p.Status.Phase == "Running" {
			running++
		}
		sidecar := map[string]bool{}
		for _, c := range p.Spec.InitContainers {
			sidecar[c.Name] = c.RestartPolicy == "Always"
		}
		if len(p.Status.InitContainerStatuses) != len(p.Spec.InitContainers) {
			t.Errorf("%s: %d init container statuses for %d init containers", pod, len(p.Status.InitContainerStatuses), len(p.Spec.InitContainers))
		}
		for _, c := range p.Status.InitContainerStatuses {
			where := pod + "/" + c.Name
			if !idRE.MatchString(c.ContainerID) || !imageRE.MatchString(c.ImageID) {
				t.Errorf("%s: containerID %q, imageID %q", where, c.ContainerID, c.ImageID)
			}
			seen[c.ContainerID] = where
			switch {
			case sidecar[c.Name] && p.Status.Phase == "Running":
				if c.State.Running == nil || c.State.Running.StartedAt == "" || c.Started == nil || !*c.Started {
					t.Errorf("%s: sidecar not running: %+v", where, c)
				}
			case !sidecar[c.Name]:
				if c.State.Terminated == nil || c.State.Terminated.StartedAt == "" || c.State.Terminated.ContainerID != c.ContainerID {
					t.Errorf("%s: init container not terminated: %+v", where, c.State.Terminated)
				}
			}
		}
		for _, c := range p.Status.EphemeralContainerStatuses {
			where := pod + "/" + c.Name
			if !idRE.MatchString(c.ContainerID) || !imageRE.MatchString(c.ImageID) || c.State.Running == nil || c.State.Running.StartedAt == "" {
				t.Errorf("%s (ephemeral): %+v", where, c)
			}
			seen[c.ContainerID] = where
		}
		for _, c := range p.Status.ContainerStatuses {
			where := pod + "/" + c.Name
			if !idRE.MatchString(c.ContainerID) || !imageRE.MatchString(c.ImageID) {
				t.Errorf("%s: containerID %q, imageID %q", where, c.ContainerID, c.ImageID)
			}
			if other, dup := seen[c.ContainerID]; dup {
				t.Errorf("%s and %s share the container ID %s", where, other, c.ContainerID)
			}
			seen[c.ContainerID] = where
			switch p.Status.Phase {
			case "Running":
				if c.State.Running == nil || c.State.Running.StartedAt == "" || c.Started == nil || !*c.Started {
					t.Errorf("%s: running with no start: %+v", where, c)
				}
			case "Succeeded":
				if c.State.Terminated == nil || c.State.Terminated.StartedAt == "" || c.State.Terminated.ContainerID != c.ContainerID {
					t.Errorf("%s: terminated state %+v", where, c.State.Terminated)
				}
			}
		}
	}
	if running == 0 || seen[""] != "" {
		t.Fatal("no running pods")
	}
	for _, c := range []string{"setup", "shipper", "main", "dbg"} {
		if !slices.Contains(mapValues(seen), "sandbox/kubelet-like/"+c) {
			t.Errorf("container %s of kubelet-like was not checked", c)
		}
	}
	// The node agent still finds the containers.
	u := Operator(t)
	pod := webPod(t, u)
	if r := u.MustRun("exec", "-n", "payments", pod, "-c", "app", "--", "sh", "-c", "echo found"); r.Stdout != "found\n" {
		t.Errorf("exec: %s", r)
	}
	if l := lines(u.MustRun("logs", "-n", "payments", pod, "-c", "app", "--tail", "1").Stdout); len(l) != 1 || !strings.Contains(l[0], "/app line ") {
		t.Errorf("logs: %q", l)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
