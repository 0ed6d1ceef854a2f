// Package audit writes kgate's decision log: one JSON line per decision,
// allowed or denied. The decision's id is also sent to the API server as the
// Audit-ID header, which kube-apiserver adopts as its own audit ID, so the two
// logs join. Entries carry no password or token, and have no field for one.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kgate/kgate/internal/errs"
)

// Decisions.
const (
	Allow = "allow"
	Deny  = "deny"
)

// Entry is one decision.
type Entry struct {
	Time time.Time `json:"time"`
	ID   string    `json:"id"`
	User string    `json:"user"`
	// Cluster is the cluster the decision is for, when the policy names
	// clusters (policy.Decision.Cluster) or a gateway fronts several.
	Cluster     string   `json:"cluster,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	Project     string   `json:"project,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	Verb        string   `json:"verb"`
	Resource    string   `json:"resource"`
	Subresource string   `json:"subresource,omitempty"`
	Name        string   `json:"name,omitempty"`
	Decision    string   `json:"decision"`
	Reason      string   `json:"reason"`
	// Command is the command of a non-interactive exec.
	Command []string `json:"command,omitempty"`
	// Client is the remote address of a gateway request; "web" for a
	// session of the web console, whose address is then in Remote.
	Client string `json:"client,omitempty"`
	// ClientAuditID is the Audit-ID a gateway request came with (the kgate
	// CLI sends its own decision's id): it joins the CLI's audit line to
	// the gateway's. The gateway never passes it on; the API server gets
	// the gateway's own ID.
	ClientAuditID string `json:"clientAuditID,omitempty"`
	// The end of a web console terminal session: its container, when it
	// started and ended, and the command's exit code (absent when the
	// session was cut before the command ended).
	Container string     `json:"container,omitempty"`
	Start     *time.Time `json:"start,omitempty"`
	End       *time.Time `json:"end,omitempty"`
	ExitCode  *int       `json:"exitCode,omitempty"`
	Remote    string     `json:"remote,omitempty"`
}

// Logger records decisions.
type Logger interface {
	Log(Entry) error
	Close() error
}

// NewID returns a new decision id (a random UUID, the form kube-apiserver
// uses for its own audit IDs).
func NewID() string { return uuid.NewString() }

// writerLogger writes one line per entry to a writer.
type writerLogger struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer
}

// NewWriterLogger logs to w (the gateway logs to stdout).
func NewWriterLogger(w io.Writer) Logger { return &writerLogger{w: w} }

func (l *writerLogger) Log(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	// One write per line: with O_APPEND, lines of concurrent kgate
	// processes do not interleave.
	_, err = l.w.Write(b)
	return err
}

func (l *writerLogger) Close() error {
	if l.c != nil {
		return l.c.Close()
	}
	return nil
}

// FileOptions configure the local audit log.
type FileOptions struct {
	Path      string
	MaxSizeMB int // rotate when the file would grow past this; default 10
	MaxFiles  int // rotated files kept; default 5
}

// NewFileLogger logs to a file rotated by size. Its directory is created
// 0700 and the file 0600.
func NewFileLogger(o FileOptions) (Logger, error) {
	if o.MaxSizeMB <= 0 {
		o.MaxSizeMB = 10
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = 5
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the audit log directory: %w", err)
	}
	rf := &rotatingFile{path: o.Path, maxSize: int64(o.MaxSizeMB) << 20, maxFiles: o.MaxFiles}
	// Opened now, so that a refused path fails the command before it acts.
	if err := rf.open(); err != nil {
		return nil, err
	}
	return &writerLogger{w: rf, c: rf}, nil
}

// ErrSymlink is returned when the audit log's path is a symbolic link.
var ErrSymlink = errors.New("is a symbolic link")

func symlinkError(path string) error {
	return errs.WithHint(fmt.Errorf("the audit log %s %w; refusing to follow it", path, ErrSymlink),
		fmt.Sprintf("Remove the link (`rm %s`) or set audit.path to a file of your own.", path))
}

// Nop discards entries.
var Nop Logger = nopLogger{}

type nopLogger struct{}

func (nopLogger) Log(Entry) error { return nil }
func (nopLogger) Close() error    { return nil }

// HeaderID is the request header kube-apiserver adopts as its audit ID.
const HeaderID = "Audit-ID"

type idKey struct{}

// WithID returns a context whose API requests carry id as their Audit-ID.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// IDFrom returns the decision id in ctx, if any.
func IDFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(idKey{}).(string)
	return id, ok && id != ""
}

// WrapTransport makes every request whose context carries a decision id send
// it as the Audit-ID header. Use it as rest.Config's WrapTransport.
func WrapTransport(rt http.RoundTripper) http.RoundTripper {
	return roundTripper{next: rt}
}

// FixedID returns a transport wrapper that sends id as the Audit-ID of every
// request whose context carries none: for clients that make their requests
// without a context, such as kubectl's describers.
func FixedID(id string) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper { return roundTripper{next: rt, id: id} }
}

type roundTripper struct {
	next http.RoundTripper
	id   string
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	id, ok := IDFrom(req.Context())
	if !ok {
		id = t.id
	}
	if id != "" {
		req = req.Clone(req.Context())
		req.Header.Set(HeaderID, id)
	}
	return t.next.RoundTrip(req)
}

// WrappedRoundTripper returns the wrapped round tripper, so client-go can
// find the transports beneath (utilnet.RoundTripperWrapper).
func (t roundTripper) WrappedRoundTripper() http.RoundTripper { return t.next }
