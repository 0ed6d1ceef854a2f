package policycache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadCached10kProjects is what every command pays within the TTL:
// read the cache file, check both sha256 sums, decode and compile a policy
// of 10,000 projects.
func BenchmarkLoadCached10kProjects(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("version: 1\nsuperAdmins:\n  groups: [ops]\nprojects:\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&sb, "  project-%d:\n    namespaces: [p%d, p%d-staging, \"p%d-dev-*\"]\n", i, i, i, i)
		fmt.Fprintf(&sb, "    admins: {users: [admin%d], groups: [leads-%d]}\n", i, i)
		fmt.Fprintf(&sb, "    guests: {users: [guest%d, guest%d], groups: [team-%d, qa]}\n", i, i+1, i)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(src, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	c := New(Options{Source: src, Dir: filepath.Join(dir, "cache")})
	if _, err := c.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l, err := c.Load(context.Background())
		if err != nil || !l.Cached {
			b.Fatalf("%v cached=%v", err, l != nil && l.Cached)
		}
	}
}
