package main

import (
	"bufio"
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
		all[name] = measure([]command{
			{name: "kgate", argv: []string{kgate, "rollout", "status", "deploy/web", "-n", "payments"}},
			{name: "kubectl", argv: []string{kubectl, "rollout", "status", "deploy/web", "-n", "payments"}},
		}, runs)
		*order = append(*order, name)
	case "top":
		name := "top pods -n payments"
		all[name] = measure([]command{
			{name: "kgate", argv: []string{kgate, "top", "pods", "-n", "payments"}},
			{name: "kubectl", argv: []string{kubectl, "top", "pods", "-n", "payments"}},
		}, runs)
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
		all[name] = measure([]command{
			{name: "kgate", argv: []string{kgate, "cp", src, "sandbox/quiet:bench-kgate.bin"}},
			{name: "kubectl", argv: []string{kubectl, "cp", src, "sandbox/quiet:bench-kubectl.bin"}},
		}, max(3, runs/4))
		*order = append(*order, name)
		name = fmt.Sprintf("cp %d MB from a pod", mb)
		all[name] = measure([]command{
			{name: "kgate", argv: []string{kgate, "cp", "sandbox/quiet:bench-kgate.bin", filepath.Join(dir, "back-kgate.bin")}},
			{name: "kubectl", argv: []string{kubectl, "cp", "sandbox/quiet:bench-kubectl.bin", filepath.Join(dir, "back-kubectl.bin")}},
		}, max(3, runs/4))
		*order = append(*order, name)
	case "port-forward":
		portForwardReport(kgate, kubectl, max(3, runs/4))
	default:
		return false
	}
	return true
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

// portForwardReport downloads 100 MB through `port-forward` of each tool,
// from a server the node agent dials on loopback, and prints MB/s.
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
	port := ln.Addr().(*net.TCPAddr).Port
	fmt.Printf("port-forward, 100 MB per download, %d downloads each (median MB/s):\n", runs)
	for _, tool := range []struct{ name, bin string }{{"kgate", kgate}, {"kubectl", kubectl}} {
		cmd := exec.Command(tool.bin, "port-forward", "-n", "sandbox", "quiet", fmt.Sprintf(":%d", port))
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			fatal(err.Error())
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		m := forwardLine.FindStringSubmatch(line)
		if err != nil || m == nil {
			fatal(fmt.Sprintf("%s port-forward: %q %v", tool.name, line, err))
		}
		go func() { _, _ = io.Copy(io.Discard, out) }()
		var rates []time.Duration
		for i := 0; i <= runs; i++ {
			start := time.Now()
			resp, err := http.Get("http://127.0.0.1:" + m[1] + "/")
			if err != nil {
				fatal(err.Error())
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n != size {
				fatal(fmt.Sprintf("%s: %d bytes of %d", tool.name, n, size))
			}
			if i > 0 { // the first is a warm-up
				rates = append(rates, time.Since(start))
			}
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		d := median(rates)
		fmt.Printf("  %-8s %7.1f MB/s (median %.0f ms)\n", tool.name, float64(size>>20)/d.Seconds(), ms(d))
	}
}
