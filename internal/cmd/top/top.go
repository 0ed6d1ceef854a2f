// Package top implements `kgate top pods` and `kgate top nodes` from the
// metrics API (metrics.k8s.io), printed by kubectl's own top printer.
package top

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/kubectl/pkg/metricsutil"
	metricsapi "k8s.io/metrics/pkg/apis/metrics"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/completion"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// The metrics API's resources, as the policy is asked about them.
const (
	ResourcePodMetrics  = "pods.metrics.k8s.io"
	ResourceNodeMetrics = "nodes.metrics.k8s.io"
)

// Options are what `kgate top` needs.
type Options struct {
	IO         *iostreams.IOStreams
	KubeClient func() (*kube.Client, error)
	Namespace  func() (string, bool, error)
	Access     *enforce.Access

	Nodes         bool
	Name          string
	Selector      string
	FieldSelector string
	AllNamespaces bool
	Containers    bool
	SortBy        string
	NoHeaders     bool
	Sum           bool
}

// NewCmdTop returns `kgate top` with `pods` and `nodes`; runF replaces the
// run step in tests.
func NewCmdTop(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top (pods | nodes)",
		Short: "Show the CPU and memory use of pods or nodes",
		Long: `Show the CPU and memory use of pods (guests) or nodes (super admins) from the
metrics API, as kubectl top does. The cluster must run metrics-server (or
another provider of metrics.k8s.io); without one kgate says "metrics API not
available" and exits 6.`,
		Example: `  # the pods of the current namespace, busiest first
  kgate top pods --sort-by=cpu

  # every node
  kgate top nodes`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errs.UsageErrorf("top needs pods or nodes: kgate top pods")
		},
	}
	for _, nodes := range []bool{false, true} {
		opts := &Options{IO: f.IOStreams, KubeClient: f.KubeClient, Namespace: f.Namespace, Access: f.Access(), Nodes: nodes}
		sub := &cobra.Command{
			Use:     "pods [NAME | -l SELECTOR]",
			Aliases: []string{"pod", "po"},
			Short:   "Show the CPU and memory use of pods",
			Long: `Show the CPU and memory use of the pods of a namespace (-A: of every namespace
you may see), or of their containers, as kubectl top pod does. Guests may do
this.`,
			Example: `  # the pods of namespace payments, with their containers
  kgate top pods -n payments --containers

  # pods labelled app=web, and their sum
  kgate top pods -l app=web --sum`,
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) > 1 {
					return errs.UsageErrorf("top pods takes at most one pod name")
				}
				if len(args) == 1 {
					if opts.Selector != "" {
						return errs.UsageErrorf("a pod name cannot be combined with -l")
					}
					opts.Name = args[0]
				}
				if opts.SortBy != "" && opts.SortBy != "cpu" && opts.SortBy != "memory" {
					return errs.UsageErrorf("--sort-by takes cpu or memory, not %q", opts.SortBy)
				}
				if runF != nil {
					return runF(opts)
				}
				return topRun(cmd.Context(), opts)
			},
		}
		if nodes {
			sub.Use, sub.Aliases, sub.Short = "nodes [NAME | -l SELECTOR]", []string{"node", "no"}, "Show the CPU and memory use of nodes (super admins only)"
			sub.Long = `Show the CPU and memory use of the cluster's nodes, with the share of their
allocatable CPU and memory, as kubectl top node does. Super admins only.`
			sub.Example = `  # every node, by memory use
  kgate top nodes --sort-by=memory`
		}
		fl := sub.Flags()
		fl.StringVarP(&opts.Selector, "selector", "l", "", "Label selector to filter on")
		fl.StringVar(&opts.SortBy, "sort-by", "", "Sort by cpu or memory")
		fl.BoolVar(&opts.NoHeaders, "no-headers", false, "Do not print the header line")
		if !nodes {
			fl.StringVar(&opts.FieldSelector, "field-selector", "", "Field selector to filter on")
			fl.BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "Pods of every namespace you may see")
			fl.BoolVar(&opts.Containers, "containers", false, "Show each container")
			fl.BoolVar(&opts.Sum, "sum", false, "Print the sum of the pods' use")
		}
		if !nodes {
			completion.Pod(sub, f, policy.VerbList, "", completion.Only("pods"))
		}
		completion.NoFiles(sub, "selector")
		if !nodes {
			completion.NoFiles(sub, "field-selector")
		}
		cmd.AddCommand(sub)
	}
	return cmd
}

// unavailable turns "there is no metrics API" into one clear error.
func unavailable(err error) error {
	var ne net.Error
	if apierrors.IsNotFound(err) && !isObjectNotFound(err) || apierrors.IsServiceUnavailable(err) || errors.As(err, &ne) {
		return errs.WithHint(errs.UnavailableErrorf("metrics API not available: %v", err),
			"The cluster needs metrics-server (metrics.k8s.io); ask its operators.")
	}
	return err
}

