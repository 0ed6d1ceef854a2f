package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// kindsNS holds the objects of the kinds tests: in project payments, where
// bob is a guest and alice an admin.
const kindsNS = "payments-staging"

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kgate.test
spec:
  group: kgate.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              color: {type: string}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`

const kindsObjects = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: payments-staging}
spec:
  rules:
  - host: web.example.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: payments-staging}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: payments-staging}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: payments-staging}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: payments-staging}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: payments-staging}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: payments-staging}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: builder, namespace: payments-staging}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: manual
  namespace: payments-staging
  labels: {kubernetes.io/service-name: manual}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints: [{addresses: [10.0.0.7]}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: payments-staging}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: kgate.test/v1
kind: Widget
metadata: {name: small, namespace: payments-staging, labels: {tier: a}}
spec: {size: 2, color: red}
---
apiVersion: kgate.test/v1
kind: Widget
metadata: {name: big, namespace: payments-staging, labels: {tier: b}}
spec: {size: 10, color: blue}
---
apiVersion: kgate.test/v1
kind: Widget
metadata: {name: medium, namespace: payments-staging, labels: {tier: a}}
spec: {size: 5, color: green}
`

var kindsOnce sync.Mutex
var kindsDone bool

// kindsFixture creates the CRD and one object of each kind the tests read
// (idempotent, kept for the environment's life).
func kindsFixture(t *testing.T) {
	t.Helper()
	kindsOnce.Lock()
	defer kindsOnce.Unlock()
	if kindsDone {
		return
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "crd.yaml"), widgetCRD)
	writeFile(t, filepath.Join(dir, "objects.yaml"), kindsObjects)
	MustKubectl(t, "apply", "-f", filepath.Join(dir, "crd.yaml"))
	MustKubectl(t, "wait", "--for=condition=Established", "crd/widgets.kgate.test", "--timeout=30s")
	// The CRD's API may take a moment to be served after it is established.
	var r Result
	for i := 0; i < 50; i++ {
		if r = Kubectl(t, "apply", "-f", filepath.Join(dir, "objects.yaml")); r.Code == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.Code != 0 {
		t.Fatalf("applying the kinds fixture: %s", r)
	}
	kindsDone = true
	// A new CRD needs the RBAC rendering again (as the README tells an
	// operator): the next gateway test re-applies it, CRD included.
	rbacOnce.Lock()
	rbacApplied = false
	rbacOnce.Unlock()
}

// sameTable compares kgate's and kubectl's tables cell by cell, ages
// excepted; ordered keeps the row order (--sort-by).
func sameTable(t *testing.T, u *User, ordered bool, args ...string) {
	t.Helper()
	gr := u.MustRun(args...)
	kr := MustKubectl(t, args...)
	got, want := Fields(gr.Stdout), Fields(kr.Stdout)
	if len(got) != len(want) || len(got) == 0 {
		t.Errorf("%v: %d rows, kubectl %d\n%s\n---\n%s", args, len(got), len(want), gr.Stdout, kr.Stdout)
		return
	}
	if !ordered {
		sortRows(got)
		sortRows(want)
	}
	for r := range got {
		if len(got[r]) != len(want[r]) {
			t.Errorf("%v row %d: %v vs kubectl %v", args, r, got[r], want[r])
			continue
		}
		for c := range got[r] {
			if got[r][c] != want[r][c] && !(isAge(got[r][c]) && isAge(want[r][c])) {
				t.Errorf("%v row %d col %d: %q vs kubectl %q", args, r, c, got[r][c], want[r][c])
			}
		}
	}
}

