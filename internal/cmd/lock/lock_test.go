package lock

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/iostreams"
)

type fakeClient struct {
	locks    []gateway.Lock
	req      gateway.LockRequest
	unlocked string
}

func (f *fakeClient) List(context.Context) ([]gateway.Lock, error) { return f.locks, nil }
func (f *fakeClient) Lock(_ context.Context, r gateway.LockRequest) (*gateway.Lock, error) {
	f.req = r
	return &gateway.Lock{Target: r.Target, Name: r.Name, Reason: r.Reason}, nil
}
func (f *fakeClient) Unlock(_ context.Context, target, name string) error {
	f.unlocked = target + "/" + name
	return nil
}

func TestLockFlags(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios}
	var got *Options
	cmd := NewCmdLock(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"user", "bob", "--reason", "stolen laptop", "--ttl", "2h"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Target != "user" || got.Name != "bob" || got.Reason != "stolen laptop" || got.TTL != 2*time.Hour {
		t.Errorf("options %+v", got)
	}
	cmd = NewCmdLock(f, func(context.Context, *Options) error { return nil })
	cmd.SetArgs([]string{"group", "ops"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("a lock without a reason: %v", err)
	} else if e, ok := err.(*errs.Error); !ok || e.Kind != errs.KindUsage {
		t.Errorf("not a usage error: %v", err)
	}
}

func TestLockRuns(t *testing.T) {
	ios, _, out, errOut := iostreams.Test()
	fc := &fakeClient{locks: []gateway.Lock{{Target: "user", Name: "bob", Reason: "stolen", By: "olga", Created: time.Now().Add(-time.Minute)}}}
	opts := &Options{IO: ios, Client: func() (Client, error) { return fc, nil }, Now: time.Now,
		Output: func() (string, error) { return "", nil }, Target: "user", Name: "bob", Reason: "stolen", TTL: time.Hour}
	if err := lockRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if fc.req.TTL != "1h0m0s" || !strings.Contains(errOut.String(), "Locked user bob") {
		t.Errorf("lock: %+v %q", fc.req, errOut)
	}
	if err := listRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "TARGET") || !strings.Contains(out.String(), "olga") || !strings.Contains(out.String(), "never") {
		t.Errorf("list: %q", out)
	}
	out.Reset()
	opts.Output = func() (string, error) { return "json", nil }
	if err := listRun(context.Background(), opts); err != nil || !strings.Contains(out.String(), `"items"`) {
		t.Errorf("list -o json: %v %q", err, out)
	}
	opts.Output = func() (string, error) { return "name", nil }
	if err := listRun(context.Background(), opts); err == nil {
		t.Error("list -o name accepted")
	}
	if err := unlockRun(context.Background(), opts); err != nil || fc.unlocked != "user/bob" {
		t.Errorf("unlock: %v %q", err, fc.unlocked)
	}
}
