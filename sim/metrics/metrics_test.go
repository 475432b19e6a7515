package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
	"github.com/fleetsim/fleetsim/sim/metrics"
	"github.com/fleetsim/fleetsim/sim/sqlstore"
)

// server is what `fleetsim serve --modems 2` runs, wired the same way: a
// control plane on an SQLite store, the API on loopback with /metrics, and
// modems on PTYs. The first modem's SIM is ready in a Fleet whose NAP
// allows one GB network; the second's is not registered.
type server struct {
	t      *testing.T
	url    string
	ctl    *sim.Control
	mx     *metrics.Metrics
	fleet  *modem.Fleet
	simSid string
	vf     sim.Network
}

func startServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlstore.Memory)
	require.NoError(t, err)
	mx := metrics.New()
	ctl, err := sim.New(ctx, store, sim.WithCommitObserver(mx.ObserveCommit), sim.WithCards("metrics", 2), sim.WithUpdateDelay(time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { ctl.Close() })
	mx.WatchControl(ctl)
	main := ctl.MainAccount()
	srv := httptest.NewServer(api.New(ctl, api.WithObserver(mx.ObserveRequest), api.WithMetrics(mx.Handler())))
	t.Cleanup(srv.Close)
	s := &server{t: t, url: srv.URL, ctl: ctl, mx: mx}

	// The API calls a user makes before powering the devices on.
	s.vf, _ = ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"}) // Vodafone UK
	require.NotEmpty(t, s.vf.Sid)
	nap := s.call(main, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {s.vf.Sid}}, http.StatusCreated)
	fl := s.call(main, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {nap["sid"].(string)}}, http.StatusCreated)
	card := ctl.Cards()[0]
	sm := s.call(main, http.MethodPost, "/v1/Sims", url.Values{"Iccid": {card.ICCID}, "RegistrationCode": {card.RegistrationCode}}, http.StatusCreated)
	s.simSid = sm["sid"].(string)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	s.call(main, http.MethodPost, "/v1/Sims/"+s.simSid, url.Values{
		"Status": {"ready"}, "Fleet": {fl["sid"].(string)}, "CallbackUrl": {receiver.URL + "/sim-updated"},
	}, http.StatusAccepted)
	require.Eventually(t, func() bool {
		return s.call(main, http.MethodGet, "/v1/Sims/"+s.simSid, nil, http.StatusOK)["status"] == "ready"
	}, 10*time.Second, time.Millisecond, "the Sim update applies")

	stats := new(modem.Stats)
	cards := ctl.Cards()
	s.fleet, err = modem.StartFleet(ctx, modem.FleetConfig{
		Cards: []sim.Card{cards[0].Card, cards[1].Card}, Core: ctl, World: modem.NewWorld(ctl.Catalog()),
		Profile: modem.Generic{}, Country: "GB", Stats: stats,
		Timing: modem.Timing{Boot: time.Millisecond, Scan: time.Millisecond, Attach: time.Millisecond, Data: time.Millisecond},
	})
	require.NoError(t, err)
	t.Cleanup(func() { s.fleet.Close() })
	mx.WatchModems(s.fleet.Modems, stats)
	return s
}

// call makes an API request as acct and decodes the JSON answer.
func (s *server) call(acct *sim.Account, method, path string, form url.Values, want int) map[string]any {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(form.Encode()))
	require.NoError(s.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if acct != nil {
		req.SetBasicAuth(acct.Sid, acct.AuthToken)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	require.Equal(s.t, want, resp.StatusCode, "%s %s: %s", method, path, body)
	var out map[string]any
	require.NoError(s.t, json.Unmarshal(body, &out), "%s", body)
	return out
}

// scrape gets /metrics over HTTP, as Prometheus does, and parses it.
func (s *server) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	require.NoError(s.t, err)
	defer resp.Body.Close()
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
	require.Contains(s.t, resp.Header.Get("Content-Type"), "text/plain")
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(s.t, err)
	return mfs
}

// series finds the one series of family name with exactly these labels.
func series(t *testing.T, mfs map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	t.Helper()
	mf, ok := mfs[name]
	require.True(t, ok, "no metric family %s", name)
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return m
		}
	}
	require.Failf(t, "no series", "%s%v in %v", name, want, mf.GetMetric())
	return nil
}

