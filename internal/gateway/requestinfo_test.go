package gateway

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/klog/v2"
)

// The gateway's parser is checked against kube-apiserver's own, configured
// as the API server configures it. Test code may import k8s.io/apiserver:
// it is not linked into kgate.

func init() {
	// The API server's parser logs every query it cannot decode.
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

var apiserverInfos = &request.RequestInfoFactory{
	APIPrefixes:          sets.NewString("api", "apis"),
	GrouplessAPIPrefixes: sets.NewString("api"),
}

// sameRequestInfo compares both parsers on r; it returns a description of
// the first difference, or "".
func sameRequestInfo(r *http.Request) string {
	want, wantErr := apiserverInfos.NewRequestInfo(r)
	got, gotErr := parseRequestInfo(r)
	if (wantErr == nil) != (gotErr == nil) {
		return fmt.Sprintf("error: kube-apiserver %v, kgate %v", wantErr, gotErr)
	}
	w := requestInfo{
		IsResourceRequest: want.IsResourceRequest, Path: want.Path, Verb: want.Verb,
		APIPrefix: want.APIPrefix, APIGroup: want.APIGroup, APIVersion: want.APIVersion,
		Namespace: want.Namespace, Resource: want.Resource, Subresource: want.Subresource,
		Name: want.Name, Parts: want.Parts,
	}
	g := *got
	// nil and empty Parts are the same to every reader.
	if len(w.Parts) == 0 {
		w.Parts = nil
	}
	if len(g.Parts) == 0 {
		g.Parts = nil
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("kube-apiserver %+v\n\t\t kgate %+v", w, g)
	}
	return ""
}

var infoMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "get", "Post", "PROPFIND", ""}

