package logout

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/session"
)

func TestLogout(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	store := session.NewStore(t.TempDir())
	opts := &Options{IO: ios, Store: func() (*session.Store, error) { return store, nil }, Now: time.Now}

	if err := logoutRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "Not logged in.") {
		t.Errorf("stderr = %q", errOut)
	}

	errOut.Reset()
	if err := store.Save(&session.Session{User: "alice", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := logoutRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "Logged out alice.") {
		t.Errorf("stderr = %q", errOut)
	}
	if _, err := os.Stat(store.Path()); !os.IsNotExist(err) {
		t.Errorf("session still there: %v", err)
	}
}

func TestLogoutRevokesAGatewaySession(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	store := session.NewStore(t.TempDir())
	var revoked []string
	fail := error(nil)
	opts := &Options{IO: ios, Store: func() (*session.Store, error) { return store, nil }, Now: time.Now,
		Revoke: func(_ context.Context, server string, _ []byte, rt string) error {
			revoked = append(revoked, server+" "+rt)
			return fail
		}}
	save := func() {
		if err := store.Save(&session.Session{User: "alice", Issuer: "https://gw", Token: "a", RefreshToken: "r",
			Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	save()
	if err := logoutRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if len(revoked) != 1 || revoked[0] != "https://gw r" {
		t.Errorf("revoked %q", revoked)
	}
	// The gateway down: the session is kept, so that logout can be retried.
	save()
	fail = errs.UnavailableErrorf("down")
	if err := logoutRun(context.Background(), opts); err == nil {
		t.Fatal("logout succeeded without revoking")
	}
	if _, err := os.Stat(store.Path()); err != nil {
		t.Errorf("session removed although not revoked: %v", err)
	}
	opts.Local = true
	if err := logoutRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(store.Path()); !os.IsNotExist(err) {
		t.Errorf("--local kept the session: %v", err)
	}
}
