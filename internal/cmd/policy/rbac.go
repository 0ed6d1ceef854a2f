package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/iostreams"
	kpolicy "github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

// fieldManager owns the fields `policy rbac --apply` writes.
const fieldManager = "kgate"

// RBACOptions are what `kgate policy rbac` needs.
type RBACOptions struct {
	IO     *iostreams.IOStreams
	Policy func() (*policycache.Loaded, error)
	Output func() (string, error)
	// RESTConfig is the kubeconfig's cluster (never the gateway): rendering
	// RBAC is a cluster administrator's job, done with their own rights.
	RESTConfig func() (*rest.Config, error)

	// Served lists the cluster's namespaced resources (discovery through
	// RESTConfig), so that the roles cover its custom resources.
	Served func() ([]gateway.Served, error)

	// Cluster is the cluster chosen with --cluster (or the default one), ""
	// for none: a policy that names clusters is rendered for that one.
	Cluster func() (string, error)

	// UseContext makes RESTConfig use the kubeconfig context the policy
	// names for the cluster rendered; nil leaves the kubeconfig as it is.
	UseContext func(name string) error

	// File is a policy file to render instead of the policy in effect.
	File  string
	Apply bool
	Prune bool
}

// NewCmdRBAC returns `kgate policy rbac`; runF replaces the run step in tests.
func NewCmdRBAC(f *cmdutil.Factory, runF func(context.Context, *RBACOptions) error) *cobra.Command {
	opts := &RBACOptions{IO: f.IOStreams, Policy: f.Policy, Output: f.OutputFormat(), Prune: true}
	if f.KubeFlags != nil {
		opts.RESTConfig = f.KubeFlags.ToRESTConfig
		opts.UseContext = func(name string) error {
			if f.Flags != nil {
				if fl := f.Flags.Lookup("context"); fl != nil && fl.Changed && *f.KubeFlags.Context != name {
					return errs.UsageErrorf("the policy reaches this cluster through the context %s, not %s: give one of --cluster and --context", name, *f.KubeFlags.Context)
				}
			}
			*f.KubeFlags.Context = name
			return nil
		}
	}
	opts.Cluster = func() (string, error) {
		if f.Config == nil {
			return "", nil
		}
		cfg, err := f.Config()
		if err != nil {
			return "", err
		}
		return cfg.Cluster, nil
	}
	opts.Served = func() ([]gateway.Served, error) { return servedResources(opts.RESTConfig) }
	cmd := &cobra.Command{
		Use:   "rbac [FILE]",
		Short: "Render the policy as Kubernetes RBAC, or apply it",
		Long: `Render the policy as RBAC, so that the cluster itself refuses what the policy
refuses, even if a request got past the gateway: ClusterRoles kgate-guest (read
every namespaced resource the cluster serves, custom resources included, but
not Secrets and the other kinds the policy's sensitiveKinds names) and
kgate-admin (also the sensitive kinds, exec, attach, port-forward, scale, and
changes to workloads and custom resources; not RBAC objects, quotas, the
namespace itself or service account tokens); in
every namespace of a project, RoleBindings kgate-guest and kgate-admin of the
project's guests and admins (a namespace in several projects gets the members
of all); and a ClusterRoleBinding kgate-super-admins of kgate-admin to the
super admins. Users and groups are bound in lower case, as the gateway
impersonates them.

RBAC has no namespace patterns: a glob such as "search-*" is rendered for the
cluster's namespaces that match it now, so run this again (with --apply, from
a CronJob or your deploy pipeline) when namespaces are created. Exact names are
rendered whether or not the namespace exists; --apply skips missing ones.

The roles list the cluster's resources as its discovery shows them now (through
your kubeconfig): after installing a CRD, run it again (kgate policy rbac
--apply) so that the new kind is covered. Without a reachable cluster the roles
cover the built-in groups only.

Without --apply it prints YAML (or -o json) for review or GitOps. With --apply
it server-side applies everything (field manager "kgate") and deletes the
kgate-managed RoleBindings and ClusterRoleBindings the policy no longer asks
for (--prune=false keeps them). It uses your kubeconfig, never the gateway:
you need the rights to create ClusterRoles and RoleBindings.`,
		Example: `  # review what the policy in effect becomes
  kgate policy rbac

  # apply a policy file to the cluster of the current kubeconfig context
  kgate policy rbac policy.yaml --apply`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.File = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rbacRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Apply, "apply", false, "Apply the rendering to the cluster (server-side apply)")
	cmd.Flags().BoolVar(&opts.Prune, "prune", true, "With --apply, delete kgate-managed bindings the policy no longer asks for")
	return cmd
}

