package policy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	kpolicy "github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

const twoClusters = `version: 2
clusters:
  test: {context: kind-test}
  prod: {gateway: "https://gw.prod:8443"}
projects:
  payments:
    namespaces: [payments]
    admins: {groups: [payments-leads]}
    clusters:
      test: {admins: {groups: [team-payments]}}
      prod: {guests: {groups: [team-payments]}, namespaces: [payments, "pay-*"]}
  other:
    clusters:
      prod: {namespaces: ["pay-eu"]}
`

func TestCheckNamesClusters(t *testing.T) {
	out, err := check(t, "-", twoClusters, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<stdin>: valid, 2 projects\n", "clusters: test (context kind-test), prod (gateway https://gw.prod:8443)\n",
		`overlap in cluster "prod": namespace "pay-eu" (for example) is in project "other" (pay-eu) and project "payments" (pay-*)`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	out, err = check(t, "-", twoClusters, "json")
	if err != nil {
		t.Fatal(err)
	}
	var res CheckResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || len(res.Clusters) != 2 || len(res.Overlaps) != 1 || res.Overlaps[0].Cluster != "prod" || res.Overlaps[0].A.Project != "other" {
		t.Errorf("json: %+v", res)
	}
	// A cluster name the policy does not list is a problem with its line.
	bad := strings.Replace(twoClusters, "      test: {admins", "      tset: {admins", 1)
	if _, err := check(t, "-", bad, ""); err == nil || !strings.Contains(err.Error(), `<stdin>:10: projects.payments.clusters.tset: unknown cluster "tset" (the policy's clusters: test, prod)`) {
		t.Errorf("unknown cluster: %v", err)
	}
}

func TestShowRolesPerCluster(t *testing.T) {
	whole, err := kpolicy.Parse("p.yaml", []byte(twoClusters))
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := whole.ForCluster("prod")
	ios, _, out, _ := iostreams.Test()
	now := time.Now()
	err = showRun(&ShowOptions{IO: ios, Now: func() time.Time { return now }, Output: func() (string, error) { return "", nil },
		Policy: func() (*policycache.Loaded, error) {
			return &policycache.Loaded{Policy: prod, Raw: []byte(twoClusters), Source: "p.yaml", FetchedAt: now}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# in effect for cluster: prod\n", "# cluster test (context kind-test):\n",
		"#   payments [payments]: admins group payments-leads, group team-payments; guests none\n",
		"# cluster prod (gateway https://gw.prod:8443):\n",
		"#   payments [payments, pay-*]: admins group payments-leads; guests group team-payments\n",
		"#   other [pay-eu]: admins none; guests none\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestRBACPerCluster(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	_ = os.WriteFile(file, []byte(twoClusters), 0o600)
	render := func(cluster string) (string, error) {
		ios, _, out, _ := iostreams.Test()
		err := rbacRun(context.Background(), &RBACOptions{IO: ios, File: file, Output: func() (string, error) { return "", nil },
			Cluster:    func() (string, error) { return cluster, nil },
			RESTConfig: func() (*rest.Config, error) { return nil, errors.New("no cluster here") }})
		return out.String(), err
	}
	test, err := render("test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(test, "team-payments") || strings.Contains(test, "pay-eu") {
		t.Errorf("test's RBAC:\n%s", test)
	}
	_, err = render("")
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUsage || !strings.Contains(err.Error(), "choose the one to render with --cluster NAME") {
		t.Errorf("no cluster: %v", err)
	}
	if _, err = render("staging"); !errors.As(err, &ke) || ke.Kind != errs.KindUsage || !strings.Contains(err.Error(), `no cluster "staging"`) {
		t.Errorf("unknown cluster: %v", err)
	}
}
