package gateway

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kgate/kgate/internal/errs"
)

// writeStatus answers with a Kubernetes Status, as the API server itself
// would, so that kubectl and kgate print "Error from server (Forbidden): ..."
// and map it to their exit codes.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string, details *metav1.StatusDetails) {
	if code == http.StatusForbidden || code == http.StatusUnauthorized {
		// The gateway's own decision (policy, lock, token), never a
		// restarting API server's passing refusal: clients that retry
		// after a break (logs -f) take it as final.
		if details == nil {
			details = &metav1.StatusDetails{}
		}
		details.Causes = append(details.Causes, metav1.StatusCause{Type: errs.GatewayDecisionCause, Message: "decided by the kgate gateway"})
	}
	st := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Details: details, Code: int32(code),
	}
	b, _ := json.Marshal(st)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	if code == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="kgate"`)
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// forbiddenDetails names the object of a denied request as the API server
// does in its own 403s.
func forbiddenDetails(resource, group, name string) *metav1.StatusDetails {
	if resource == "" {
		return nil
	}
	return &metav1.StatusDetails{Name: name, Group: group, Kind: resource}
}

// unwrapPath drops the *fs.PathError layer, whose path the message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