// forCluster is pol as it applies to the chosen cluster, when pol names
// clusters: each cluster gets its own RBAC.
func forCluster(pol *kpolicy.Policy, cluster func() (string, error)) (*kpolicy.Policy, error) {
	if len(pol.Clusters()) == 0 {
		return pol, nil
	}
	name := pol.Cluster()
	if cluster != nil {
		c, err := cluster()
		if err != nil {
			return nil, err
		}
		if c != "" {
			name = c
		}
	}
	if name == "" {
		return nil, errs.UsageErrorf("the policy names clusters (%s); choose the one to render with --cluster NAME", strings.Join(pol.ClusterNames(), ", "))
	}
	v, err := pol.ForCluster(name)
	if err != nil {
		return nil, errs.WithKind(errs.KindUsage, err)
	}
	return v, nil
}

func rbacRun(ctx context.Context, opts *RBACOptions) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	if out != "" && out != "json" && out != "yaml" {
		return errs.UsageErrorf("unsupported output format %q for policy rbac: use json or yaml", out)
	}
	var pol *kpolicy.Policy
	if opts.File != "" {
		data, err := os.ReadFile(opts.File)
		if err != nil {
			return fmt.Errorf("reading the policy: %w", err)
		}
		if pol, err = kpolicy.Parse(opts.File, data); err != nil {
			return fmt.Errorf("invalid policy:\n%w", err)
		}
	} else {
		l, err := opts.Policy()
		if err != nil {
			return err
		}
		pol = l.Policy
	}
	if pol, err = forCluster(pol, opts.Cluster); err != nil {
		return err
	}
	// A cluster reached through a context is rendered and applied there.
	if c, ok := pol.ClusterByName(pol.Cluster()); ok && c.Context != "" && opts.UseContext != nil {
		if err := opts.UseContext(c.Context); err != nil {
			return err
		}
	}
	globs := false
	for _, pr := range pol.Projects {
		for _, n := range pr.Namespaces {
			globs = globs || kpolicy.IsGlob(n)
		}
	}
	var cs kubernetes.Interface
	var existing []string
	if globs || opts.Apply {
		rc, err := opts.RESTConfig()
		if err != nil {
			return err
		}
		if cs, err = kubernetes.NewForConfig(rc); err != nil {
			return err
		}
		nl, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return errs.WithHint(fmt.Errorf("listing the cluster's namespaces (for the policy's namespace patterns): %w", err),
				"Run it with a kubeconfig that may list namespaces (--kubeconfig, --context).")
		}
		for _, n := range nl.Items {
			existing = append(existing, n.Name)
		}
	}
	var served []gateway.Served
	if opts.Served != nil && opts.RESTConfig != nil {
		if served, err = opts.Served(); err != nil {
			if opts.Apply {
				return fmt.Errorf("discovering the cluster's resources: %w", err)
			}
			fmt.Fprintf(opts.IO.ErrOut, "note: the cluster's resources could not be discovered (%v); the roles cover the built-in groups only\n", err)
		} else {
			fmt.Fprintf(opts.IO.ErrOut, "note: rendered for the %d namespaced resources the cluster serves now; after installing a CRD, run `kgate policy rbac --apply` again\n", len(served))
		}
	}
	r := gateway.RenderRBACFor(pol, existing, served)
	for _, g := range r.UnmatchedGlobs {
		fmt.Fprintf(opts.IO.ErrOut, "note: project %s matches no namespace in the cluster yet; nothing is bound for it\n", g)
	}
	if !opts.Apply {
		return printRBAC(opts, r, out)
	}
	return applyRBAC(ctx, opts, cs, r, existing)
}

// objects are the rendering's objects, as maps without the empty
// creationTimestamp the Go types would print.
func objects(r gateway.RBAC) ([]map[string]any, error) {
	var all []any
	for _, o := range r.ClusterRoles {
		all = append(all, o)
	}
	for _, o := range r.ClusterRoleBindings {
		all = append(all, o)
	}
	for _, o := range r.RoleBindings {
		all = append(all, o)
	}
	out := make([]map[string]any, 0, len(all))
	for _, o := range all {
		b, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "creationTimestamp")
		}
		out = append(out, m)
	}
	return out, nil
}

