package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/printers"
)

// tableAccept asks the API server to render rows and columns itself, as
// kubectl does, so kgate never re-implements a kind's columns.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

// Client talks to one API server.
type Client struct {
	Config  *rest.Config
	HTTP    *http.Client
	raw     *rest.RESTClient
	dynamic *dynamic.DynamicClient
	typed   kubernetes.Interface
}

// NewClient returns a client for cfg. It makes no request.
func NewClient(in *rest.Config) (*Client, error) {
	cfg := rest.CopyConfig(in)
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	// gzip pays over a network; to an API server on this machine (kind,
	// minikube, a local cluster) it is only CPU on both sides: a 15 MB list
	// costs the server more to compress than to send over loopback.
	if onLoopback(cfg.Host) {
		cfg.DisableCompression = true
	}
	cfg.APIPath = "/api"
	cfg.GroupVersion = &schema.GroupVersion{Version: "v1"}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	raw, err := rest.RESTClientForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &Client{Config: cfg, HTTP: hc, raw: raw, dynamic: dyn}, nil
}

// onLoopback reports whether host (a URL or host[:port]) names this machine
// by a loopback address or "localhost".
func onLoopback(host string) bool {
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Dynamic returns the dynamic client.
func (c *Client) Dynamic() dynamic.Interface { return c.dynamic }

// REST returns the unversioned REST client (AbsPath requests).
func (c *Client) REST() *rest.RESTClient { return c.raw }

// ListOptions select objects of a list or watch.
type ListOptions struct {
	LabelSelector string
	FieldSelector string
	// ChunkSize limits each response; 0 means one response with everything.
	ChunkSize int64
	// Include is what a Table's rows carry of their objects: IncludeNone
	// (the zero value: only the cells, the smallest response),
	// IncludeMetadata (namespace, name, labels, resource version) or
	// IncludeObject (the whole object, for --sort-by).
	Include Include
}

// Include is a Table request's includeObject: how much of each row's object
// the API server sends beside the cells.
type Include int

// The includeObject levels, smallest first.
const (
	IncludeNone Include = iota
	IncludeMetadata
	IncludeObject
)

func (i Include) String() string {
	switch i {
	case IncludeMetadata:
		return "Metadata"
	case IncludeObject:
		return "Object"
	}
	return "None"
}

// Table lists r in namespace (all namespaces when empty) as a server-side
// Table, following continue tokens. Each row's Object holds what
// opts.Include asks for.
func (c *Client) Table(ctx context.Context, r Resource, namespace string, opts ListOptions) (*metav1.Table, error) {
	var all *metav1.Table
	cont := ""
	for {
		t, err := decodeTable(c.listRequest(r, namespace, tableAccept, opts, cont).Do(ctx).Raw())
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = t
		} else {
			all.Rows = append(all.Rows, t.Rows...)
		}
		cont = t.Continue
		if cont == "" {
			all.Continue = ""
			return all, nil
		}
	}
}

// listRequest is one page of a list of r in the given representation.
func (c *Client) listRequest(r Resource, namespace, accept string, opts ListOptions, cont string) *rest.Request {
	req := c.raw.Get().AbsPath(r.Path(namespace, "")).SetHeader("Accept", accept)
	if opts.LabelSelector != "" {
		req = req.Param("labelSelector", opts.LabelSelector)
	}
	if opts.FieldSelector != "" {
		req = req.Param("fieldSelector", opts.FieldSelector)
	}
	if opts.ChunkSize > 0 {
		req = req.Param("limit", strconv.FormatInt(opts.ChunkSize, 10))
	}
	if cont != "" {
		req = req.Param("continue", cont)
	}
	if accept == tableAccept {
		req = req.Param("includeObject", opts.Include.String())
	}
	return req
}

// ResourceVersion returns the current resource version of r's collection in
// namespace: where a watch that shows only changes starts.
func (c *Client) ResourceVersion(ctx context.Context, r Resource, namespace string, opts ListOptions) (string, error) {
	opts.ChunkSize = 1
	body, err := c.listRequest(r, namespace, metadataAccept, opts, "").Do(ctx).Raw()
	if err != nil {
		if _, derr := decodeTable(body, err); derr != nil {
			return "", derr
		}
		return "", err
	}
	var l struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return "", fmt.Errorf("decoding the server's list: %w", err)
	}
	return l.Metadata.ResourceVersion, nil
}

// TableOne gets one object as a Table of one row, its object as include asks.
func (c *Client) TableOne(ctx context.Context, r Resource, namespace, name string, include Include) (*metav1.Table, error) {
	return decodeTable(c.raw.Get().AbsPath(r.Path(namespace, name)).SetHeader("Accept", tableAccept).
		Param("includeObject", include.String()).Do(ctx).Raw())
}

// statusError is err with the message of the Status in body: the raw
// requests' error bodies are not decoded by client-go.
func statusError(body []byte, err error) error {
	var st metav1.Status
	if len(body) > 0 && json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return &apierrors.StatusError{ErrStatus: st}
	}
	return err
}

func decodeTable(body []byte, err error) (*metav1.Table, error) {
	if err != nil {
		// The error body answers a Table request, so client-go may not have
		// recognised its content type; the Status inside has the real message.
		return nil, statusError(body, err)
	}
	t := &metav1.Table{}
	if err := printers.DecodeTable(body, t); err != nil {
		return nil, fmt.Errorf("decoding the server's table: %w", err)
	}
	if t.Kind != "Table" {
		return nil, fmt.Errorf("the server did not return a table (got kind %q)", t.Kind)
	}
	return t, nil
}