func TestKindsMatchKubectl(t *testing.T) {
	kindsFixture(t)
	u := Operator(t)
	for _, kind := range []string{"ingresses", "ing", "pvc", "hpa", "netpol", "sa", "roles", "rolebindings",
		"endpointslices", "pdb", "widgets", "wdg", "widget.kgate.test", "widgets.v1.kgate.test", "Widget"} {
		sameTable(t, u, false, "get", kind, "-n", kindsNS)
	}
	sameTable(t, u, false, "get", "all", "-n", kindsNS)
	sameTable(t, u, false, "get", "ing,pvc,wdg", "-n", kindsNS)
	sameTable(t, u, false, "get", "wdg", "-A")
	sameTable(t, u, false, "get", "nodes")
	sameTable(t, u, false, "get", "crd")
	sameTable(t, u, true, "get", "wdg", "-n", kindsNS, "--sort-by=.spec.size")
	sameTable(t, u, true, "get", "pods", "-A", "--sort-by={.metadata.name}")
	sameTable(t, u, false, "get", "wdg", "-n", kindsNS, "-L", "tier")
	sameTable(t, u, false, "get", "deploy", "-A", "-L", "app", "--show-labels")
	sameTable(t, u, false, "get", "wdg", "-n", kindsNS, "-o", "custom-columns=NAME:.metadata.name,SIZE:.spec.size,MISSING:.spec.nothing")
	file := filepath.Join(u.Dir, "cols.txt")
	writeFile(t, file, "NAME COLOR\n.metadata.name .spec.color\n")
	sameTable(t, u, false, "get", "wdg", "-n", kindsNS, "-o", "custom-columns-file="+file)
	sameTable(t, u, true, "get", "wdg", "-n", kindsNS, "--sort-by=.spec.size", "-o", "custom-columns=N:.metadata.name")

	for _, args := range [][]string{{"get", "all", "-n", kindsNS, "-o", "name"}, {"get", "wdg", "-n", kindsNS, "-o", "name", "--sort-by=.spec.size"}} {
		if got, want := u.MustRun(args...).Stdout, MustKubectl(t, args...).Stdout; got != want {
			t.Errorf("%v:\n%s\n--- kubectl:\n%s", args, got, want)
		}
	}
	// A guest sees the same for the namespaced kinds of "all".
	sameTable(t, policyUser(t, "bob"), false, "get", "all", "-n", kindsNS)

	// --ignore-not-found: nothing printed, exit 0.
	r := u.MustRun("get", "wdg", "no-such", "-n", kindsNS, "--ignore-not-found")
	if r.Stdout != "" || r.Stderr != "" {
		t.Errorf("--ignore-not-found: %s", r)
	}
	WantCode(t, u.Run("get", "wdg", "no-such", "-n", kindsNS), 5)
	// A typo is a usage error that names the nearest kinds.
	r = u.Run("get", "widgts", "-n", kindsNS)
	WantCode(t, r, 2)
	if !strings.Contains(r.Stderr, `the server doesn't have a resource type "widgts"`) || !strings.Contains(r.Stderr, `Did you mean "widgets"?`) {
		t.Errorf("typo: %s", r)
	}
	// -o on a command without output formats.
	WantCode(t, u.Run("describe", "wdg", "big", "-n", kindsNS, "-o", "json"), 2)
	WantCode(t, u.Run("get", "wdg", "-n", kindsNS, "-o", "custom-columns=bad"), 2)
}

func TestKindsClusterScoped(t *testing.T) {
	bob := policyUser(t, "bob")
	for _, kind := range []string{"nodes", "pv", "storageclasses", "crd"} {
		wantDenied(t, bob.Run("get", kind), "list ", "are cluster-scoped, and cluster-scoped kinds are reserved to super admins",
			`user "bob" is not one. Super admins: group ops`)
	}
	r := bob.Run("can-i", "get", "nodes")
	if r.Code != 4 || !strings.HasPrefix(r.Stdout, "no") {
		t.Errorf("can-i get nodes: %s", r)
	}
	// can-i agrees with get: usage errors for what does not exist.
	WantCode(t, bob.Run("can-i", "get", "frobnicators"), 2)
	WantCode(t, bob.Run("can-i", "frob", "pods"), 2)
	kindsFixture(t)
	if r := bob.Run("can-i", "get", "wdg", "-n", kindsNS); r.Code != 0 || r.Stdout != "yes\n" {
		t.Errorf("can-i get wdg: %s", r)
	}
	bob.MustRun("get", "wdg", "-n", kindsNS)
	// Deleting a cluster-scoped kind: never, whatever the role.
	olga := policyUser(t, "olga")
	WantCode(t, olga.Run("delete", "node/kwok-node-0", "--yes"), 4)
}

