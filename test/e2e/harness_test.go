// Package e2e runs the built kgate binary against the real local environment
// (kube-apiserver, etcd, controllers, kwok nodes, the node agent, slapd) that
// `make env-up` starts. `make test` sets everything up; run by hand with:
//
//	make env-up && source .localenv/env.sh && KGATE_BIN=$PWD/bin/kgate go test ./test/e2e/...
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	kgateBin   string // the binary under test
	kubectlBin string // kubectl v1.36.3 built from the same source, for the cluster's truth
	kubeconfig string // admin kubeconfig of the local cluster
	envDir     string // .localenv
)

func TestMain(m *testing.M) {
	kgateBin = os.Getenv("KGATE_BIN")
	kubeconfig = os.Getenv("KUBECONFIG")
	envDir = os.Getenv("KGATE_ENV_DIR")
	if tb := os.Getenv("KGATE_TOOLS_BIN"); tb != "" {
		kubectlBin = filepath.Join(tb, "kubectl")
	}
	if kgateBin == "" || kubeconfig == "" || envDir == "" {
		fmt.Fprintln(os.Stderr, "e2e: KGATE_BIN, KUBECONFIG and KGATE_ENV_DIR must be set (make test does it); skipping")
		os.Exit(0)
	}
	code := m.Run()
	// The invariant of the gateway: whatever the tests made it do, the
	// cluster saw every request of its account made as the real user.
	if err := checkGatewayAccount(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: FAIL:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Result is what one run of a binary produced.
type Result struct {
	Stdout, Stderr string
	Code           int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// User is an isolated kgate user: its own HOME, config, cache and state dirs.
type User struct {
	t   *testing.T
	Env []string
	Dir string
}

// NewUser returns a user with empty kgate directories and the local
// cluster's kubeconfig.
func NewUser(t *testing.T) *User {
	t.Helper()
	dir := t.TempDir()
	u := &User{t: t, Dir: dir}
	for _, d := range []string{"home", "config", "cache", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	u.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"KGATE_CONFIG_DIR=" + filepath.Join(dir, "config"),
		"KGATE_CACHE_DIR=" + filepath.Join(dir, "cache"),
		"KGATE_STATE_DIR=" + filepath.Join(dir, "state"),
		"KUBECONFIG=" + kubeconfig,
		"NO_COLOR=1",
	}
	return u
}

// Setenv adds or replaces an environment variable for this user's runs.
func (u *User) Setenv(k, v string) {
	for i, e := range u.Env {
		if strings.HasPrefix(e, k+"=") {
			u.Env[i] = k + "=" + v
			return
		}
	}
	u.Env = append(u.Env, k+"="+v)
}

// Run runs kgate with args and no stdin.
func (u *User) Run(args ...string) Result {
	u.t.Helper()
	return u.RunStdin("", args...)
}

// RunStdin runs kgate with args and the given stdin.
func (u *User) RunStdin(stdin string, args ...string) Result {
	u.t.Helper()
	return run(u.t, u.Env, stdin, kgateBin, args...)
}

// MustRun runs kgate and fails the test unless it exits 0.
func (u *User) MustRun(args ...string) Result {
	u.t.Helper()
	r := u.Run(args...)
	if r.Code != 0 {
		u.t.Fatalf("kgate %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// Kubectl runs the same-source kubectl as cluster admin: the cluster's truth.
func Kubectl(t *testing.T, args ...string) Result {
	t.Helper()
	if kubectlBin == "" {
		t.Fatal("KGATE_TOOLS_BIN is not set")
	}
	return run(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + kubeconfig}, "", kubectlBin, args...)
}

// MustKubectl runs kubectl and fails the test unless it exits 0.
func MustKubectl(t *testing.T, args ...string) Result {
	t.Helper()
	r := Kubectl(t, args...)
	if r.Code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func run(t *testing.T, env []string, stdin, bin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	default:
		t.Fatalf("running %s: %v", bin, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s timed out: %s", bin, strings.Join(args, " "), r)
	}
	return r
}

// WantCode fails the test unless r exited with code.
func WantCode(t *testing.T, r Result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
}

// Fields splits table output into rows of whitespace-separated fields.
func Fields(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			rows = append(rows, strings.Fields(l))
		}
	}
	return rows
}
