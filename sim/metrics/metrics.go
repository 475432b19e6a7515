// Package metrics exposes a fleetsim server to Prometheus: one registry
// per server, the instruments it observes (HTTP requests, store commits)
// and collectors that read the control plane's and the modems' counters
// when scraped. Names follow Prometheus' conventions:
// fleetsim_<subsystem>_<name>_<unit>, base units, _total for counters,
// and labels of bounded sets only (routes, codes, causes; never a SID or
// an ICCID).
//
// The packages it watches know nothing of Prometheus: the API reports
// requests through api.WithObserver, modems count into a modem.Stats, and
// the control plane into sim.Stats.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

const namespace = "fleetsim"

// latencyBuckets span an in-memory read (well under a millisecond) to a
// request stuck behind a slow disk (seconds).
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is one server's registry and instruments. Several can live in
// one process (tests run several servers): nothing is registered
// globally.
type Metrics struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	commits      prometheus.Histogram
	commitWrites prometheus.Histogram
}

// New returns a registry with the HTTP and store instruments, and the Go
// runtime's and the process's standard metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: latencyBuckets,
		}, []string{"route", "method"}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "store", Name: "commit_duration_seconds",
			Help:    "Time to make one batch of control plane changes durable in the store.",
			Buckets: latencyBuckets,
		}),
		commitWrites: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "store", Name: "commit_writes",
			Help:    "Writes made durable together by one store commit (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8), // 1 .. 16384
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.commits, m.commitWrites,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the server's registry, for more collectors or a test's
// gathering.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one answered request; give it to api.WithObserver.
func (m *Metrics) ObserveRequest(r api.Request) {
	route := r.Route
	if route == "" {
		route = "unmatched"
	}
	method := methodLabel(r.Method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(r.Status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(r.Duration.Seconds())
}

// methodLabel keeps the method label to the methods HTTP defines: a
// client can send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// ObserveCommit records one store commit that made writes durable
// together and took d; give it to sim.WithCommitObserver.
func (m *Metrics) ObserveCommit(d time.Duration, writes int) {
	m.commits.Observe(d.Seconds())
	m.commitWrites.Observe(float64(writes))
}

// WatchControl adds the control plane's counters: data metered, SMS and IP
// Commands, webhook delivery.
func (m *Metrics) WatchControl(ctl *sim.Control) {
	m.reg.MustRegister(newControlCollector(ctl), newWebhookCollector(ctl))
}

// WatchModems adds the modems' registration states, read from list at
// each scrape, and the attach counters of stats, which the modems were
// given (modem.FleetConfig.Stats).
func (m *Metrics) WatchModems(list func() []*modem.Modem, stats *modem.Stats) {
	m.reg.MustRegister(newModemCollector(list, stats))
}
