package completion_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/kgate/kgate/internal/cmd/cani"
	completioncmd "github.com/kgate/kgate/internal/cmd/completion"
	deletecmd "github.com/kgate/kgate/internal/cmd/delete"
	"github.com/kgate/kgate/internal/cmd/describe"
	execcmd "github.com/kgate/kgate/internal/cmd/exec"
	"github.com/kgate/kgate/internal/cmd/get"
	"github.com/kgate/kgate/internal/cmd/logs"
	projectcmd "github.com/kgate/kgate/internal/cmd/project"
	"github.com/kgate/kgate/internal/cmd/scale"
	"github.com/kgate/kgate/internal/cmd/whoami"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/factory"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// The completer and its candidates, as the tests of the command tree reach
// them (export_test.go).
type (
	completer = completion.Completer
	candidate = completion.Candidate
)

const testPolicy = `version: 1
superAdmins:
  groups: [ops]
projects:
  payments:
    namespaces: [payments, payments-staging]
    admins: {groups: [payments-leads]}
    guests: {groups: [team-payments]}
  search:
    namespaces: ["search-*"]
    admins: {groups: [team-search]}
`

// fakeCluster is a cluster of namespaces, each with objects by kind.
type fakeCluster struct {
	objects    map[string]map[string][]string // namespace → resource → names
	namespaces []string
	err        error
	asked      []string
}

func (f *fakeCluster) Names(_ context.Context, r kube.Resource, ns string, _ int) ([]candidate, error) {
	f.asked = append(f.asked, r.GVR.Resource+"@"+ns)
	if f.err != nil {
		return nil, f.err
	}
	var out []candidate
	for _, n := range f.objects[ns][r.GVR.Resource] {
		out = append(out, candidate{Name: n})
	}
	return out, nil
}

func (f *fakeCluster) Namespaces(context.Context) ([]string, error) {
	f.asked = append(f.asked, "namespaces")
	return f.namespaces, f.err
}

func (f *fakeCluster) Containers(_ context.Context, r kube.Resource, ns, name string) ([]candidate, error) {
	f.asked = append(f.asked, "containers:"+r.GVR.Resource+"/"+name+"@"+ns)
	if f.err != nil {
		return nil, f.err
	}
	return []candidate{{Name: "app", Desc: "web:1"}, {Name: "sidecar", Desc: "proxy:2"}}, nil
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{
		namespaces: []string{"default", "payments", "payments-staging", "sandbox", "search-dev", "search-prod"},
		objects: map[string]map[string][]string{
			"payments": {
				"pods":        {"web-1", "web-2", "db-migrate-x"},
				"deployments": {"web"},
				"services":    {"web"},
				"secrets":     {"web-credentials"},
			},
			"payments-staging": {"pods": {"web-s1"}},
			"search-prod":      {"pods": {"indexer-1"}, "statefulsets": {"store"}},
			"sandbox":          {"pods": {"quiet"}},
		},
	}
}

// users are LDAP identities as the sessions hold them.
var users = map[string]policy.Identity{
	"bob":   {User: "bob", Groups: []string{"team-payments"}},
	"alice": {User: "alice", Groups: []string{"payments-leads"}},
	"dave":  {User: "dave", Groups: []string{"team-search"}},
	"olga":  {User: "olga", Groups: []string{"ops"}},
	"erin":  {User: "erin"},
}

