// Package policy implements `kgate policy check`, `kgate policy show` and
// `kgate policy rbac`.
package policy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	kpolicy "github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
	"github.com/kgate/kgate/internal/printers"
)

// NewCmdPolicy returns `kgate policy` and its subcommands.
func NewCmdPolicy(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy <command>",
		Short: "Check a policy file, show the policy in effect, or render it as RBAC",
		Long: `Work with kgate's policy: the projects, their namespaces, and who is a
guest or an admin of each. 'kgate policy check' validates a file before it is
published, 'kgate policy show' prints the policy kgate decides with and where
it came from, and 'kgate policy rbac' renders it as Kubernetes RBAC.`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(NewCmdCheck(f, nil), NewCmdShow(f, nil), NewCmdRBAC(f, nil))
	return cmd
}

func output(f *cmdutil.Factory) func() (string, error) {
	return func() (string, error) {
		cfg, err := f.Config()
		if err != nil {
			return "", err
		}
		return cfg.Output, nil
	}
}

// CheckOptions are what `kgate policy check` needs.
type CheckOptions struct {
	IO     *iostreams.IOStreams
	Output func() (string, error)
	// File is the policy to check; "-" is standard input.
	File string
}

// CheckResult is what `policy check -o json` prints.
type CheckResult struct {
	File     string `json:"file"`
	Valid    bool   `json:"valid"`
	Version  int    `json:"version"`
	Projects int    `json:"projects"`
	// Clusters are the clusters a version-2 policy names.
	Clusters []kpolicy.Cluster `json:"clusters,omitempty"`
	Overlaps []CheckOverlap    `json:"overlaps"`
}

// CheckOverlap is a namespace two projects claim, in one cluster of a policy
// that names clusters.
type CheckOverlap struct {
	Cluster string `json:"cluster,omitempty"`
	kpolicy.Overlap
}

// NewCmdCheck returns `kgate policy check`; runF replaces the run step in tests.
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: f.IOStreams, Output: output(f)}
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a policy file and report namespaces claimed by several projects",
		Long: `Parse and validate a policy file as kgate would, before publishing it. Every
problem is reported with its file, line and field; the exit code is 1 if there
is any. Namespaces that several projects claim (a user gets the highest role
held in any of them) are reported too, without failing. FILE - reads stdin.`,
		Example: `  kgate policy check policy.yaml
  kubectl get cm kgate-policy -o jsonpath='{.data.policy\.yaml}' | kgate policy check -`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return checkRun(opts)
		},
	}
}

func checkRun(opts *CheckOptions) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	if out != "" && out != "json" && out != "yaml" {
		return errs.UsageErrorf("unsupported output format %q for policy check: use json or yaml", out)
	}
	name := opts.File
	var data []byte
	if opts.File == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(opts.IO.In)
	} else {
		data, err = os.ReadFile(opts.File)
	}
	if err != nil {
		return fmt.Errorf("reading the policy: %w", err)
	}
	pol, err := kpolicy.Parse(name, data)
	if err != nil {
		return fmt.Errorf("invalid policy:\n%w", err)
	}
	res := CheckResult{File: name, Valid: true, Version: pol.Version, Projects: len(pol.Projects), Clusters: pol.Clusters(), Overlaps: overlaps(pol)}
	switch out {
	case "json":
		return printers.Value(opts.IO.Out, "json", res)
	case "yaml":
		return printers.Value(opts.IO.Out, "yaml", res)
	}
	// A policy with many shared patterns reports many overlaps: one write.
	w := bufio.NewWriter(opts.IO.Out)
	defer w.Flush()
	fmt.Fprintf(w, "%s: valid, %d projects\n", name, res.Projects)
	if len(res.Clusters) > 0 {
		reached := make([]string, len(res.Clusters))
		for i, c := range res.Clusters {
			reached[i] = c.Name + " (" + c.Reached() + ")"
		}
		fmt.Fprintf(w, "clusters: %s\n", strings.Join(reached, ", "))
	}
	for _, o := range res.Overlaps {
		in := ""
		if o.Cluster != "" {
			in = " in cluster " + strconv.Quote(o.Cluster)
		}
		fmt.Fprintf(w, "overlap%s: namespace %q (for example) is in project %q (%s) and project %q (%s); users get the higher role\n",
			in, o.Example, o.A.Project, o.A.Pattern, o.B.Project, o.B.Pattern)
	}
	return nil
}

// overlaps are the policy's overlaps, cluster by cluster when it names
// clusters (a project's namespaces can differ in each).
func overlaps(pol *kpolicy.Policy) []CheckOverlap {
	out := []CheckOverlap{}
	if len(pol.Clusters()) == 0 {
		for _, o := range pol.Overlaps() {
			out = append(out, CheckOverlap{Overlap: o})
		}
		return out
	}
	for _, c := range pol.Clusters() {
		v, err := pol.ForCluster(c.Name)
		if err != nil {
			continue
		}
		for _, o := range v.Overlaps() {
			out = append(out, CheckOverlap{Cluster: c.Name, Overlap: o})
		}
	}
	return out
}

