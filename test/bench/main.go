// Command bench runs kgate side by side with kubectl v1.36.3 (built from the
// same source) and a raw HTTPS GET on the local cluster, and prints medians
// and ratios. It is run by `make bench`; it measures, it never fails on a slow
// machine.
//
// Each scenario is a set of commands run alternately, -runs times each after
// one warm-up run, so that the machine's load falls on all of them alike.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

type command struct {
	name string
	argv []string
	fn   func() error // in-process alternative to argv (raw GET)
	// devnull gives the command /dev/null as stdout instead of a pipe.
	devnull bool
}

type result struct {
	wall   []time.Duration // one a round, in order
	maxRSS int64           // KiB
	instr  string          // instructions of one run under callgrind, with -callgrind
}

// callgrind makes the side-by-side scenarios of issue 13 (cp, port-forward,
// rollout status, top) also count the instructions of one run of each
// command under valgrind's callgrind (GODEBUG=asyncpreemptoff=1, so that
// the signals of Go's preemption do not add to the count).
var callgrind = flag.Bool("callgrind", false, "also count instructions of one run of each command of cp, port-forward, rollout-status and top under valgrind --tool=callgrind")

func main() {
	runs := flag.Int("runs", 15, "runs of each command per scenario")
	scenarios := flag.String("scenarios", "floor,get-pods,completion,exec,logs,logs-follow,gateway,rollout-status,top,cp,port-forward", "comma-separated scenarios: floor, pages, get-pods, completion, exec, logs, logs-follow, gateway, rollout-status, top, cp, port-forward")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()

	kgate, kubectl := os.Getenv("KGATE_BIN"), os.Getenv("KUBECTL_BIN")
	if kgate == "" || kubectl == "" {
		fatal("KGATE_BIN and KUBECTL_BIN must be set")
	}
	// Every binary runs from a copy made here. A process's peak RSS counts
	// the binary's pages it maps, and that depends on how the file was
	// written: the same kgate ran `version` at 56.7 MiB from the Go
	// linker's output and at 43.1 MiB from a copy of it. kubectl, kgate and
	// an earlier kgate come from different writers; copies are alike.
	bins, err := os.MkdirTemp("", "kgate-bench-bin-")
	if err != nil {
		fatal(err.Error())
	}
	defer os.RemoveAll(bins)
	kgate = copyBinary(kgate, bins+"/kgate")
	kubectl = copyBinary(kubectl, bins+"/kubectl")
	if b := os.Getenv("KGATE_BEFORE_BIN"); b != "" {
		if err := os.Mkdir(bins+"/before", 0o755); err != nil {
			fatal(err.Error())
		}
		os.Setenv("KGATE_BEFORE_BIN", copyBinary(b, bins+"/before/kgate"))
	}
	all := map[string]map[string]result{}
	var order []string
	for _, sc := range strings.Split(*scenarios, ",") {
		switch sc {
		case "get-pods":
			for _, ns := range strings.Split(envOr("BENCH_NAMESPACES", "bench-100,bench-2000"), ",") {
				name := "get pods -n " + ns
				cmds := []command{
					{name: "kgate", argv: []string{kgate, "get", "pods", "-n", ns}},
					{name: "kubectl", argv: []string{kubectl, "get", "pods", "-n", ns}},
					{name: "raw GET", fn: rawGet("/api/v1/namespaces/" + ns + "/pods")},
				}
				if c := curlGet("/api/v1/namespaces/" + ns + "/pods"); c != nil {
					cmds = append(cmds, command{name: "curl GET", argv: c})
				}
				all[name] = measure(cmds, *runs)
				order = append(order, name)
			}
		case "completion":
			// What a shell runs on `kgate exec <TAB>`: pod names in a namespace
			// of 1,000 pods, after the session and policy checks. Target: 100 ms.
			ns := envOr("BENCH_COMPLETION_NAMESPACE", "bench-1000")
			name := "complete exec -n " + ns
			all[name] = measure([]command{
				{name: "kgate", argv: []string{kgate, "__complete", "exec", "-n", ns, ""}},
				{name: "kubectl", argv: []string{kubectl, "__complete", "exec", "-n", ns, ""}},
			}, *runs)
			order = append(order, name)
		case "exec":
			name := "exec -- true"
			all[name] = measure([]command{
				{name: "kgate", argv: []string{kgate, "exec", "-n", "sandbox", "quiet", "--", "true"}},
				{name: "kubectl", argv: []string{kubectl, "exec", "-n", "sandbox", "quiet", "--", "true"}},
			}, *runs)
			order = append(order, name)
		case "logs":
			mb := 200
			restore := bigLog(mb)
			name := fmt.Sprintf("logs (%d MB)", mb)
			all[name] = measure([]command{
				{name: "kgate", argv: []string{kgate, "logs", "-n", "sandbox", "quiet"}},
				{name: "kubectl", argv: []string{kubectl, "logs", "-n", "sandbox", "quiet"}},
			}, max(3, *runs/4))
			order = append(order, name)
			restore()
		case "logs-follow":
			followReport(kgate, kubectl)
		case "gateway":
			gatewayReport(kgate)
		case "floor":
			floorReport(kgate, kubectl, *runs, all, &order)
		case "pages":
			pagesReport(kgate, *runs, all, &order)
		default:
			if !commandScenarios(sc, kgate, kubectl, *runs, all, &order) {
				fatal("unknown scenario " + sc)
			}
		}
	}
	report(os.Stdout, order, all)
	if *jsonOut != "" {
		out := map[string]map[string]map[string]any{}
		for sc, rs := range all {
			out[sc] = map[string]map[string]any{}
			for n, r := range rs {
				out[sc][n] = map[string]any{"median_ms": ms(median(r.wall)), "p90_ms": ms(pct(r.wall, 0.9)), "max_rss_kib": r.maxRSS}
			}
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		_ = os.WriteFile(*jsonOut, b, 0o644)
	}
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func measure(cmds []command, runs int) map[string]result {
	res := map[string]result{}
	for i := -1; i < runs; i++ { // i == -1 is the warm-up
		for _, c := range cmds {
			d, rss, err := runOnce(c)
			if err != nil {
				fatal(fmt.Sprintf("%s: %v", c.name, err))
			}
			if i < 0 {
				continue
			}
			r := res[c.name]
			r.wall = append(r.wall, d)
			if rss > r.maxRSS {
				r.maxRSS = rss
			}
			res[c.name] = r
		}
	}
	return res
}

// countInstructions runs each command once under callgrind and records its
// instruction count.
func countInstructions(cmds []command, res map[string]result) {
	if !*callgrind {
		return
	}
	for _, c := range cmds {
		if c.fn != nil {
			continue
		}
		out := filepath.Join(os.TempDir(), "kgate-bench-"+c.name+".callgrind")
		argv := append(valgrindArgv(out), c.argv...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &errb
		r := res[c.name]
		if err := cmd.Run(); err != nil {
			// A measurement, not a test: say so in the report and go on.
			fmt.Fprintf(os.Stderr, "bench: %s under callgrind: %v\n", c.name, err)
			r.instr = "failed"
		} else {
			r.instr = collected(errb.String())
		}
		res[c.name] = r
	}
}

// valgrindArgv is the valgrind command line that writes callgrind's output
// to out. Callgrind 3.19 aborts when a signal reaches a multithreaded Go
// program (threads.c: vgCallgrind_post_signal), and a copy through exec
// often writes its TLS close_notify to a socket the API server has already
// reset, which raises SIGPIPE (kubectl as often as kgate). So the program
// starts with SIGPIPE blocked (Go keeps an inherited mask for it): the write
// returns EPIPE as it would anyway, and no signal is delivered.
func valgrindArgv(out string) []string {
	return []string{"perl", "-MPOSIX", "-e", "sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGPIPE)) or die $!; exec @ARGV or die $!",
		"valgrind", "--tool=callgrind", "--callgrind-out-file=" + out}
}

// dumpedInstructions asks the callgrind run in process pid to dump its
// counts so far (callgrind_control), and returns the total written to the
// dump next to out: a run that ends with Ctrl-C can be counted without the
// signal, which callgrind 3.19 cannot take.
func dumpedInstructions(pid int, out string) string {
	if err := exec.Command("callgrind_control", "-d", strconv.Itoa(pid)).Run(); err != nil {
		return "?"
	}
	dumps, _ := filepath.Glob(out + ".*")
	for _, d := range dumps {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		if m := totalsLine.FindSubmatch(b); m != nil {
			return thousands(string(m[1]))
		}
	}
	return "?"
}

var (
	collectedLine = regexp.MustCompile(`Collected : (\d+)`)
	totalsLine    = regexp.MustCompile(`(?m)^totals: (\d+)`)
)

// collected is callgrind's instruction count in its stderr, with thousands separated.
func collected(stderr string) string {
	m := collectedLine.FindStringSubmatch(stderr)
	if m == nil {
		return "?"
	}
	return thousands(m[1])
}

// thousands is the decimal n with its thousands separated: 1,234,567.
func thousands(n string) string {
	var b strings.Builder
	for i, c := range n {
		if i > 0 && (len(n)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// roundRatios is a/b for each round, as "0.97 1.01 ...".
func roundRatios(a, b []time.Duration) string {
	var s []string
	for i := 0; i < len(a) && i < len(b); i++ {
		s = append(s, fmt.Sprintf("%.2f", float64(a[i])/float64(b[i])))
	}
	return strings.Join(s, " ")
}

func runOnce(c command) (time.Duration, int64, error) {
	if c.fn != nil {
		start := time.Now()
		err := c.fn()
		return time.Since(start), 0, err
	}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	var errb bytes.Buffer
	cmd.Stdout = io.Discard
	if c.devnull {
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, errb.String())
	}
	d := time.Since(start)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss, nil
}

// rawGet returns a GET of path with the kubeconfig's credentials and a fresh
// TLS connection each time, as a separate process would have to.
func rawGet(path string) func() error {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		fatal(err.Error())
	}
	pool := x509.NewCertPool()
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		ca, _ = os.ReadFile(cfg.CAFile)
	}
	pool.AppendCertsFromPEM(ca)
	certPEM, keyPEM := cfg.CertData, cfg.KeyData
	if len(certPEM) == 0 && cfg.CertFile != "" {
		certPEM, _ = os.ReadFile(cfg.CertFile)
		keyPEM, _ = os.ReadFile(cfg.KeyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		fatal("raw GET needs a client certificate in the kubeconfig: " + err.Error())
	}
	return func() error {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(cfg.Host + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}
}

// bigLog swaps sandbox/quiet's current log for one of mb megabytes (the
// node agent writes no lines of its own for that pod) and returns a func
// that puts the old one back.
func bigLog(mb int) func() {
	dirs, _ := filepath.Glob(filepath.Join(os.Getenv("KGATE_NODE_LOG_DIR"), "sandbox_quiet_*", "main"))
	if len(dirs) != 1 {
		fatal("cannot find the log directory of sandbox/quiet")
	}
	logs, _ := filepath.Glob(filepath.Join(dirs[0], "*.log"))
	sort.Strings(logs)
	cur := logs[len(logs)-1]
	orig, err := os.ReadFile(cur)
	if err != nil {
		fatal(err.Error())
	}
	tmp := cur + ".bench"
	f, err := os.Create(tmp)
	if err != nil {
		fatal(err.Error())
	}
	w := bufio.NewWriterSize(f, 1<<20)
	ts := time.Now().Add(-time.Hour).UTC()
	payload := strings.Repeat("x", 200)
	for i, size := 0, 0; size < mb<<20; i++ {
		n, _ := fmt.Fprintf(w, "%s stdout F bench %09d %s\n", ts.Add(time.Duration(i)).Format(time.RFC3339Nano), i, payload)
		size += n
	}
	w.Flush()
	f.Close()
	if err := os.Rename(tmp, cur); err != nil {
		fatal(err.Error())
	}
	return func() { _ = os.WriteFile(cur, orig, 0o644) }
}

// followReport follows 50 pods that each write 10 lines a second with
// kgate and kubectl at once for 15 s, and counts lines and gaps per stream.
func followReport(kgate, kubectl string) {
	ns, sel := "bench-logs", "app=logbench"
	dur := 15 * time.Second
	run := func(argv []string) (string, error) {
		cmd := exec.Command(argv[0], argv[1:]...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			return "", err
		}
		time.Sleep(dur)
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		return out.String(), nil
	}
	type res struct {
		lines, streams, gaps int
	}
	count := func(out string) res {
		last := map[string]int{}
		var r res
		for _, l := range strings.Split(out, "\n") {
			// "[pod/NAME/app] NAME/app line N"
			i := strings.LastIndex(l, " line ")
			if i < 0 {
				continue
			}
			n, err := strconv.Atoi(l[i+6:])
			if err != nil {
				continue
			}
			key := l[:i]
			if k := strings.Index(key, "] "); k >= 0 {
				key = key[k+2:]
			}
			if p, ok := last[key]; ok && n != p+1 {
				r.gaps++
			}
			last[key] = n
			r.lines++
		}
		r.streams = len(last)
		return r
	}
	var kg, kc string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		kg, _ = run([]string{kgate, "logs", "-f", "-n", ns, "-l", sel, "--tail", "0", "--max-log-requests", "60"})
	}()
	go func() {
		defer wg.Done()
		kc, _ = run([]string{kubectl, "logs", "-f", "-n", ns, "-l", sel, "--tail", "0", "--prefix", "--max-log-requests", "60"})
	}()
	wg.Wait()
	a, b := count(kg), count(kc)
	fmt.Printf("logs -f -l across 50 pods for %s: kgate %d lines from %d streams, %d gaps; kubectl %d lines from %d streams, %d gaps\n",
		dur, a.lines, a.streams, a.gaps, b.lines, b.streams, b.gaps)
}

// curlGet returns a curl command line for path with the kubeconfig's
// credentials: a raw GET as a separate process, like kgate and kubectl.
func curlGet(path string) []string {
	curl, err := exec.LookPath("curl")
	if err != nil {
		return nil
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "kgate-bench-")
	if err != nil {
		return nil
	}
	file := func(name string, data []byte, path string) string {
		if path != "" {
			return path
		}
		p := dir + "/" + name
		_ = os.WriteFile(p, data, 0o600)
		return p
	}
	return []string{curl, "-sSf", "-o", "/dev/null",
		"--cacert", file("ca.crt", cfg.CAData, cfg.CAFile),
		"--cert", file("client.crt", cfg.CertData, cfg.CertFile),
		"--key", file("client.key", cfg.KeyData, cfg.KeyFile),
		cfg.Host + path}
}

func report(w io.Writer, order []string, all map[string]map[string]result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tCOMMAND\tMEDIAN\tP90\tPEAK RSS\tvs kubectl\tvs raw GET\tvs curl GET")
	for _, sc := range order {
		rs := all[sc]
		names := make([]string, 0, len(rs))
		for n := range rs {
			names = append(names, n)
		}
		sort.Strings(names)
		base, raw, curl := median(rs["kubectl"].wall), median(rs["raw GET"].wall), median(rs["curl GET"].wall)
		for _, n := range names {
			r := rs[n]
			m := median(r.wall)
			rss := "-"
			if r.maxRSS > 0 {
				rss = fmt.Sprintf("%.1f MiB", float64(r.maxRSS)/1024)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f ms\t%.1f ms\t%s\t%s\t%s\t%s\n", sc, n, ms(m), ms(pct(r.wall, 0.9)), rss, ratio(m, base), ratio(m, raw), ratio(m, curl))
		}
	}
	tw.Flush()
	for _, sc := range order {
		rs := all[sc]
		kg, kc := rs["kgate"], rs["kubectl"]
		if len(kg.wall) == 0 || len(kc.wall) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: per round kgate/kubectl %s", sc, roundRatios(kg.wall, kc.wall))
		if kg.instr != "" {
			fmt.Fprintf(w, "; instructions kgate %s, kubectl %s", kg.instr, kc.instr)
		}
		fmt.Fprintln(w)
	}
}

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(d []time.Duration) time.Duration { return pct(d, 0.5) }

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1)+0.5)]
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	os.Exit(1)
}

// copyBinary copies the executable from to to and returns to.
func copyBinary(from, to string) string {
	in, err := os.Open(from)
	if err != nil {
		fatal(err.Error())
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		fatal(err.Error())
	}
	if _, err := io.Copy(out, in); err != nil {
		fatal("copying " + from + ": " + err.Error())
	}
	if err := out.Close(); err != nil {
		fatal(err.Error())
	}
	return to
}