// complete runs `kgate __complete args...` as user ("" is no session) on a
// command tree built from the real commands, and returns the candidates
// (with their descriptions) and the directive.
func complete(t *testing.T, cluster *fakeCluster, user string, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	pol, err := policy.Parse("policy.yaml", []byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	newC := func(cmd *cobra.Command) *completer {
		id, ok := users[user]
		ns, _ := cmd.Flags().GetString("namespace")
		project, _ := cmd.Flags().GetString("project")
		return &completer{
			Identity: func() (policy.Identity, error) {
				if !ok {
					return policy.Identity{}, errors.New("not logged in")
				}
				return id, nil
			},
			Policy: func(context.Context) (*policy.Policy, error) { return pol, nil },
			Namespace: func() (string, error) {
				if ns == "" && project != "" {
					if p, ok := pol.ProjectByName(project); ok {
						return p.DefaultNamespace(), nil
					}
				}
				if ns == "" {
					return "default", nil
				}
				return ns, nil
			},
			Project: project,
			Cluster: cluster,
			Contexts: func() ([]candidate, error) {
				return []candidate{{Name: "kgate-local", Desc: "local (current)"}, {Name: "prod", Desc: "prod"}}, nil
			},
		}
	}
	io, _, out, errOut := iostreams.Test()
	f := factory.New(io)
	root := &cobra.Command{Use: "kgate", SilenceErrors: true, SilenceUsage: true}
	root.PersistentFlags().AddFlagSet(f.Flags)
	root.AddCommand(get.NewCmdGet(f, nil), describe.NewCmdDescribe(f, nil), logs.NewCmdLogs(f, nil),
		execcmd.NewCmdExec(f, nil), scale.NewCmdScale(f, nil), deletecmd.NewCmdDelete(f, nil),
		projectcmd.NewCmdProject(f), cani.NewCmdCanI(f, nil), whoami.NewCmdWhoami(f, nil),
		completioncmd.NewCmdCompletion(io, nil))
	defer completion.SetCompleter(newC)()
	completion.Root(root, f)
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %v: %v", args, err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	var dir int
	if _, err := fmt.Sscanf(last, ":%d", &dir); err != nil {
		t.Fatalf("no directive in %q", out.String())
	}
	if strings.Contains(errOut.String(), "rror") {
		t.Errorf("__complete %v printed an error: %s", args, errOut)
	}
	return lines[:len(lines)-1], cobra.ShellCompDirective(dir)
}

// namesOf drops the descriptions.
func namesOf(lines []string) []string {
	out := []string{}
	for _, l := range lines {
		n, _, _ := strings.Cut(l, "\t")
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestCompletePolicyFilters(t *testing.T) {
	cases := []struct {
		user string
		args []string
		want []string
	}{
		// A guest may read logs and list pods, but not exec, delete or read secrets.
		{"bob", []string{"-n", "payments", "logs", ""}, []string{"db-migrate-x", "web-1", "web-2"}},
		{"bob", []string{"-n", "payments", "exec", ""}, []string{}},
		{"bob", []string{"-n", "payments", "get", "pods", ""}, []string{"db-migrate-x", "web-1", "web-2"}},
		{"bob", []string{"-n", "payments", "describe", "pods", "w"}, []string{"web-1", "web-2"}},
		{"bob", []string{"-n", "payments", "get", "secrets", ""}, []string{}},
		{"bob", []string{"-n", "payments", "delete", "pods", ""}, []string{}},
		{"bob", []string{"-n", "sandbox", "logs", ""}, []string{}},
		// An admin may exec and read secrets.
		{"alice", []string{"-n", "payments", "exec", ""}, []string{"db-migrate-x", "web-1", "web-2"}},
		{"alice", []string{"exec", "-n", "payments", "web"}, []string{"web-1", "web-2"}},
		{"alice", []string{"-n", "payments", "get", "secrets", ""}, []string{"web-credentials"}},
		{"alice", []string{"-n", "search-prod", "exec", ""}, []string{}},
		// A project's globs grant the cluster's matching namespaces.
		{"dave", []string{"-n", "search-prod", "exec", ""}, []string{"indexer-1"}},
		// A super admin may touch every namespace.
		{"olga", []string{"-n", "sandbox", "exec", ""}, []string{"quiet"}},
		// Names already on the line are not offered again.
		{"bob", []string{"-n", "payments", "get", "pods", "web-1", ""}, []string{"db-migrate-x", "web-2"}},
		// After --, the words are the remote command's.
		{"alice", []string{"-n", "payments", "exec", "web-1", "--", ""}, []string{}},
		// logs and exec take one pod.
		{"alice", []string{"-n", "payments", "logs", "web-1", ""}, []string{}},
		// -p picks the project's namespace.
		{"bob", []string{"-p", "payments", "logs", ""}, []string{"db-migrate-x", "web-1", "web-2"}},
		// Several kinds at once name no objects.
		{"bob", []string{"-n", "payments", "get", "pods,svc", ""}, []string{}},
		// -A lists no names.
		{"bob", []string{"-n", "payments", "get", "pods", "-A", ""}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.user+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			got, dir := complete(t, newFakeCluster(), tc.user, tc.args...)
			if n := namesOf(got); !slices.Equal(n, tc.want) {
				t.Errorf("got %v, want %v", n, tc.want)
			}
			if dir&cobra.ShellCompDirectiveNoFileComp == 0 {
				t.Errorf("directive %d offers files", dir)
			}
		})
	}
}

func TestCompleteNoSession(t *testing.T) {
	c := newFakeCluster()
	for _, args := range [][]string{
		{"-n", "payments", "exec", ""},
		{"-n", "payments", "logs", ""},
		{"-n", "payments", "get", "deploy/"},
		{"-n", ""},
		{"-p", ""},
		{"project", "use", ""},
		{"-n", "payments", "exec", "web-1", "-c", ""},
	} {
		got, _ := complete(t, c, "", args...)
		if len(got) != 0 {
			t.Errorf("%v without a session: %v", args, got)
		}
	}
	if len(c.asked) != 0 {
		t.Errorf("the cluster was asked without a session: %v", c.asked)
	}
}

func TestCompleteClusterDown(t *testing.T) {
	c := newFakeCluster()
	c.err = errors.New("connection refused")
	if got, _ := complete(t, c, "bob", "-n", "payments", "logs", ""); len(got) != 0 {
		t.Errorf("got %v", got)
	}
	// The exact namespaces of the policy are offered without the cluster.
	got, _ := complete(t, c, "dave", "-n", "")
	if n := namesOf(got); len(n) != 0 {
		t.Errorf("dave's namespaces are all globs, got %v", n)
	}
	got, _ = complete(t, c, "bob", "-n", "")
	if n := namesOf(got); !slices.Equal(n, []string{"payments", "payments-staging"}) {
		t.Errorf("got %v", n)
	}
}

func TestCompleteTypeName(t *testing.T) {
	cases := []struct {
		user  string
		args  []string
		want  []string
		space bool // a space follows the candidate
	}{
		{"bob", []string{"-n", "payments", "get", "deploy/"}, []string{"deploy/web"}, true},
		{"bob", []string{"-n", "payments", "get", "deployments.apps/w"}, []string{"deployments.apps/web"}, true},
		{"bob", []string{"-n", "payments", "describe", "deploy/web", "svc/"}, []string{"svc/web"}, true},
		{"bob", []string{"-n", "payments", "get", "svc/web", "svc/"}, []string{}, true},
		{"bob", []string{"-n", "payments", "logs", "deploy/"}, []string{"deploy/web"}, true},
		{"bob", []string{"-n", "payments", "exec", "deploy/"}, []string{}, true},
		{"alice", []string{"-n", "payments", "exec", "deploy/"}, []string{"deploy/web"}, true},
		{"alice", []string{"-n", "payments", "scale", "deploy/"}, []string{"deploy/web"}, true},
		{"bob", []string{"-n", "payments", "scale", "deploy/"}, []string{}, true},
		{"alice", []string{"-n", "payments", "scale", "svc/"}, []string{}, true},
		{"alice", []string{"-n", "payments", "exec", "nosuchkind/"}, []string{}, true},
		// After a TYPE/NAME, the next argument starts with a kind and a slash.
		{"bob", []string{"-n", "payments", "get", "deploy/web", "se"}, []string{"secrets/", "serviceaccounts/", "services/"}, false},
		// Namespaces are cluster-scoped: the user's own.
		{"bob", []string{"get", "ns/"}, []string{"ns/payments", "ns/payments-staging"}, true},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, dir := complete(t, newFakeCluster(), tc.user, tc.args...)
			if n := namesOf(got); !slices.Equal(n, tc.want) {
				t.Errorf("got %v, want %v", n, tc.want)
			}
			if space := dir&cobra.ShellCompDirectiveNoSpace == 0; len(tc.want) > 0 && space != tc.space {
				t.Errorf("directive %d: space %v, want %v", dir, space, tc.space)
			}
		})
	}
}

