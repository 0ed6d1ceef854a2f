package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Version is the newest policy document version this kgate reads. Version 1
// has no clusters (it means every cluster); version 2 names them.
const Version = 2

// Problem is one thing wrong with a policy document, and where it is.
type Problem struct {
	File  string
	Line  int
	Field string // "projects.payments.namespaces[1]"; empty for a syntax error
	Msg   string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is a policy document that does not parse or validate. It lists every
// problem found, one per line, each with file, line and field.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Parse reads and validates a policy document and compiles it for Decide.
// file names the document in errors ("policy.yaml:12: projects.payments...").
func Parse(file string, data []byte) (*Policy, error) {
	ps := &parser{file: file, budget: 16*len(data) + 4096}
	pol := ps.document(data)
	if len(ps.problems) > 0 {
		sort.SliceStable(ps.problems, func(i, j int) bool { return ps.problems[i].Line < ps.problems[j].Line })
		return nil, &Error{Problems: ps.problems}
	}
	pol.compile()
	return pol, nil
}

type parser struct {
	file     string
	problems []Problem
	// budget bounds the work done following aliases, so a small document of
	// nested aliases cannot make kgate walk billions of nodes.
	budget int
	// pending are the projects whose clusters and namespaces are checked
	// once the whole document (its version and clusters) is read.
	pending []pendingProject
}

type pendingProject struct {
	pr    *Project
	k     *yaml.Node // the project's key
	field string
	// clusters is the project's clusters node, ckey its key, or nil.
	clusters, ckey *yaml.Node
	// needNS: the project gives no namespaces of its own.
	needNS bool
}

// maxProblems bounds the list of problems reported for one document.
const maxProblems = 50

func (ps *parser) problem(line int, field, format string, a ...any) {
	switch {
	case len(ps.problems) > maxProblems:
		return
	case len(ps.problems) == maxProblems:
		ps.problems = append(ps.problems, Problem{File: ps.file, Line: line, Msg: "too many problems; stopping here"})
		return
	}
	ps.problems = append(ps.problems, Problem{File: ps.file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (ps *parser) syntax(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		ps.problem(n, "", "%s", m[2])
		return
	}
	ps.problem(0, "", "%s", strings.TrimPrefix(msg, "yaml: "))
}

func (ps *parser) document(data []byte) *Policy {
	pol := &Policy{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.problem(0, "", "the policy is empty")
		} else {
			ps.syntax(err)
		}
		return pol
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps.problem(extra.Line, "", "more than one YAML document; a policy is one document")
	} else if !errors.Is(err, io.EOF) {
		ps.syntax(err)
	}
	if len(doc.Content) == 0 {
		ps.problem(doc.Line, "", "the policy is empty")
		return pol
	}
	root := ps.resolve(doc.Content[0])
	if root == nil || isNull(root) {
		ps.problem(doc.Line, "", "the policy is empty")
		return pol
	}
	haveVersion := false
	var clustersKey, clustersNode *yaml.Node
	ps.mapping(root, "", func(key string, k, v *yaml.Node, field string) {
		switch key {
		case "version":
			haveVersion = true
			if v.Kind != yaml.ScalarNode || (v.Value != "1" && v.Value != "2") {
				ps.problem(v.Line, field, "unsupported version %s; this kgate reads versions 1 and 2", describe(v))
				return
			}
			pol.Version, _ = strconv.Atoi(v.Value)
		case "clusters":
			clustersKey, clustersNode = k, v
		case "superAdmins":
			pol.SuperAdmins = ps.members(v, field)
		case "projects":
			pol.Projects = ps.projects(v, field)
		case "sensitiveKinds":
			pol.SensitiveKinds = ps.kinds(v, field)
			if pol.SensitiveKinds == nil {
				pol.SensitiveKinds = []string{}
			}
		default:
			ps.problem(k.Line, field, "unknown field (known: version, clusters, superAdmins, sensitiveKinds, projects)")
		}
	})
	if !haveVersion && root.Kind == yaml.MappingNode {
		ps.problem(root.Line, "version", "missing; add `version: 1` (no clusters: every cluster) or `version: 2` (with clusters)")
	}
	switch {
	case pol.Version == 2 && clustersNode == nil && root.Kind == yaml.MappingNode:
		ps.problem(root.Line, "clusters", "missing; a version-2 policy lists its clusters (or use `version: 1`, which means every cluster)")
	case pol.Version == 2 && clustersNode != nil:
		pol.clusters = ps.clusters(clustersNode, "clusters")
	case pol.Version == 1 && clustersKey != nil:
		ps.problem(clustersKey.Line, "clusters", "clusters need `version: 2`; a version-1 policy means every cluster")
	}
	ps.projectClusters(pol)
	return pol
}

// resolve follows an alias and charges the budget for the node.
func (ps *parser) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	ps.budget--
	if ps.budget < 0 {
		if ps.budget == -1 {
			line := 0
			if n != nil {
				line = n.Line
			}
			ps.problem(line, "", "the document expands to too many nodes (aliases nested too deep)")
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// mapping calls fn for each key of a mapping node, in order, rejecting
// duplicate and non-scalar keys. A null node is an empty mapping.
func (ps *parser) mapping(n *yaml.Node, field string, fn func(key string, k, v *yaml.Node, field string)) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		ps.problem(n.Line, field, "want a mapping, got %s", describe(n))
		return
	}
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := ps.resolve(n.Content[i]), ps.resolve(n.Content[i+1])
		if k == nil || v == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			ps.problem(k.Line, field, "keys must be plain names, got %s", describe(k))
			continue
		}
		f := join(field, k.Value)
		if prev, dup := seen[k.Value]; dup {
			ps.problem(k.Line, f, "defined twice (first on line %d)", prev)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, v, f)
	}
}

