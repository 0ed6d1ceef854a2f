package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// commandScenarios are the day-to-day commands of issue 13 side by side with
// kubectl: wall time of `rollout status` on a settled deployment and of
// `top pods`, and the throughput of `cp` and `port-forward` of 100 MB.
func commandScenarios(sc, kgate, kubectl string, runs int, all map[string]map[string]result, order *[]string) bool {
	switch sc {
	case "rollout-status":
		name := "rollout status deploy/web"
		cmds := []command{
			{name: "kgate", argv: []string{kgate, "rollout", "status", "deploy/web", "-n", "payments"}},
			{name: "kubectl", argv: []string{kubectl, "rollout", "status", "deploy/web", "-n", "payments"}},
		}
		all[name] = measure(cmds, runs)
		countInstructions(cmds, all[name])
		*order = append(*order, name)
	case "top":
		name := "top pods -n payments"
		cmds := []command{
			{name: "kgate", argv: []string{kgate, "top", "pods", "-n", "payments"}},
			{name: "kubectl", argv: []string{kubectl, "top", "pods", "-n", "payments"}},
		}
		all[name] = measure(cmds, runs)
		countInstructions(cmds, all[name])
		*order = append(*order, name)
	case "cp":
		mb := 100
		dir, err := os.MkdirTemp("", "kgate-bench-cp")
		if err != nil {
			fatal(err.Error())
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(dir, "big.bin")
		writeRandomFile(src, mb<<20)
		name := fmt.Sprintf("cp %d MB to a pod", mb)
		cmds := []command{
			{name: "kgate", argv: []string{kgate, "cp", src, "sandbox/quiet:bench-kgate.bin"}},
			{name: "kubectl", argv: []string{kubectl, "cp", src, "sandbox/quiet:bench-kubectl.bin"}},
		}
		all[name] = measure(cmds, max(3, runs/4))
		countInstructions(cmds, all[name])
		*order = append(*order, name)
		name = fmt.Sprintf("cp %d MB from a pod", mb)
		cmds = []command{
			{name: "kgate", argv: []string{kgate, "cp", "sandbox/quiet:bench-kgate.bin", filepath.Join(dir, "back-kgate.bin")}},
			{name: "kubectl", argv: []string{kubectl, "cp", "sandbox/quiet:bench-kubectl.bin", filepath.Join(dir, "back-kubectl.bin")}},
		}
		all[name] = measure(cmds, max(3, runs/4))
		countInstructions(cmds, all[name])
		*order = append(*order, name)
	case "port-forward":
		portForwardReport(kgate, kubectl, max(3, runs/4))
	default:
		return false
	}
	return true
}

// removeDumps removes callgrind's earlier output and dumps at out.
func removeDumps(out string) {
	dumps, _ := filepath.Glob(out + "*")
	for _, d := range dumps {
		_ = os.Remove(d)
	}
}

func writeRandomFile(path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		fatal(err.Error())
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, int64(n)); err != nil {
		fatal(err.Error())
	}
}

var forwardLine = regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) ->`)

// forwarder is a running `port-forward` of one tool to the bench's server.
type forwarder struct {
	name string
	cmd  *exec.Cmd
	port string
	err  *bytes.Buffer
}

// startForward starts argv (a port-forward) and waits for its first
// "Forwarding from" line.
func startForward(name string, argv []string, env []string) *forwarder {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		fatal(err.Error())
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	m := forwardLine.FindStringSubmatch(line)
	if err != nil || m == nil {
		fatal(fmt.Sprintf("%s port-forward: %q %v %s", name, line, err, errb.String()))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return &forwarder{name: name, cmd: cmd, port: m[1], err: &errb}
}

// download fetches the bench server's 100 MB through f and returns how long it took.
func (f *forwarder) download(size int64) time.Duration {
	start := time.Now()
	resp, err := http.Get("http://127.0.0.1:" + f.port + "/")
	if err != nil {
		fatal(fmt.Sprintf("%s: %v %s", f.name, err, f.err.String()))
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != size {
		fatal(fmt.Sprintf("%s: %d bytes of %d", f.name, n, size))
	}
	return time.Since(start)
}

// stop ends the forward with Ctrl-C and returns what it wrote to stderr.
func (f *forwarder) stop() string {
	_ = f.cmd.Process.Signal(syscall.SIGINT)
	_ = f.cmd.Wait()
	return f.err.String()
}

// portForwardReport downloads 100 MB through `port-forward` of each tool,
// from a server the node agent dials on loopback, alternately (both
// forwards run side by side, a warm-up download each first), and prints the
// median MB/s and each round's ratio of times. With -callgrind it then
// counts the instructions of one more download through each forward run
// under valgrind.
func portForwardReport(kgate, kubectl string, runs int) {
	const size = 100 << 20
	block := make([]byte, 1<<20)
	_, _ = rand.Read(block)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err.Error())
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		for i := 0; i < size/len(block); i++ {
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	port := fmt.Sprintf(":%d", ln.Addr().(*net.TCPAddr).Port)
	argv := func(bin string) []string { return []string{bin, "port-forward", "-n", "sandbox", "quiet", port} }
	fws := []*forwarder{startForward("kgate", argv(kgate), nil), startForward("kubectl", argv(kubectl), nil)}
	times := map[string][]time.Duration{}
	for i := 0; i <= runs; i++ {
		for _, f := range fws {
			d := f.download(size)
			if i > 0 { // the first is a warm-up
				times[f.name] = append(times[f.name], d)
			}
		}
	}
	for _, f := range fws {
		f.stop()
	}
	fmt.Printf("port-forward, 100 MB per download, %d downloads each, alternately (median MB/s):\n", runs)
	for _, f := range fws {
		d := median(times[f.name])
		fmt.Printf("  %-8s %7.1f MB/s (median %.0f ms)\n", f.name, float64(size>>20)/d.Seconds(), ms(d))
	}
	fmt.Printf("  per round kgate/kubectl: %s\n", roundRatios(times["kgate"], times["kubectl"]))
	if *callgrind {
		for _, t := range []struct{ name, bin string }{{"kgate", kgate}, {"kubectl", kubectl}} {
			out := filepath.Join(os.TempDir(), fmt.Sprintf("kgate-bench-pf-%s.callgrind", t.name))
			removeDumps(out)
			f := startForward(t.name, append(valgrindArgv(out), argv(t.bin)...), []string{"GODEBUG=asyncpreemptoff=1"})
			f.download(size)
			n := dumpedInstructions(f.cmd.Process.Pid, out)
			_ = f.cmd.Process.Kill()
			_ = f.cmd.Wait()
			fmt.Printf("  %-8s %s instructions (one port-forward: start and a 100 MB download)\n", t.name, n)
		}
	}
}
