package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kgate/kgate/internal/policy"
)

// Access reviews through the gateway tell the truth: a
// SelfSubjectAccessReview is forwarded (impersonated) and its answer ANDed
// with the policy's decision for the same request; a SelfSubjectRulesReview
// is forwarded and its rules cut down to what the policy allows in the
// namespace. So `kubectl auth can-i`, `can-i --list` and clients that check
// before acting (k9s) see what the gateway will let through, not only what
// the cluster's RBAC says.

// maxReviewBody bounds an access review's body: a few hundred bytes in
// practice.
const maxReviewBody = 64 << 10

// clusterScoped are the built-in kinds with no namespace: the policy keeps
// them for super admins, whatever namespace a review names.
var clusterScoped = map[string]bool{
	"/nodes": true, "/persistentvolumes": true, "/componentstatuses": true,
	"storage.k8s.io/storageclasses": true, "storage.k8s.io/csidrivers": true, "storage.k8s.io/csinodes": true,
	"storage.k8s.io/volumeattachments": true, "apiextensions.k8s.io/customresourcedefinitions": true,
	"rbac.authorization.k8s.io/clusterroles": true, "rbac.authorization.k8s.io/clusterrolebindings": true,
	"networking.k8s.io/ingressclasses": true, "networking.k8s.io/ipaddresses": true, "networking.k8s.io/servicecidrs": true,
	"scheduling.k8s.io/priorityclasses": true, "node.k8s.io/runtimeclasses": true, "certificates.k8s.io/certificatesigningrequests": true,
	"admissionregistration.k8s.io/validatingwebhookconfigurations": true, "admissionregistration.k8s.io/mutatingwebhookconfigurations": true,
	"admissionregistration.k8s.io/validatingadmissionpolicies": true, "admissionregistration.k8s.io/validatingadmissionpolicybindings": true,
	"apiregistration.k8s.io/apiservices": true, "flowcontrol.apiserver.k8s.io/flowschemas": true,
	"flowcontrol.apiserver.k8s.io/prioritylevelconfigurations": true, "metrics.k8s.io/nodes": true,
}

// reviewDecision is the policy's answer for a request an access review
// asks about; gatewayServes marks a request the gateway answers with its own
// identity (listing namespaces), where the cluster's answer about the user
// does not count.
func reviewDecision(pol *policy.Policy, id policy.Identity, info *requestInfo) (allowed, gatewayServes bool, reason string) {
	if info.IsResourceRequest {
		if clusterScoped[info.APIGroup+"/"+info.Resource] {
			info.Namespace = ""
		}
		if info.APIGroup == "" && info.Resource == "namespaces" && info.Name == "" && info.Subresource == "" &&
			(info.Verb == policy.VerbList || info.Verb == policy.VerbWatch) {
			d := pol.Decide(id, policy.Request{Verb: info.Verb, Resource: "namespaces"})
			return d.Allowed, !pol.IsSuperAdmin(id), d.Reason
		}
	}
	c := classify(info, &http.Request{URL: &url.URL{}})
	switch c.kind {
	case kindDiscovery, kindSelfReview:
		return true, false, ""
	}
	d := pol.Decide(id, c.req)
	return d.Allowed, false, d.Reason
}

// serveReview answers a SelfSubjectAccessReview or SelfSubjectRulesReview.
func (g *Gateway) serveReview(w http.ResponseWriter, r *http.Request, pol *policy.Policy, id policy.Identity, fw *forwarding) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReviewBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeStatus(w, http.StatusRequestEntityTooLarge, metav1.StatusReasonRequestEntityTooLarge,
				fmt.Sprintf("the access review is larger than %d bytes", maxReviewBody), nil)
			return
		}
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "reading the access review: "+err.Error(), nil)
		return
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "the gateway cannot decode the access review: "+err.Error(), nil)
		return
	}
	var out runtime.Object
	switch rv := obj.(type) {
	case *authorizationv1.SelfSubjectAccessReview:
		clean := &authorizationv1.SelfSubjectAccessReview{Spec: rv.Spec}
		got := &authorizationv1.SelfSubjectAccessReview{}
		if !g.forwardReview(w, r, fw, clean, got) {
			return
		}
		// Decided on what the client asked (the API server need not echo it).
		got.Spec = clean.Spec
		var info requestInfo
		if ra := got.Spec.ResourceAttributes; ra != nil {
			info = requestInfo{IsResourceRequest: true, Verb: ra.Verb, APIGroup: ra.Group, Resource: ra.Resource,
				Subresource: ra.Subresource, Namespace: ra.Namespace, Name: ra.Name}
		} else if nra := got.Spec.NonResourceAttributes; nra != nil {
			info = requestInfo{Path: nra.Path, Verb: nra.Verb}
		}
		allowed, own, reason := reviewDecision(pol, id, &info)
		switch {
		case own:
			// The gateway lists namespaces itself, filtered.
			got.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: "kgate: " + reason}
		case !allowed:
			got.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: false, Denied: true, Reason: "kgate: " + reason}
		}
		out = got
	case *authorizationv1.SelfSubjectRulesReview:
		clean := &authorizationv1.SelfSubjectRulesReview{Spec: rv.Spec}
		got := &authorizationv1.SelfSubjectRulesReview{}
		if !g.forwardReview(w, r, fw, clean, got) {
			return
		}
		// The API server's answer does not echo the namespace asked about.
		got.Spec = clean.Spec
		if !pol.IsSuperAdmin(id) {
			got.Status = filterRules(pol, id, got.Spec.Namespace, got.Status)
		}
		out = got
	default:
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("the gateway expected an access review, not %T", obj), nil)
		return
	}
	writeObject(w, r, http.StatusCreated, out)
}

