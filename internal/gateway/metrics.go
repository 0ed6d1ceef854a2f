package gateway

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	decisions *prometheus.CounterVec
	logins    *prometheus.CounterVec
	active    prometheus.Gauge
	policyAge prometheus.Gauge
	stripped  prometheus.Counter
	// clusterRefusals count requests a multi-cluster gateway refused for
	// their /clusters/NAME prefix, by reason (unknown, invalid,
	// double-prefix, no-cluster).
	clusterRefusals *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kgate_gateway_requests_total",
			Help: "Requests the gateway answered, by Kubernetes verb and HTTP status code.",
		}, []string{"verb", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kgate_gateway_request_duration_seconds",
			Help: "Time to the end of the response headers (upgrades and streams: to the first byte), by verb.",
			// From well under a millisecond (a denial) to the API server's slowest lists.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"verb"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kgate_gateway_decisions_total",
			Help: "Policy decisions, by decision (allow, deny) and kind (resource, discovery, selfreview, nonresource, unauthenticated).",
		}, []string{"decision", "kind"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kgate_gateway_logins_total",
			Help: "Login attempts, by result (ok, invalid, ratelimited, unavailable, error).",
		}, []string{"result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kgate_gateway_streams_active",
			Help: "Requests in flight that may last: exec, attach, port-forward, watches, followed logs.",
		}),
		policyAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kgate_gateway_policy_fetched_timestamp_seconds",
			Help: "When the policy in effect was last read from its source (Unix time).",
		}),
		stripped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kgate_gateway_client_impersonation_stripped_total",
			Help: "Requests that arrived with their own Impersonate-* headers, which were removed.",
		}),
		clusterRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kgate_gateway_cluster_path_refused_total",
			Help: "Requests a multi-cluster gateway refused for their /clusters/NAME/ prefix, by reason (unknown, invalid, double-prefix, no-cluster).",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.decisions, m.logins, m.active, m.policyAge, m.stripped, m.clusterRefusals,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// metricVerb maps a request's verb to a closed set of label values: an
// unauthenticated client inventing HTTP methods or paths must not make a
// series each.
func metricVerb(v string) string {
	switch v {
	case "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
		"proxy", "head", "options", "post", "put", "invalid", "unknown":
		return v
	}
	return "other"
}

// metricCode maps a status code to a closed set: the codes net/http knows,
// else "other".
func metricCode(code int) string {
	if code < 100 || code > 599 || http.StatusText(code) == "" {
		return "other"
	}
	return strconv.Itoa(code)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
