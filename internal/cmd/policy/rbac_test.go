package policy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kgate/kgate/internal/iostreams"
)

const exactOnly = `version: 1
superAdmins: {groups: [ops]}
projects:
  payments:
    namespaces: [payments]
    admins: {users: [Alice]}
    guests: {groups: [team-payments]}
`

func TestRBACRendersWithoutTheCluster(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	_ = os.WriteFile(file, []byte(exactOnly), 0o600)
	for _, format := range []string{"", "json"} {
		ios, _, out, errOut := iostreams.Test()
		opts := &RBACOptions{IO: ios, File: file, Output: func() (string, error) { return format, nil },
			// Exact names need no cluster: asking it is a bug.
			RESTConfig: func() (*rest.Config, error) { return nil, errors.New("asked the cluster") }}
		if err := rbacRun(context.Background(), opts); err != nil {
			t.Fatalf("-o %q: %v (%s)", format, err, errOut)
		}
		var kinds []string
		if format == "json" {
			var l struct{ Items []map[string]any }
			if err := json.Unmarshal(out.Bytes(), &l); err != nil {
				t.Fatal(err)
			}
			for _, it := range l.Items {
				kinds = append(kinds, it["kind"].(string)+"/"+it["metadata"].(map[string]any)["name"].(string))
			}
		} else {
			for _, doc := range strings.Split(out.String(), "\n---\n")[1:] {
				var m map[string]any
				if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, m["kind"].(string)+"/"+m["metadata"].(map[string]any)["name"].(string))
			}
			if strings.Contains(out.String(), "creationTimestamp") || !strings.Contains(out.String(), "name: alice") {
				t.Errorf("yaml:\n%s", out)
			}
		}
		want := "ClusterRole/kgate-guest ClusterRole/kgate-admin ClusterRoleBinding/kgate-super-admins RoleBinding/kgate-admin RoleBinding/kgate-guest"
		if strings.Join(kinds, " ") != want {
			t.Errorf("-o %q: %v", format, kinds)
		}
	}
}

func TestRBACGlobsNeedTheCluster(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	_ = os.WriteFile(file, []byte(good), 0o600)
	ios, _, _, _ := iostreams.Test()
	opts := &RBACOptions{IO: ios, File: file, Output: func() (string, error) { return "", nil },
		RESTConfig: func() (*rest.Config, error) { return &rest.Config{Host: "https://127.0.0.1:1"}, nil }}
	err := rbacRun(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "listing the cluster's namespaces") {
		t.Errorf("error %v", err)
	}
}