// forwardReview sends review to the API server as the user and decodes the
// answer into into. It answers the client itself, and returns false, when
// the API server did not accept the review.
func (g *Gateway) forwardReview(w http.ResponseWriter, r *http.Request, fw *forwarding, review, into runtime.Object) bool {
	gvks, _, _ := scheme.Scheme.ObjectKinds(review)
	review.GetObjectKind().SetGroupVersionKind(gvks[0])
	var buf bytes.Buffer
	if err := jsonEncoder().Encode(review, &buf); err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error(), nil)
		return false
	}
	up := g.upstreamOf(r)
	u := *up.url
	u.Path = r.URL.Path
	u.RawQuery = r.URL.RawQuery
	ctx := withForwarding(r.Context(), fw)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &buf)
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error(), nil)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.UserAgent())
	resp, err := up.rt.RoundTrip(req)
	if err != nil {
		errorResponder{g}.Error(w, r, err)
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		errorResponder{g}.Error(w, r, err)
		return false
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		// The API server's own refusal (a Status), as it is.
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
		return false
	}
	if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(b, nil, into); err != nil {
		errorResponder{g}.Error(w, r, fmt.Errorf("decoding the API server's access review: %w", err))
		return false
	}
	return true
}

func jsonEncoder() runtime.Encoder {
	info, _ := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	return info.Serializer
}

// writeObject answers with obj in JSON, or in protobuf for a client that
// accepts nothing else.
func writeObject(w http.ResponseWriter, r *http.Request, code int, obj runtime.Object) {
	mediaType := runtime.ContentTypeJSON
	if accept := r.Header.Get("Accept"); accept != "" && !strings.Contains(accept, "json") && !strings.Contains(accept, "*/*") {
		for _, part := range strings.Split(accept, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == runtime.ContentTypeProtobuf {
				mediaType = runtime.ContentTypeProtobuf
			}
		}
	}
	info, _ := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	gvks, _, _ := scheme.Scheme.ObjectKinds(obj)
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	var buf bytes.Buffer
	if err := info.Serializer.Encode(obj, &buf); err != nil {
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// filterRules keeps of a rules review what the policy allows id in ns, and
// adds what the gateway allows on its own account (listing namespaces).
func filterRules(pol *policy.Policy, id policy.Identity, ns string, st authorizationv1.SubjectRulesReviewStatus) authorizationv1.SubjectRulesReviewStatus {
	out := authorizationv1.SubjectRulesReviewStatus{Incomplete: st.Incomplete, EvaluationError: st.EvaluationError}
	for _, rule := range st.ResourceRules {
		type key struct{ group, verbs string }
		var order []key
		byKey := map[key][]string{}
		verbsOf := map[key][]string{}
		for _, grp := range rule.APIGroups {
			for _, res := range rule.Resources {
				var verbs []string
				for _, v := range rule.Verbs {
					if ruleAllowed(pol, id, ns, grp, res, v, rule.ResourceNames) {
						verbs = append(verbs, v)
					}
				}
				if len(verbs) == 0 {
					continue
				}
				k := key{grp, strings.Join(verbs, ",")}
				if _, ok := byKey[k]; !ok {
					order = append(order, k)
					verbsOf[k] = verbs
				}
				byKey[k] = append(byKey[k], res)
			}
		}
		for _, k := range order {
			out.ResourceRules = append(out.ResourceRules, authorizationv1.ResourceRule{
				Verbs: verbsOf[k], APIGroups: []string{k.group}, Resources: byKey[k], ResourceNames: rule.ResourceNames,
			})
		}
	}
	if d := pol.Decide(id, policy.Request{Verb: policy.VerbList, Resource: "namespaces"}); d.Allowed {
		out.ResourceRules = append(out.ResourceRules, authorizationv1.ResourceRule{
			Verbs: []string{"list", "watch"}, APIGroups: []string{""}, Resources: []string{"namespaces"},
		})
	}
	for _, rule := range st.NonResourceRules {
		var verbs []string
		var urls []string
		for _, u := range rule.NonResourceURLs {
			ok := false
			for _, v := range rule.Verbs {
				if allowed, _, _ := reviewDecision(pol, id, &requestInfo{Path: strings.TrimSuffix(u, "*"), Verb: v}); allowed {
					ok = true
					if !slices.Contains(verbs, v) {
						verbs = append(verbs, v)
					}
				}
			}
			if ok {
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			out.NonResourceRules = append(out.NonResourceRules, authorizationv1.NonResourceRule{Verbs: verbs, NonResourceURLs: urls})
		}
	}
	return out
}

// ruleAllowed says whether the policy lets id make verb on group/resource
// in ns (resource may name a subresource, "pods/exec"; "*" stands for any,
// secrets included).
func ruleAllowed(pol *policy.Policy, id policy.Identity, ns, group, resource, verb string, names []string) bool {
	res, sub, _ := strings.Cut(resource, "/")
	if (group == "" || group == "*") && (res == "*" || sub == "*") {
		res, sub = "secrets", ""
	}
	info := &requestInfo{IsResourceRequest: true, Verb: verb, APIGroup: group, Resource: res, Subresource: sub, Namespace: ns}
	if res == "namespaces" && verb != policy.VerbList && verb != policy.VerbWatch {
		info.Name = ns
		if len(names) == 1 {
			info.Name = names[0]
		}
	}
	allowed, _, _ := reviewDecision(pol, id, info)
	return allowed
}
