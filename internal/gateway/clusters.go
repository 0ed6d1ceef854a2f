package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kgate/kgate/internal/policy"
)

// ClustersPrefix is where a multi-cluster gateway serves each cluster:
// /clusters/NAME/api/..., /clusters/NAME/apis/..., and its own endpoints
// (/clusters/NAME/kgate/v1/login, ...) as the unprefixed ones.
const ClustersPrefix = "/clusters/"

// Cluster is one cluster a multi-cluster gateway fronts: its name (a DNS
// label, as the policy names clusters) and the gateway's own credentials
// for its API server.
type Cluster struct {
	Name     string
	Upstream *rest.Config
}

// clusterUpstream is one API server the gateway forwards to, with the proxies and
// transports of the gateway's own credentials for it.
type clusterUpstream struct {
	// name is the cluster's name; "" for a single-cluster gateway.
	name     string
	url      *url.URL
	rt       http.RoundTripper
	upgrades *proxy.UpgradeAwareHandler
	proxy    *httputil.ReverseProxy
	nsProxy  http.Handler
}

// of is " of cluster NAME" for messages, or "" for a single-cluster gateway.
func (u *clusterUpstream) of() string {
	if u.name == "" {
		return ""
	}
	return " of cluster " + u.name
}

func validClusterName(name string) error {
	if !policy.ValidClusterName(name) {
		return fmt.Errorf("gateway: %q is not a cluster name: lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit", name)
	}
	return nil
}

// ClusterNames are the clusters of a multi-cluster gateway, in the order
// they were given; nil for a single-cluster one.
func (g *Gateway) ClusterNames() []string {
	if len(g.o.Clusters) == 0 {
		return nil
	}
	names := make([]string, 0, len(g.o.Clusters))
	for _, c := range g.o.Clusters {
		names = append(names, c.Name)
	}
	return names
}

// DefaultCluster is the cluster the unprefixed paths and the web console
// serve on a multi-cluster gateway ("" for a single-cluster one).
func (g *Gateway) DefaultCluster() string { return g.home.name }

type upstreamKey struct{}

// upstreamOf is the cluster a request was routed to: its /clusters/NAME
// prefix, else the home cluster.
func (g *Gateway) upstreamOf(r *http.Request) *clusterUpstream {
	if up, ok := r.Context().Value(upstreamKey{}).(*clusterUpstream); ok {
		return up
	}
	return g.home
}

// policyFor is the policy as it applies to up's cluster: for a
// multi-cluster gateway the policy's view of that cluster (a version-1
// policy is the same everywhere), else the policy itself.
func policyFor(p *policy.Policy, up *clusterUpstream) (*policy.Policy, error) {
	if up.name == "" {
		return p, nil
	}
	return p.ForCluster(up.name)
}

