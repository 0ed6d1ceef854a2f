package credential

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
)

type fixed struct {
	tok string
	exp time.Time
	err error
}

func (f fixed) Token(context.Context) (string, time.Time, error) { return f.tok, f.exp, f.err }

func TestCredentialPrintsExecCredential(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := &Options{IO: ios, Source: func() (TokenSource, error) { return fixed{tok: "t0k", exp: exp}, nil }}
	if err := credentialRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var ec clientauthv1.ExecCredential
	if err := json.Unmarshal(out.Bytes(), &ec); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if ec.APIVersion != "client.authentication.k8s.io/v1" || ec.Kind != "ExecCredential" || ec.Status.Token != "t0k" ||
		!ec.Status.ExpirationTimestamp.Time.Equal(exp) {
		t.Errorf("ExecCredential = %s", out)
	}
}

func TestCredentialErrors(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &Options{IO: ios, Source: func() (TokenSource, error) { return nil, nil }}
	if err := credentialRun(context.Background(), opts); !isKind(err, errs.KindAuth) {
		t.Errorf("direct mode: %v, want KindAuth", err)
	}
	opts.Source = func() (TokenSource, error) { return fixed{err: errs.UnavailableErrorf("down")}, nil }
	if err := credentialRun(context.Background(), opts); !isKind(err, errs.KindUnavailable) {
		t.Errorf("refresh failing: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q on failure", out)
	}
}

func isKind(err error, k errs.Kind) bool {
	e, ok := err.(*errs.Error)
	return ok && e.Kind == k
}
