package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kgate/kgate/internal/errs"
)

// NormalizeURL checks a gateway URL (https, a host, no path) and returns it
// without a trailing slash, the form sessions record it in.
func NormalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", errs.UsageErrorf("the gateway URL %q: %v", raw, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", errs.UsageErrorf("the gateway URL %q must be https://HOST[:PORT]", raw)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errs.UsageErrorf("the gateway URL %q must be https://HOST[:PORT], with no path", raw)
	}
	return "https://" + u.Host, nil
}

// RESTConfig is how the CLI reaches the Kubernetes API through the gateway:
// the gateway's URL, the session's token, and the gateway's CA (none: the
// system's roots).
func RESTConfig(server, token string, caPEM []byte) *rest.Config {
	return &rest.Config{
		Host:            server,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
	}
}

// Kubeconfig is a kubeconfig for plain kubectl through the gateway.
func Kubeconfig(server, token string, caPEM []byte, user string) ([]byte, error) {
	name := "kgate"
	if u, err := url.Parse(server); err == nil {
		name = "kgate-" + u.Hostname()
	}
	c := clientcmdapi.NewConfig()
	c.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	c.AuthInfos[user+"@"+name] = &clientcmdapi.AuthInfo{Token: token}
	c.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: user + "@" + name}
	c.CurrentContext = name
	return clientcmd.Write(*c)
}

// Login sends username and password to the gateway at server (over TLS,
// trusting caPEM, or the system's roots when it is empty) and returns its
// answer. Errors are classified as the exit codes want them: wrong
// credentials and rate limiting are KindAuth, an unreachable gateway or
// directory KindUnavailable.
func Login(ctx context.Context, server string, caPEM []byte, username, password string) (*LoginResponse, error) {
	hc, err := httpClient(caPEM)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(LoginRequest{Username: username, Password: password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+LoginPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, transportError(server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, errs.UnavailableErrorf("reading the answer of the gateway %s: %v", server, err)
	}
	if resp.StatusCode == http.StatusOK {
		var lr LoginResponse
		if err := json.Unmarshal(b, &lr); err != nil || lr.Token == "" {
			return nil, fmt.Errorf("the gateway %s answered the login with something that is not a token", server)
		}
		return &lr, nil
	}
	msg := strings.TrimSpace(string(b))
	var st metav1.Status
	if json.Unmarshal(b, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, errs.WithHint(errs.AuthErrorf("%s", msg), "Check your username and password and run `kgate login` again.")
	case http.StatusTooManyRequests:
		return nil, errs.WithHint(errs.AuthErrorf("%s", msg), "Wait before you try again; every failed attempt makes the wait longer.")
	case http.StatusForbidden:
		return nil, errs.ForbiddenErrorf("%s", msg)
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return nil, errs.UnavailableErrorf("the gateway %s: %s", server, msg)
	case http.StatusNotFound:
		return nil, errs.WithHint(fmt.Errorf("%s is not a kgate gateway (no %s)", server, LoginPath),
			"Check the URL given with --server or in the config key server.")
	}
	return nil, fmt.Errorf("the gateway %s refused the login (%s): %s", server, resp.Status, msg)
}

// httpClient is a client for the gateway's own endpoints, trusting caPEM
// (the system's roots when empty).
func httpClient(caPEM []byte) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errs.UsageErrorf("the gateway CA holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, TLSClientConfig: tc, ForceAttemptHTTP2: true,
			DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext, TLSHandshakeTimeout: 10 * time.Second,
		},
	}, nil
}

func transportError(server string, err error) error {
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua), errors.As(err, &cv):
		return errs.WithHint(fmt.Errorf("the certificate of the gateway %s is not trusted: %w", server, unwrapURL(err)),
			"Pass the gateway's CA with --certificate-authority FILE, or set gateway.caFile in the config.")
	case errors.As(err, &hn):
		return fmt.Errorf("the certificate of the gateway %s is not for that name: %w", server, unwrapURL(err))
	}
	return errs.UnavailableErrorf("cannot reach the gateway %s: %v", server, unwrapURL(err))
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
