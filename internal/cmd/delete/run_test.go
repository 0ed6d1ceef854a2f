package delete

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// fakeDeleter holds objects by name and records the deletes it is sent.
type fakeDeleter struct {
	objects map[string]bool
	deletes []metav1.DeleteOptions
	gets    int
}

func (f *fakeDeleter) Get(_ context.Context, r kube.Resource, ns, name string) (*unstructured.Unstructured, error) {
	f.gets++
	if !f.objects[name] {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: r.GVR.Group, Resource: r.GVR.Resource}, name)
	}
	u := &unstructured.Unstructured{}
	u.SetName(name)
	u.SetNamespace(ns)
	return u, nil
}

func (f *fakeDeleter) Delete(_ context.Context, r kube.Resource, _, name string, opts metav1.DeleteOptions) error {
	if !f.objects[name] {
		return apierrors.NewNotFound(schema.GroupResource{Group: r.GVR.Group, Resource: r.GVR.Resource}, name)
	}
	f.deletes = append(f.deletes, opts)
	if len(opts.DryRun) == 0 {
		delete(f.objects, name)
	}
	return nil
}

func runOptions(t *testing.T, d *fakeDeleter, deny bool, args ...string) (*Options, *[]policy.Request, func() string, func() string) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	var asked []policy.Request
	o := &Options{
		IO: io, Args: args, GracePeriod: -1, Cascade: "background", Timeout: time.Second, Yes: true,
		Output:    func() (string, error) { return "", nil },
		Namespace: func() (string, bool, error) { return "payments", true, nil },
		Deleter:   func() (Deleter, error) { return d, nil },
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

func TestDeleteRun(t *testing.T) {
	d := &fakeDeleter{objects: map[string]bool{"web-1": true, "web-2": true}}
	o, asked, out, _ := runOptions(t, d, false, "pod/web-1", "pod/web-2")
	o.Wait = true
	if err := deleteRun(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := policy.Request{Verb: "delete", Resource: "pods", Namespace: "payments", Name: "web-1"}
	if len(*asked) != 2 || (*asked)[0] != want {
		t.Errorf("asked %+v", *asked)
	}
	if len(d.objects) != 0 || len(d.deletes) != 2 || *d.deletes[0].PropagationPolicy != metav1.DeletePropagationBackground ||
		d.deletes[0].GracePeriodSeconds != nil {
		t.Errorf("objects left %v, deletes %+v", d.objects, d.deletes)
	}
	if got := out(); got != "pod \"web-1\" deleted from payments namespace\npod \"web-2\" deleted from payments namespace\n" {
		t.Errorf("output %q", got)
	}
}

// A refusal deletes nothing and reaches no cluster.
func TestDeleteRunDenied(t *testing.T) {
	o, _, _, _ := runOptions(t, nil, true, "pod/web-1")
	o.Deleter = func() (Deleter, error) { t.Fatal("the cluster was asked"); return nil, nil }
	var e *errs.Error
	if err := deleteRun(context.Background(), o); !errors.As(err, &e) || e.Kind != errs.KindForbidden {
		t.Fatalf("got %v, want forbidden", err)
	}
}

// Kinds kgate never deletes are refused before the policy is asked.
func TestDeleteRunClusterScoped(t *testing.T) {
	o, asked, _, _ := runOptions(t, &fakeDeleter{}, false, "namespace/payments")
	var e *errs.Error
	if err := deleteRun(context.Background(), o); !errors.As(err, &e) || e.Kind != errs.KindForbidden || len(*asked) != 0 {
		t.Fatalf("got %v, asked %v", err, *asked)
	}
}

// Without --yes and without a terminal, named objects are checked first
// (a missing one reported, exit 5), and nothing is deleted without
// confirmation; --ignore-not-found drops the missing one.
func TestDeleteRunConfirmAndNotFound(t *testing.T) {
	d := &fakeDeleter{objects: map[string]bool{"web-1": true}}
	o, _, _, _ := runOptions(t, d, false, "pod/web-1", "pod/gone")
	o.Yes = false
	err := deleteRun(context.Background(), o)
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindUsage || len(d.deletes) != 0 || d.gets != 2 {
		t.Fatalf("got %v, deletes %d, gets %d", err, len(d.deletes), d.gets)
	}
	o.Yes = true
	// The one failure is the error itself: pods "gone" not found (exit 5).
	if err = deleteRun(context.Background(), o); !apierrors.IsNotFound(err) || d.objects["web-1"] {
		t.Fatalf("--yes: %v, objects %v", err, d.objects)
	}
	d.objects["web-1"] = true
	o.IgnoreNotFound = true
	if err := deleteRun(context.Background(), o); err != nil || d.objects["web-1"] {
		t.Fatalf("--ignore-not-found: %v", err)
	}
}

// --dry-run=server sends the delete as a dry run; client sends none;
// --now is a grace period of one second, 0 a forced delete.
func TestDeleteRunDryRunAndGrace(t *testing.T) {
	d := &fakeDeleter{objects: map[string]bool{"web-1": true}}
	o, _, out, _ := runOptions(t, d, false, "pod/web-1")
	o.DryRun, o.GracePeriod, o.Cascade = "server", 0, "foreground"
	if err := deleteRun(context.Background(), o); err != nil || !d.objects["web-1"] || len(d.deletes) != 1 ||
		d.deletes[0].DryRun[0] != metav1.DryRunAll || *d.deletes[0].GracePeriodSeconds != 0 ||
		*d.deletes[0].PropagationPolicy != metav1.DeletePropagationForeground {
		t.Fatalf("server dry run: %v %+v", err, d.deletes)
	}
	if got := out(); got != "pod \"web-1\" force deleted from payments namespace (server dry run)\n" {
		t.Errorf("output %q", got)
	}
	o, _, out, _ = runOptions(t, d, false, "pod/web-1")
	o.DryRun = "client"
	if err := deleteRun(context.Background(), o); err != nil || len(d.deletes) != 1 || out() != "pod \"web-1\" deleted from payments namespace (dry run)\n" {
		t.Fatalf("client dry run: %v, deletes %d, output %q", err, len(d.deletes), out())
	}
}
