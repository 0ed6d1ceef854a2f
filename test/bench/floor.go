package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The floor scenario (issue 18) races kgate against the least the API
// server must send for the same output, measured as a separate curl
// process, beside kubectl: per size, get pods as a table (floor: the Table
// kgate asks for, includeObject=None, in one response), -o json (floor: the
// JSON list), -o name (floor: the metadata list); `version`; completion of
// `get pods` and `exec`; logs into a pipe and into /dev/null. All rows of a
// size run interleaved, round by round, so the machine's load falls on all
// alike; each round's ratio is kept and their median printed beside the
// medians' ratio. With callgrind (BENCH_CALLGRIND=1, valgrind installed)
// each kgate and kubectl command also runs once under valgrind with
// GODEBUG=asyncpreemptoff=1, and its instruction count is printed: a
// figure the machine's noise cannot move.

// floorRow is one line of the floor report: a command, what it is compared
// with and its floor.
type floorRow struct {
	work             string
	kgate, kubectl   []string
	floor            []string // a curl command line; nil: no floor
	floorName        string
	stdout           string // "", "pipe" (default) or "devnull"
	callgrind        bool
	kgateI, kubectlI int64
	beforeI          int64
}

func floorReport(kgate, kubectl string, runs int, all map[string]map[string]result, order *[]string) {
	sizes := strings.Split(envOr("BENCH_FLOOR_SIZES", "100,2000,10000"), ",")
	cg := *callgrind || os.Getenv("BENCH_CALLGRIND") != ""
	// KGATE_BEFORE_BIN, when set, is an earlier kgate run beside the others
	// (a change's before and after in one run).
	before := os.Getenv("KGATE_BEFORE_BIN")
	// kubectl under callgrind takes minutes at 2,000 pods on a busy machine.
	cgKubectl := os.Getenv("BENCH_CALLGRIND_KUBECTL") != "0"
	if cg {
		if _, err := exec.LookPath("valgrind"); err != nil {
			fmt.Println("floor: valgrind not installed (apt-get install valgrind): no instruction counts")
			cg = false
		}
	}
	// Instruction counts of commands that take seconds under valgrind only
	// up to this size.
	cgMax, _ := strconv.Atoi(envOr("BENCH_CALLGRIND_MAX_PODS", "2000"))
	var rows []*floorRow
	// BENCH_FLOOR_WORK, a regular expression, keeps only the rows whose work
	// it matches ("^get pods [0-9]+$": the tables alone).
	only := regexp.MustCompile(envOr("BENCH_FLOOR_WORK", ""))
	add := func(r *floorRow) {
		if only.MatchString(r.work) {
			rows = append(rows, r)
		}
	}
	for _, s := range sizes {
		ns := "bench-" + s
		n, _ := strconv.Atoi(s)
		pods := "/api/v1/namespaces/" + ns + "/pods"
		add(&floorRow{work: "get pods " + s, kgate: []string{kgate, "get", "pods", "-n", ns}, kubectl: []string{kubectl, "get", "pods", "-n", ns},
			floor: curl(pods+"?includeObject=None", floorTableAccept), floorName: "Table includeObject=None", callgrind: n <= cgMax})
		add(&floorRow{work: "get pods -o json " + s, kgate: []string{kgate, "get", "pods", "-n", ns, "-o", "json"}, kubectl: []string{kubectl, "get", "pods", "-n", ns, "-o", "json"},
			floor: curl(pods, "application/json"), floorName: "JSON list", callgrind: n <= cgMax})
		add(&floorRow{work: "get pods -o yaml " + s, kgate: []string{kgate, "get", "pods", "-n", ns, "-o", "yaml"}, kubectl: []string{kubectl, "get", "pods", "-n", ns, "-o", "yaml"},
			floor: curl(pods, "application/json"), floorName: "JSON list", callgrind: n <= cgMax && n <= 100})
		add(&floorRow{work: "get pods -o name " + s, kgate: []string{kgate, "get", "pods", "-n", ns, "-o", "name"}, kubectl: []string{kubectl, "get", "pods", "-n", ns, "-o", "name"},
			floor: curl(pods, metadataAccept), floorName: "metadata list", callgrind: n <= cgMax})
	}
	cns := envOr("BENCH_COMPLETION_NAMESPACE", "bench-1000")
	cpods := "/api/v1/namespaces/" + cns + "/pods?includeObject=None"
	add(&floorRow{work: "version", kgate: []string{kgate, "version"}, kubectl: []string{kubectl, "version", "--client"}, callgrind: true})
	add(&floorRow{work: "complete get pods (" + cns + ")", kgate: []string{kgate, "__complete", "get", "pods", "-n", cns, ""}, kubectl: []string{kubectl, "__complete", "get", "pods", "-n", cns, ""},
		floor: curl(cpods, floorTableAccept), floorName: "Table includeObject=None", callgrind: true})
	add(&floorRow{work: "complete exec (" + cns + ")", kgate: []string{kgate, "__complete", "exec", "-n", cns, ""}, kubectl: []string{kubectl, "__complete", "exec", "-n", cns, ""},
		floor: curl(cpods, floorTableAccept), floorName: "Table includeObject=None", callgrind: true})

	// Wall time: every row's three commands, round by round.
	for _, r := range rows {
		cmds := []command{{name: "kgate", argv: r.kgate}, {name: "kubectl", argv: r.kubectl}}
		if r.floor != nil {
			cmds = append(cmds, command{name: "floor", argv: r.floor})
		}
		if before != "" {
			cmds = append(cmds, command{name: "before", argv: append([]string{before}, r.kgate[1:]...)})
		}
		all["floor: "+r.work] = measure(cmds, runs)
		*order = append(*order, "floor: "+r.work)
	}
	if only.MatchString("logs") {
		logsFloor(kgate, kubectl, runs, all, order)
	}
	if cg {
		for _, r := range rows {
			if r.callgrind {
				r.kgateI = instructions(r.kgate)
				if cgKubectl {
					r.kubectlI = instructions(r.kubectl)
				}
				if before != "" {
					r.beforeI = instructions(append([]string{before}, r.kgate[1:]...))
				}
			}
		}
	}
	printFloor(os.Stdout, rows, all)
}