func TestKindsDescribeAndDeleteCRD(t *testing.T) {
	kindsFixture(t)
	u := Operator(t)
	got := u.MustRun("describe", "wdg", "big", "-n", kindsNS).Stdout
	want := MustKubectl(t, "describe", "wdg", "big", "-n", kindsNS).Stdout
	if got != want {
		t.Errorf("describe wdg/big:\n%s\n--- kubectl:\n%s", got, want)
	}
	name := "delete-me-" + time.Now().Format("150405")
	writeFile(t, filepath.Join(u.Dir, "w.yaml"), "apiVersion: kgate.test/v1\nkind: Widget\nmetadata: {name: "+name+", namespace: "+kindsNS+"}\nspec: {size: 1}\n")
	MustKubectl(t, "apply", "-f", filepath.Join(u.Dir, "w.yaml"))
	t.Cleanup(func() { Kubectl(t, "delete", "wdg", name, "-n", kindsNS, "--ignore-not-found") })
	bob := policyUser(t, "bob")
	wantDenied(t, bob.Run("delete", "wdg/"+name, "-n", kindsNS, "--yes"), "delete widgets.kgate.test/"+name+" needs admin")
	MustKubectl(t, "get", "wdg", name, "-n", kindsNS)
	alice := policyUser(t, "alice")
	r := alice.MustRun("delete", "widget", name, "-n", kindsNS, "--yes")
	if !strings.Contains(r.Stdout, `widget.kgate.test "`+name+`" deleted`) {
		t.Errorf("delete: %s", r)
	}
	if r := Kubectl(t, "get", "wdg", name, "-n", kindsNS); r.Code == 0 {
		t.Errorf("widget %s still there", name)
	}
}

func TestKindsTableWatch(t *testing.T) {
	kindsFixture(t)
	u := Operator(t)
	name := "watched-" + time.Now().Format("150405")
	writeFile(t, filepath.Join(u.Dir, "w.yaml"), "apiVersion: kgate.test/v1\nkind: Widget\nmetadata: {name: "+name+", namespace: "+kindsNS+"}\nspec: {size: 7, color: grey}\n")
	MustKubectl(t, "apply", "-f", filepath.Join(u.Dir, "w.yaml"))
	t.Cleanup(func() { Kubectl(t, "delete", "wdg", name, "-n", kindsNS, "--ignore-not-found") })
	for _, mode := range [][]string{{"-w", "--output-watch-events"}, {"--watch-only"}} {
		p := u.Start(append([]string{"get", "wdg", name, "-n", kindsNS}, mode...)...)
		time.Sleep(1500 * time.Millisecond) // the watch is established
		for i := 1; i <= 3; i++ {
			MustKubectl(t, "label", "wdg", name, "-n", kindsNS, "step="+strings.Repeat("x", i), "--overwrite")
			time.Sleep(300 * time.Millisecond)
		}
		if mode[0] == "--watch-only" {
			MustKubectl(t, "delete", "wdg", name, "-n", kindsNS)
		}
		// -w: the listed object, then three changes; --watch-only: three
		// changes and the deletion.
		want := 4
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) && strings.Count(p.Output(), name) < want {
			time.Sleep(100 * time.Millisecond)
		}
		p.Stop()
		out := p.Output()
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != want+1 || strings.Count(out, name) != want {
			t.Fatalf("%v: want one header and %d rows:\n%s", mode, want, out)
		}
		header := lines[0]
		for _, col := range []string{"NAME", "SIZE", "COLOR", "AGE"} {
			at := strings.Index(header, col)
			if at < 0 {
				t.Fatalf("%v: header %q has no %s", mode, header, col)
			}
			for _, l := range lines[1:] {
				// Every row is aligned under the header: a cell starts where
				// its column does.
				if at > 0 && (len(l) <= at || l[at-1] != ' ' || l[at] == ' ') {
					t.Errorf("%v: row %q not aligned under %s of %q", mode, l, col, header)
				}
			}
		}
		if mode[0] == "-w" {
			for i, ev := range []string{"ADDED", "MODIFIED", "MODIFIED", "MODIFIED"} {
				if f := strings.Fields(lines[i+1]); f[0] != ev || f[1] != name || f[2] != "7" || f[3] != "grey" {
					t.Errorf("-w row %d: %v, want %s %s 7 grey", i, f, ev, name)
				}
			}
		} else if f := strings.Fields(lines[4]); f[0] != name {
			t.Errorf("deletion row: %v", f)
		}
	}
}

