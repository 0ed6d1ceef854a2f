// Package clusters implements `kgate clusters`.
package clusters

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/yaml"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/printers"
	"github.com/kgate/kgate/internal/session"
)

// Options are what `kgate clusters` needs.
type Options struct {
	IO     *iostreams.IOStreams
	Output func() (string, error)
	// Policy is the whole policy, the one that lists the clusters.
	Policy func() (*policy.Policy, error)
	// Current is the name of the cluster in use ("" when none is chosen).
	Current func() (string, error)
	// Session returns the session a cluster is reached with: the direct
	// LDAP login for a context, that gateway's session for a gateway.
	Session func(c policy.Cluster) (*session.Session, error)
	Now     func() time.Time
}

// Cluster is one cluster as printed with -o json|yaml.
type Cluster struct {
	Name    string `json:"name"`
	Context string `json:"context,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	Current bool   `json:"current"`
	// Roles are the user's projects there and the role in each.
	Roles      []Role `json:"roles"`
	SuperAdmin bool   `json:"superAdmin"`
	LoggedIn   bool   `json:"loggedIn"`
	User       string `json:"user,omitempty"`
	// Expires is when the session ends (logged in only).
	Expires *time.Time `json:"expires,omitempty"`
}

// Role is the user's role in one project of one cluster.
type Role struct {
	Project string      `json:"project"`
	Role    policy.Role `json:"role"`
}

// NewCmdClusters returns `kgate clusters`; runF replaces the run step in tests.
func NewCmdClusters(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Output: f.OutputFormat(), Policy: f.HomePolicy, Now: time.Now}
	if f.Cluster != nil {
		opts.Current = func() (string, error) {
			c, err := f.Cluster()
			if err != nil || c == nil {
				return "", err
			}
			return c.Name, nil
		}
	}
	opts.Session = f.ClusterSession
	return &cobra.Command{
		Use:   "clusters",
		Short: "List the policy's clusters, how each is reached, your roles and your logins",
		Long: `List the clusters the policy names: how kgate reaches each (a kubeconfig
context, or a kgate gateway's URL), your roles there (a project can give you
admin in one and guest in another), and whether you are logged in for it: one
LDAP login serves every cluster reached through a context, each gateway has a
session of its own. The cluster in use (--cluster, else the config key cluster,
else the one whose context is the kubeconfig's current one) is marked '*'.

A version-1 policy names no clusters: it applies to every cluster.`,
		Example: `  kgate clusters
  kgate clusters -o json | jq -r '.[] | select(.loggedIn | not) | .name'

  # work in another cluster
  kgate --cluster prod get pods`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return clustersRun(opts)
		},
	}
}

func clustersRun(opts *Options) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	if out != "" && out != "json" && out != "yaml" {
		return errs.UsageErrorf("unsupported output format %q for clusters: use json or yaml", out)
	}
	pol, err := opts.Policy()
	if err != nil {
		return err
	}
	current := ""
	if opts.Current != nil {
		// Listing the clusters is how to choose one: no cluster in use (none
		// chosen, none reached by the context) is no error here.
		current, _ = opts.Current()
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	list := []Cluster{}
	for _, c := range pol.Clusters() {
		row := Cluster{Name: c.Name, Context: c.Context, Gateway: c.Gateway, Current: c.Name == current, Roles: []Role{}}
		if s, err := opts.Session(c); err == nil && s != nil {
			exp := s.Expires.UTC()
			row.LoggedIn, row.User, row.Expires = true, s.User, &exp
			id := policy.Identity{User: s.User, Groups: s.Groups}
			if v, err := pol.ForCluster(c.Name); err == nil {
				row.SuperAdmin = v.IsSuperAdmin(id)
				for _, m := range v.ProjectsOf(id) {
					row.Roles = append(row.Roles, Role{Project: m.Project, Role: m.Role})
				}
			}
		}
		list = append(list, row)
	}
	switch out {
	case "json":
		b, _ := json.MarshalIndent(list, "", "  ")
		fmt.Fprintln(opts.IO.Out, string(b))
		return nil
	case "yaml":
		b, _ := yaml.Marshal(list)
		fmt.Fprint(opts.IO.Out, string(b))
		return nil
	}
	if len(list) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "The policy names no clusters (version 1): it applies to every cluster your kubeconfig or gateway reaches.")
		return nil
	}
	rows := make([]printers.Row, 0, len(list))
	for _, c := range list {
		mark := ""
		if c.Current {
			mark = "*"
		}
		reached := "context " + c.Context
		if c.Gateway != "" {
			reached = "gateway " + c.Gateway
		}
		login := "no"
		if c.LoggedIn {
			login = c.User
			if left := c.Expires.Sub(now); left > 0 {
				login += " (" + duration.HumanDuration(left) + " left)"
			} else {
				login += " (expired)"
			}
		}
		rows = append(rows, printers.Row{mark, c.Name, reached, summary(c), login})
	}
	return printers.Print(opts.IO.Out, printers.Row{"CURRENT", "NAME", "REACHED BY", "YOUR ROLES", "LOGGED IN"}, rows)
}

// summary says the user's roles in one line: "admin: payments; guest: search".
func summary(c Cluster) string {
	switch {
	case !c.LoggedIn:
		return "-"
	case c.SuperAdmin:
		return "super admin"
	case len(c.Roles) == 0:
		return "none"
	}
	var admin, guest []string
	for _, r := range c.Roles {
		if r.Role == policy.RoleAdmin {
			admin = append(admin, r.Project)
		} else {
			guest = append(guest, r.Project)
		}
	}
	var parts []string
	if len(admin) > 0 {
		parts = append(parts, "admin: "+strings.Join(admin, ","))
	}
	if len(guest) > 0 {
		parts = append(parts, "guest: "+strings.Join(guest, ","))
	}
	return strings.Join(parts, "; ")
}
