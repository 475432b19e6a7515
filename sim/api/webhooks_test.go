package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/fleetsim/fleetsim/sim"
)

// TestWebhooksDebugListing drives two Sim async-update callbacks end to end,
// one answered 204 and one 400, checks what the receiver got against
// twilio-go's request validator, and reads both back from
// GET /_fleetsim/v1/Webhooks.
func TestWebhooksDebugListing(t *testing.T) {
	e := newEnv(t)
	type seen struct {
		path  string
		valid bool
		form  url.Values
	}
	got := make(chan seen, 10)
	validator := twclient.NewRequestValidator(e.main.AuthToken)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		full := "http://" + r.Host + r.URL.RequestURI()
		sig := r.Header.Get("X-Twilio-Signature")
		var s seen
		if r.Method == http.MethodGet {
			s = seen{r.URL.Path, validator.Validate(full, map[string]string{}, sig), r.URL.Query()}
		} else {
			s = seen{r.URL.Path, validator.ValidateBody(full, raw, sig), nil}
			s.form, _ = url.ParseQuery(string(raw))
		}
		got <- s
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusBadRequest) // not retried
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	_, body := e.do(nil, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {e.networkSid("234", "15")}})
	_, body = e.do(nil, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {body["sid"].(string)}})
	fleetSid := body["sid"].(string)
	okSim, badSim := e.register(nil, 0), e.register(nil, 1)
	st, body := e.do(nil, http.MethodPost, "/v1/Sims/"+okSim, url.Values{"Status": {"ready"}, "Fleet": {fleetSid},
		"CallbackUrl": {hook.URL + "/ok?tag=1"}, "CallbackMethod": {"GET"}})
	require.Equal(t, http.StatusAccepted, st, "%v", body)
	st, body = e.do(nil, http.MethodPost, "/v1/Sims/"+badSim, url.Values{"Status": {"ready"}, "Fleet": {fleetSid},
		"CallbackUrl": {hook.URL + "/bad"}})
	require.Equal(t, http.StatusAccepted, st, "%v", body)
	e.clock.Advance(sim.DefaultUpdateDelay)

	bySim := map[string]seen{}
	for range 2 {
		select {
		case s := <-got:
			assert.True(t, s.valid, "twilio-go rejects the signature of the callback to %s", s.path)
			bySim[s.form.Get("SimSid")] = s
		case <-time.After(10 * time.Second):
			t.Fatal("callbacks missing after 10s")
		}
	}
	assert.Equal(t, "/ok", bySim[okSim].path)
	assert.Equal(t, "1", bySim[okSim].form.Get("tag"))
	assert.Equal(t, "/bad", bySim[badSim].path)
	assert.Equal(t, e.main.Sid, bySim[badSim].form.Get("AccountSid"))

	// The callbacks went out from the workers; wait until both are settled.
	var hooks []any
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		st, body = e.do(nil, http.MethodGet, "/_fleetsim/v1/Webhooks", nil)
		require.Equal(t, http.StatusOK, st, "%v", body)
		hooks = body["webhooks"].([]any)
		settled := len(hooks) == 2
		for _, h := range hooks {
			settled = settled && h.(map[string]any)["status"] != "pending"
		}
		if settled {
			break
		}
		require.True(t, time.Now().Before(deadline), "callbacks still pending: %v", hooks)
		<-poll.C
	}
	first, second := hooks[0].(map[string]any), hooks[1].(map[string]any)
	assert.Greater(t, first["id"], second["id"], "newest first")
	bySid := map[string]map[string]any{}
	for _, h := range []map[string]any{first, second} {
		bySid[h["params"].(map[string]any)["SimSid"].([]any)[0].(string)] = h
	}

	ok := bySid[okSim]
	require.NotNil(t, ok)
	assert.Equal(t, "delivered", ok["status"])
	assert.Equal(t, "GET", ok["method"])
	assert.Equal(t, hook.URL+"/ok?tag=1", ok["url"])
	assert.Equal(t, hook.URL, ok["destination"])
	assert.Nil(t, ok["reason"])
	assert.NotEmpty(t, ok["idempotency_token"])
	assert.Equal(t, []any{"ready"}, ok["params"].(map[string]any)["SimStatus"])
	attempts := ok["attempts"].([]any)
	require.Len(t, attempts, 1)
	a := attempts[0].(map[string]any)
	assert.EqualValues(t, 1, a["attempt"])
	assert.EqualValues(t, 204, a["http_status"])
	assert.Nil(t, a["error"])
	assert.NotEmpty(t, a["date"])

	bad := bySid[badSim]
	require.NotNil(t, bad)
	assert.Equal(t, "failed", bad["status"])
	assert.Equal(t, "POST", bad["method"])
	assert.Equal(t, "HTTP 400", bad["reason"])
	require.Len(t, bad["attempts"], 1)
	assert.EqualValues(t, 400, bad["attempts"].([]any)[0].(map[string]any)["http_status"])

	// The figures, in all and by destination.
	stats := body["stats"].(map[string]any)
	assert.EqualValues(t, 2, stats["attempts"])
	assert.EqualValues(t, 1, stats["delivered"])
	assert.EqualValues(t, 1, stats["failed"])
	assert.EqualValues(t, 0, stats["dropped"])
	assert.EqualValues(t, 0, stats["queued"])
	require.Len(t, stats["destinations"], 1)
	dest := stats["destinations"].([]any)[0].(map[string]any)
	assert.Equal(t, hook.URL, dest["destination"])
	assert.EqualValues(t, 2, dest["attempts"])

	// Filters.
	st, body = e.do(nil, http.MethodGet, "/_fleetsim/v1/Webhooks", url.Values{"Status": {"failed"}})
	require.Equal(t, http.StatusOK, st)
	require.Len(t, body["webhooks"], 1)
	assert.Equal(t, bad["id"], body["webhooks"].([]any)[0].(map[string]any)["id"])
	st, body = e.do(nil, http.MethodGet, "/_fleetsim/v1/Webhooks", url.Values{"Status": {"dropped"}})
	require.Equal(t, http.StatusOK, st)
	assert.Empty(t, body["webhooks"])
	st, body = e.do(nil, http.MethodGet, "/_fleetsim/v1/Webhooks", url.Values{"Status": {"queued"}})
	assert.Equal(t, http.StatusBadRequest, st)
	assert.EqualValues(t, sim.CodeInvalidParameter, body["code"])

	// Main account only.
	_, body = e.do(nil, http.MethodPost, "/_fleetsim/v1/Accounts", url.Values{"FriendlyName": {"sub"}})
	sub := &sim.Account{Sid: body["sid"].(string), AuthToken: body["auth_token"].(string)}
	st, _ = e.do(sub, http.MethodGet, "/_fleetsim/v1/Webhooks", nil)
	assert.Equal(t, http.StatusForbidden, st)
	st, _ = e.do(nil, http.MethodPost, "/_fleetsim/v1/Webhooks", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, st)
}

