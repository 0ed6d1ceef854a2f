package docs

import (
	"strings"
	"testing"
)

// TestGeneratedDocs checks the generated files are deterministic, so that
// make check-generated can compare them with the checked-in copies, and that
// every command has a man page.
func TestGeneratedDocs(t *testing.T) {
	a, err := GeneratedDocs()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GeneratedDocs()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range a {
		if string(b[name]) != string(content) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for _, want := range []string{"man/kgate.1", "man/kgate-exec.1", "man/kgate-completion.1", "man/kgate-project-use.1",
		"completions/kgate.bash", "completions/_kgate", "completions/kgate.fish", "completions/kgate.ps1"} {
		if _, ok := a[want]; !ok {
			t.Errorf("no %s", want)
		}
	}
	page := string(a["man/kgate-exec.1"])
	for _, want := range []string{`.TH "KGATE-EXEC" "1" "" "kgate" "kgate manual"`, ".SH EXAMPLE", ".TP\n\\fB-c\\fP, \\fB--container\\fP"} {
		if !strings.Contains(page, want) {
			t.Errorf("man/kgate-exec.1 has no %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "HISTORY") || strings.Contains(page, "Auto generated") {
		t.Errorf("man/kgate-exec.1 has a dated history section")
	}
}
