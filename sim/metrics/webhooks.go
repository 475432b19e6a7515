package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetsim/fleetsim/sim"
)

// webhookCollector reads webhook delivery's figures when scraped. The
// figures are by destination too (scheme://host:port); the metrics keep
// the totals: destinations are as many as the receivers users configure.
type webhookCollector struct {
	ctl                              *sim.Control
	queued, inFlight, attempts, done *prometheus.Desc
}

func newWebhookCollector(ctl *sim.Control) *webhookCollector {
	return &webhookCollector{
		ctl: ctl,
		queued: prometheus.NewDesc("fleetsim_webhook_queue_depth",
			"Callbacks waiting in a destination's queue.", nil, nil),
		inFlight: prometheus.NewDesc("fleetsim_webhook_in_flight",
			"Callbacks being attempted or waiting for a retry.", nil, nil),
		attempts: prometheus.NewDesc("fleetsim_webhook_attempts_total",
			"HTTP requests made to deliver callbacks.", nil, nil),
		done: prometheus.NewDesc("fleetsim_webhook_callbacks_total",
			"Callbacks finished, by outcome: delivered (a 2xx), failed (given up after attempts), dropped (never attempted: queue full, bad URL, shutting down).",
			[]string{"outcome"}, nil),
	}
}

func (c *webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.inFlight
	ch <- c.attempts
	ch <- c.done
}

func (c *webhookCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ctl.WebhookStats()
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(st.InFlight))
	ch <- prometheus.MustNewConstMetric(c.attempts, prometheus.CounterValue, float64(st.Attempts))
	ch <- prometheus.MustNewConstMetric(c.done, prometheus.CounterValue, float64(st.Delivered), "delivered")
	ch <- prometheus.MustNewConstMetric(c.done, prometheus.CounterValue, float64(st.Failed), "failed")
	ch <- prometheus.MustNewConstMetric(c.done, prometheus.CounterValue, float64(st.Dropped), "dropped")
}
