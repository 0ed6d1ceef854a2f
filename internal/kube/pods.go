package kube

import (
	"context"
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/kgate/kgate/internal/errs"
)

// Typed returns a typed clientset sharing the client's connection.
func (c *Client) Typed() (kubernetes.Interface, error) {
	if c.typed == nil {
		cs, err := kubernetes.NewForConfigAndClient(c.Config, c.HTTP)
		if err != nil {
			return nil, err
		}
		c.typed = cs
	}
	return c.typed, nil
}

// Typed converts an object the dynamic client returned into its Go type.
func (c *Client) typedObject(ctx context.Context, r Resource, namespace, name string) (runtime.Object, error) {
	u, err := c.Get(ctx, r, namespace, name)
	if err != nil {
		return nil, err
	}
	obj, err := scheme.Scheme.New(r.GVK())
	if err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, fmt.Errorf("converting %s/%s: %w", r.Singular, name, err)
	}
	return obj, nil
}

// PodSelector returns the label selector of the pods a workload or service
// runs (deployments, statefulsets, replicasets, daemonsets, jobs, services).
func (c *Client) PodSelector(ctx context.Context, r Resource, namespace, name string) (labels.Selector, error) {
	obj, err := c.typedObject(ctx, r, namespace, name)
	if err != nil {
		return nil, err
	}
	var ls *metav1.LabelSelector
	switch o := obj.(type) {
	case *appsv1.Deployment:
		ls = o.Spec.Selector
	case *appsv1.StatefulSet:
		ls = o.Spec.Selector
	case *appsv1.ReplicaSet:
		ls = o.Spec.Selector
	case *appsv1.DaemonSet:
		ls = o.Spec.Selector
	case *batchv1.Job:
		ls = o.Spec.Selector
	case *corev1.Service:
		if len(o.Spec.Selector) == 0 {
			return nil, errs.UsageErrorf("service/%s has no selector, so it has no pods", name)
		}
		return labels.SelectorFromSet(o.Spec.Selector), nil
	default:
		return nil, errs.UsageErrorf("%s has no pods of its own; name a pod, deployment, statefulset, replicaset, daemonset, job or service", r.GVR.Resource)
	}
	if ls == nil {
		return nil, fmt.Errorf("%s/%s has no selector", r.Singular, name)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: invalid selector: %w", r.Singular, name, err)
	}
	if sel.Empty() {
		return nil, fmt.Errorf("%s/%s selects every pod; refusing to use it", r.Singular, name)
	}
	return sel, nil
}

// PodsFor returns the pods a TYPE/NAME argument stands for: the pod itself,
// or every pod of a workload or service, sorted by name.
func (c *Client) PodsFor(ctx context.Context, r Resource, namespace, name string) ([]corev1.Pod, error) {
	cs, err := c.Typed()
	if err != nil {
		return nil, err
	}
	if r.GVR.Resource == "pods" {
		p, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return []corev1.Pod{*p}, nil
	}
	sel, err := c.PodSelector(ctx, r, namespace, name)
	if err != nil {
		return nil, err
	}
	l, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items, nil
}

// AttachablePod picks the pod that exec and attach use for a TYPE/NAME, as
// kubectl does: the pod itself, or the most active pod of a workload.
func (c *Client) AttachablePod(ctx context.Context, r Resource, namespace, name string, timeout time.Duration) (*corev1.Pod, error) {
	cs, err := c.Typed()
	if err != nil {
		return nil, err
	}
	if r.GVR.Resource == "pods" {
		return cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	sel, err := c.PodSelector(ctx, r, namespace, name)
	if err != nil {
		return nil, err
	}
	// Wait up to timeout for a pod to exist, as kubectl's --pod-running-timeout does.
	deadline := time.Now().Add(timeout)
	for {
		l, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return nil, err
		}
		if len(l.Items) > 0 {
			pods := make([]*corev1.Pod, len(l.Items))
			for i := range l.Items {
				pods[i] = &l.Items[i]
			}
			// The most active pod first: running and ready before pending, newest last.
			sort.Sort(sort.Reverse(podutils.ActivePods(pods)))
			return pods[0], nil
		}
		if time.Now().After(deadline) {
			return nil, errs.NotFoundErrorf("no pod found for %s/%s in namespace %q", r.Singular, name, namespace)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Qualified names r for a message: its plural, with its group unless it is
// a built-in kind (widgets.kgate.test, but deployments).
func Qualified(r Resource) string {
	if b, ok := byName[r.GVR.Resource]; ok && b.GVR.GroupResource() == r.GVR.GroupResource() {
		return r.GVR.Resource
	}
	if r.GVR.Group == "" {
		return r.GVR.Resource
	}
	return r.GVR.Resource + "." + r.GVR.Group
}
