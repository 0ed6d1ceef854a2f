package kube

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/errs"
)

// Scalable reports whether kgate scales r (r.Scalable).
func Scalable(r Resource) bool { return r.Scalable }

// GetScale reads the scale subresource of a deployment, statefulset or replicaset.
func (c *Client) GetScale(ctx context.Context, r Resource, ns, name string) (*autoscalingv1.Scale, error) {
	cs, err := c.Typed()
	if err != nil {
		return nil, err
	}
	switch r.GVR.Resource {
	case "deployments":
		return cs.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	case "statefulsets":
		return cs.AppsV1().StatefulSets(ns).GetScale(ctx, name, metav1.GetOptions{})
	case "replicasets":
		return cs.AppsV1().ReplicaSets(ns).GetScale(ctx, name, metav1.GetOptions{})
	}
	return nil, errs.UsageErrorf("kgate scales deployments, statefulsets and replicasets, not %s", r.GVR.Resource)
}

// UpdateScale writes s; its resourceVersion makes the write conditional.
func (c *Client) UpdateScale(ctx context.Context, r Resource, ns string, s *autoscalingv1.Scale, dryRun bool) (*autoscalingv1.Scale, error) {
	cs, err := c.Typed()
	if err != nil {
		return nil, err
	}
	opts := metav1.UpdateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	switch r.GVR.Resource {
	case "deployments":
		return cs.AppsV1().Deployments(ns).UpdateScale(ctx, s.Name, s, opts)
	case "statefulsets":
		return cs.AppsV1().StatefulSets(ns).UpdateScale(ctx, s.Name, s, opts)
	case "replicasets":
		return cs.AppsV1().ReplicaSets(ns).UpdateScale(ctx, s.Name, s, opts)
	}
	return nil, fmt.Errorf("cannot scale %s", r.GVR.Resource)
}

// Readiness is how far a workload has got towards its replicas.
type Readiness struct {
	Desired, Ready, Updated, Current int32
	// Settled: the controller has seen the latest spec and every count matches.
	Settled bool
}

// ReadinessOf reads a workload's replica counts.
func (c *Client) ReadinessOf(ctx context.Context, r Resource, ns, name string) (Readiness, error) {
	cs, err := c.Typed()
	if err != nil {
		return Readiness{}, err
	}
	var rd Readiness
	switch r.GVR.Resource {
	case "deployments":
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return rd, err
		}
		rd = Readiness{Desired: ptrOr(d.Spec.Replicas, 1), Ready: d.Status.ReadyReplicas, Updated: d.Status.UpdatedReplicas, Current: d.Status.Replicas}
		rd.Settled = d.Status.ObservedGeneration >= d.Generation && rd.Ready == rd.Desired && rd.Current == rd.Desired && rd.Updated == rd.Desired
	case "statefulsets":
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return rd, err
		}
		rd = Readiness{Desired: ptrOr(s.Spec.Replicas, 1), Ready: s.Status.ReadyReplicas, Updated: s.Status.UpdatedReplicas, Current: s.Status.Replicas}
		rd.Settled = s.Status.ObservedGeneration >= s.Generation && rd.Ready == rd.Desired && rd.Current == rd.Desired
	case "replicasets":
		s, err := cs.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return rd, err
		}
		rd = Readiness{Desired: ptrOr(s.Spec.Replicas, 1), Ready: s.Status.ReadyReplicas, Current: s.Status.Replicas}
		rd.Settled = s.Status.ObservedGeneration >= s.Generation && rd.Ready == rd.Desired && rd.Current == rd.Desired
	}
	return rd, nil
}

func ptrOr(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

// Deletable reports whether kgate deletes r (r.Deletable). Namespaces, nodes
// and every other cluster-scoped kind are never deleted, whatever the role.
func Deletable(r Resource) bool { return r.Deletable }

// Delete deletes one object.
func (c *Client) Delete(ctx context.Context, r Resource, ns, name string, opts metav1.DeleteOptions) error {
	return c.resourceInterface(r, ns).Delete(ctx, name, opts)
}
