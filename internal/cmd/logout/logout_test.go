package logout

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/iostreams"
	"github.com/kgate/kgate/internal/session"
)

func TestLogout(t *testing.T) {
	ios, _, _, errOut := iostreams.Test()
	store := session.NewStore(t.TempDir())
	opts := &Options{IO: ios, Store: func() (*session.Store, error) { return store, nil }}

	if err := logoutRun(opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "Not logged in.") {
		t.Errorf("stderr = %q", errOut)
	}

	errOut.Reset()
	if err := store.Save(&session.Session{User: "alice", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := logoutRun(opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "Logged out alice.") {
		t.Errorf("stderr = %q", errOut)
	}
	if _, err := os.Stat(store.Path()); !os.IsNotExist(err) {
		t.Errorf("session still there: %v", err)
	}
}