var infoPaths = []string{
	"", "/", "//", "///", "/api", "/api/", "/apis", "/apis/", "/api/v1", "/api/v1/", "/apis/apps", "/apis/apps/v1", "/apis/apps/v1/",
	"/version", "/version/", "/healthz", "/healthz/etcd", "/livez", "/readyz", "/metrics", "/logs/", "/openapi/v2", "/openapi/v3",
	"/openapi/v3/apis/apps/v1", "/debug/pprof/", "/.well-known/openid-configuration",
	"/api/v1/pods", "/api/v1/pods/", "/api/v1/namespaces", "/api/v1/namespaces/", "/api/v1/namespaces/ns", "/api/v1/namespaces/ns/",
	"/api/v1/namespaces/ns/status", "/api/v1/namespaces/ns/finalize", "/api/v1/namespaces/ns/status/x", "/api/v1/namespaces/ns/finalize/x/y",
	"/api/v1/namespaces/ns/pods", "/api/v1/namespaces/ns/pods/web", "/api/v1/namespaces/ns/pods/web/log",
	"/api/v1/namespaces/ns/pods/web/exec", "/api/v1/namespaces/ns/pods/web/attach", "/api/v1/namespaces/ns/pods/web/portforward",
	"/api/v1/namespaces/ns/pods/web/proxy", "/api/v1/namespaces/ns/pods/web/proxy/a/b", "/api/v1/namespaces/ns/services/web:80/proxy/x",
	"/api/v1/namespaces/ns/pods/web/status/extra/more", "/api/v1/namespaces/ns/secrets/s", "/api/v1/namespaces/ns/namespaces/x",
	"/api/v1/namespaces/namespaces/namespaces", "/api/v1/namespaces/ns/namespaces", "/api/v1/namespaces/status", "/api/v1/namespaces/finalize",
	"/api/v1/namespaces/status/status", "/api/v1/nodes/n1", "/api/v1/nodes/n1/proxy/metrics", "/api/v1/nodes/n1/status",
	"/api/v1/watch", "/api/v1/watch/", "/api/v1/watch/pods", "/api/v1/watch/namespaces", "/api/v1/watch/namespaces/ns",
	"/api/v1/watch/namespaces/ns/pods", "/api/v1/watch/namespaces/ns/pods/web", "/api/v1/watch/namespaces/ns/pods/web/status",
	"/api/v1/proxy", "/api/v1/proxy/nodes/n1", "/api/v1/proxy/nodes/n1/metrics", "/api/v1/proxy/namespaces/ns/pods/web/x",
	"/api/v1/proxy/namespaces/ns/services/s/a/b", "/api/v1/watch/watch", "/api/v1/proxy/watch/pods", "/api/v1/watch/proxy/x/y/z",
	"/apis/apps/v1/deployments", "/apis/apps/v1/namespaces/ns/deployments", "/apis/apps/v1/namespaces/ns/deployments/web",
	"/apis/apps/v1/namespaces/ns/deployments/web/scale", "/apis/apps/v1/namespaces/ns/deployments/web/scale/extra",
	"/apis/apps/v1/watch/namespaces/ns/deployments", "/apis/apps/v1/proxy/x/y", "/apis/apps/v1/namespaces", "/apis/apps/v1/namespaces/ns",
	"/apis/apps/v1/namespaces/ns/status", "/apis/example.com/v1/namespaces/ns/widgets/w/sub/extra",
	"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
	"/apis/authentication.k8s.io/v1/selfsubjectreviews", "/apis/authorization.k8s.io/v1/namespaces/ns/localsubjectaccessreviews",
	// Hostile.
	"/api//v1/pods", "/api/v1//pods", "/api/v1/pods//", "//api/v1/pods", "/api/v1/namespaces//pods", "/api/v1/namespaces/ns//web",
	"/api/v1/namespaces/ns/pods//log", "/apis//v1/deployments", "/apis/apps//deployments", "/apis/apps/v1//", "/apis///x",
	"/api/./v1/pods", "/api/v1/./pods", "/api/v1/namespaces/ns/../kube-system/secrets", "/api/v1/namespaces/../../apis/x/v1/y",
	"/api/v1/pods/..", "/api/v1/pods/.", "/api/v1/namespaces/./pods", "/./api/v1/pods", "/../api/v1/pods",
	"/api/v1/namespaces/ns/pods/web%2Fexec", "/api/v1/namespaces%2Fns%2Fsecrets", "/api%2Fv1%2Fpods", "/api/v1/namespaces/ns/pods/%2e%2e/x",
	"/api/v1/namespaces/%2e%2e/secrets", "/api/v1/namespaces/ns/secrets/%2E", "/api/v1/pods%00", "/api/v1/pods/%00/log",
	"/API/v1/pods", "/Api/v1/pods", "/APIS/apps/v1/deployments", "/api/V1/pods", "/api/v1/Pods", "/api/v1/NAMESPACES/ns/pods",
	"/api/v1/WATCH/pods", "/api/v1/Proxy/nodes/n", "/api/v1/namespaces/ns/STATUS", "/api/v1/namespaces/ns/Finalize",
	"/api/v1/pods;x=y", "/api/v1;x/pods", "/api/v1/namespaces/ns;a=b/secrets", "/api/v1/namespaces/ns/pods/web;/exec",
	"/api/v1/pods?", "/api/v1/pods#frag", "/api/v1/ pods", "/api/v1/pods /x", "/api/v1/namespaces/ns/pods/web\x00/exec",
	"/api/v1/namespaces/ns/pods/we b", "/api/v1/namespaces/ns/pods/\u00e9", "/apis/apps/v1/namespaces/ns/deployments/web/scale/",
	"/api/v1/namespaces/ns/pods/web/exec/", "/apis/apps/v1/watch", "/apis/apps/v1/watch/", "/apis/apps/watch/v1/deployments",
	"/api/watch/v1/pods", "/api/v1/namespaces/ns/watch/pods", "/api/v1/namespaces/watch", "/api/v1/namespaces/proxy/x",
	"/api/v1/" + strings.Repeat("a/", 2000), "/api/v1/namespaces/ns/pods/" + strings.Repeat("x", 10000),
	"/apis/" + strings.Repeat("g/", 500) + "v1", "/api/" + strings.Repeat("/", 100) + "v1/pods",
}