func TestCompleteKinds(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"get", "po"}, []string{"poddisruptionbudgets", "pods", "podtemplates"}},
		{[]string{"get", "ing"}, []string{"ingressclasses", "ingresses"}},
		{[]string{"get", "d"}, []string{"daemonsets", "deployments"}},
		{[]string{"get", "pods,se"}, []string{"pods,secrets", "pods,serviceaccounts", "pods,services"}},
		{[]string{"scale", ""}, []string{"deployments", "replicasets", "statefulsets"}},
		// Never namespaces, nodes or other cluster-scoped kinds.
		{[]string{"delete", "n"}, []string{"networkpolicies"}},
		{[]string{"delete", "p"}, []string{"persistentvolumeclaims", "poddisruptionbudgets", "pods", "podtemplates"}},
		{[]string{"can-i", "ex"}, []string{"exec"}},
		{[]string{"can-i", "exec", "po"}, []string{"poddisruptionbudgets", "pods", "podtemplates"}},
		{[]string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}},
	}
	for _, tc := range cases {
		// Kinds need no session.
		got, _ := complete(t, newFakeCluster(), "", tc.args...)
		if n := namesOf(got); !slices.Equal(n, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.args, n, tc.want)
		}
	}
	got, _ := complete(t, newFakeCluster(), "", "get", "deploy")
	if len(got) != 1 || got[0] != "deployments\tDeployment (deploy)" {
		t.Errorf("description: %q", got)
	}
}

