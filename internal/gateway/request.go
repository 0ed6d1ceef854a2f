package gateway

import (
	"net/http"
	"strings"

	"github.com/kgate/kgate/internal/policy"
)

// kind is how the gateway treats a request once it knows who sent it.
type kind int

const (
	// kindResource is an API resource request: the policy decides.
	kindResource kind = iota
	// kindDiscovery is /api, /apis/..., /version, /openapi/...: open to
	// every logged-in user (the cluster's system:discovery role agrees).
	kindDiscovery
	// kindSelfReview asks the cluster what the caller may do
	// (SelfSubjectAccessReview and friends): it reveals only the caller's
	// own rights, so it is open to every logged-in user.
	kindSelfReview
	// kindNonResource is any other path (/logs, /debug/..., /metrics of the
	// API server): a cluster-wide request, for super admins only.
	kindNonResource
)

// classified is a request as the policy sees it.
type classified struct {
	kind  kind
	req   policy.Request
	group string
	// command is an exec's command, for the audit log.
	command []string
	// streaming is set for requests that may last: upgrades, watches,
	// followed logs.
	streaming bool
}

// classify turns the API server's view of a request into the policy's.
func classify(info *requestInfo, r *http.Request) classified {
	if !info.IsResourceRequest {
		p := info.Path
		if p == "/api" || p == "/apis" || p == "/version" || strings.HasPrefix(p, "/api/") ||
			strings.HasPrefix(p, "/apis/") || p == "/openapi/v2" || p == "/openapi/v3" || strings.HasPrefix(p, "/openapi/v3/") {
			p = strings.TrimSuffix(p, "/")
			if p == "" {
				p = "/"
			}
			return classified{kind: kindDiscovery, req: policy.Request{Verb: info.Verb, Resource: p}}
		}
		return classified{kind: kindNonResource, req: policy.Request{Verb: info.Verb, Resource: p}}
	}
	c := classified{
		kind:  kindResource,
		group: info.APIGroup,
		req: policy.Request{
			Verb: info.Verb, Resource: info.Resource, Group: info.APIGroup, Subresource: info.Subresource,
			Namespace: info.Namespace, Name: info.Name,
		},
	}
	if info.Verb == "create" && (info.APIGroup == "authorization.k8s.io" &&
		(info.Resource == "selfsubjectaccessreviews" || info.Resource == "selfsubjectrulesreviews") ||
		info.APIGroup == "authentication.k8s.io" && info.Resource == "selfsubjectreviews") {
		c.kind = kindSelfReview
		return c
	}
	c.req.Verb = policyVerb(info.Verb, info.Subresource)
	q := r.URL.Query()
	switch info.Subresource {
	case "log":
		c.streaming = info.Verb == "get" && q.Get("follow") == "true"
	case "exec", "attach", "portforward":
		c.streaming = true
		if info.Subresource == "exec" {
			c.command = q["command"]
		}
	case "proxy":
		// A proxied port may stream anything.
		c.streaming = true
	}
	if info.Verb == "watch" {
		c.streaming = true
	}
	return c
}

// policyVerb is the policy's verb for an API verb on a subresource.
func policyVerb(verb, subresource string) string {
	switch subresource {
	case "log":
		if verb == "get" {
			return policy.VerbLogs
		}
	case "exec", "attach", "portforward":
		// Whatever the HTTP method (POST for SPDY, GET for WebSocket), it is
		// an exec-level request: admin.
		return policy.VerbExec
	case "scale":
		if verb == "update" || verb == "patch" {
			return policy.VerbScale
		}
	}
	return verb
}