// TestHangingReceiverDoesNotDelayAnothersSimCallback is the case of a
// shared service: four Sim updates whose callbacks go to a receiver that
// never answers, then one to a healthy receiver, through the API and real
// HTTP. The healthy callback arrives within a second (it took 49 s when
// four workers served every receiver).
func TestHangingReceiverDoesNotDelayAnothersSimCallback(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 20)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	arrived := make(chan time.Time, 1)
	healthy := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { arrived <- time.Now() }))
	t.Cleanup(healthy.Close)
	t.Cleanup(func() { close(release) }) // first, so that the receivers can close

	_, body := e.do(nil, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {e.networkSid("234", "15")}})
	_, body = e.do(nil, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {body["sid"].(string)}})
	fleetSid := body["sid"].(string)
	for i := range 5 {
		cb := hang.URL + "/cb"
		if i == 4 {
			cb = healthy.URL + "/cb"
		}
		st, body := e.do(nil, http.MethodPost, "/v1/Sims/"+e.register(nil, i), url.Values{"Status": {"ready"}, "Fleet": {fleetSid}, "CallbackUrl": {cb}})
		require.Equal(t, http.StatusAccepted, st, "%v", body)
		if i < 4 {
			e.clock.Advance(time.Millisecond) // the hanging receiver's callbacks are made first
		}
	}
	sent := time.Now()
	e.clock.Advance(sim.DefaultUpdateDelay) // the five callbacks are made, the hanging receiver's first
	select {
	case at := <-arrived:
		t.Logf("the healthy receiver's callback arrived %v after the five were made", at.Sub(sent))
	case <-time.After(time.Second):
		t.Fatal("the healthy receiver's callback waited more than 1 s behind the hanging receiver")
	}
	for range 4 {
		<-entered // and the hanging receiver does hold four
	}
}
