// Package kube is kgate's Kubernetes layer. It needs only a rest.Config, so
// direct mode (kubeconfig) and gateway mode (gateway URL + token) share it.
package kube

import (
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kgate/kgate/internal/errs"
)

// Resource is a kind kgate knows how to handle.
type Resource struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Singular   string
	ShortNames []string
	Namespaced bool
	// Verbs and Categories are as discovery lists them.
	Verbs      []string
	Categories []string

	// What kgate may do with the kind, recorded once (withAbilities).
	// Deletable: namespaced and the server deletes it (kgate never deletes
	// cluster-scoped kinds or namespaces). Scalable: kgate scales it.
	// HasPods: logs, exec, attach and port-forward may name it for its
	// pods, and pick one of them (see PodSelector).
	Deletable bool
	Scalable  bool
	HasPods   bool
}

// GroupKind returns the resource's group and kind.
func (r Resource) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.GVR.Group, Kind: r.Kind}
}

// GVK returns the resource's group, version and kind.
func (r Resource) GVK() schema.GroupVersionKind {
	return r.GVR.GroupVersion().WithKind(r.Kind)
}

// Mapping returns the resource as a RESTMapping.
func (r Resource) Mapping() *meta.RESTMapping {
	scope := meta.RESTScopeRoot
	if r.Namespaced {
		scope = meta.RESTScopeNamespace
	}
	return &meta.RESTMapping{Resource: r.GVR, GroupVersionKind: r.GVK(), Scope: scope}
}

// Qualified returns "deployment.apps" or "pod", the form kubectl prints in
// "TYPE/NAME" output.
func (r Resource) Qualified() string {
	if r.GVR.Group == "" {
		return r.Singular
	}
	return r.Singular + "." + r.GVR.Group
}

// Path returns the API path of a collection or, with a name, of one object.
// namespace is ignored for cluster-scoped kinds; empty means all namespaces.
func (r Resource) Path(namespace, name string) string {
	var b strings.Builder
	if r.GVR.Group == "" {
		b.WriteString("/api/")
	} else {
		b.WriteString("/apis/")
		b.WriteString(r.GVR.Group)
		b.WriteByte('/')
	}
	b.WriteString(r.GVR.Version)
	if r.Namespaced && namespace != "" {
		b.WriteString("/namespaces/")
		b.WriteString(namespace)
	}
	b.WriteByte('/')
	b.WriteString(r.GVR.Resource)
	if name != "" {
		b.WriteByte('/')
		b.WriteString(name)
	}
	return b.String()
}

// withAbilities records once what kgate may do with a kind.
func withAbilities(r Resource) Resource {
	r.Deletable = r.Namespaced && slices.Contains(r.Verbs, "delete")
	switch {
	case r.GVR.Group == "apps" && (r.GVR.Resource == "deployments" || r.GVR.Resource == "statefulsets" || r.GVR.Resource == "replicasets"):
		r.Scalable, r.HasPods = true, true
	case r.GVR.Group == "apps" && r.GVR.Resource == "daemonsets", r.GVR.Group == "batch" && r.GVR.Resource == "jobs",
		r.GVR.Group == "" && (r.GVR.Resource == "pods" || r.GVR.Resource == "services"):
		r.HasPods = true
	}
	return r
}

var byName = func() map[string]Resource {
	m := map[string]Resource{}
	for _, r := range Resources {
		for _, n := range r.names() {
			m[n] = r
			if r.GVR.Group != "" {
				m[n+"."+r.GVR.Group] = r
				m[n+"."+r.GVR.Version+"."+r.GVR.Group] = r
			} else {
				m[n+"."+r.GVR.Version] = r
			}
		}
	}
	// "events.events.k8s.io" is what kubectl shows; both map to core events here.
	m["events.events.k8s.io"] = m["events"]
	return m
}()

// names are the lower-case names a kind may be typed as, without group.
func (r Resource) names() []string {
	return append([]string{r.GVR.Resource, r.Singular, strings.ToLower(r.Kind)}, r.ShortNames...)
}

// Lookup resolves a built-in kind as a user types it: "pods", "pod", "po",
// "Pod", "deployments.apps", "deployment.v1.apps". It never asks the
// cluster; Kinds.Lookup also knows the cluster's other kinds. An unknown
// kind is a usage error.
func Lookup(name string) (Resource, error) {
	if r, ok := byName[strings.ToLower(name)]; ok {
		return r, nil
	}
	return Resource{}, unknownKind(name, nil)
}

