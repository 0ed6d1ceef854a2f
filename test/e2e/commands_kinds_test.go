package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// widgetEvent records an event about the widget name in kindsNS.
func widgetEvent(t *testing.T, name, widget, reason string) {
	t.Helper()
	at := time.Now().UTC().Format(time.RFC3339)
	y := fmt.Sprintf(`apiVersion: v1
kind: Event
metadata: {name: %[1]s, namespace: %[2]s}
involvedObject: {kind: Widget, apiVersion: kgate.test/v1, name: %[3]s, namespace: %[2]s}
type: Normal
reason: %[4]s
message: %[4]s happened to widget %[3]s
source: {component: kgate-e2e}
firstTimestamp: %[5]s
lastTimestamp: %[5]s
count: 1
`, name, kindsNS, widget, reason, at)
	f := filepath.Join(t.TempDir(), name+".yaml")
	writeFile(t, f, y)
	MustKubectl(t, "apply", "-f", f)
	t.Cleanup(func() { Kubectl(t, "delete", "event", name, "-n", kindsNS, "--ignore-not-found") })
}

// The day-to-day commands resolve TYPE as get does: a custom resource's
// short name, its KIND.GROUP, and refusals that name a kind without pods.
func TestCommandsOnACustomResource(t *testing.T) {
	kindsFixture(t)
	alice := policyUser(t, "alice") // admin of payments (payments-staging is in it)
	t.Cleanup(func() {
		Kubectl(t, "label", "widgets.kgate.test", "big", "medium", "-n", kindsNS, "color-", "--overwrite")
		Kubectl(t, "annotate", "widgets.kgate.test", "big", "medium", "-n", kindsNS, "note-", "--overwrite")
	})
	// label and annotate, as kubectl does them.
	got := alice.MustRun("label", "wdg/big", "-n", kindsNS, "color=red").Stdout
	want := MustKubectl(t, "label", "widgets.kgate.test/medium", "-n", kindsNS, "color=red").Stdout
	if strings.ReplaceAll(got, "big", "medium") != want {
		t.Errorf("label of a widget: kgate %q, kubectl %q", got, want)
	}
	got = alice.MustRun("annotate", "widget.v1.kgate.test/big", "-n", kindsNS, "note=checked").Stdout
	want = MustKubectl(t, "annotate", "widget.v1.kgate.test/medium", "-n", kindsNS, "note=checked").Stdout
	if strings.ReplaceAll(got, "big", "medium") != want {
		t.Errorf("annotate of a widget: kgate %q, kubectl %q", got, want)
	}
	if v := MustKubectl(t, "get", "widgets.kgate.test/big", "-n", kindsNS, "-o", "jsonpath={.metadata.labels.color} {.metadata.annotations.note}").Stdout; v != "red checked" {
		t.Errorf("the widget after label and annotate: %q", v)
	}
	WantCode(t, alice.Run("label", "wdg/big", "-n", kindsNS, "color=blue"), 1) // exists: needs --overwrite
	alice.MustRun("label", "wdg", "-l", "tier=b", "-n", kindsNS, "color=blue", "--overwrite")
	alice.MustRun("label", "widgets/big", "-n", kindsNS, "color-")
	if v := MustKubectl(t, "get", "widgets.kgate.test/big", "-n", kindsNS, "-o", "jsonpath={.metadata.labels.color}").Stdout; v != "" {
		t.Errorf("color- left %q", v)
	}

	// events --for a widget: only its events, as kubectl events --for.
	widgetEvent(t, "widget-big-polished", "big", "Polished")
	widgetEvent(t, "widget-medium-dented", "medium", "Dented")
	for _, forArg := range []string{"wdg/big", "widgets.kgate.test/big"} {
		r := alice.MustRun("events", "-n", kindsNS, "--for", forArg)
		if !strings.Contains(r.Stdout, "Polished") || strings.Contains(r.Stdout, "Dented") {
			t.Errorf("events --for %s:\n%s", forArg, r.Stdout)
		}
	}
	k := MustKubectl(t, "events", "-n", kindsNS, "--for", "widget.kgate.test/big")
	if !strings.Contains(k.Stdout, "Polished") {
		t.Errorf("kubectl events --for the widget (the test's own check): %s", k)
	}

	// Kinds without pods or without rollouts are refused by name, before any request.
	for _, c := range [][]string{
		{"rollout", "status", "wdg/big"},
		{"rollout", "restart", "widgets.kgate.test/big"},
		{"port-forward", "wdg/big", "8080:80"},
		{"attach", "wdg/big"},
		{"exec", "wdg/big", "--", "true"},
		{"debug", "wdg/big", "--image=busybox"},
	} {
		r := alice.Run(append(c, "-n", kindsNS)...)
		WantCode(t, r, 2)
		if !strings.Contains(r.Stderr, "widgets.kgate.test") {
			t.Errorf("%v: the refusal does not name the kind: %s", c, r.Stderr)
		}
	}
	// A guest is refused the change by the policy, naming the role.
	wantDenied(t, policyUser(t, "bob").Run("label", "wdg/big", "-n", kindsNS, "color=red"), "bob", "admin")
}

// TYPE/NAME in its long spellings reaches the pods of a workload.
func TestCommandsQualifiedKinds(t *testing.T) {
	erin := policyUser(t, "erin")
	workload(t, "sandbox", "qualified", 1)
	erin.MustRun("rollout", "status", "deployment.v1.apps/qualified", "-n", "sandbox", "--timeout=90s")
	erin.MustRun("rollout", "history", "deployments.apps/qualified", "-n", "sandbox")
	r := erin.MustRun("exec", "deployments.apps/qualified", "-n", "sandbox", "--", "sh", "-c", "echo $KGATE_POD")
	if !strings.HasPrefix(strings.TrimSpace(r.Stdout), "qualified-") {
		t.Errorf("exec deployments.apps/qualified ran in %q", r.Stdout)
	}
	erin.MustRun("events", "-n", "sandbox", "--for", "deployment.apps/qualified")
}
