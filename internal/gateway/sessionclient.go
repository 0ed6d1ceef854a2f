package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kgate/kgate/internal/errs"
)

// Refresh exchanges the session's refresh credential for a new access
// token. A session the directory no longer backs (user gone or disabled),
// a revoked one or an invalid credential is KindAuth; a lock KindForbidden;
// an unreachable gateway or directory KindUnavailable.
func Refresh(ctx context.Context, server string, caPEM []byte, refreshToken string) (*LoginResponse, error) {
	var lr LoginResponse
	if err := call(ctx, server, caPEM, "", http.MethodPost, RefreshPath, RefreshRequest{RefreshToken: refreshToken}, &lr); err != nil {
		return nil, err
	}
	if lr.Token == "" {
		return nil, fmt.Errorf("the gateway %s answered the refresh with something that is not a token", server)
	}
	return &lr, nil
}

// Logout revokes the session of refreshToken on the gateway.
func Logout(ctx context.Context, server string, caPEM []byte, refreshToken string) error {
	return call(ctx, server, caPEM, "", http.MethodPost, LogoutPath, RefreshRequest{RefreshToken: refreshToken}, nil)
}

// ListLocks returns the locks in effect (super admins only).
func ListLocks(ctx context.Context, server string, caPEM []byte, token string) ([]Lock, error) {
	var l LockList
	if err := call(ctx, server, caPEM, token, http.MethodGet, LocksPath, nil, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// AddLock locks a user or a group (super admins only).
func AddLock(ctx context.Context, server string, caPEM []byte, token string, req LockRequest) (*Lock, error) {
	var l Lock
	if err := call(ctx, server, caPEM, token, http.MethodPost, LocksPath, req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// RemoveLock unlocks a user or a group (super admins only).
func RemoveLock(ctx context.Context, server string, caPEM []byte, token, target, name string) error {
	return call(ctx, server, caPEM, token, http.MethodDelete, LocksPath+"/"+target+"/"+url.PathEscape(strings.ToLower(name)), nil, nil)
}

// call sends one request to the gateway's own API and maps its Status to
// the error kinds the exit codes want.
func call(ctx context.Context, server string, caPEM []byte, token, method, path string, in, out any) error {
	hc, err := httpClient(caPEM)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, server+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return transportError(server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return errs.UnavailableErrorf("reading the answer of the gateway %s: %v", server, err)
	}
	if resp.StatusCode == http.StatusOK {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the gateway %s answered %s with something kgate does not understand: %v", server, path, err)
		}
		return nil
	}
	msg := strings.TrimSpace(string(b))
	var st metav1.Status
	if json.Unmarshal(b, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return errs.WithHint(errs.AuthErrorf("%s", msg), "Run `kgate login --server "+server+"` to log in again.")
	case http.StatusForbidden:
		return errs.ForbiddenErrorf("%s", msg)
	case http.StatusNotFound:
		if st.Message != "" {
			return errs.NotFoundErrorf("%s", msg)
		}
		return errs.WithHint(fmt.Errorf("the gateway %s does not serve %s; it may be an older kgate", server, path),
			"Upgrade the gateway, or log in again.")
	case http.StatusBadRequest:
		return errs.UsageErrorf("%s", msg)
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return errs.UnavailableErrorf("the gateway %s: %s", server, msg)
	}
	return fmt.Errorf("the gateway %s refused %s %s (%s): %s", server, method, path, resp.Status, msg)
}

// ExecKubeconfig is a kubeconfig for plain kubectl (and k9s, stern, ...)
// through the gateway, whose credentials come from `kgate credential`, an
// exec credential plugin: it refreshes the session's token as kgate's own
// commands do, so the kubeconfig holds no token at all. configDir, when
// set, pins the kgate config directory (the session's) for the plugin.
func ExecKubeconfig(server string, caPEM []byte, user, kgatePath, configDir string) ([]byte, error) {
	name := "kgate"
	if u, err := url.Parse(server); err == nil {
		name = "kgate-" + u.Hostname()
	}
	c := clientcmdapi.NewConfig()
	c.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	c.AuthInfos[user+"@"+name] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:         "client.authentication.k8s.io/v1",
		Command:            kgatePath,
		Args:               []string{"credential", "--server", server},
		InteractiveMode:    clientcmdapi.NeverExecInteractiveMode,
		ProvideClusterInfo: false,
		InstallHint:        "kgate is needed to get a token for the gateway " + server + "; install it and run `kgate login --server " + server + "`.",
	}}
	if configDir != "" {
		c.AuthInfos[user+"@"+name].Exec.Env = []clientcmdapi.ExecEnvVar{{Name: "KGATE_CONFIG_DIR", Value: configDir}}
	}
	c.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: user + "@" + name}
	c.CurrentContext = name
	return clientcmd.Write(*c)
}