// logsFloor copies a 100 MB log with kgate, kubectl and curl of the log
// endpoint, into a pipe and into /dev/null.
func logsFloor(kgate, kubectl string, runs int, all map[string]map[string]result, order *[]string) {
	mb := 100
	restore := bigLog(mb)
	defer restore()
	for _, to := range []string{"pipe", "devnull"} {
		name := fmt.Sprintf("floor: logs %d MB into %s", mb, map[string]string{"pipe": "a pipe", "devnull": "/dev/null"}[to])
		cmds := []command{
			{name: "kgate", argv: []string{kgate, "logs", "-n", "sandbox", "quiet"}, devnull: to == "devnull"},
			{name: "kubectl", argv: []string{kubectl, "logs", "-n", "sandbox", "quiet"}, devnull: to == "devnull"},
		}
		if c := curl("/api/v1/namespaces/sandbox/pods/quiet/log", "*/*"); c != nil {
			cmds = append(cmds, command{name: "floor", argv: c, devnull: to == "devnull"})
		}
		all[name] = measure(cmds, max(3, runs/3))
		*order = append(*order, name)
	}
}

const (
	floorTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"
	metadataAccept   = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
)

// curl is a curl command line that GETs path with accept, writing the body
// to its stdout (a pipe or /dev/null, as the other commands); it sends
// kgate's user agent so that the API server does not pretty-print for it.
func curl(path, accept string) []string {
	c := curlGet(path)
	if c == nil {
		return nil
	}
	// curlGet writes to /dev/null with -o; the floor writes where the
	// others do.
	out := []string{c[0], "-sSf", "-A", "kgate-bench", "-H", "Accept: " + accept}
	for i := 1; i < len(c); i++ {
		if c[i] == "-sSf" {
			continue
		}
		if c[i] == "-o" {
			i++
			continue
		}
		out = append(out, c[i])
	}
	return out
}