// TestKindsGatewayWatch: the same table watch through the gateway.
func TestKindsGatewayWatch(t *testing.T) {
	kindsFixture(t)
	g := sharedGateway(t)
	bob := gwUser(t, g, "bob")
	name := "gw-watched-" + time.Now().Format("150405")
	writeFile(t, filepath.Join(bob.Dir, "w.yaml"), "apiVersion: kgate.test/v1\nkind: Widget\nmetadata: {name: "+name+", namespace: "+kindsNS+"}\nspec: {size: 3, color: pink}\n")
	p := bob.Start("get", "wdg", "-n", kindsNS, "-w")
	if !p.WaitFor("big", 20*time.Second) {
		t.Fatalf("gateway watch never listed:\n%s", p.Output())
	}
	MustKubectl(t, "apply", "-f", filepath.Join(bob.Dir, "w.yaml"))
	t.Cleanup(func() { Kubectl(t, "delete", "wdg", name, "-n", kindsNS, "--ignore-not-found") })
	MustKubectl(t, "label", "wdg", name, "-n", kindsNS, "a=b")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && strings.Count(p.Output(), name) < 2 {
		time.Sleep(100 * time.Millisecond)
	}
	p.Stop()
	out := p.Output()
	if strings.Count(out, "NAME") != 1 || strings.Count(out, name) < 2 {
		t.Fatalf("gateway watch: want one header and the new widget twice:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, name) && !strings.Contains(l, "pink") {
			t.Errorf("an event row lost its cells: %q", l)
		}
	}
}

var discoveryURL = regexp.MustCompile(`url="[^"]*/(api|apis)(\?[^"]*)?"`)

// discoveryRequests counts discovery requests (/api, /apis) in a -v=6 log.
func discoveryRequests(stderr string) int {
	return len(discoveryURL.FindAllString(stderr, -1))
}