func printRBAC(opts *RBACOptions, r gateway.RBAC, out string) error {
	objs, err := objects(r)
	if err != nil {
		return err
	}
	if out == "json" {
		b, err := json.MarshalIndent(map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	}
	fmt.Fprintln(opts.IO.Out, "# Rendered by `kgate policy rbac` from the kgate policy; apply with `kgate policy rbac --apply`.")
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "---\n%s", b)
	}
	return nil
}

func applyRBAC(ctx context.Context, opts *RBACOptions, cs kubernetes.Interface, r gateway.RBAC, existing []string) error {
	force := true
	po := metav1.PatchOptions{FieldManager: fieldManager, Force: &force}
	rbac := cs.RbacV1()
	for _, o := range r.ClusterRoles {
		b, _ := json.Marshal(o)
		if _, err := rbac.ClusterRoles().Patch(ctx, o.Name, types.ApplyPatchType, b, po); err != nil {
			return fmt.Errorf("applying clusterrole %s: %w", o.Name, err)
		}
		fmt.Fprintf(opts.IO.Out, "clusterrole.rbac.authorization.k8s.io/%s serverside-applied\n", o.Name)
	}
	keepCRB := map[string]bool{}
	for _, o := range r.ClusterRoleBindings {
		b, _ := json.Marshal(o)
		if _, err := rbac.ClusterRoleBindings().Patch(ctx, o.Name, types.ApplyPatchType, b, po); err != nil {
			return fmt.Errorf("applying clusterrolebinding %s: %w", o.Name, err)
		}
		keepCRB[o.Name] = true
		fmt.Fprintf(opts.IO.Out, "clusterrolebinding.rbac.authorization.k8s.io/%s serverside-applied\n", o.Name)
	}
	keepRB := map[string]bool{}
	for _, o := range r.RoleBindings {
		if !slices.Contains(existing, o.Namespace) {
			fmt.Fprintf(opts.IO.ErrOut, "note: namespace %s does not exist; skipping its rolebinding %s\n", o.Namespace, o.Name)
			continue
		}
		b, _ := json.Marshal(o)
		if _, err := rbac.RoleBindings(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, b, po); err != nil {
			return fmt.Errorf("applying rolebinding %s/%s: %w", o.Namespace, o.Name, err)
		}
		keepRB[o.Namespace+"/"+o.Name] = true
		fmt.Fprintf(opts.IO.Out, "rolebinding.rbac.authorization.k8s.io/%s serverside-applied (namespace %s)\n", o.Name, o.Namespace)
	}
	if !opts.Prune {
		return nil
	}
	sel := metav1.ListOptions{LabelSelector: gateway.ManagedByLabel + "=" + gateway.ManagedBy}
	rbs, err := rbac.RoleBindings("").List(ctx, sel)
	if err != nil {
		return fmt.Errorf("listing kgate's rolebindings to prune: %w", err)
	}
	for _, rb := range rbs.Items {
		if keepRB[rb.Namespace+"/"+rb.Name] {
			continue
		}
		if err := rbac.RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting rolebinding %s/%s: %w", rb.Namespace, rb.Name, err)
		}
		fmt.Fprintf(opts.IO.Out, "rolebinding.rbac.authorization.k8s.io/%s deleted (namespace %s)\n", rb.Name, rb.Namespace)
	}
	crbs, err := rbac.ClusterRoleBindings().List(ctx, sel)
	if err != nil {
		return fmt.Errorf("listing kgate's clusterrolebindings to prune: %w", err)
	}
	for _, crb := range crbs.Items {
		if keepCRB[crb.Name] {
			continue
		}
		if err := rbac.ClusterRoleBindings().Delete(ctx, crb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting clusterrolebinding %s: %w", crb.Name, err)
		}
		fmt.Fprintf(opts.IO.Out, "clusterrolebinding.rbac.authorization.k8s.io/%s deleted\n", crb.Name)
	}
	return nil
}

// servedResources lists the namespaced resources the cluster serves, at
// their preferred versions.
func servedResources(restConfig func() (*rest.Config, error)) ([]gateway.Served, error) {
	if restConfig == nil {
		return nil, fmt.Errorf("no kubeconfig")
	}
	rc, err := restConfig()
	if err != nil {
		return nil, err
	}
	d, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, err
	}
	lists, err := d.ServerPreferredNamespacedResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, err
	}
	var out []gateway.Served
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			out = append(out, gateway.Served{Group: gv.Group, Resource: r.Name})
		}
	}
	return out, nil
}