func TestScrapeAfterAPICallsAndAttach(t *testing.T) {
	s := startServer(t)
	main := s.ctl.MainAccount()
	ms := s.fleet.Modems()
	require.Eventually(t, func() bool {
		return ms[0].Registration() == modem.RegRoaming && ms[1].Registration() == modem.RegDenied
	}, 10*time.Second, time.Millisecond, "modem 0 attaches, modem 1 (no Sim) is denied")

	// An SMS Command to the attached modem, data it moves, a path the API
	// does not serve.
	sms := s.call(main, http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {s.simSid}, "Payload": {"hello"}}, http.StatusCreated)
	require.Eventually(t, func() bool {
		return s.call(main, http.MethodGet, "/v1/SmsCommands/"+sms["sid"].(string), nil, http.StatusOK)["status"] == "delivered"
	}, 10*time.Second, time.Millisecond, "the modem receives the SMS Command")
	require.NoError(t, s.ctl.RecordUsage(context.Background(), sim.UsageReport{
		ICCID: s.ctl.Cards()[0].ICCID, PLMN: s.vf.Identifiers[0], Upload: 1200, Download: 3400}))
	s.call(main, http.MethodGet, "/v1/Nope/abc", nil, http.StatusNotFound)
	s.call(nil, http.MethodGet, "/v1/Sims", nil, http.StatusUnauthorized)

	require.Eventually(t, func() bool { return s.ctl.WebhookStats().Delivered == 1 }, 10*time.Second, time.Millisecond,
		"the Sim update's callback is delivered")

	mfs := s.scrape()
	val := func(name string, labels ...string) float64 {
		t.Helper()
		m := series(t, mfs, name, labels...)
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		}
		return float64(m.GetHistogram().GetSampleCount())
	}

	// HTTP: by route pattern, never by path.
	assert.Equal(t, 1.0, val("fleetsim_http_requests_total", "route", "/v1/Sims", "method", "POST", "code", "201"))
	assert.Equal(t, 1.0, val("fleetsim_http_requests_total", "route", "/v1/Sims/{Sid}", "method", "POST", "code", "202"))
	assert.GreaterOrEqual(t, val("fleetsim_http_requests_total", "route", "/v1/Sims/{Sid}", "method", "GET", "code", "200"), 1.0)
	assert.Equal(t, 1.0, val("fleetsim_http_requests_total", "route", "/v1/Sims", "method", "GET", "code", "401"))
	assert.Equal(t, 1.0, val("fleetsim_http_requests_total", "route", "unmatched", "method", "GET", "code", "404"))
	assert.Equal(t, 1.0, val("fleetsim_http_request_duration_seconds", "route", "/v1/Sims", "method", "POST"))
	for _, m := range mfs["fleetsim_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			assert.NotContains(t, l.GetValue(), s.simSid, "no SID in a label")
		}
	}

	// Modems: registration states (every state has a series), attaches,
	// rejections by cause.
	assert.Equal(t, 1.0, val("fleetsim_modem_registration_state_modems", "state", "registered_roaming"))
	assert.Equal(t, 1.0, val("fleetsim_modem_registration_state_modems", "state", "denied"))
	assert.Equal(t, 0.0, val("fleetsim_modem_registration_state_modems", "state", "searching"))
	assert.Equal(t, 1.0, val("fleetsim_modem_attaches_total"))
	assert.Equal(t, 1.0, val("fleetsim_modem_attach_rejections_total", "cause", "eps_and_non_eps_not_allowed"))
	// Automatic selection tries the GB networks strongest first; each one
	// before Vodafone rejects modem 0 with #11.
	stronger := 0
	for _, c := range modem.NewWorld(s.ctl.Catalog()).Cells("GB") {
		if c.Network.Sid == s.vf.Sid {
			break
		}
		stronger++
	}
	assert.Equal(t, float64(stronger), val("fleetsim_modem_attach_rejections_total", "cause", "plmn_not_allowed"))

	// Control plane: data metered, SMS Commands through their statuses.
	assert.Equal(t, 1200.0, val("fleetsim_usage_data_bytes_total", "direction", "upload"))
	assert.Equal(t, 3400.0, val("fleetsim_usage_data_bytes_total", "direction", "download"))
	for _, st := range []string{"queued", "sent", "delivered"} {
		assert.Equal(t, 1.0, val("fleetsim_sms_commands_total", "direction", "to_sim", "status", st), st)
	}
	assert.Equal(t, 0.0, val("fleetsim_sms_commands_total", "direction", "to_sim", "status", "failed"))
	assert.Equal(t, 0.0, val("fleetsim_ip_commands_total", "direction", "from_sim", "status", "received"))

	// Webhooks: the Sim update's callback, delivered at the first attempt.
	assert.Equal(t, 1.0, val("fleetsim_webhook_callbacks_total", "outcome", "delivered"))
	assert.Equal(t, 0.0, val("fleetsim_webhook_callbacks_total", "outcome", "failed"))
	assert.Equal(t, 0.0, val("fleetsim_webhook_callbacks_total", "outcome", "dropped"))
	assert.Equal(t, 1.0, val("fleetsim_webhook_attempts_total"))
	assert.Equal(t, 0.0, val("fleetsim_webhook_queue_depth"))

	// Store: every change committed was timed.
	commits := val("fleetsim_store_commit_duration_seconds")
	assert.GreaterOrEqual(t, commits, 1.0)
	assert.Equal(t, commits, val("fleetsim_store_commit_writes"))
	assert.GreaterOrEqual(t, series(t, mfs, "fleetsim_store_commit_writes").GetHistogram().GetSampleSum(), 6.0,
		"NAP, Fleet, Sim, its update, SMS Command, usage: each at least one write")

	// The same figures in the exposition format, scraped again.
	require.NoError(t, testutil.ScrapeAndCompare(s.url+"/metrics", strings.NewReader(`
# HELP fleetsim_modem_attaches_total Attaches the virtual network accepted.
# TYPE fleetsim_modem_attaches_total counter
fleetsim_modem_attaches_total 1
`), "fleetsim_modem_attaches_total"))
}

