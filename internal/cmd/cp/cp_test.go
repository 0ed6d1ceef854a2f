package cp

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	for arg, want := range map[string]Spec{
		"web-1:/tmp/x":         {Pod: "web-1", Path: "/tmp/x"},
		"payments/web-1:rel/y": {Namespace: "payments", Pod: "web-1", Path: "rel/y"},
		"./local:file":         {Path: "./local:file"},
		"/abs/with:colon":      {Path: "/abs/with:colon"},
		"plain.txt":            {Path: "plain.txt"},
		"a/b/c:d":              {Path: "a/b/c:d"},
	} {
		got, err := ParseSpec(arg)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", arg, got, err, want)
		}
	}
	for _, bad := range []string{":x", "pod:", "/pod:x/"[1:4] + ":", "ns/:x"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func archive(t *testing.T, entries ...*tar.Header) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Name))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(h.Name))
		}
	}
	_ = tw.Close()
	return &b
}

func TestRoundTrip(t *testing.T) {
	src := t.TempDir()
	_ = os.MkdirAll(filepath.Join(src, "d", "e"), 0o755)
	_ = os.WriteFile(filepath.Join(src, "d", "f"), []byte("one"), 0o640)
	_ = os.WriteFile(filepath.Join(src, "d", "e", "g"), []byte("two"), 0o600)
	var b bytes.Buffer
	if err := writeTar(&b, filepath.Join(src, "d"), "copy"); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if err := extractTar(&b, "copy", dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "e", "g")); string(got) != "two" {
		t.Errorf("e/g: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "f")); fi == nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("f's mode: %v", fi)
	}
}

// TestExtractRefusesEscapes: a container controls the archive; nothing it
// sends may land outside the destination.
func TestExtractRefusesEscapes(t *testing.T) {
	for name, b := range map[string]*bytes.Buffer{
		"symlink out": archive(t, &tar.Header{Name: "x/", Typeflag: tar.TypeDir, Mode: 0o755},
			&tar.Header{Name: "x/link", Typeflag: tar.TypeSymlink, Linkname: "../../../etc"}),
		"absolute symlink": archive(t, &tar.Header{Name: "x/", Typeflag: tar.TypeDir, Mode: 0o755},
			&tar.Header{Name: "x/link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}),
	} {
		dst := filepath.Join(t.TempDir(), "out")
		if err := extractTar(b, "x", dst); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Entries outside the copied name are skipped, never written.
	parent := t.TempDir()
	dst := filepath.Join(parent, "out")
	b := archive(t, &tar.Header{Name: "x", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "x/../../evil", Typeflag: tar.TypeReg, Mode: 0o644},
		&tar.Header{Name: "../evil2", Typeflag: tar.TypeReg, Mode: 0o644})
	if err := extractTar(b, "x", dst); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(parent, "evil"), filepath.Join(parent, "evil2"), filepath.Join(filepath.Dir(parent), "evil")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written", p)
		}
	}
	if got, _ := os.ReadFile(dst); string(got) != "x" {
		t.Errorf("the file itself: %q", got)
	}
	// An empty archive copied nothing: not found.
	if err := extractTar(archive(t), "x", filepath.Join(parent, "none")); err == nil {
		t.Error("an empty archive: want an error")
	}
}
