package enforce

import (
	"context"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// Object is one object a command changes.
type Object struct {
	Resource kube.Resource
	Name     string
}

// ChangeTargets turns the arguments of a command that changes objects
// (scale, delete), and its selector, into objects, asking the policy first:
// per object for names, per namespace before a selector is listed, then per
// object. Kinds are resolved with kinds (nil: the built-in kinds only).
// allowed refuses kinds the command does not handle. It makes no change.
func (a *Access) ChangeTargets(ctx context.Context, kinds *kube.Kinds, verb string, args []string, selector, ns string, client func() (*kube.Client, error),
	allowed func(kube.Resource) error) (context.Context, []Object, error) {
	targets, err := kinds.ParseArgs(args)
	if err != nil {
		return ctx, nil, err
	}
	var out []Object
	for _, t := range targets {
		if err := allowed(t.Resource); err != nil {
			return ctx, nil, err
		}
		if len(t.Names) > 0 && selector != "" {
			return ctx, nil, errs.UsageErrorf("names cannot be combined with -l")
		}
		if len(t.Names) == 0 && selector == "" {
			return ctx, nil, errs.UsageErrorf("name the %s to %s, or select them with -l", t.Resource.GVR.Resource, verb)
		}
		for _, n := range t.Names {
			out = append(out, Object{t.Resource, n})
		}
	}
	// Every named object is checked before anything is sent.
	for _, t := range out {
		if ctx, err = a.Authorize(ctx, RequestFor(verb, t.Resource, ns, t.Name)); err != nil {
			return ctx, nil, err
		}
	}
	if selector == "" {
		return ctx, out, nil
	}
	c, err := client()
	if err != nil {
		return ctx, nil, err
	}
	for _, t := range targets {
		// The role is per namespace: asking for the namespace first keeps a
		// refused user's selector from ever reaching the API server.
		if ctx, err = a.Authorize(ctx, RequestFor(verb, t.Resource, ns, "")); err != nil {
			return ctx, nil, err
		}
		// Names are all that is needed: a metadata-only list.
		l, err := c.Names(ctx, t.Resource, ns, kube.ListOptions{LabelSelector: selector})
		if err != nil {
			return ctx, nil, err
		}
		for _, m := range l {
			if ctx, err = a.Authorize(ctx, RequestFor(verb, t.Resource, ns, m.Name)); err != nil {
				return ctx, nil, err
			}
			out = append(out, Object{t.Resource, m.Name})
		}
	}
	return ctx, out, nil
}

// RequestFor is the policy request of verb on r: resource, group and scope
// from the kind; ns is dropped for a cluster-scoped kind.
func RequestFor(verb string, r kube.Resource, ns, name string) policy.Request {
	req := policy.Request{Verb: verb, Resource: r.GVR.Resource, Group: r.GVR.Group, Name: name, ClusterScoped: !r.Namespaced}
	if r.Namespaced {
		req.Namespace = ns
	}
	return req
}
