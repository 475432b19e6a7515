package sim_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// handlerTransport serves requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, req)
	return w.Result(), nil
}

// inlineRun activates a Sim with a callback on a control plane that
// delivers through an in-process transport, failing the first attempt with
// fail, and returns the deliveries and the times the receiver saw.
func inlineRun(t *testing.T, fail int) ([]sim.WebhookDelivery, []time.Time) {
	var f *fixture
	var seen []time.Time
	rt := handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, f.clock.Now())
		require.NoError(t, r.ParseForm())
		want := sim.Signature(f.main.AuthToken, "http://receiver.test/cb", r.PostForm)
		assert.Equal(t, want, r.Header.Get("X-Twilio-Signature"))
		if len(seen) == 1 && fail != 0 {
			w.WriteHeader(fail)
		}
	})}
	f = newFixture(t, sim.WithWebhookTransport(rt), sim.WithRand(seeded()))
	s := f.register(f.main, 0)
	_, accepted, err := f.update(f.main, s.Sid, sim.SimParams{
		Status: ptr("active"), Fleet: ptr("trackers"), CallbackURL: "http://receiver.test/cb",
	})
	require.NoError(t, err)
	require.True(t, accepted)
	f.clock.Advance(updateDelay)
	require.Len(t, seen, 1, "delivered at the update's virtual instant, inside Advance")
	f.clock.Advance(time.Minute)
	return f.ctl.WebhookDeliveries(sim.WebhookQuery{}), seen
}

func TestInlineWebhooksRunOnTheClock(t *testing.T) {
	ds, seen := inlineRun(t, 0)
	require.Len(t, ds, 1)
	d := ds[0]
	assert.Equal(t, sim.WebhookDelivered, d.Status)
	assert.Equal(t, sim.WebhookSimUpdate, d.Kind)
	assert.Equal(t, epoch.Add(updateDelay), seen[0])
	assert.Equal(t, epoch.Add(updateDelay), d.Attempts[0].Time)
	assert.Equal(t, url.Values{"SimSid": d.Params["SimSid"], "SimUniqueName": {""}, "SimStatus": {"active"},
		"AccountSid": d.Params["AccountSid"]}, d.Params)

	again, _ := inlineRun(t, 0)
	assert.Equal(t, ds, again, "a second run with the same seed records the same deliveries")
}

func TestInlineWebhooksRetryOnTheClock(t *testing.T) {
	ds, seen := inlineRun(t, http.StatusServiceUnavailable)
	require.Len(t, seen, 2)
	wait := seen[1].Sub(seen[0])
	assert.True(t, wait >= 500*time.Millisecond && wait <= time.Second, "the retry waits the jittered back-off in virtual time: %v", wait)
	again, seen2 := inlineRun(t, http.StatusServiceUnavailable)
	assert.Equal(t, seen, seen2, "the jitter replays")
	assert.Equal(t, ds, again, "so do the records")
	require.Len(t, ds, 1)
	assert.Equal(t, sim.WebhookDelivered, ds[0].Status)
	assert.Equal(t, []int{503, 200}, []int{ds[0].Attempts[0].HTTPStatus, ds[0].Attempts[1].HTTPStatus})
}

// seeded is a fixed source of SIDs, so two runs make the same ones.
func seeded() *rand.ChaCha8 { return rand.NewChaCha8([32]byte{1}) }

// replayRun makes eight Sim callbacks to four receivers on a virtual clock,
// each receiver failing the first two requests it gets with 503 (so the
// retries' jittered waits come into play), and returns the records as JSON.
func replayRun(t *testing.T) []byte {
	var f *fixture
	count := map[string]int{}
	rt := handlerTransport{http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count[r.Host]++
		if count[r.Host] <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})}
	f = newFixture(t, sim.WithWebhookTransport(rt), sim.WithRand(seeded()))
	for i := range 8 {
		s := f.register(f.main, i)
		_, _, err := f.update(f.main, s.Sid, sim.SimParams{
			Status: ptr("active"), Fleet: ptr("trackers"), CallbackURL: fmt.Sprintf("http://r%d.test/cb", i%4),
		})
		require.NoError(t, err)
		f.clock.Advance(time.Duration(i) * 100 * time.Millisecond)
	}
	f.clock.Advance(time.Minute)
	ds := f.ctl.WebhookDeliveries(sim.WebhookQuery{})
	require.Len(t, ds, 8)
	retried := 0
	for _, d := range ds {
		require.Equal(t, sim.WebhookDelivered, d.Status)
		retried += len(d.Attempts) - 1
	}
	require.Equal(t, 8, retried, "two failed attempts per receiver")
	out, err := json.Marshal(struct {
		D []sim.WebhookDelivery
		S sim.WebhookStats
	}{ds, f.ctl.WebhookStats()})
	require.NoError(t, err)
	return out
}

func TestInlineWebhooksReplayByteIdentically(t *testing.T) {
	first := replayRun(t)
	for range 3 {
		assert.Equal(t, string(first), string(replayRun(t)))
	}
}
