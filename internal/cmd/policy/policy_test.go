package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kgate/kgate/internal/iostreams"
	kpolicy "github.com/kgate/kgate/internal/policy"
	"github.com/kgate/kgate/internal/policycache"
)

const good = `version: 1
projects:
  a: {namespaces: [web, "api-*"]}
  b: {namespaces: [web]}
`

func check(t *testing.T, file, stdin, output string) (string, error) {
	t.Helper()
	ios, in, out, _ := iostreams.Test()
	in.WriteString(stdin)
	err := checkRun(&CheckOptions{IO: ios, File: file, Output: func() (string, error) { return output, nil }})
	return out.String(), err
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "policy.yaml")
	_ = os.WriteFile(ok, []byte(good), 0o600)
	out, err := check(t, ok, "", "")
	if err != nil {
		t.Fatal(err)
	}
	want := ok + ": valid, 2 projects\n" +
		`overlap: namespace "web" (for example) is in project "a" (web) and project "b" (web); users get the higher role` + "\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	out, err = check(t, "-", good, "json")
	if err != nil {
		t.Fatal(err)
	}
	var res CheckResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Valid || res.File != "<stdin>" || len(res.Overlaps) != 1 || res.Overlaps[0].A.Project != "a" {
		t.Errorf("got %+v", res)
	}

	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("version: 1\nprojects:\n  a: {namespaces: [\"x[\"], admins: {user: [z]}}\n"), 0o600)
	_, err = check(t, bad, "", "")
	if err == nil {
		t.Fatal("a broken policy passed")
	}
	for _, s := range []string{bad + `:3: projects.a.namespaces[0]: invalid glob "x["`, bad + ":3: projects.a.admins.user: unknown field"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not contain %q", err, s)
		}
	}
	if _, err := check(t, filepath.Join(dir, "missing.yaml"), "", ""); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestShow(t *testing.T) {
	p, _ := kpolicy.Parse("p", []byte(good))
	fetched := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	l := &policycache.Loaded{Policy: p, Raw: []byte(good), Source: "https://example/policy.yaml", FetchedAt: fetched,
		SHA256: "abc", ETag: `"e"`, Stale: true}
	show := func(output string) string {
		ios, _, out, _ := iostreams.Test()
		err := showRun(&ShowOptions{IO: ios, Policy: func() (*policycache.Loaded, error) { return l, nil },
			Output: func() (string, error) { return output, nil }, Now: func() time.Time { return fetched.Add(3 * time.Minute) }})
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	want := "# source: https://example/policy.yaml\n# fetched: 2026-01-02T03:00:00Z (3m ago)\n# sha256: abc\n" +
		"# stale: the source could not be read; this is the cached copy\n" + good
	if got := show(""); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var s Shown
	if err := json.Unmarshal([]byte(show("json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Source != l.Source || s.AgeSeconds != 180 || !s.Stale || s.Policy != good {
		t.Errorf("json: %+v", s)
	}
}