func TestCompleteNamespaceFlag(t *testing.T) {
	cases := []struct {
		user string
		args []string
		want []string
	}{
		{"bob", []string{"-n", ""}, []string{"payments", "payments-staging"}},
		{"bob", []string{"logs", "-n", ""}, []string{"payments", "payments-staging"}},
		{"bob", []string{"exec", "-n", ""}, []string{}},
		{"bob", []string{"get", "secrets", "-n", ""}, []string{}},
		{"alice", []string{"exec", "-n", "payments-"}, []string{"payments-staging"}},
		{"dave", []string{"-n", ""}, []string{"search-dev", "search-prod"}},
		{"olga", []string{"-n", "s"}, []string{"sandbox", "search-dev", "search-prod"}},
		{"erin", []string{"-n", ""}, []string{}},
		// With -p, the project's namespaces only.
		{"olga", []string{"-p", "search", "-n", ""}, []string{"search-dev", "search-prod"}},
		{"olga", []string{"-p", "nosuch", "-n", ""}, []string{}},
	}
	for _, tc := range cases {
		got, dir := complete(t, newFakeCluster(), tc.user, tc.args...)
		if n := namesOf(got); !slices.Equal(n, tc.want) {
			t.Errorf("%s %v: got %v, want %v", tc.user, tc.args, n, tc.want)
		}
		if dir != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("%v: directive %d", tc.args, dir)
		}
	}
	got, _ := complete(t, newFakeCluster(), "bob", "-n", "payments-")
	if len(got) != 1 || got[0] != "payments-staging\tpayments, guest" {
		t.Errorf("description: %q", got)
	}
}

func TestCompleteProjectsContextsContainers(t *testing.T) {
	got, _ := complete(t, newFakeCluster(), "bob", "-p", "")
	if len(got) != 1 || got[0] != "payments\tguest: payments, payments-staging" {
		t.Errorf("-p: %q", got)
	}
	got, _ = complete(t, newFakeCluster(), "olga", "project", "use", "s")
	if n := namesOf(got); !slices.Equal(n, []string{"search"}) {
		t.Errorf("project use: %v", n)
	}
	got, _ = complete(t, newFakeCluster(), "olga", "project", "use", "search", "")
	if len(got) != 0 {
		t.Errorf("project use takes one name: %v", got)
	}
	got, _ = complete(t, newFakeCluster(), "", "--context", "")
	if n := namesOf(got); !slices.Equal(n, []string{"kgate-local", "prod"}) {
		t.Errorf("--context: %v", n)
	}

	c := newFakeCluster()
	got, _ = complete(t, c, "alice", "-n", "payments", "exec", "deploy/web", "-c", "")
	if n := namesOf(got); !slices.Equal(n, []string{"app", "sidecar"}) {
		t.Errorf("-c: %v", n)
	}
	if !slices.Contains(c.asked, "containers:deployments/web@payments") {
		t.Errorf("asked %v", c.asked)
	}
	got, _ = complete(t, newFakeCluster(), "bob", "-n", "payments", "exec", "web-1", "-c", "")
	if len(got) != 0 {
		t.Errorf("-c of exec for a guest: %v", got)
	}
	got, _ = complete(t, newFakeCluster(), "bob", "-n", "payments", "logs", "web-1", "-c", "s")
	if n := namesOf(got); !slices.Equal(n, []string{"sidecar"}) {
		t.Errorf("-c of logs: %v", n)
	}
	got, _ = complete(t, newFakeCluster(), "bob", "-n", "payments", "logs", "-c", "")
	if len(got) != 0 {
		t.Errorf("-c without a pod: %v", got)
	}
}

func TestCompleteStaticFlags(t *testing.T) {
	got, _ := complete(t, newFakeCluster(), "", "-o", "")
	if n := namesOf(got); !slices.Contains(n, "json") || !slices.Contains(n, "jsonpath=") {
		t.Errorf("-o: %v", n)
	}
	got, _ = complete(t, newFakeCluster(), "", "exec", "--transport", "")
	if n := namesOf(got); !slices.Equal(n, []string{"auto", "spdy", "websocket"}) {
		t.Errorf("--transport: %v", n)
	}
	// A number is no file.
	_, dir := complete(t, newFakeCluster(), "", "logs", "--tail", "")
	if dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("--tail: directive %d", dir)
	}
	_, dir = complete(t, newFakeCluster(), "", "whoami", "")
	if dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("whoami: directive %d", dir)
	}
}
