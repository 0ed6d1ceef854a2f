package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kgate/kgate/internal/errs"
)

func TestWriterLogger(t *testing.T) {
	var buf bytes.Buffer
	l := NewWriterLogger(&buf)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	e := Entry{
		Time: at, ID: NewID(), User: "bob", Groups: []string{"qa"}, Project: "payments", Namespace: "payments",
		Verb: "exec", Resource: "pods", Name: "web-1", Decision: Deny, Reason: "because", Command: []string{"sh", "-c", "ls"},
	}
	if err := l.Log(e); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(Entry{ID: "2", User: "alice", Verb: "get", Resource: "pods", Decision: Allow, Reason: "ok"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	var got Entry
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	e.Time = at.UTC()
	if !reflect.DeepEqual(got, e) {
		t.Errorf("got %+v, want %+v", got, e)
	}
	if !strings.Contains(lines[0], `"time":"2026-01-02T02:04:05Z"`) || !strings.Contains(lines[0], `"decision":"deny"`) {
		t.Errorf("line: %s", lines[0])
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(lines[1]), &m)
	if m["time"] == nil || m["command"] != nil || m["groups"] != nil {
		t.Errorf("second line: %s", lines[1])
	}
}

// TestNoSecretFields keeps the entry free of anything like a credential.
func TestNoSecretFields(t *testing.T) {
	typ := reflect.TypeOf(Entry{})
	for i := 0; i < typ.NumField(); i++ {
		name := strings.ToLower(typ.Field(i).Name)
		for _, bad := range []string{"pass", "token", "secret", "cred", "key"} {
			if strings.Contains(name, bad) {
				t.Errorf("Entry has a field %s", typ.Field(i).Name)
			}
		}
	}
}

func TestFileLoggerRotates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "kgate")
	path := filepath.Join(dir, "audit.log")
	l, err := NewFileLogger(FileOptions{Path: path, MaxSizeMB: 1, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	reason := strings.Repeat("r", 1000)
	for i := 0; i < 3000; i++ { // about 3 MB
		if err := l.Log(Entry{ID: NewID(), User: "u", Verb: "get", Resource: "pods", Decision: Allow, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v %v", st.Mode(), err)
	}
	st, err = os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() > 1<<20 {
		t.Fatalf("log: %v %v", st, err)
	}
	// Old backups are removed at rotation.
	deadline := time.Now().Add(5 * time.Second)
	var files []string
	for {
		files, _ = filepath.Glob(filepath.Join(dir, "audit*.log"))
		if len(files) <= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(files) != 3 {
		t.Errorf("files: %v, want the log and 2 backups", files)
	}
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("a line is not JSON: %v", err)
		}
	}
}

func TestFileLoggerAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for i := 0; i < 2; i++ {
		l, err := NewFileLogger(FileOptions{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Log(Entry{ID: "x", User: "u", Verb: "get", Resource: "pods", Decision: Allow, Reason: "r"})
		_ = l.Close()
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}
}

func TestNewID(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b {
		t.Error("ids repeat")
	}
	if _, err := uuid.Parse(a); err != nil {
		t.Error(err)
	}
}

func TestWrapTransport(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(HeaderID))
	}))
	defer srv.Close()
	c := &http.Client{Transport: WrapTransport(http.DefaultTransport)}
	do := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get(HeaderID) != "" {
			t.Error("the caller's request was modified")
		}
	}
	do(WithID(context.Background(), "abc-123"))
	do(context.Background())
	if !reflect.DeepEqual(got, []string{"abc-123", ""}) {
		t.Errorf("headers: %q", got)
	}
	if id, ok := IDFrom(WithID(context.Background(), "x")); !ok || id != "x" {
		t.Error("IDFrom")
	}
}

func TestFixedID(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(HeaderID))
	}))
	defer srv.Close()
	c := &http.Client{Transport: FixedID("fixed")(http.DefaultTransport)}
	for _, ctx := range []context.Context{context.Background(), WithID(context.Background(), "own")} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if !reflect.DeepEqual(got, []string{"fixed", "own"}) {
		t.Errorf("headers: %q", got)
	}
}

func TestFileLoggerRefusesASymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "bashrc")
	if err := os.WriteFile(victim, []byte("# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.log")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	_, err := NewFileLogger(FileOptions{Path: path})
	if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want the symlink refused with its path", err)
	}
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindGeneric || ke.Hint == "" {
		t.Errorf("err = %#v, want a generic error with a hint", err)
	}
	// A dangling link is refused too (O_CREAT would create its target).
	dangling := filepath.Join(dir, "audit2.log")
	_ = os.Symlink(filepath.Join(dir, "created-by-kgate"), dangling)
	if _, err := NewFileLogger(FileOptions{Path: dangling}); !errors.Is(err, ErrSymlink) {
		t.Errorf("dangling link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "created-by-kgate")); err == nil {
		t.Error("the dangling link's target was created")
	}
	if b, _ := os.ReadFile(victim); string(b) != "# mine\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	// Not a regular file: a directory at the path.
	d := filepath.Join(dir, "audit3.log")
	_ = os.Mkdir(d, 0o700)
	if _, err := NewFileLogger(FileOptions{Path: d}); err == nil || !strings.Contains(err.Error(), d) {
		t.Errorf("a directory: %v", err)
	}
}

func TestFileLoggerRefusesALinkPlantedAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := NewFileLogger(FileOptions{Path: path, MaxSizeMB: 1, MaxFiles: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	victim := filepath.Join(dir, "victim")
	_ = os.WriteFile(victim, nil, 0o600)
	big := strings.Repeat("r", 600<<10)
	if err := l.Log(Entry{ID: "1", Reason: big}); err != nil {
		t.Fatal(err)
	}
	// Someone replaces the log with a link between two writes; the next
	// rotation moves the link aside and opens a new regular file.
	_ = os.Remove(path)
	_ = os.Symlink(victim, path)
	_ = l.Log(Entry{ID: "2", Reason: big})
	if b, _ := os.ReadFile(victim); len(b) != 0 {
		t.Errorf("the victim got %d bytes", len(b))
	}
}
