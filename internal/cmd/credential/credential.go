// Package credential implements `kgate credential`, the exec credential
// plugin of the kubeconfig `kgate login --server URL --print-kubeconfig`
// writes.
package credential

import (
	"context"
	"encoding/json"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

// TokenSource hands out a fresh gateway access token; *gwsession.Source is one.
type TokenSource interface {
	Token(ctx context.Context) (string, time.Time, error)
}

// Options are what `kgate credential` needs.
type Options struct {
	IO *iostreams.IOStreams
	// Source is nil in direct mode.
	Source func() (TokenSource, error)
}

// NewCmdCredential returns `kgate credential`; runF replaces the run step in tests.
func NewCmdCredential(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Source: func() (TokenSource, error) {
		s, err := f.GatewaySource()
		if err != nil || s == nil {
			return nil, err
		}
		return s, nil
	}}
	return &cobra.Command{
		Use:   "credential",
		Short: "Print a fresh gateway token for kubectl (an exec credential plugin)",
		Long: `Print the gateway session's access token as a client.authentication.k8s.io/v1
ExecCredential, refreshing it first when it is close to expiry. The kubeconfig
that ` + "`kgate login --server URL --print-kubeconfig`" + ` writes runs it, so kubectl,
k9s and stern get fresh tokens, and lose access exactly when kgate's own
commands do (user removed from the directory or from a group, locked, logged
out). Exit codes are kgate's: 3 when the session is gone, 6 when the gateway
or its directory cannot be reached and the current token has expired.`,
		Example: `  # in a kubeconfig, users[].user.exec:
  #   apiVersion: client.authentication.k8s.io/v1
  #   command: kgate
  #   args: [credential, --server, https://kgate.example.com]
  kgate credential --server https://kgate.example.com`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return credentialRun(cmd.Context(), opts)
		},
	}
}

func credentialRun(ctx context.Context, opts *Options) error {
	src, err := opts.Source()
	if err != nil {
		return err
	}
	if src == nil {
		return errs.WithHint(errs.AuthErrorf("kgate credential needs a session with a gateway; this is a direct login or none"),
			"Run `kgate login --server URL` first.")
	}
	tok, exp, err := src.Token(ctx)
	if err != nil {
		return err
	}
	ec := clientauthv1.ExecCredential{
		TypeMeta: metav1.TypeMeta{APIVersion: clientauthv1.SchemeGroupVersion.String(), Kind: "ExecCredential"},
		Status:   &clientauthv1.ExecCredentialStatus{Token: tok},
	}
	if !exp.IsZero() {
		t := metav1.NewTime(exp)
		ec.Status.ExpirationTimestamp = &t
	}
	b, err := json.Marshal(ec)
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(append(b, '\n'))
	return err
}
