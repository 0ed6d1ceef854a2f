package gateway

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
)

// requestInfo is a request as kube-apiserver's authorizer sees it: the
// fields of k8s.io/apiserver/pkg/endpoints/request.RequestInfo that the
// gateway uses (and the few more a differential test compares).
//
// The gateway parses paths itself rather than with the API server's
// RequestInfoFactory: that package links k8s.io/apiserver's feature gates
// and component-base's metrics registry, and meta/internalversion's
// scheme, whose package inits cost every kgate command (even `kgate
// version`) several milliseconds. parseRequestInfo must read every request
// exactly as kube-apiserver does (a path read otherwise is a bypass of the
// policy): requestinfo_test.go runs both parsers side by side, over a table
// and a fuzz test.
type requestInfo struct {
	// IsResourceRequest is set for an API resource (or subresource)
	// request; else the request is a non-resource one (discovery,
	// /healthz, ...), described by Path and Verb only.
	IsResourceRequest bool
	// Path is the request's URL path, as received.
	Path string
	// Verb is the Kubernetes verb (get, list, watch, create, ...) for a
	// resource request, the lower-cased HTTP method for a non-resource one.
	Verb string

	APIPrefix  string
	APIGroup   string
	APIVersion string
	Namespace  string
	Resource   string
	// Subresource is e.g. status, log, exec, scale.
	Subresource string
	// Name is the object named by the path or, for list and watch, by an
	// exact fieldSelector on metadata.name.
	Name string
	// Parts are the path's segments from the resource on.
	Parts []string
}

// The path prefixes of the API, as the gateway's configuration of the API
// server's parser named them: "api" and "apis" are API prefixes; "api"
// (the core group) has no group segment.
const (
	apiPrefixCore   = "api"
	apiPrefixGroups = "apis"
)

// errNoKind is the API server's error for a special-verb path (/watch,
// /proxy) that names nothing after the verb.
var errNoKind = errors.New("unable to determine kind and namespace from url")

