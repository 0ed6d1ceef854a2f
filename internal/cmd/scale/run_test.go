package scale

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// fakeScaler keeps the replicas of workloads by name; conflicts makes that
// many writes fail with a conflict first, ready the readiness answers in turn.
type fakeScaler struct {
	replicas  map[string]int32
	conflicts int
	ready     []kube.Readiness
	writes    []string
}

func (f *fakeScaler) GetScale(_ context.Context, r kube.Resource, ns, name string) (*autoscalingv1.Scale, error) {
	n, ok := f.replicas[name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: r.GVR.Group, Resource: r.GVR.Resource}, name)
	}
	return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
		Spec: autoscalingv1.ScaleSpec{Replicas: n}}, nil
}

func (f *fakeScaler) UpdateScale(_ context.Context, r kube.Resource, _ string, s *autoscalingv1.Scale, dryRun bool) (*autoscalingv1.Scale, error) {
	if f.conflicts > 0 {
		f.conflicts--
		return nil, apierrors.NewConflict(schema.GroupResource{Resource: r.GVR.Resource}, s.Name, errors.New("changed"))
	}
	f.writes = append(f.writes, s.Name)
	if !dryRun {
		f.replicas[s.Name] = s.Spec.Replicas
	}
	return s, nil
}

func (f *fakeScaler) ReadinessOf(context.Context, kube.Resource, string, string) (kube.Readiness, error) {
	rd := f.ready[0]
	if len(f.ready) > 1 {
		f.ready = f.ready[1:]
	}
	return rd, nil
}

// runOptions are the options of `kgate scale ARGS` in namespace payments,
// with a policy check that records what it is asked and allows it unless
// deny is set.
func runOptions(t *testing.T, sc *fakeScaler, deny bool, args ...string) (*Options, *[]policy.Request, func() string, func() string) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	var asked []policy.Request
	o := &Options{
		IO: io, Args: args, CurrentReplicas: -1, DryRun: "", Poll: time.Millisecond, Timeout: time.Second,
		Output:    func() (string, error) { return "", nil },
		Namespace: func() (string, bool, error) { return "payments", true, nil },
		Scaler:    func() (Scaler, error) { return sc, nil },
		Access: &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			asked = append(asked, req)
			if deny {
				return ctx, errs.ForbiddenErrorf("no")
			}
			return ctx, nil
		}},
	}
	return o, &asked, out.String, errOut.String
}

func TestScaleRun(t *testing.T) {
	sc := &fakeScaler{replicas: map[string]int32{"web": 2, "api": 1}}
	o, asked, out, _ := runOptions(t, sc, false, "deploy/web", "deploy/api")
	o.Replicas = 4
	if err := scaleRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := []policy.Request{
		{Verb: "scale", Resource: "deployments", Group: "apps", Namespace: "payments", Name: "web"},
		{Verb: "scale", Resource: "deployments", Group: "apps", Namespace: "payments", Name: "api"},
	}
	if len(*asked) != 2 || (*asked)[0] != want[0] || (*asked)[1] != want[1] {
		t.Errorf("asked %+v, want %+v", *asked, want)
	}
	if sc.replicas["web"] != 4 || sc.replicas["api"] != 4 {
		t.Errorf("replicas %v", sc.replicas)
	}
	if got := out(); got != "deployment.apps/web scaled\ndeployment.apps/api scaled\n" {
		t.Errorf("output %q", got)
	}
}

// A refusal of any target scales nothing, and the cluster is never asked.
func TestScaleRunDenied(t *testing.T) {
	o, _, _, _ := runOptions(t, nil, true, "deploy/web")
	o.Replicas = 1
	o.Scaler = func() (Scaler, error) { t.Fatal("the cluster was asked"); return nil, nil }
	var e *errs.Error
	if err := scaleRun(context.Background(), o); !errors.As(err, &e) || e.Kind != errs.KindForbidden {
		t.Fatalf("got %v, want forbidden", err)
	}
}

// --current-replicas that does not hold refuses that workload (exit 1) and
// goes on with the others; a missing one is reported the same way.
func TestScaleRunPreconditionAndNotFound(t *testing.T) {
	sc := &fakeScaler{replicas: map[string]int32{"web": 2, "api": 3}}
	o, _, out, _ := runOptions(t, sc, false, "deploy/web", "deploy/gone", "deploy/api")
	o.Replicas, o.CurrentReplicas = 5, 3
	err := scaleRun(context.Background(), o)
	var pe *errs.PartialError
	if !errors.As(err, &pe) || len(pe.Errs) != 2 || !strings.Contains(pe.Errs[0].Error(), "expected replicas to be 3, was 2") ||
		!apierrors.IsNotFound(pe.Errs[1]) {
		t.Fatalf("got %v", err)
	}
	if sc.replicas["web"] != 2 || sc.replicas["api"] != 5 || out() != "deployment.apps/api scaled\n" {
		t.Errorf("replicas %v, output %q", sc.replicas, out())
	}
}

// A write that lost a race is read and tried again; --dry-run=client
// writes nothing; --wait waits until the workload has settled.
func TestScaleRunConflictDryRunWait(t *testing.T) {
	sc := &fakeScaler{replicas: map[string]int32{"web": 2}, conflicts: 2,
		ready: []kube.Readiness{{Desired: 3, Ready: 2}, {Desired: 3, Ready: 3, Settled: true}}}
	o, _, _, _ := runOptions(t, sc, false, "deploy/web")
	o.Replicas, o.Wait = 3, true
	if err := scaleRun(context.Background(), o); err != nil || sc.replicas["web"] != 3 || len(sc.ready) != 1 {
		t.Fatalf("err %v, replicas %v, readiness left %d", err, sc.replicas, len(sc.ready))
	}
	o, _, out, _ := runOptions(t, sc, false, "deploy/web")
	o.Replicas, o.DryRun = 9, "client"
	if err := scaleRun(context.Background(), o); err != nil || sc.replicas["web"] != 3 || out() != "deployment.apps/web scaled (dry run)\n" {
		t.Fatalf("dry run: err %v, replicas %v, output %q", err, sc.replicas, out())
	}
}

// Scaling to zero without a terminal needs --yes, and changes nothing.
func TestScaleRunToZeroNeedsYes(t *testing.T) {
	sc := &fakeScaler{replicas: map[string]int32{"web": 2}}
	o, _, _, _ := runOptions(t, sc, false, "deploy/web")
	o.Replicas = 0
	var e *errs.Error
	if err := scaleRun(context.Background(), o); !errors.As(err, &e) || e.Kind != errs.KindUsage || sc.replicas["web"] != 2 {
		t.Fatalf("got %v, replicas %v", err, sc.replicas)
	}
	o.Yes = true
	if err := scaleRun(context.Background(), o); err != nil || sc.replicas["web"] != 0 {
		t.Fatalf("--yes: %v, replicas %v", err, sc.replicas)
	}
}