// names reads a list of names (users, groups, namespaces). A null node is
// an empty list.
func (ps *parser) names(n *yaml.Node, field string) []string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		ps.problem(n.Line, field, "want a list, got %s", describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		c = ps.resolve(c)
		if c == nil {
			return out
		}
		f := field + "[" + strconv.Itoa(i) + "]"
		if c.Kind != yaml.ScalarNode || isNull(c) {
			ps.problem(c.Line, f, "want a name, got %s", describe(c))
			continue
		}
		if strings.TrimSpace(c.Value) == "" {
			ps.problem(c.Line, f, "empty name")
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

// kindName is a plural resource name, with its API group for any group but
// the core one: "secrets", "certificates.cert-manager.io".
var kindName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// kinds reads sensitiveKinds: plural resource names, lower case, as
// `kubectl api-resources` lists them, with .GROUP outside the core group.
func (ps *parser) kinds(n *yaml.Node, field string) []string {
	names := ps.names(n, field)
	for i, s := range names {
		if !kindName.MatchString(s) {
			line := n.Line
			if i < len(n.Content) {
				line = n.Content[i].Line
			}
			ps.problem(line, field+"["+strconv.Itoa(i)+"]", "%q is not a kind: give the plural resource name in lower case, with .GROUP outside the core group (secrets, certificates.cert-manager.io)", s)
		}
	}
	return names
}

func (ps *parser) members(n *yaml.Node, field string) Members {
	var m Members
	ps.mapping(n, field, func(key string, k, v *yaml.Node, f string) {
		switch key {
		case "users":
			m.Users = ps.names(v, f)
		case "groups":
			m.Groups = ps.names(v, f)
		default:
			ps.problem(k.Line, f, "unknown field (known: users, groups)")
		}
	})
	return m
}

var projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (ps *parser) projects(n *yaml.Node, field string) []*Project {
	var out []*Project
	ps.mapping(n, field, func(name string, k, v *yaml.Node, f string) {
		if !projectName.MatchString(name) {
			if name == "" {
				ps.problem(k.Line, field, "empty project name")
			} else {
				ps.problem(k.Line, f, "invalid project name %q: use letters, digits, '.', '_' and '-'", name)
			}
			return
		}
		pr := &Project{Name: name, Line: k.Line}
		haveNS := false
		var nsLines []int
		pend := pendingProject{pr: pr, k: k, field: f}
		ps.mapping(v, f, func(key string, k, v *yaml.Node, f string) {
			switch key {
			case "namespaces":
				haveNS = true
				if isNull(v) || (v.Kind == yaml.SequenceNode && len(v.Content) == 0) {
					ps.problem(v.Line, f, "empty; a project needs at least one namespace")
					return
				}
				pr.Namespaces, pr.globs, nsLines = ps.namespaces(v, f)
			case "systemNamespaces":
				switch {
				case v.Kind == yaml.ScalarNode && v.Value == "allow":
					pr.SystemNamespaces = true
				case v.Kind == yaml.ScalarNode && v.Value == "deny":
				default:
					ps.problem(v.Line, f, "want allow or deny, got %s", describe(v))
				}
			case "admins":
				pr.Admins = ps.members(v, f)
			case "guests":
				pr.Guests = ps.members(v, f)
			case "clusters":
				pend.ckey, pend.clusters = k, v
			default:
				ps.problem(k.Line, f, "unknown field (known: namespaces, admins, guests, systemNamespaces, clusters)")
			}
		})
		if !pr.SystemNamespaces {
			ps.systemCheck(pr.globs, nsLines, join(f, "namespaces"))
		}
		pend.needNS = !haveNS && (isNull(v) || v.Kind == yaml.MappingNode)
		ps.pending = append(ps.pending, pend)
		out = append(out, pr)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (ps *parser) namespaces(n *yaml.Node, field string) ([]string, []glob, []int) {
	if n.Kind != yaml.SequenceNode {
		ps.problem(n.Line, field, "want a list of namespaces, got %s", describe(n))
		return nil, nil, nil
	}
	names := make([]string, 0, len(n.Content))
	globs := make([]glob, 0, len(n.Content))
	lines := make([]int, 0, len(n.Content))
	for i, c := range n.Content {
		c = ps.resolve(c)
		if c == nil {
			break
		}
		f := field + "[" + strconv.Itoa(i) + "]"
		if c.Kind != yaml.ScalarNode || isNull(c) || c.Value == "" {
			ps.problem(c.Line, f, "want a namespace name or pattern, got %s", describe(c))
			continue
		}
		g, err := compileNamespace(c.Value)
		if err != nil {
			ps.problem(c.Line, f, "%v", err)
			continue
		}
		names, globs, lines = append(names, c.Value), append(globs, g), append(lines, c.Line)
	}
	return names, globs, lines
}
