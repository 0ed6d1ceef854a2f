package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
)

// Exit codes: the contract with scripts documented in the README.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitAuth        = 3
	ExitForbidden   = 4
	ExitNotFound    = 5
	ExitUnavailable = 6
	ExitInterrupted = 130
)

var kindCodes = map[errs.Kind]int{
	errs.KindGeneric:     ExitError,
	errs.KindUsage:       ExitUsage,
	errs.KindAuth:        ExitAuth,
	errs.KindForbidden:   ExitForbidden,
	errs.KindNotFound:    ExitNotFound,
	errs.KindUnavailable: ExitUnavailable,
	errs.KindInterrupted: ExitInterrupted,
}

// handleError prints err for a person and returns the exit code for a script.
// It is the only place where errors become text and exit codes.
func handleError(w io.Writer, err error, interrupted bool) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errs.ErrSilent) {
		return ExitError
	}
	var ce *errs.ExitCodeError
	if errors.As(err, &ce) {
		if ce.Msg != "" {
			fmt.Fprintf(w, "error: %s\n", ce.Msg)
		}
		return ce.Code
	}
	var xe utilexec.ExitError
	if errors.As(err, &xe) && xe.Exited() {
		return xe.ExitStatus()
	}
	if interrupted && errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	var pe *errs.PartialError
	if errors.As(err, &pe) {
		code := ExitOK
		for _, e := range pe.Errs {
			msg, c, hint := explain(e)
			printMessage(w, msg, hint)
			if code == ExitOK || code == ExitError {
				code = c
			}
		}
		return code
	}
	msg, code, hint := explain(err)
	printMessage(w, msg, hint)
	return code
}

func printMessage(w io.Writer, msg, hint string) {
	if msg != "" {
		fmt.Fprintln(w, msg)
	}
	if hint != "" {
		fmt.Fprintln(w, hint)
	}
}

// explain returns the message, exit code and next step for one error.
func explain(err error) (msg string, code int, hint string) {
	var ke *errs.Error
	if errors.As(err, &ke) {
		code = kindCodes[ke.Kind]
		hint = ke.Hint
		// An API or network error inside keeps its own wording.
		if m, c, h, ok := describeExternal(ke.Err); ok && ke.Kind == errs.KindGeneric {
			return m, c, firstNonEmpty(hint, h)
		}
		return "error: " + ke.Error(), code, hint
	}
	if m, c, h, ok := describeExternal(err); ok {
		return m, c, h
	}
	return "error: " + err.Error(), ExitError, ""
}

func describeExternal(err error) (msg string, code int, hint string, ok bool) {
	// An exec, attach or port-forward refused at the upgrade (a 403 from the
	// API server or the gateway) carries the server's Status as its cause,
	// which the error type does not unwrap.
	if answer, _ := kube.UpgradeAnswer(err); answer != nil {
		if m, c, h, ok := describeExternal(answer); ok {
			return m, c, h, true
		}
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		code = ExitError
		switch st.Reason {
		case metav1.StatusReasonNotFound:
			code = ExitNotFound
		case metav1.StatusReasonForbidden:
			code = ExitForbidden
		case metav1.StatusReasonUnauthorized:
			code = ExitAuth
			hint = "Your cluster credentials were refused; check your kubeconfig, or run `kgate login`."
		case metav1.StatusReasonServiceUnavailable, metav1.StatusReasonTimeout, metav1.StatusReasonServerTimeout:
			code = ExitUnavailable
		}
		reason := string(st.Reason)
		if reason == "" {
			reason = "Unknown"
		}
		return fmt.Sprintf("Error from server (%s): %s", reason, st.Message), code, hint, true
	}
	if clientcmd.IsConfigurationInvalid(err) || clientcmd.IsEmptyConfig(err) {
		return "error: invalid kubeconfig: " + err.Error(), ExitError,
			"Check the file named by --kubeconfig or KUBECONFIG, or the --context you chose.", true
	}
	if isUnavailable(err) {
		host := ""
		var ue *url.Error
		if errors.As(err, &ue) {
			if u, perr := url.Parse(ue.URL); perr == nil {
				host = u.Host
			}
		}
		m := "error: cannot reach the API server"
		if host != "" {
			m += " at " + host
		}
		m += ": " + rootCause(err)
		return m, ExitUnavailable, "Check that the cluster is running and that --kubeconfig/--context point at it.", true
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return "error: " + err.Error(), ExitError, "The server's certificate is not signed by a CA you trust; check certificate-authority in your kubeconfig.", true
	}
	return "", 0, "", false
}

func isUnavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