func TestKindsDiscoveryCache(t *testing.T) {
	kindsFixture(t)
	u := Operator(t)
	// Built-in kinds: no discovery at all, and nothing cached.
	r := u.MustRun("get", "pods", "-n", kindsNS, "-v=6")
	if n := discoveryRequests(r.Stderr); n != 0 {
		t.Errorf("get pods made %d discovery requests:\n%s", n, r.Stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(u.Dir, "cache", "discovery", "*.json")); len(m) != 0 {
		t.Errorf("get pods wrote a discovery cache: %v", m)
	}
	// A CRD, cold: discovery, then a cache file of the user's only.
	r = u.MustRun("get", "wdg", "-n", kindsNS, "-v=6")
	if n := discoveryRequests(r.Stderr); n == 0 {
		t.Errorf("a cold get of a CRD made no discovery request:\n%s", r.Stderr)
	}
	m, _ := filepath.Glob(filepath.Join(u.Dir, "cache", "discovery", "*.json"))
	if len(m) != 1 {
		t.Fatalf("discovery cache files: %v", m)
	}
	if st, err := os.Stat(m[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode: %v %v", st, err)
	}
	// Warm: no discovery request for get, describe, or completion.
	for _, args := range [][]string{{"get", "wdg", "-n", kindsNS}, {"get", "all", "-n", kindsNS}, {"describe", "wdg", "big", "-n", kindsNS}} {
		r = u.MustRun(append(args, "-v=6")...)
		if n := discoveryRequests(r.Stderr); n != 0 {
			t.Errorf("%v with a warm cache made %d discovery requests:\n%s", args, n, r.Stderr)
		}
	}
	wantValues(t, "kinds from the cache", u.Complete("get", "widg"), []string{"widgets"})
	wantValues(t, "CRD object names", u.Complete("-n", kindsNS, "get", "wdg", ""), []string{"big", "medium", "small"})
	wantValues(t, "CRD TYPE/NAME", u.Complete("-n", kindsNS, "get", "widgets/m"), []string{"widgets/medium"})
	wantValues(t, "delete offers CRDs", u.Complete("delete", "widg"), []string{"widgets"})

	// A CRD installed after the cache was written: the unknown kind
	// refreshes it once.
	crd := strings.NewReplacer("widgets", "gadgets", "widget", "gadget", "Widget", "Gadget", "wdg", "gdg", "categories: [all]", "categories: []").Replace(widgetCRD)
	writeFile(t, filepath.Join(u.Dir, "gadget.yaml"), crd)
	MustKubectl(t, "apply", "-f", filepath.Join(u.Dir, "gadget.yaml"))
	t.Cleanup(func() { Kubectl(t, "delete", "crd", "gadgets.kgate.test", "--ignore-not-found") })
	MustKubectl(t, "wait", "--for=condition=Established", "crd/gadgets.kgate.test", "--timeout=30s")
	var got Result
	for i := 0; i < 30; i++ {
		if got = u.Run("get", "gdg", "-n", kindsNS, "-v=6"); got.Code == 0 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if got.Code != 0 || !strings.Contains(got.Stderr, "No resources found in "+kindsNS+" namespace.") {
		t.Fatalf("a new CRD: %s", got)
	}
	if discoveryRequests(got.Stderr) == 0 {
		t.Errorf("the new CRD was found without discovery?\n%s", got.Stderr)
	}
	wantValues(t, "the new CRD completes", u.Complete("get", "gadg"), []string{"gadgets"})
}

func TestKindsSensitivePolicy(t *testing.T) {
	kindsFixture(t)
	pol := strings.Replace(testPolicy, "projects:", "sensitiveKinds: [secrets, widgets.kgate.test]\nprojects:", 1)
	bob := NewUser(t)
	bob.UsePolicy(pol)
	bob.Login("bob")
	wantDenied(t, bob.Run("get", "wdg", "-n", kindsNS), `user "bob" is a guest in project "payments"`, "list widgets.kgate.test needs admin")
	wantDenied(t, bob.Run("describe", "widget/big", "-n", kindsNS), "describe widgets.kgate.test/big needs admin")
	wantDenied(t, bob.Run("get", "secrets", "-n", kindsNS), "list secrets needs admin")
	bob.MustRun("get", "ing", "-n", kindsNS)
	if r := bob.Run("can-i", "get", "wdg", "-n", kindsNS); r.Code != 4 {
		t.Errorf("can-i agrees with get: %s", r)
	}
	alice := NewUser(t)
	alice.UsePolicy(pol)
	alice.Login("alice")
	alice.MustRun("get", "wdg", "-n", kindsNS)
}

func TestKindsPolicyRBACCoversCRDs(t *testing.T) {
	kindsFixture(t)
	ensureRBAC(t)
	admin := NewUser(t)
	file := filepath.Join(admin.Dir, "policy.yaml")
	writePolicy(t, file, testPolicy)
	r := admin.MustRun("policy", "rbac", file)
	if !strings.Contains(r.Stdout, "kgate.test") || !strings.Contains(r.Stderr, "after installing a CRD, run `kgate policy rbac --apply` again") {
		t.Fatalf("policy rbac does not cover the CRD or say how to re-render:\n%s", r)
	}
	admin.MustRun("policy", "rbac", file, "--apply")
	can := func(user, group, verb, res string) string {
		r := Kubectl(t, "auth", "can-i", verb, res, "-n", kindsNS, "--as", user, "--as-group", group)
		return strings.TrimSpace(r.Stdout)
	}
	for _, c := range []struct{ user, group, verb, res, want string }{
		{"bob", "team-payments", "list", "widgets.kgate.test", "yes"},
		{"bob", "team-payments", "delete", "widgets.kgate.test", "no"},
		{"bob", "team-payments", "list", "ingresses.networking.k8s.io", "yes"},
		{"bob", "team-payments", "get", "secrets", "no"},
		{"alice", "payments-leads", "delete", "widgets.kgate.test", "yes"},
		{"alice", "payments-leads", "get", "secrets", "yes"},
	} {
		if got := can(c.user, c.group, c.verb, c.res); got != c.want {
			t.Errorf("kubectl auth can-i %s %s --as %s: %q, want %q", c.verb, c.res, c.user, got, c.want)
		}
	}
	// The cluster agrees with kgate for the CRD, impersonating the user.
	r = Kubectl(t, "get", "wdg", "-n", kindsNS, "--as", "bob", "--as-group", "team-payments")
	if r.Code != 0 {
		t.Errorf("kubectl get wdg as bob: %s", r)
	}
	if r := Kubectl(t, "delete", "wdg", "big", "-n", kindsNS, "--dry-run=server", "--as", "bob", "--as-group", "team-payments"); r.Code == 0 {
		t.Errorf("kubectl delete wdg as bob was allowed")
	}
}
