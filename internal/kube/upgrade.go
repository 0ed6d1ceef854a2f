package kube

import (
	"errors"

	// client-go's executors and port-forward dialer return k8s.io/streaming's
	// error types; the apimachinery package of the same name never matches them.
	"k8s.io/streaming/pkg/httpstream"
)

// UpgradeAnswer returns the server's answer to a stream upgrade it refused
// (exec, attach, port-forward: a 403 from the API server or the gateway),
// which httpstream.UpgradeFailureError holds in a Cause it does not unwrap.
// failed reports whether err is such a failure at all; answer is nil when
// the failure carries no answer.
func UpgradeAnswer(err error) (answer error, failed bool) {
	var ue *httpstream.UpgradeFailureError
	if !errors.As(err, &ue) {
		return nil, false
	}
	return ue.Cause, true
}