var infoQueries = []string{
	"", "watch=true", "watch=1", "watch=false", "watch=0", "watch=", "watch", "watch=TRUE", "watch=False", "watch=FALSE",
	"watch=yes", "watch=no", "watch=falſe", "watch=FALſE", "watch=false&watch=true", "watch=true&watch=false", "watch=%00",
	"fieldSelector=metadata.name%3Dx", "fieldSelector=metadata.name=x", "fieldSelector=metadata.name==x",
	"fieldSelector=metadata.name!=x", "fieldSelector=metadata.name=x,metadata.namespace=y", "fieldSelector=metadata.name=x,metadata.name=y",
	"fieldSelector=metadata.name=", "fieldSelector=metadata.name=..", "fieldSelector=metadata.name=.", "fieldSelector=metadata.name=a%2Fb",
	"fieldSelector=metadata.name=a%25b", "fieldSelector=metadata.name=x&watch=true", "fieldSelector=metadata.name=x&watch=1",
	"watch=1&fieldSelector=metadata.name%3Dweb", "fieldSelector=spec.nodeName=n", "fieldSelector=metadata.name", "fieldSelector=bad==",
	"fieldSelector=metadata.name%3Dx&labelSelector=%21%21", "fieldSelector=metadata.name=x&limit=abc", "fieldSelector=metadata.name=x&timeoutSeconds=1.5",
	"fieldSelector=metadata.name=x&limit=10&timeoutSeconds=30", "watch=FALſE&limit=x", "watch=falſe&labelSelector=a+in+(", "watch=true&limit=x",
	"watch=false&limit=x", "fieldSelector=metadata.name=x&fieldSelector=metadata.name=y", "fieldSelector=&fieldSelector=metadata.name=y",
	"labelSelector=app%3Dweb", "labelSelector=app+in+(a,b)", "labelSelector=!!", "labelSelector=a=b=c", "limit=500", "limit=-1",
	"limit=99999999999999999999", "timeoutSeconds=", "limit=", "resourceVersion=0&resourceVersionMatch=NotOlderThan", "sendInitialEvents=true",
	"allowWatchBookmarks=true&watch=1", "continue=abc", "follow=true", "command=sh&command=-c", "watch=true;x=y", "a=b;watch=true",
	"watch=true%3Bx", "%zz=1&watch=true", "watch=%zz", "fieldSelector=metadata.name%3Dx;", "fieldSelector=metadata.name=x\\,y",
	"fieldSelector=metadata.name=" + strings.Repeat("a", 300), "fieldSelector=metadata.name=" + strings.Repeat("a", 254),
	"fieldSelector=metadata.name=%E2%80%8B", "shardSelector=x",
}

// newInfoRequest builds a request for method and target (path?query) as
// the server would receive it; ok is false for a target the server could
// not read.
func newInfoRequest(method, target string) (*http.Request, bool) {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	return &http.Request{Method: method, URL: u, RequestURI: target}, true
}