// List lists full objects.
func (c *Client) List(ctx context.Context, r Resource, namespace string, opts ListOptions) (*unstructured.UnstructuredList, error) {
	ri := c.resourceInterface(r, namespace)
	lo := metav1.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector, Limit: opts.ChunkSize}
	var all *unstructured.UnstructuredList
	for {
		l, err := ri.List(ctx, lo)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = l
		} else {
			all.Items = append(all.Items, l.Items...)
		}
		if l.GetContinue() == "" {
			all.SetContinue("")
			return all, nil
		}
		lo.Continue = l.GetContinue()
	}
}

// StreamPages lists r as JSON, one response per page (one in all without
// opts.ChunkSize), and hands each response's body to use as it arrives:
// use reads it, so items can be printed while the API server is still
// writing them, and returns the page's continue token (empty ends the
// list). Nothing is kept here: memory is what use keeps.
func StreamPages(ctx context.Context, c *Client, r Resource, namespace string, opts ListOptions, use func(body io.Reader) (string, error)) error {
	cont := ""
	for {
		body, err := c.listRequest(r, namespace, "application/json", opts, cont).Stream(ctx)
		if err != nil {
			return err
		}
		cont, err = use(body)
		body.Close()
		if err != nil || cont == "" {
			return err
		}
	}
}

// GetRaw gets one full object as JSON.
func (c *Client) GetRaw(ctx context.Context, r Resource, namespace, name string) ([]byte, error) {
	body, err := c.raw.Get().AbsPath(r.Path(namespace, name)).SetHeader("Accept", "application/json").Do(ctx).Raw()
	if err != nil {
		return nil, statusError(body, err)
	}
	return body, nil
}

// Get gets one full object.
func (c *Client) Get(ctx context.Context, r Resource, namespace, name string) (*unstructured.Unstructured, error) {
	return c.resourceInterface(r, namespace).Get(ctx, name, metav1.GetOptions{})
}

func (c *Client) resourceInterface(r Resource, namespace string) dynamic.ResourceInterface {
	if r.Namespaced && namespace != "" {
		return c.dynamic.Resource(r.GVR).Namespace(namespace)
	}
	return c.dynamic.Resource(r.GVR)
}

// TableEvent is one event of a Table watch.
type TableEvent struct {
	Type   string        `json:"type"`
	Object metav1.Table  `json:"object"`
	Status metav1.Status `json:"-"`
}

// WatchTable watches r from resourceVersion and calls fn for every event
// until ctx ends or the server closes the stream. name, when set, watches one object.
func (c *Client) WatchTable(ctx context.Context, r Resource, namespace, name, resourceVersion string, opts ListOptions, fn func(TableEvent) error) error {
	req := c.raw.Get().AbsPath(r.Path(namespace, "")).SetHeader("Accept", tableAccept).
		Param("watch", "true").Param("allowWatchBookmarks", "false").Param("includeObject", opts.Include.String())
	if resourceVersion != "" {
		req = req.Param("resourceVersion", resourceVersion)
	}
	fs := opts.FieldSelector
	if name != "" {
		if fs != "" {
			fs += ","
		}
		fs += "metadata.name=" + name
	}
	if fs != "" {
		req = req.Param("fieldSelector", fs)
	}
	if opts.LabelSelector != "" {
		req = req.Param("labelSelector", opts.LabelSelector)
	}
	body, err := req.Stream(ctx)
	if err != nil {
		return err
	}
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var raw struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&raw); err != nil {
			if err == io.EOF || ctx.Err() != nil {
				return nil
			}
			return err
		}
		ev := TableEvent{Type: raw.Type}
		if raw.Type == "ERROR" {
			_ = json.Unmarshal(raw.Object, &ev.Status)
			return fmt.Errorf("watch: %s", ev.Status.Message)
		}
		if err := json.Unmarshal(raw.Object, &ev.Object); err != nil {
			return fmt.Errorf("decoding a watch event: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// RowMeta is the part of a row's object kgate needs.
type RowMeta struct {
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion"`
}

// MetaOf decodes the metadata of a table row's object.
func MetaOf(row metav1.TableRow) RowMeta {
	var m struct {
		Metadata RowMeta `json:"metadata"`
	}
	if row.Object.Object != nil {
		if o, ok := row.Object.Object.(metav1.Object); ok {
			return RowMeta{Namespace: o.GetNamespace(), Name: o.GetName(), ResourceVersion: o.GetResourceVersion()}
		}
	}
	_ = json.Unmarshal(row.Object.Raw, &m)
	return m.Metadata
}

// LabelsOf decodes the labels of a table row's object.
func LabelsOf(row metav1.TableRow) map[string]string {
	var m struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(row.Object.Raw, &m)
	return m.Metadata.Labels
}

// metadataAccept asks for object metadata only, the smallest list the API
// server can send.
const metadataAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

// Names lists the names (and namespaces) of r's objects with metadata-only
// responses, following continue tokens.
func (c *Client) Names(ctx context.Context, r Resource, namespace string, opts ListOptions) ([]RowMeta, error) {
	var out []RowMeta
	cont := ""
	for {
		body, err := c.listRequest(r, namespace, metadataAccept, opts, cont).Do(ctx).Raw()
		if err != nil {
			if _, derr := decodeTable(body, err); derr != nil {
				return nil, derr
			}
			return nil, err
		}
		var l struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []struct {
				Metadata RowMeta `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal(body, &l); err != nil {
			return nil, fmt.Errorf("decoding the server's list: %w", err)
		}
		for _, it := range l.Items {
			out = append(out, it.Metadata)
		}
		if cont = l.Metadata.Continue; cont == "" {
			return out, nil
		}
	}
}
