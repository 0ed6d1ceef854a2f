package policycache

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxPolicySize bounds what kgate reads from a source.
const maxPolicySize = 64 << 20

// ConfigMapKey is the key of a configmap:// source that holds the policy.
const ConfigMapKey = "policy.yaml"

// ConfigMapGetter reads one ConfigMap's data and its resourceVersion. The CLI
// implements it with the user's rest.Config; tests with a map.
type ConfigMapGetter func(ctx context.Context, namespace, name string) (data map[string]string, resourceVersion string, err error)

// fetched is what one fetch returned.
type fetched struct {
	data        []byte
	etag        string
	notModified bool
}

// source is where the policy comes from.
type source interface {
	// fetch returns the policy, or notModified when it still has etag.
	fetch(ctx context.Context, etag string) (fetched, error)
	// name is the source as the user wrote it, used as the file name in
	// the policy's errors.
	name() string
}

// parseSource checks a source spec: a file path, an https:// URL or
// configmap://NAMESPACE/NAME.
func parseSource(spec string, o Options) (source, error) {
	switch {
	case spec == "":
		return nil, errors.New("no policy source is configured")
	case strings.HasPrefix(spec, "https://"):
		hc := o.HTTPClient
		if hc == nil {
			var err error
			if hc, err = httpClient(o); err != nil {
				return nil, err
			}
		}
		return &httpsSource{url: spec, client: hc}, nil
	case strings.HasPrefix(spec, "http://"):
		return nil, fmt.Errorf("policy source %s: plain http is not allowed; use https://", spec)
	case strings.HasPrefix(spec, "configmap://"):
		ns, name, ok := strings.Cut(strings.TrimPrefix(spec, "configmap://"), "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("policy source %s: want configmap://NAMESPACE/NAME", spec)
		}
		if o.ConfigMaps == nil {
			return nil, fmt.Errorf("policy source %s: no Kubernetes client to read ConfigMaps with", spec)
		}
		return &configMapSource{spec: spec, namespace: ns, cm: name, get: o.ConfigMaps}, nil
	case strings.Contains(spec, "://"):
		if p, ok := strings.CutPrefix(spec, "file://"); ok {
			return &fileSource{path: p}, nil
		}
		return nil, fmt.Errorf("policy source %s: unsupported scheme; use a file path, https:// or configmap://", spec)
	}
	return &fileSource{path: spec}, nil
}

type fileSource struct{ path string }

func (s *fileSource) name() string { return s.path }

// fetch uses the file's size and modification time as its ETag, so an
// unchanged file is not parsed again.
func (s *fileSource) fetch(_ context.Context, etag string) (fetched, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return fetched{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fetched{}, err
	}
	tag := strconv.FormatInt(st.Size(), 16) + "-" + strconv.FormatInt(st.ModTime().UnixNano(), 16)
	if tag == etag {
		return fetched{etag: tag, notModified: true}, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return fetched{}, err
	}
	if len(data) > maxPolicySize {
		return fetched{}, fmt.Errorf("%s is larger than %d MiB", s.path, maxPolicySize>>20)
	}
	return fetched{data: data, etag: tag}, nil
}

type httpsSource struct {
	url    string
	client *http.Client
}

func (s *httpsSource) name() string { return s.url }

func httpClient(o Options) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the policy CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("policy CA file %s holds no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, Timeout: o.Timeout}, nil
}

func (s *httpsSource) fetch(ctx context.Context, etag string) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return fetched{}, err
	}
	req.Header.Set("Accept", "application/yaml, text/yaml, text/plain, */*")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fetched{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return fetched{etag: etag, notModified: true}, nil
	case http.StatusOK:
	default:
		return fetched{}, fmt.Errorf("%s returned %s", s.url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicySize+1))
	if err != nil {
		return fetched{}, fmt.Errorf("reading %s: %w", s.url, err)
	}
	if len(data) > maxPolicySize {
		return fetched{}, fmt.Errorf("%s is larger than %d MiB", s.url, maxPolicySize>>20)
	}
	return fetched{data: data, etag: resp.Header.Get("ETag")}, nil
}

type configMapSource struct {
	spec, namespace, cm string
	get                 ConfigMapGetter
}

func (s *configMapSource) name() string { return s.spec }

// fetch uses the ConfigMap's resourceVersion as its ETag.
func (s *configMapSource) fetch(ctx context.Context, etag string) (fetched, error) {
	data, rv, err := s.get(ctx, s.namespace, s.cm)
	if err != nil {
		return fetched{}, err
	}
	if rv != "" && rv == etag {
		return fetched{etag: rv, notModified: true}, nil
	}
	v, ok := data[ConfigMapKey]
	if !ok {
		return fetched{}, fmt.Errorf("configmap %s/%s has no key %q", s.namespace, s.cm, ConfigMapKey)
	}
	return fetched{data: []byte(v), etag: rv}, nil
}