func TestRequestInfoMatchesAPIServer(t *testing.T) {
	n := 0
	for _, p := range infoPaths {
		for _, q := range infoQueries {
			for _, m := range infoMethods {
				for _, target := range []string{p + "?" + q, p} {
					if target == "?"+q || target == "" {
						target = "/" + target
					}
					// Also the path exactly as given, undecoded (a request
					// built in-process, as the web console's are).
					raw := &http.Request{Method: m, URL: &url.URL{Path: p, RawQuery: q}}
					if d := sameRequestInfo(raw); d != "" {
						t.Errorf("%s %q (path as is) ?%s:\n\t%s", m, p, q, d)
					}
					n++
					r, ok := newInfoRequest(m, target)
					if !ok {
						continue
					}
					if d := sameRequestInfo(r); d != "" {
						t.Errorf("%s %q:\n\t%s", m, target, d)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d requests compared", n)
}

// TestRequestInfoGatewayFields spells out what the gateway relies on, for
// a few requests, so that a change of both parsers shows too.
func TestRequestInfoGatewayFields(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		want           requestInfo
	}{
		{"GET", "/api/v1/namespaces/ns/pods?watch=1", requestInfo{IsResourceRequest: true, Verb: "watch", Namespace: "ns", Resource: "pods"}},
		{"GET", "/api/v1/namespaces/ns/pods?watch=false", requestInfo{IsResourceRequest: true, Verb: "list", Namespace: "ns", Resource: "pods"}},
		{"GET", "/api/v1/namespaces/ns/pods?fieldSelector=metadata.name%3Dweb", requestInfo{IsResourceRequest: true, Verb: "list", Namespace: "ns", Resource: "pods", Name: "web"}},
		{"GET", "/api/v1/watch/namespaces/ns/pods/web", requestInfo{IsResourceRequest: true, Verb: "watch", Namespace: "ns", Resource: "pods", Name: "web"}},
		{"POST", "/api/v1/namespaces/ns/pods/web/exec", requestInfo{IsResourceRequest: true, Verb: "create", Namespace: "ns", Resource: "pods", Name: "web", Subresource: "exec"}},
		{"GET", "/api/v1/namespaces/ns", requestInfo{IsResourceRequest: true, Verb: "get", Namespace: "ns", Resource: "namespaces", Name: "ns"}},
		{"PUT", "/api/v1/namespaces/ns/finalize", requestInfo{IsResourceRequest: true, Verb: "update", Namespace: "ns", Resource: "namespaces", Name: "ns", Subresource: "finalize"}},
		{"DELETE", "/apis/apps/v1/namespaces/ns/deployments", requestInfo{IsResourceRequest: true, Verb: "deletecollection", APIGroup: "apps", Namespace: "ns", Resource: "deployments"}},
		{"PATCH", "/apis/apps/v1/namespaces/ns/deployments/web/scale", requestInfo{IsResourceRequest: true, Verb: "patch", APIGroup: "apps", Namespace: "ns", Resource: "deployments", Name: "web", Subresource: "scale"}},
		{"GET", "/api/v1/proxy/namespaces/ns/pods/web/a/b", requestInfo{IsResourceRequest: true, Verb: "proxy", Namespace: "ns", Resource: "pods", Name: "web"}},
		{"GET", "/apis/apps/v1", requestInfo{Verb: "get"}},
		{"GET", "/version", requestInfo{Verb: "get"}},
	} {
		r, _ := newInfoRequest(tc.method, tc.target)
		got, err := parseRequestInfo(r)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.target, err)
		}
		g := requestInfo{IsResourceRequest: got.IsResourceRequest, Verb: got.Verb, APIGroup: got.APIGroup, Namespace: got.Namespace,
			Resource: got.Resource, Subresource: got.Subresource, Name: got.Name}
		if !reflect.DeepEqual(g, tc.want) {
			t.Errorf("%s %s: got %+v, want %+v", tc.method, tc.target, g, tc.want)
		}
		if d := sameRequestInfo(r); d != "" {
			t.Errorf("%s %s: %s", tc.method, tc.target, d)
		}
	}
}

func FuzzRequestInfo(f *testing.F) {
	for i, p := range infoPaths {
		q := infoQueries[i%len(infoQueries)]
		m := infoMethods[i%len(infoMethods)]
		f.Add(m, p, q)
		f.Add("GET", p, "")
	}
	for i, q := range infoQueries {
		f.Add("GET", infoPaths[i%len(infoPaths)], q)
		f.Add("GET", "/api/v1/namespaces/ns/pods", q)
		f.Add("DELETE", "/apis/apps/v1/deployments", q)
	}
	f.Fuzz(func(t *testing.T, method, path, query string) {
		// The path as the server decodes it from the wire, and as is.
		if r, ok := newInfoRequest(method, "/"+strings.TrimPrefix(path, "/")+"?"+query); ok {
			if d := sameRequestInfo(r); d != "" {
				t.Errorf("%s %q ?%q:\n\t%s", method, path, query, d)
			}
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}}
		if d := sameRequestInfo(r); d != "" {
			t.Errorf("%s %q (as is) ?%q:\n\t%s", method, path, query, d)
		}
	})
}