// routeCluster handles the /clusters/NAME/ prefix of a multi-cluster
// gateway. It returns the request to serve, with the prefix stripped and
// the cluster in its context, or false when it has answered (a refusal).
// The unprefixed paths serve the default cluster, or are refused when there
// is none. A single-cluster gateway serves every path as it is.
//
// The whole path must be canonical first (no "..", no empty segments, no
// escapes such as %2F), so that the cluster the gateway picks is the one
// the path names as everyone reads it; names match exactly (no case
// folding); a second prefix after the first is refused rather than sent on.
func (g *Gateway) routeCluster(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if len(g.clusters) == 0 {
		return r, true
	}
	p := r.URL.Path
	if p+"/" == ClustersPrefix {
		p = ClustersPrefix
	}
	if !strings.HasPrefix(p, ClustersPrefix) {
		if g.o.DefaultCluster == "" && !gatewayOwnPath(p) && !g.consoleRequest(r) {
			g.metrics.clusterRefusals.WithLabelValues("no-cluster").Inc()
			writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound,
				fmt.Sprintf("this gateway fronts several clusters: use %sNAME%s (its clusters: %s)", ClustersPrefix, p, strings.Join(g.ClusterNames(), ", ")), nil)
			return nil, false
		}
		return r, true
	}
	if r.URL.RawPath != "" || !canonicalPath(r.URL.Path, r.URL.EscapedPath()) {
		g.metrics.clusterRefusals.WithLabelValues("invalid").Inc()
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest,
			fmt.Sprintf("the gateway refuses the path %q: it is not in canonical form", r.URL.EscapedPath()), nil)
		return nil, false
	}
	name, rest, _ := strings.Cut(strings.TrimPrefix(p, ClustersPrefix), "/")
	up := g.clusters[name]
	if up == nil {
		g.metrics.clusterRefusals.WithLabelValues("unknown").Inc()
		msg := fmt.Sprintf("this gateway fronts no cluster %q (its clusters: %s)", name, strings.Join(g.ClusterNames(), ", "))
		if name == "" {
			msg = fmt.Sprintf("no cluster named: use %sNAME/... (its clusters: %s)", ClustersPrefix, strings.Join(g.ClusterNames(), ", "))
		}
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, msg, nil)
		return nil, false
	}
	rest = "/" + rest
	if rest+"/" == ClustersPrefix || strings.HasPrefix(rest, ClustersPrefix) {
		g.metrics.clusterRefusals.WithLabelValues("double-prefix").Inc()
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest,
			fmt.Sprintf("the gateway refuses the path %q: one cluster prefix only", r.URL.Path), nil)
		return nil, false
	}
	r = r.WithContext(context.WithValue(r.Context(), upstreamKey{}, up))
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	r.URL = &u
	return r, true
}

// gatewayOwnPath reports whether p is one of the gateway's own endpoints,
// which every cluster shares (one login, one session, one set of locks).
func gatewayOwnPath(p string) bool {
	switch p {
	case "/healthz", "/livez", "/readyz", "/metrics", LoginPath, PolicyPath, RefreshPath, LogoutPath, ClustersPath:
		return true
	}
	return p == LocksPath || strings.HasPrefix(p, LocksPath+"/")
}

// ClustersPath lists the clusters a gateway fronts (GET, no login needed:
// the names are in every URL anyway).
const ClustersPath = "/kgate/v1/clusters"

// ClusterList is the answer of ClustersPath.
type ClusterList struct {
	// Clusters are the names, in the gateway's order; empty for a
	// single-cluster gateway.
	Clusters []string `json:"clusters"`
	// Default serves the unprefixed paths ("" when they are refused).
	Default string `json:"default,omitempty"`
}

func (g *Gateway) serveClusters(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, "use GET", nil)
		return
	}
	names := g.ClusterNames()
	if names == nil {
		names = []string{}
	}
	writeJSON(w, ClusterList{Clusters: names, Default: g.o.DefaultCluster})
}

// PerClusterKubeconfig turns kc, a kubeconfig for the gateway at server
// (Kubeconfig or ExecKubeconfig), into one with a context per cluster the
// gateway fronts, named after the cluster, whose server is
// server/clusters/NAME; the one credential serves them all. current is the
// current context (default: the first cluster).
func PerClusterKubeconfig(kc []byte, server string, clusters []string, current string) ([]byte, error) {
	c, err := clientcmd.Load(kc)
	if err != nil {
		return nil, err
	}
	base := c.Contexts[c.CurrentContext]
	if base == nil || c.Clusters[base.Cluster] == nil {
		return nil, fmt.Errorf("the gateway's kubeconfig has no current context")
	}
	cl := c.Clusters[base.Cluster]
	delete(c.Clusters, base.Cluster)
	delete(c.Contexts, c.CurrentContext)
	for _, name := range clusters {
		entry := cl.DeepCopy()
		entry.Server = strings.TrimSuffix(server, "/") + ClustersPrefix + name
		c.Clusters[base.Cluster+"-"+name] = entry
		c.Contexts[name] = &clientcmdapi.Context{Cluster: base.Cluster + "-" + name, AuthInfo: base.AuthInfo}
	}
	if current == "" && len(clusters) > 0 {
		current = clusters[0]
	}
	c.CurrentContext = current
	return clientcmd.Write(*c)
}
