package sim

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangingReceiver holds every callback until the test ends; entered gets a
// value as each request arrives.
func hangingReceiver(t *testing.T) (rc *receiver, entered chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	entered = make(chan struct{}, 1000)
	rc = newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the receiver closes
	return rc, entered
}

func TestWebhookHangingReceiverDoesNotDelayAnother(t *testing.T) {
	hang, entered := hangingReceiver(t)
	healthy := newReceiver(t, nil)
	w := newWebhooks(nil, nil, withWebhookCloseGrace(0)) // production bounds: 15 s per attempt, 3 attempts
	t.Cleanup(w.close)

	for range 20 {
		w.send2(hang.URL)
	}
	for range DefaultWebhookWorkers {
		<-entered // the hanging receiver holds all the slots it may have
	}
	start := time.Now()
	id := w.send2(healthy.URL)
	select {
	case <-healthy.got:
	case <-time.After(time.Second):
		t.Fatal("the healthy receiver's callback waited more than 1 s behind the hanging one")
	}
	t.Logf("healthy callback arrived %v after it was sent, 20 callbacks to a hanging receiver ahead of it", time.Since(start))
	assert.Equal(t, WebhookDelivered, waitDelivery(t, w, id).Status)

	st := w.stats()
	assert.Equal(t, DefaultWebhookWorkers, st.InFlight, "only the hanging destination's own slots are held")
	assert.Equal(t, 20-DefaultWebhookWorkers, st.Queued)
	byDest := map[string]WebhookDestinationStats{}
	for _, d := range st.Destinations {
		byDest[d.Destination] = d
	}
	assert.Equal(t, WebhookCounts{Attempts: 1, Delivered: 1}, byDest["http://"+healthy.Listener.Addr().String()].WebhookCounts)
	assert.Equal(t, WebhookCounts{Queued: 16, InFlight: 4, Attempts: 4}, byDest["http://"+hang.Listener.Addr().String()].WebhookCounts)
}

func TestWebhookDestinationsTakeSlotsInTurn(t *testing.T) {
	var mu sync.Mutex
	var order []string
	record := func(name string) func(int, http.ResponseWriter, *http.Request) {
		return func(int, http.ResponseWriter, *http.Request) { mu.Lock(); order = append(order, name); mu.Unlock() }
	}
	release := make(chan struct{})
	gate := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { <-release })
	a, b := newReceiver(t, record("a")), newReceiver(t, record("b"))
	w := testHooks(t, withWebhookInFlight(1))
	w.send2(gate.URL)
	gate.next(t) // the only slot is taken: the rest wait
	var ids []string
	for range 3 {
		ids = append(ids, w.send2(a.URL))
	}
	for range 3 {
		ids = append(ids, w.send2(b.URL))
	}
	close(release)
	for _, id := range ids {
		waitDelivery(t, w, id)
	}
	assert.Equal(t, []string{"a", "b", "a", "b", "a", "b"}, order, "round robin, not first come")
}

func TestWebhookDropsAtTheCapsCountedLoggedAndListed(t *testing.T) {
	hang, entered := hangingReceiver(t)
	other := newReceiver(t, nil)
	var logs bytes.Buffer
	w := newWebhooks(nil, slog.New(slog.NewTextHandler(&logs, nil)),
		withWebhookWorkers(1), withWebhookDestQueue(2), withWebhookQueue(5), withWebhookCloseGrace(0))
	t.Cleanup(w.close)

	w.send2(hang.URL)
	<-entered
	for range 9 { // two wait, seven are dropped
		w.send2(hang.URL)
	}
	dropped := w.list(WebhookQuery{Status: WebhookDropped})
	require.Len(t, dropped, 7)
	for _, d := range dropped {
		assert.Contains(t, d.Reason, "destination queue full (2 waiting for http://"+hang.Listener.Addr().String()+")")
		assert.Equal(t, "http://"+hang.Listener.Addr().String(), d.Destination)
		assert.Empty(t, d.Attempts)
	}
	assert.Equal(t, 3, strings.Count(logs.String(), "callback dropped"), "the 1st, 2nd and 4th drop are logged:\n%s", logs.String())

	// Another destination still gets through: its own queue is empty.
	var ids []string
	for range 3 {
		ids = append(ids, w.send2(other.URL))
	}
	for _, id := range ids {
		assert.Equal(t, WebhookDelivered, waitDelivery(t, w, id).Status)
	}

	// The global cap: three wait for the hanging receiver's second slot…
	w2 := newWebhooks(nil, nil, withWebhookWorkers(1), withWebhookQueue(3), withWebhookCloseGrace(0))
	t.Cleanup(w2.close)
	w2.send2(hang.URL)
	<-entered
	for range 3 {
		w2.send2(hang.URL)
	}
	d := w2.list(WebhookQuery{Limit: 1})[0]
	assert.Equal(t, WebhookPending, d.Status)
	// …so a fourth, to any destination, is dropped.
	d = waitDelivery(t, w2, w2.send2(other.URL))
	assert.Equal(t, WebhookDropped, d.Status)
	assert.Contains(t, d.Reason, "not queued: queue full (3 waiting)")

	st := w.stats()
	assert.EqualValues(t, 7, st.Dropped)
	assert.EqualValues(t, 3, st.Delivered)
	assert.Equal(t, 2, st.Queued)
	assert.Equal(t, 1, st.InFlight)
	st2 := w2.stats()
	assert.EqualValues(t, 1, st2.Dropped)
	require.Len(t, st2.Destinations, 2)
	assert.EqualValues(t, 1, st2.Destinations[0].Dropped+st2.Destinations[1].Dropped)
}

func TestWebhookIdleDestinationIsFreed(t *testing.T) {
	rc := newReceiver(t, nil)
	w := testHooks(t)
	for range 5 {
		waitDelivery(t, w, w.send2(rc.URL))
	}
	waitFor(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.dests) == 0 && w.ready == nil && w.inFlight == 0
	})
	st := w.stats()
	require.Len(t, st.Destinations, 1, "its counters stay")
	assert.Equal(t, WebhookCounts{Attempts: 5, Delivered: 5}, st.Destinations[0].WebhookCounts)
}

func TestWebhookCountersPastTheTrackedDestinationsGoToOther(t *testing.T) {
	w := testHooks(t)
	w.mu.Lock()
	for i := range webhookMaxTracked + 5 {
		w.countsLocked("http://h" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ":" + string(rune('0'+i%10)) + "/" + string(rune(i)))
	}
	n := len(w.counts)
	w.mu.Unlock()
	assert.Equal(t, webhookMaxTracked+1, n)
	assert.NotNil(t, w.counts[webhookOther])
}

func TestJitteredBackoffIsSeededAndBounded(t *testing.T) {
	f, g := jitteredBackoff(1), jitteredBackoff(1)
	for seq := uint64(1); seq < 200; seq++ {
		for n := 1; n <= 6; n++ {
			base := time.Second << min(n-1, 3)
			d := f(seq, n)
			assert.Equal(t, d, g(seq, n))
			assert.True(t, d >= base/2 && d <= base, "attempt %d: %v", n, d)
		}
	}
	assert.NotEqual(t, jitteredBackoff(1)(7, 1), jitteredBackoff(2)(7, 1), "another seed, another draw")
}