// isObjectNotFound tells a missing pod or node (the API answered) from a
// missing API (the answer names no object).
func isObjectNotFound(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st) && st.Status().Details != nil && st.Status().Details.Name != ""
}

func topRun(ctx context.Context, o *Options) error {
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return errs.UsageErrorf("invalid selector %q: %v", o.Selector, err)
		}
	}
	if o.FieldSelector != "" {
		if _, err := fields.ParseSelector(o.FieldSelector); err != nil {
			return errs.UsageErrorf("invalid field selector %q: %v", o.FieldSelector, err)
		}
	}
	if o.Nodes {
		return topNodes(ctx, o)
	}
	ns, _, err := o.Namespace()
	if err != nil {
		return err
	}
	var scope enforce.Scope
	if o.Name != "" {
		ctx, err = o.Access.Authorize(ctx, policy.Request{Verb: policy.VerbGet, Resource: ResourcePodMetrics, Namespace: ns, Name: o.Name})
		scope.Namespaces = []string{ns}
	} else {
		ctx, scope, err = o.Access.List(ctx, policy.Request{Verb: policy.VerbList, Resource: ResourcePodMetrics, Namespace: ns}, o.AllNamespaces)
	}
	if err != nil {
		return err
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	mc, err := metricsclient.NewForConfig(client.Config)
	if err != nil {
		return err
	}
	var items []metricsv1beta1.PodMetrics
	for _, n := range scope.Namespaces {
		if o.Name != "" {
			m, err := mc.MetricsV1beta1().PodMetricses(n).Get(ctx, o.Name, metav1.GetOptions{})
			if err != nil {
				if isObjectNotFound(err) {
					return errs.NotFoundErrorf("pod %q has no metrics (yet) in namespace %s", o.Name, n)
				}
				return unavailable(err)
			}
			items = append(items, *m)
			continue
		}
		l, err := mc.MetricsV1beta1().PodMetricses(n).List(ctx, metav1.ListOptions{LabelSelector: o.Selector, FieldSelector: o.FieldSelector})
		if err != nil {
			return unavailable(err)
		}
		items = append(items, l.Items...)
	}
	list := &metricsapi.PodMetricsList{}
	if err := metricsv1beta1.Convert_v1beta1_PodMetricsList_To_metrics_PodMetricsList(&metricsv1beta1.PodMetricsList{Items: items}, list, nil); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		if o.AllNamespaces {
			fmt.Fprintln(o.IO.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		}
		if !o.Sum {
			return nil
		}
	}
	return metricsutil.NewTopCmdPrinter(o.IO.Out, false).PrintPodMetrics(list.Items, o.Containers, o.AllNamespaces, o.NoHeaders, o.SortBy, o.Sum)
}

func topNodes(ctx context.Context, o *Options) error {
	req := policy.Request{Verb: policy.VerbList, Resource: ResourceNodeMetrics}
	if o.Name != "" {
		req = policy.Request{Verb: policy.VerbGet, Resource: ResourceNodeMetrics, Name: o.Name}
	}
	ctx, err := o.Access.Authorize(ctx, req)
	if err != nil {
		return err
	}
	// The percentages need the nodes' allocatable resources.
	if ctx, err = o.Access.Authorize(ctx, policy.Request{Verb: req.Verb, Resource: "nodes", Name: o.Name}); err != nil {
		return err
	}
	client, err := o.KubeClient()
	if err != nil {
		return err
	}
	mc, err := metricsclient.NewForConfig(client.Config)
	if err != nil {
		return err
	}
	cs, err := client.Typed()
	if err != nil {
		return err
	}
	var items []metricsv1beta1.NodeMetrics
	var nodes []corev1.Node
	if o.Name != "" {
		m, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			if isObjectNotFound(err) {
				return errs.NotFoundErrorf("node %q has no metrics (yet)", o.Name)
			}
			return unavailable(err)
		}
		items = append(items, *m)
		n, err := cs.CoreV1().Nodes().Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		nodes = append(nodes, *n)
	} else {
		l, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: o.Selector})
		if err != nil {
			return unavailable(err)
		}
		items = l.Items
		nl, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.Selector})
		if err != nil {
			return err
		}
		nodes = nl.Items
	}
	list := &metricsapi.NodeMetricsList{}
	if err := metricsv1beta1.Convert_v1beta1_NodeMetricsList_To_metrics_NodeMetricsList(&metricsv1beta1.NodeMetricsList{Items: items}, list, nil); err != nil {
		return err
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(o.IO.ErrOut, "No resources found")
		return nil
	}
	avail := map[string]corev1.ResourceList{}
	for _, n := range nodes {
		avail[n.Name] = n.Status.Allocatable
	}
	return metricsutil.NewTopCmdPrinter(o.IO.Out, false).PrintNodeMetrics(list.Items, avail, o.NoHeaders, o.SortBy)
}