var callgrindCollected = regexp.MustCompile(`(?m)^==\d+== Collected : (\d+)`)

// instructions runs argv once under callgrind and returns the instructions
// it executed (the whole process tree: Go's runtime threads included).
func instructions(argv []string) int64 {
	dir, err := os.MkdirTemp("", "kgate-callgrind")
	if err != nil {
		fatal(err.Error())
	}
	defer os.RemoveAll(dir)
	args := append([]string{"--tool=callgrind", "--callgrind-out-file=" + filepath.Join(dir, "out.%p")}, argv...)
	cmd := exec.Command("valgrind", args...)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errb
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: callgrind %s: %v\n%s", strings.Join(argv, " "), err, errb.String())
		return 0
	}
	m := callgrindCollected.FindStringSubmatch(errb.String())
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

func printFloor(w io.Writer, rows []*floorRow, all map[string]map[string]result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "WORK\tkgate\tkubectl\tfloor\tbefore\tkgate/floor\t(per round)\tkgate/kubectl\t(per round)\tRSS kgate\tRSS kubectl\tRSS before\tinstr kgate\tinstr kubectl\tinstr before\tkgate/kubectl instr\tFLOOR\t")
	for _, r := range rows {
		rs := all["floor: "+r.work]
		kg, kc, fl, bf := rs["kgate"], rs["kubectl"], rs["floor"], rs["before"]
		fmt.Fprintf(tw, "%s\t%.1f ms\t%.1f ms\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f MiB\t%.1f MiB\t%.1f MiB\t%s\t%s\t%s\t%s\t%s\t\n", r.work,
			ms(median(kg.wall)), ms(median(kc.wall)), msOr(fl.wall), msOr(bf.wall),
			ratio(median(kg.wall), median(fl.wall)), roundRatio(kg.wall, fl.wall),
			ratio(median(kg.wall), median(kc.wall)), roundRatio(kg.wall, kc.wall),
			float64(kg.maxRSS)/1024, float64(kc.maxRSS)/1024, float64(bf.maxRSS)/1024,
			minstr(r.kgateI), minstr(r.kubectlI), minstr(r.beforeI), iratio(r.kgateI, r.kubectlI), r.floorName)
	}
	tw.Flush()
}

func msOr(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", ms(median(d)))
}

// roundRatio is the median of a[i]/b[i]: the two ran in the same round.
func roundRatio(a, b []time.Duration) string {
	if len(a) == 0 || len(a) != len(b) {
		return "-"
	}
	rs := make([]float64, len(a))
	for i := range a {
		rs[i] = float64(a[i]) / float64(b[i])
	}
	sort.Float64s(rs)
	return fmt.Sprintf("%.2fx", rs[len(rs)/2])
}

func minstr(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fM", float64(n)/1e6)
}

func iratio(a, b int64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3fx", float64(a)/float64(b))
}

// pagesReport measures kgate's get at several --chunk-size values on the
// largest namespace, interleaved: how the default page size was chosen.
func pagesReport(kgate string, runs int, all map[string]map[string]result, order *[]string) {
	ns := envOr("BENCH_PAGES_NAMESPACE", "bench-10000")
	for _, out := range []string{"", "json"} {
		var cmds []command
		for _, c := range strings.Split(envOr("BENCH_PAGE_SIZES", "250,500,1000,2000,5000,0"), ",") {
			argv := []string{kgate, "get", "pods", "-n", ns, "--chunk-size", c}
			if out != "" {
				argv = append(argv, "-o", out)
			}
			cmds = append(cmds, command{name: fmt.Sprintf("chunk %5s", c), argv: argv})
		}
		name := "pages: get pods -n " + ns
		if out != "" {
			name += " -o " + out
		}
		all[name] = measure(cmds, runs)
		*order = append(*order, name)
	}
}