// TestLint: every metric a busy server exposes follows Prometheus' naming
// and help conventions.
func TestLint(t *testing.T) {
	s := startServer(t)
	require.Eventually(t, func() bool { return s.fleet.Modems()[0].Registration() == modem.RegRoaming },
		10*time.Second, time.Millisecond)
	mfs, err := s.mx.Registry().Gather()
	require.NoError(t, err)
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems)
	var names []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "fleetsim_") {
			names = append(names, mf.GetName())
		}
	}
	assert.ElementsMatch(t, []string{
		"fleetsim_http_requests_total", "fleetsim_http_request_duration_seconds",
		"fleetsim_modem_registration_state_modems", "fleetsim_modem_attaches_total",
		"fleetsim_modem_attach_rejections_total", "fleetsim_modem_network_detaches_total",
		"fleetsim_usage_data_bytes_total", "fleetsim_sms_commands_total", "fleetsim_ip_commands_total",
		"fleetsim_store_commit_duration_seconds", "fleetsim_store_commit_writes",
		"fleetsim_webhook_queue_depth", "fleetsim_webhook_in_flight", "fleetsim_webhook_attempts_total", "fleetsim_webhook_callbacks_total",
	}, names)
}

// TestSeveralServers: two servers in one process keep their own figures.
func TestSeveralServers(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.ObserveRequest(api.Request{Route: "/v1/Sims", Method: "GET", Status: 200, Duration: time.Millisecond})
	a.ObserveRequest(api.Request{Route: "", Method: "BREW", Status: 404})
	n, err := testutil.GatherAndCount(a.Registry(), "fleetsim_http_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = testutil.GatherAndCount(b.Registry(), "fleetsim_http_requests_total")
	require.NoError(t, err)
	assert.Equal(t, 0, n)
	require.NoError(t, testutil.GatherAndCompare(a.Registry(), strings.NewReader(`
# HELP fleetsim_http_requests_total HTTP requests answered, by route pattern, method and status code.
# TYPE fleetsim_http_requests_total counter
fleetsim_http_requests_total{code="200",method="GET",route="/v1/Sims"} 1
fleetsim_http_requests_total{code="404",method="other",route="unmatched"} 1
`), "fleetsim_http_requests_total"))
}
