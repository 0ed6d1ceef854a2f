package logs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdtest"
	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/logstream"
	"github.com/kgate/kgate/internal/policy"
)

func parse(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	return cmdtest.Parse(t, NewCmdLogs, args...)
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "web-1", "-c", "app", "-f", "--tail", "5", "--since", "90s", "--timestamps", "--previous", "--limit-bytes", "100")
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "web-1" || o.Container != "app" || !o.Follow || o.Tail != 5 || !o.Timestamps || !o.Previous || o.LimitBytes != 100 {
		t.Fatalf("%+v", o)
	}
	c := o.streamConfig("ns", time.Minute)
	if c.Namespace != "ns" || c.Container != "app" || !c.Follow || c.Tail != 5 || c.Since != 90*time.Second || !c.Timestamps ||
		!c.Previous || c.LimitBytes != 100 || c.ResumeWindow != time.Minute || c.MaxLogRequests != 50 || c.Color {
		t.Fatalf("stream config %+v", c)
	}
	if o, _ = parse(t, "web-1", "--since-time", "2026-11-22T10:00:00Z"); !o.streamConfig("", 0).SinceTime.Equal(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("--since-time: %v", o.streamConfig("", 0).SinceTime)
	}
	if o, _ = parse(t, "web-1", "--color", "always"); !o.streamConfig("", 0).Color {
		t.Error("--color always")
	}
	if o, _ = parse(t, "-l", "app=web"); o.Tail != 10 {
		t.Errorf("-l defaults --tail to 10 as kubectl, got %d", o.Tail)
	}
	if o, _ = parse(t, "-l", "app=web", "--tail", "-1"); o.Tail != -1 {
		t.Errorf("explicit --tail -1 with -l: %d", o.Tail)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"a", "b"},
		{"a", "-l", "x=y"},
		{"a", "--since", "1m", "--since-time", "2026-01-01T00:00:00Z"},
		{"a", "--since-time", "yesterday"},
		{"a", "--all-containers", "-c", "app"},
		{"a", "--max-log-requests", "0"},
		{"a", "--color", "purple"},
		{"a", "--tail", "-2"},
	} {
		_, err := parse(t, args...)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

func TestPrefix(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want logstream.Prefix
	}{
		{[]string{"deploy/web"}, logstream.PrefixAuto},
		{[]string{"deploy/web", "--prefix=false"}, logstream.PrefixOff},
		{[]string{"-l", "app=web", "--prefix=false"}, logstream.PrefixOff},
		{[]string{"web-1", "--all-containers", "--prefix=false"}, logstream.PrefixOff},
		{[]string{"web-1"}, logstream.PrefixAuto},
		{[]string{"web-1", "--prefix"}, logstream.PrefixOn},
	} {
		o, err := parse(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.streamConfig("", 0).Prefix; got != tc.want {
			t.Errorf("%v: prefix %v, want %v", tc.args, got, tc.want)
		}
	}
}

// The policy is asked about what the user typed (deployments/indexer), and
// nothing is requested when it refuses.
func TestAuthorizeNamesTheTarget(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want policy.Request
	}{
		{[]string{"web-1"}, policy.Request{Verb: "logs", Resource: "pods", Subresource: "log", Namespace: "search-prod", Name: "web-1"}},
		{[]string{"deploy/indexer"}, policy.Request{Verb: "logs", Resource: "deployments", Namespace: "search-prod", Name: "indexer"}},
		{[]string{"svc/web"}, policy.Request{Verb: "logs", Resource: "services", Namespace: "search-prod", Name: "web"}},
		{[]string{"-l", "app=web"}, policy.Request{Verb: "logs", Resource: "pods", Subresource: "log", Namespace: "search-prod"}},
	} {
		o, err := parse(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var got policy.Request
		o.Namespace = func() (string, bool, error) { return "search-prod", false, nil }
		o.Access = &enforce.Access{Check: func(ctx context.Context, req policy.Request, _ ...string) (context.Context, error) {
			got = req
			return ctx, errs.ForbiddenErrorf("no")
		}}
		o.KubeClient = nil // any use would panic
		var ke *errs.Error
		if err := logsRun(context.Background(), o); !errors.As(err, &ke) || ke.Kind != errs.KindForbidden {
			t.Errorf("%v: %v", tc.args, err)
		}
		if got != tc.want {
			t.Errorf("%v: asked %+v, want %+v", tc.args, got, tc.want)
		}
	}
}
