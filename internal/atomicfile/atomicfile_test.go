package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "kgate")
	path := filepath.Join(dir, "session.json")
	if err := Write(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Fatalf("content %q", b)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Every failure names the file the user knows, not the temporary one.
func TestWriteErrorsNameThePath(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("running as root: the read-only directory case is skipped")
	}
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	os.WriteFile(blocker, []byte("x"), 0o600)
	cases := map[string]string{
		filepath.Join(blocker, "sub", "session.json"): filepath.Join(blocker, "sub"), // the directory cannot be made
		filepath.Join(base, "isdir"):                  filepath.Join(base, "isdir"),  // rename over a directory
	}
	os.MkdirAll(filepath.Join(base, "isdir", "x"), 0o700)
	if os.Geteuid() != 0 {
		ro := filepath.Join(base, "ro")
		os.Mkdir(ro, 0o500)
		cases[filepath.Join(ro, "current-project")] = filepath.Join(ro, "current-project")
	}
	for path, named := range cases {
		err := Write(path, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), named+":") || strings.Contains(err.Error(), ".tmp") {
			t.Errorf("%s: %v (want it to name %s)", path, err, named)
		}
	}
}
