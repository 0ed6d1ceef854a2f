package main

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// serveResourceMetrics answers GET /metrics/resource as the kubelet does (its
// Prometheus text format and metric names), so metrics-server can scrape the
// kwok nodes, which have no cAdvisor. The figures are plausible, not
// measured: each running container uses a steady CPU rate (1m to 50m) and
// working set (8 to 136 MiB) derived from its pod's UID and name, so they
// stay the same from scrape to scrape while the CPU counter grows.
//
// Every kwok node shares this one endpoint (the node address is 127.0.0.1 for
// all), so each scrape reports every running pod of every node the agent
// serves, and a node's own figures are the sum over all of them.
func (a *agent) serveResourceMetrics(w http.ResponseWriter, _ *http.Request) {
	pods, err := a.pods.List(labels.Everything())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now()
	ts := now.UnixMilli()
	type sample struct {
		labels        string
		cpu, mem      float64
		start         float64
		containerName string
	}
	var samples []sample
	for _, p := range pods {
		if !podRunning(p) || !a.ownsNode(p.Spec.NodeName) {
			continue
		}
		started := p.CreationTimestamp.Time
		if p.Status.StartTime != nil {
			started = p.Status.StartTime.Time
		}
		for _, c := range p.Spec.Containers {
			cs := containerStart(p, c.Name, started)
			rate, mem := usageOf(string(p.UID), c.Name)
			up := now.Sub(cs).Seconds()
			if up < 0 {
				up = 0
			}
			samples = append(samples, sample{
				labels: fmt.Sprintf(`container=%q,namespace=%q,pod=%q`, c.Name, p.Namespace, p.Name),
				cpu:    rate * up, mem: mem, start: float64(cs.Unix()), containerName: c.Name,
			})
		}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i].labels < samples[j].labels })
	var b strings.Builder
	var nodeCPU, nodeMem float64
	b.WriteString("# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds\n")
	b.WriteString("# TYPE container_cpu_usage_seconds_total counter\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "container_cpu_usage_seconds_total{%s} %g %d\n", s.labels, s.cpu, ts)
		nodeCPU += s.cpu
	}
	b.WriteString("# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes\n")
	b.WriteString("# TYPE container_memory_working_set_bytes gauge\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "container_memory_working_set_bytes{%s} %g %d\n", s.labels, s.mem, ts)
		nodeMem += s.mem
	}
	b.WriteString("# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds\n")
	b.WriteString("# TYPE container_start_time_seconds gauge\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "container_start_time_seconds{%s} %g %d\n", s.labels, s.start, ts)
	}
	// The node: its pods plus a steady base for the system itself.
	b.WriteString("# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds\n")
	b.WriteString("# TYPE node_cpu_usage_seconds_total counter\n")
	fmt.Fprintf(&b, "node_cpu_usage_seconds_total %g %d\n", nodeCPU+0.1*now.Sub(a.started).Seconds(), ts)
	b.WriteString("# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes\n")
	b.WriteString("# TYPE node_memory_working_set_bytes gauge\n")
	fmt.Fprintf(&b, "node_memory_working_set_bytes %g %d\n", nodeMem+512*1024*1024, ts)
	b.WriteString("# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n")
	b.WriteString("# TYPE scrape_error gauge\nscrape_error 0\n")
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// containerStart is when a container last started, from its status.
func containerStart(p *v1.Pod, name string, fallback time.Time) time.Time {
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == name && s.State.Running != nil && !s.State.Running.StartedAt.IsZero() {
			return s.State.Running.StartedAt.Time
		}
	}
	return fallback
}

// usageOf returns a container's steady CPU rate (cores) and working set
// (bytes), derived from its pod and name.
func usageOf(uid, container string) (float64, float64) {
	h := fnv.New64a()
	h.Write([]byte(uid + "/" + container))
	v := h.Sum64()
	cpu := float64(1+v%50) / 1000
	mem := float64(8+(v>>8)%129) * 1024 * 1024
	return cpu, mem
}