// parseRequestInfo reads r as kube-apiserver's RequestInfoFactory does with
// APIPrefixes {api, apis} and GrouplessAPIPrefixes {api}. The recognised
// resource paths are
//
//	/api/{version}/{resource}[/{name}[/{subresource}[/...]]]
//	/api/{version}/namespaces/{namespace}/{resource}[/{name}[/{subresource}[/...]]]
//	/apis/{group}/{version}/... (the same, with a group)
//	/api/{version}/namespaces/{namespace}[/status|/finalize]  (the namespace itself)
//	/api/{version}/watch/...  /api/{version}/proxy/...  (verb in the path, legacy)
//
// and anything else (/api, /api/v1, /apis/{group}/{version}, /version,
// /healthz, ...) is a non-resource request. On error, the returned info
// holds what was parsed before the failure.
func parseRequestInfo(r *http.Request) (*requestInfo, error) {
	// Non-resource until shown otherwise.
	info := &requestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}

	// The path's segments, leading and trailing slashes dropped; empty
	// segments ("//") are kept as empty strings, as the API server keeps
	// them (the gateway refuses non-canonical paths before parsing).
	var parts []string
	if p := strings.Trim(r.URL.Path, "/"); p != "" {
		parts = strings.Split(p, "/")
	}
	// At least {prefix}/{version}/{something}.
	if len(parts) < 3 {
		return info, nil
	}
	switch parts[0] {
	case apiPrefixCore:
		info.APIPrefix = parts[0]
		parts = parts[1:]
	case apiPrefixGroups:
		info.APIPrefix = parts[0]
		parts = parts[1:]
		// A group adds a segment: {group}/{version}/{something}.
		if len(parts) < 3 {
			return info, nil
		}
		info.APIGroup = parts[0]
		parts = parts[1:]
	default:
		return info, nil
	}

	info.IsResourceRequest = true
	info.APIVersion = parts[0]
	parts = parts[1:] // never empty here

	// The legacy verb-in-path forms: /watch/... and /proxy/...
	switch parts[0] {
	case "watch", "proxy":
		if len(parts) < 2 {
			return info, errNoKind
		}
		info.Verb = parts[0]
		parts = parts[1:]
	default:
		// Methods are case-sensitive: "get" is no GET, and has no verb.
		switch r.Method {
		case http.MethodPost:
			info.Verb = "create"
		case http.MethodGet, http.MethodHead:
			info.Verb = "get"
		case http.MethodPut:
			info.Verb = "update"
		case http.MethodPatch:
			info.Verb = "patch"
		case http.MethodDelete:
			info.Verb = "delete"
		default:
			info.Verb = ""
		}
	}

	// namespaces/{namespace}/{resource}/...: the namespace is taken, and
	// parts restart at the resource, unless what follows the namespace's
	// name is one of the namespace's own subresources (status, finalize):
	// then the resource is "namespaces", its name the namespace's.
	// namespaces/{namespace} alone is the namespace object itself; bare
	// "namespaces" is the list of namespaces.
	if parts[0] == "namespaces" {
		if len(parts) > 1 {
			info.Namespace = parts[1]
			if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
				parts = parts[2:]
			}
		}
	}
	info.Parts = parts

	// {resource}/{name}/{subresource}/anything-else-is-ignored. proxy (in
	// the path) takes no subresource: what follows the name is the proxied
	// path.
	if len(parts) >= 1 {
		info.Resource = parts[0]
	}
	if len(parts) >= 2 {
		info.Name = parts[1]
	}
	if len(parts) >= 3 && info.Verb != "proxy" {
		info.Subresource = parts[2]
	}

	// A get with no name is a list or, asked so in the query, a watch; an
	// exact fieldSelector on metadata.name names the object.
	if info.Name == "" && info.Verb == "get" {
		watch, name := listQuery(r.URL.Query())
		info.Verb = "list"
		if watch {
			info.Verb = "watch"
		}
		info.Name = name
	}

	// A delete with no name is a deletecollection.
	if info.Name == "" && info.Verb == "delete" {
		info.Verb = "deletecollection"
	}
	return info, nil
}

// listQuery reads a list request's query as the API server does (it
// decodes the query into ListOptions): whether it asks for a watch, and the
// name an exact metadata.name fieldSelector gives, if any.
//
// The decoding fails when timeoutSeconds or limit is no integer, or the
// labelSelector or fieldSelector does not parse; the API server then
// ignores the fieldSelector, and reads watch again by itself, slightly
// differently (lower-casing instead of folding case: "FALſE" is false when
// the query decodes, a watch when it does not). Only the first value of a
// repeated parameter counts.
func listQuery(q url.Values) (watch bool, name string) {
	first := func(key string) (string, bool) {
		if v := q[key]; len(v) > 0 {
			return v[0], true
		}
		return "", false
	}
	decodes := true
	for _, key := range []string{"timeoutSeconds", "limit"} {
		if v, ok := first(key); ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				decodes = false
			}
		}
	}
	// An absent selector is the empty one, which parses (as everything).
	labelSel, _ := first("labelSelector")
	if _, err := labels.Parse(labelSel); err != nil {
		decodes = false
	}
	fieldSel, _ := first("fieldSelector")
	fs, err := fields.ParseSelector(fieldSel)
	if err != nil {
		decodes = false
	}

	w, hasWatch := first("watch")
	if !decodes {
		// Any value but false or 0, lower-cased, is a watch.
		if hasWatch {
			switch strings.ToLower(w) {
			case "false", "0":
			default:
				watch = true
			}
		}
		return watch, ""
	}
	// The query decoded: any value but 0 or (case folded) false is a watch.
	watch = hasWatch && w != "0" && !strings.EqualFold(w, "false")
	if n, ok := fs.RequiresExactMatch("metadata.name"); ok && len(content.IsPathSegmentName(n)) == 0 {
		name = n
	}
	return watch, name
}