// ShowOptions are what `kgate policy show` needs.
type ShowOptions struct {
	IO     *iostreams.IOStreams
	Policy func() (*policycache.Loaded, error)
	Output func() (string, error)
	Now    func() time.Time
}

// Shown is what `policy show -o json|yaml` prints.
type Shown struct {
	Source     string    `json:"source"`
	FetchedAt  time.Time `json:"fetchedAt"`
	AgeSeconds int64     `json:"ageSeconds"`
	SHA256     string    `json:"sha256"`
	ETag       string    `json:"etag,omitempty"`
	// Stale is set when the source could not be read and the cached copy is in effect.
	Stale bool `json:"stale"`
	// Cluster is the cluster the policy is in effect for (a policy that
	// names clusters); Clusters are its roles in each.
	Cluster  string         `json:"cluster,omitempty"`
	Clusters []ShownCluster `json:"clusters,omitempty"`
	Policy   string         `json:"policy"`
}

// ShownCluster is one cluster of a policy that names clusters, and each
// project's namespaces and roles there.
type ShownCluster struct {
	kpolicy.Cluster
	Projects []ShownProject `json:"projects"`
}

// ShownProject is a project's namespaces and roles in one cluster.
type ShownProject struct {
	Name       string          `json:"name"`
	Namespaces []string        `json:"namespaces"`
	Admins     kpolicy.Members `json:"admins"`
	Guests     kpolicy.Members `json:"guests"`
}

func shownClusters(pol *kpolicy.Policy) []ShownCluster {
	var out []ShownCluster
	for _, c := range pol.Clusters() {
		v, err := pol.ForCluster(c.Name)
		if err != nil {
			continue
		}
		sc := ShownCluster{Cluster: c, Projects: []ShownProject{}}
		for _, pr := range v.Projects {
			sc.Projects = append(sc.Projects, ShownProject{Name: pr.Name, Namespaces: pr.Namespaces, Admins: pr.Admins, Guests: pr.Guests})
		}
		out = append(out, sc)
	}
	return out
}

func memberText(m kpolicy.Members) string {
	var l []string
	l = append(l, m.Users...)
	for _, g := range m.Groups {
		l = append(l, "group "+g)
	}
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// NewCmdShow returns `kgate policy show`; runF replaces the run step in tests.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, Policy: f.Policy, Output: output(f), Now: time.Now}
	return &cobra.Command{
		Use:   "show",
		Short: "Show the policy in effect, where it came from and how old it is",
		Long: `Print the policy kgate decides with: the document as fetched, preceded by
comment lines naming its source, when it was fetched and its sha256. This goes
through the local policy cache like every command, so it may refresh it.`,
		Example: `  kgate policy show
  kgate policy show -o json | jq -r .source`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return showRun(opts)
		},
	}
}

func showRun(opts *ShowOptions) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	if out != "" && out != "json" && out != "yaml" {
		return errs.UsageErrorf("unsupported output format %q for policy show: use json or yaml", out)
	}
	l, err := opts.Policy()
	if err != nil {
		return err
	}
	age := opts.Now().Sub(l.FetchedAt)
	s := Shown{Source: l.Source, FetchedAt: l.FetchedAt.UTC(), AgeSeconds: int64(age / time.Second),
		SHA256: l.SHA256, ETag: l.ETag, Stale: l.Stale, Policy: string(l.Raw)}
	if l.Policy != nil {
		s.Cluster, s.Clusters = l.Policy.Cluster(), shownClusters(l.Policy)
	}
	switch out {
	case "json":
		return printers.Value(opts.IO.Out, "json", s)
	case "yaml":
		return printers.Value(opts.IO.Out, "yaml", s)
	}
	fmt.Fprintf(opts.IO.Out, "# source: %s\n# fetched: %s (%s ago)\n# sha256: %s\n",
		s.Source, s.FetchedAt.Format(time.RFC3339), duration.HumanDuration(age), s.SHA256)
	if s.Stale {
		fmt.Fprintln(opts.IO.Out, "# stale: the source could not be read; this is the cached copy")
	}
	if s.Cluster != "" {
		fmt.Fprintf(opts.IO.Out, "# in effect for cluster: %s\n", s.Cluster)
	}
	for _, c := range s.Clusters {
		fmt.Fprintf(opts.IO.Out, "# cluster %s (%s):\n", c.Name, c.Reached())
		for _, p := range c.Projects {
			fmt.Fprintf(opts.IO.Out, "#   %s [%s]: admins %s; guests %s\n", p.Name, strings.Join(p.Namespaces, ", "), memberText(p.Admins), memberText(p.Guests))
		}
	}
	fmt.Fprint(opts.IO.Out, s.Policy)
	if len(s.Policy) > 0 && s.Policy[len(s.Policy)-1] != '\n' {
		fmt.Fprintln(opts.IO.Out)
	}
	return nil
}