// SupportedList lists the most used built-in kinds with their short names.
func SupportedList() string {
	var parts []string
	for _, r := range Resources[:helpKinds] {
		s := r.GVR.Resource
		if len(r.ShortNames) > 0 {
			s += " (" + strings.Join(r.ShortNames, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// KindNames returns the plural names of the built-in kinds, sorted (completion).
func KindNames() []string {
	var out []string
	for _, r := range Resources {
		out = append(out, r.GVR.Resource)
	}
	sort.Strings(out)
	return out
}

// Target is one kind and the names asked for (none means all, or a selector).
type Target struct {
	Resource Resource
	Names    []string
}

// ParseArgs turns kubectl-style arguments into targets:
//
//	pods                    every pod
//	pods a b                pods a and b
//	pods,svc                every pod and every service
//	pod/a deploy/b          TYPE/NAME pairs (may not be mixed with a bare TYPE)
func ParseArgs(args []string) ([]Target, error) {
	return parseArgs(args, Lookup, func(name string) ([]Resource, error) {
		r, err := Lookup(name)
		return []Resource{r}, err
	})
}

// ParseTarget turns the one object of exec, attach, logs or port-forward
// into a kind and a name: "TYPE/NAME" as ParseArgs reads it, and a bare name
// is a pod's. It knows the built-in kinds only; ParseTargetIn takes the
// cluster's.
func ParseTarget(arg string) (Resource, string, error) {
	return parseTarget(arg, ParseArgs)
}

// ParseTargetIn is ParseTarget with TYPE resolved by kinds (short names,
// KIND.GROUP, custom resources; nil: the built-in kinds), and only kinds that
// run pods taken: any other is a usage error naming it, before the policy or
// the cluster is asked about it.
func ParseTargetIn(kinds *Kinds, arg string) (Resource, string, error) {
	r, name, err := parseTarget(arg, kinds.ParseArgs)
	if err != nil {
		return Resource{}, "", err
	}
	if !r.HasPods {
		return Resource{}, "", errs.UsageErrorf("%s has no pods of its own; name a pod, deployment, statefulset, replicaset, daemonset, job or service", Qualified(r))
	}
	return r, name, nil
}

func parseTarget(arg string, parse func([]string) ([]Target, error)) (Resource, string, error) {
	if !strings.Contains(arg, "/") {
		r, _ := Lookup("pods")
		return r, arg, nil
	}
	ts, err := parse([]string{arg})
	if err != nil {
		return Resource{}, "", err
	}
	return ts[0].Resource, ts[0].Names[0], nil
}

func parseArgs(args []string, lookup func(string) (Resource, error), expand func(string) ([]Resource, error)) ([]Target, error) {
	if len(args) == 0 {
		return nil, errs.WithHint(errs.UsageErrorf("you must specify the type of resource to get"),
			"Kinds include: "+SupportedList()+", and every other kind the cluster serves (`all` for the usual ones).")
	}
	if strings.Contains(args[0], "/") {
		var out []Target
		index := map[string]int{}
		for _, a := range args {
			kind, name, ok := strings.Cut(a, "/")
			if !ok || kind == "" || name == "" || strings.Contains(name, "/") {
				return nil, errs.UsageErrorf("arguments in resource/name form must have a single resource and name: %q", a)
			}
			r, err := lookup(kind)
			if err != nil {
				return nil, err
			}
			key := r.GVR.String()
			if i, ok := index[key]; ok {
				out[i].Names = append(out[i].Names, name)
				continue
			}
			index[key] = len(out)
			out = append(out, Target{Resource: r, Names: []string{name}})
		}
		return out, nil
	}
	var out []Target
	seen := map[string]bool{}
	for _, kind := range strings.Split(args[0], ",") {
		if kind == "" {
			continue
		}
		rs, err := expand(kind)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if seen[r.GVR.String()] {
				continue
			}
			seen[r.GVR.String()] = true
			out = append(out, Target{Resource: r})
		}
	}
	names := args[1:]
	for _, n := range names {
		if strings.Contains(n, "/") {
			return nil, errs.UsageErrorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kgate get resource/<resource_name>' instead of 'kgate get resource resource/<resource_name>')")
		}
	}
	for i := range out {
		out[i].Names = append([]string(nil), names...)
	}
	return out, nil
}
