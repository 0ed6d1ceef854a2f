package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// pagesServer serves a pod list in n pages ("p0".."p{n-1}"); page fail, if
// in range, answers 500. It counts the requests.
func pagesServer(t *testing.T, n, fail int, requests *atomic.Int32) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		i := 0
		if c := r.URL.Query().Get("continue"); c != "" {
			fmt.Sscanf(c, "p%d", &i)
		}
		if i == fail {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"boom","reason":"InternalError","code":500}`)
			return
		}
		cont := ""
		if i+1 < n {
			cont = fmt.Sprintf("p%d", i+1)
		}
		fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"continue":%q},"items":[{"metadata":{"name":"pod-%d"}}]}`, cont, i)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var podsResource = Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: "pods"}, Kind: "Pod", Namespaced: true}

// readTestPage reads the page's one pod name and its continue token.
func readTestPage(got *[]string) func(body io.Reader) (string, error) {
	return func(body io.Reader) (string, error) {
		b, err := io.ReadAll(body)
		if err != nil {
			return "", err
		}
		s := string(b)
		name := s[strings.Index(s, "pod-"):]
		*got = append(*got, name[:strings.IndexByte(name, '"')])
		cont := s[strings.Index(s, `"continue":"`)+len(`"continue":"`):]
		return cont[:strings.IndexByte(cont, '"')], nil
	}
}

func TestStreamPagesInOrder(t *testing.T) {
	var requests atomic.Int32
	c := pagesServer(t, 5, -1, &requests)
	var got []string
	err := StreamPages(context.Background(), c, podsResource, "ns", ListOptions{ChunkSize: 1}, readTestPage(&got))
	if err != nil || strings.Join(got, ",") != "pod-0,pod-1,pod-2,pod-3,pod-4" || requests.Load() != 5 {
		t.Fatalf("pages %v, err %v, %d requests", got, err, requests.Load())
	}
}

// A page that fails ends the list with the server's error (a StatusError
// with its message), after the pages before it were used.
func TestStreamPagesServerError(t *testing.T) {
	var requests atomic.Int32
	c := pagesServer(t, 5, 2, &requests)
	var got []string
	err := StreamPages(context.Background(), c, podsResource, "ns", ListOptions{ChunkSize: 1}, readTestPage(&got))
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "boom") || strings.Join(got, ",") != "pod-0,pod-1" {
		t.Fatalf("pages %v, err %v", got, err)
	}
}

// When use fails, its error is returned and no other page is asked for.
func TestStreamPagesUseError(t *testing.T) {
	var requests atomic.Int32
	c := pagesServer(t, 50, -1, &requests)
	stop := errors.New("stop")
	err := StreamPages(context.Background(), c, podsResource, "ns", ListOptions{ChunkSize: 1}, func(io.Reader) (string, error) {
		return "", stop
	})
	if !errors.Is(err, stop) || requests.Load() != 1 {
		t.Fatalf("err %v, %d requests", err, requests.Load())
	}
}
