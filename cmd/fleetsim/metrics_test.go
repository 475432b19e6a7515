package main

import (
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeMetrics: `fleetsim serve` answers GET /metrics without
// credentials, with the API's requests and the modems in it.
func TestServeMetrics(t *testing.T) {
	_, env, _ := serveModems(t, "--modems", "2", "--scan-time", "10ms", "--attach-time", "10ms")
	resp, err := http.Get(env["FLEETSIM_URL"] + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()

	resp, err = http.Get(env["FLEETSIM_URL"] + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)

	var modems float64
	for _, m := range mfs["fleetsim_modem_registration_state_modems"].GetMetric() {
		modems += m.GetGauge().GetValue()
	}
	assert.Equal(t, 2.0, modems, "every modem is in one registration state")
	var healthz bool
	for _, m := range mfs["fleetsim_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			healthz = healthz || l.GetName() == "route" && l.GetValue() == "/healthz"
		}
	}
	assert.True(t, healthz, "the /healthz request is counted by its route")
	for _, name := range []string{"fleetsim_store_commit_duration_seconds", "fleetsim_usage_data_bytes_total", "go_goroutines", "process_cpu_seconds_total"} {
		assert.Contains(t, mfs, name)
	}

	resp, err = http.Post(env["FLEETSIM_URL"]+"/metrics", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
