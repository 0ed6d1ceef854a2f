package policy

import (
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// clusterName reports whether name is a DNS label
// (^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$, checked by hand: the regexp's
// bounded repeat costs every command millions of instructions to compile):
// cluster names become URL path segments (/clusters/NAME/) and parts of
// cache file names.
func clusterName(name string) bool {
	if len(name) == 0 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidClusterName reports whether name may name a cluster: lower-case
// letters, digits and '-', at most 63, starting and ending with a letter or
// digit.
func ValidClusterName(name string) bool { return clusterName(name) }

func (ps *parser) systemCheck(globs []glob, lines []int, field string) {
	for i := range globs {
		if ns := globs[i].systemMatch(); ns != "" {
			ps.problem(lines[i], field+"["+strconv.Itoa(i)+"]",
				"the pattern %q matches the system namespace %q; name system namespaces exactly, narrow the pattern, or set systemNamespaces: allow on the project",
				globs[i].text, ns)
		}
	}
}

// clusters reads a version-2 policy's clusters: name → how it is reached.
func (ps *parser) clusters(n *yaml.Node, field string) []Cluster {
	if isNull(n) || (n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		ps.problem(n.Line, field, "empty; a version-2 policy names at least one cluster")
		return nil
	}
	var out []Cluster
	ps.mapping(n, field, func(name string, k, v *yaml.Node, f string) {
		if !clusterName(name) {
			ps.problem(k.Line, f, "invalid cluster name %q: use lower-case letters, digits and '-' (at most 63)", name)
			return
		}
		c := Cluster{Name: name}
		ps.mapping(v, f, func(key string, k, v *yaml.Node, f string) {
			if key != "context" && key != "gateway" {
				ps.problem(k.Line, f, "unknown field (known: context, gateway)")
				return
			}
			if v.Kind != yaml.ScalarNode || isNull(v) || strings.TrimSpace(v.Value) == "" {
				ps.problem(v.Line, f, "want a %s, got %s", map[string]string{"context": "kubeconfig context name", "gateway": "gateway URL"}[key], describe(v))
				return
			}
			if key == "context" {
				c.Context = v.Value
				return
			}
			u, err := url.Parse(v.Value)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				ps.problem(v.Line, f, "%q is not a gateway URL: want https://HOST[:PORT][/PATH]", v.Value)
				return
			}
			c.Gateway = strings.TrimRight(v.Value, "/")
		})
		switch {
		case c.Context != "" && c.Gateway != "":
			ps.problem(k.Line, f, "give context or gateway, not both")
		case c.Context == "" && c.Gateway == "" && (isNull(v) || v.Kind == yaml.MappingNode && !ps.hasKey(v, "context", "gateway")):
			ps.problem(k.Line, f, "missing how the cluster is reached: `context: KUBECONFIG-CONTEXT` or `gateway: https://GATEWAY`")
		}
		out = append(out, c)
	})
	return out
}

func (ps *parser) hasKey(n *yaml.Node, keys ...string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		for _, k := range keys {
			if n.Content[i].Value == k {
				return true
			}
		}
	}
	return false
}

// projectClusters reads each project's clusters, now that the version and
// the policy's clusters are known, and checks every project has namespaces
// somewhere.
func (ps *parser) projectClusters(pol *Policy) {
	known := make([]string, len(pol.clusters))
	for i, c := range pol.clusters {
		known[i] = c.Name
	}
	for _, pp := range ps.pending {
		pr := pp.pr
		given := false // namespaces given in some cluster
		if pp.clusters != nil {
			switch pol.Version {
			case 1:
				ps.problem(pp.ckey.Line, join(pp.field, "clusters"), "per-cluster settings need `version: 2`; a version-1 policy means every cluster")
			case 2:
				ps.mapping(pp.clusters, join(pp.field, "clusters"), func(name string, k, v *yaml.Node, f string) {
					if !contains(known, name) {
						ps.problem(k.Line, f, "unknown cluster %q (the policy's clusters: %s)", name, strings.Join(known, ", "))
						return
					}
					cr := ps.clusterRoles(pr, k, v, f)
					if cr.Namespaces != nil {
						given = true
					}
					if pr.Clusters == nil {
						pr.Clusters = map[string]ClusterRoles{}
					}
					pr.Clusters[name] = cr
				})
			}
		}
		if pp.needNS && !given {
			if pol.Version == 2 {
				ps.problem(pp.k.Line, join(pp.field, "namespaces"), "missing; a project needs at least one namespace, of its own or in one of its clusters")
			} else {
				ps.problem(pp.k.Line, join(pp.field, "namespaces"), "missing; a project needs at least one namespace")
			}
		}
	}
	ps.pending = nil
}

func (ps *parser) clusterRoles(pr *Project, k, v *yaml.Node, field string) ClusterRoles {
	cr := ClusterRoles{Line: k.Line}
	var lines []int
	ps.mapping(v, field, func(key string, k, v *yaml.Node, f string) {
		switch key {
		case "namespaces":
			if isNull(v) || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
				ps.problem(v.Line, f, "empty; leave the field out to keep the project's namespaces in this cluster")
				return
			}
			cr.Namespaces, cr.globs, lines = ps.namespaces(v, f)
			if !pr.SystemNamespaces {
				ps.systemCheck(cr.globs, lines, f)
			}
		case "admins":
			cr.Admins = ps.members(v, f)
		case "guests":
			cr.Guests = ps.members(v, f)
		default:
			ps.problem(k.Line, f, "unknown field (known: namespaces, admins, guests)")
		}
	})
	return cr
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
