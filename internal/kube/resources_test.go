package kube

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"k8s.io/streaming/pkg/httpstream"

	"github.com/kgate/kgate/internal/errs"
)

func TestLookup(t *testing.T) {
	for in, want := range map[string]string{
		"pods": "pods", "pod": "pods", "po": "pods", "Pod": "pods",
		"deploy": "deployments", "deployments.apps": "deployments", "deployment.v1.apps": "deployments",
		"sts": "statefulsets", "rs": "replicasets", "ds": "daemonsets", "cj": "cronjobs", "jobs": "jobs",
		"svc": "services", "cm": "configmaps", "secret": "secrets", "ev": "events", "ns": "namespaces",
	} {
		r, err := Lookup(in)
		if err != nil || r.GVR.Resource != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", in, r.GVR.Resource, err, want)
		}
	}
	_, err := Lookup("frobs")
	var ke *errs.Error
	if !errors.As(err, &ke) || ke.Kind != errs.KindUsage {
		t.Fatalf("unknown kind: want a usage error, got %v", err)
	}
}

func TestParseArgs(t *testing.T) {
	type tg struct {
		res   string
		names []string
	}
	cases := []struct {
		args    []string
		want    []tg
		wantErr bool
	}{
		{args: []string{"pods"}, want: []tg{{"pods", nil}}},
		{args: []string{"po", "a", "b"}, want: []tg{{"pods", []string{"a", "b"}}}},
		{args: []string{"pods,svc"}, want: []tg{{"pods", nil}, {"services", nil}}},
		{args: []string{"pods,po"}, want: []tg{{"pods", nil}}},
		{args: []string{"pod/a", "deploy/b", "po/c"}, want: []tg{{"pods", []string{"a", "c"}}, {"deployments", []string{"b"}}}},
		{args: []string{"pods", "pod/a"}, wantErr: true},
		{args: []string{"pod/"}, wantErr: true},
		{args: []string{"pod/a/b"}, wantErr: true},
		{args: []string{}, wantErr: true},
		{args: []string{"nope"}, wantErr: true},
	}
	for _, c := range cases {
		got, err := ParseArgs(c.args)
		if c.wantErr {
			if err == nil {
				t.Errorf("ParseArgs(%q): want error", c.args)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseArgs(%q): %v", c.args, err)
			continue
		}
		var g []tg
		for _, x := range got {
			g = append(g, tg{x.Resource.GVR.Resource, x.Names})
		}
		if !reflect.DeepEqual(g, c.want) {
			t.Errorf("ParseArgs(%q) = %v, want %v", c.args, g, c.want)
		}
	}
}

func TestPath(t *testing.T) {
	pods, _ := Lookup("pods")
	deploy, _ := Lookup("deploy")
	ns, _ := Lookup("ns")
	for _, c := range []struct{ got, want string }{
		{pods.Path("a", ""), "/api/v1/namespaces/a/pods"},
		{pods.Path("", ""), "/api/v1/pods"},
		{deploy.Path("a", "web"), "/apis/apps/v1/namespaces/a/deployments/web"},
		{ns.Path("a", "x"), "/api/v1/namespaces/x"},
	} {
		if c.got != c.want {
			t.Errorf("got %s want %s", c.got, c.want)
		}
	}
	if deploy.Qualified() != "deployment.apps" || pods.Qualified() != "pod" {
		t.Errorf("Qualified: %s %s", deploy.Qualified(), pods.Qualified())
	}
}

func TestOnLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"https://127.0.0.1:6443": true, "https://localhost:6443": true, "https://[::1]:6443": true, "127.0.0.2": true,
		"https://10.0.0.1:6443": false, "https://api.example.com": false, "https://localhost.example.com:443": false, "": false,
	} {
		if got := onLoopback(host); got != want {
			t.Errorf("onLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	r, n, err := ParseTarget("web-1")
	if err != nil || r.GVR.Resource != "pods" || n != "web-1" {
		t.Fatal(r, n, err)
	}
	r, n, err = ParseTarget("sts/db")
	if err != nil || r.GVR.Resource != "statefulsets" || n != "db" {
		t.Fatal(r, n, err)
	}
	for _, bad := range []string{"deploy/", "/web", "a/b/c", "widgets/x"} {
		var e *errs.Error
		if _, _, err := ParseTarget(bad); !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%q: want a usage error, got %v", bad, err)
		}
	}
}

func TestUpgradeAnswer(t *testing.T) {
	refusal := errors.New("pods \"web\" is forbidden")
	if a, failed := UpgradeAnswer(fmt.Errorf("exec: %w", &httpstream.UpgradeFailureError{Cause: refusal})); !failed || a != refusal {
		t.Errorf("wrapped upgrade failure: %v %v", a, failed)
	}
	if a, failed := UpgradeAnswer(&httpstream.UpgradeFailureError{}); !failed || a != nil {
		t.Errorf("no answer: %v %v", a, failed)
	}
	if a, failed := UpgradeAnswer(refusal); failed || a != nil {
		t.Errorf("not an upgrade failure: %v %v", a, failed)
	}
}
