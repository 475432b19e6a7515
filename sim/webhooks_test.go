package sim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
)

const hookToken = "12345678901234567890123456789012"

// hookRequest is what a receiver saw of one callback.
type hookRequest struct {
	method  string
	url     string // as the receiver reconstructs it: scheme, host, request URI
	header  http.Header
	rawBody string
	form    url.Values // POST body or GET query
}

// receiver is an httptest server that records every callback on a channel
// and answers with reply(n), n counting from 1.
type receiver struct {
	*httptest.Server
	got   chan hookRequest
	count atomic.Int32
}

func newReceiver(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan hookRequest, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		n := int(rc.count.Add(1))
		rc.got <- hookRequest{method: r.Method, url: "http://" + r.Host + r.URL.RequestURI(),
			header: r.Header.Clone(), rawBody: string(raw), form: form}
		if reply != nil {
			reply(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) next(t *testing.T) hookRequest {
	t.Helper()
	select {
	case r := <-rc.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no callback within 10s")
		return hookRequest{}
	}
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// testHooks is a webhooks with no waits between attempts, closed at the end
// of the test.
func testHooks(t *testing.T, opts ...webhookOption) *webhooks {
	t.Helper()
	opts = append([]webhookOption{withWebhookBackoff(func(uint64, int) time.Duration { return 0 })}, opts...)
	w := newWebhooks(nil, nil, opts...)
	t.Cleanup(w.close)
	return w
}

// waitDelivery waits until delivery id is no longer pending and returns it.
func waitDelivery(t *testing.T, w *webhooks, id string) WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, d := range w.list(WebhookQuery{}) {
			if d.ID == id && d.Status != WebhookPending {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s still pending after 20s", id)
		}
		<-tick.C
	}
}

func firstValues(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

func simParams() url.Values {
	return url.Values{"SimSid": {"HS0123456789abcdef0123456789abcdef"}, "SimUniqueName": {"dev 1 & co"},
		"SimStatus": {"active"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"}}
}

func TestWebhookSignedAsTwilioSignsIt(t *testing.T) {
	validator := twclient.NewRequestValidator(hookToken)
	wrong := twclient.NewRequestValidator("not-the-token")
	for _, tc := range []struct {
		name, method, path string
	}{
		{"POST", "POST", "/cb"},
		{"POST with query", "POST", "/cb?x=1&y=a+b"},
		{"POST is the default", "", "/cb"},
		{"GET", "GET", "/cb"},
		{"GET with query", "GET", "/cb?x=1"},
		{"get in lower case", "get", "/cb?x=1&"},
		{"GET with connection overrides", "GET", "/cb?x=1#rc=2&rp=5xx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			w := testHooks(t)
			id := w.sendEvent(WebhookSimUpdate, hookToken, rc.URL+tc.path, tc.method, simParams())
			got := rc.next(t)
			d := waitDelivery(t, w, id)
			assert.Equal(t, WebhookDelivered, d.Status, d.Reason)

			sig := got.header.Get("X-Twilio-Signature")
			require.NotEmpty(t, sig)
			assert.Equal(t, "TwilioProxy/1.1", got.header.Get("User-Agent"))
			assert.NotEmpty(t, got.header.Get("I-Twilio-Idempotency-Token"))
			assert.NotContains(t, got.url, "#")
			for k, v := range simParams() {
				assert.Equal(t, v, got.form[k], k)
			}
			if strings.EqualFold(tc.method, "GET") {
				assert.Equal(t, http.MethodGet, got.method)
				assert.Empty(t, got.rawBody)
				if strings.Contains(tc.path, "x=1") {
					assert.Equal(t, "1", got.form.Get("x"), "the configured query is kept")
				}
				assert.True(t, validator.Validate(got.url, map[string]string{}, sig), "twilio-go rejects %s", got.url)
				assert.False(t, wrong.Validate(got.url, map[string]string{}, sig))
				return
			}
			assert.Equal(t, http.MethodPost, got.method)
			assert.Equal(t, "application/x-www-form-urlencoded", got.header.Get("Content-Type"))
			assert.True(t, validator.Validate(got.url, firstValues(got.form), sig), "twilio-go rejects %s", got.url)
			assert.True(t, validator.ValidateBody(got.url, []byte(got.rawBody), sig))
			assert.False(t, wrong.Validate(got.url, firstValues(got.form), sig))
			tampered := firstValues(got.form)
			tampered["SimStatus"] = "inactive"
			assert.False(t, validator.Validate(got.url, tampered, sig))
		})
	}
}

func TestSignatureMatchesTwilioGosVector(t *testing.T) {
	// The vector of twilio-go v1.31.0's client/request_validator_test.go.
	u := "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}
	sig := Signature("12345", u, params)
	assert.Equal(t, "vOEb5UThFn24KEfnOFLQY2AE5FY=", sig)
	v := twclient.NewRequestValidator("12345")
	assert.True(t, v.Validate(u, firstValues(params), sig))
	assert.Equal(t, "n2xBNyzSW7rfYStDtOFiFMv7qNo=", Signature("12345", strings.Replace(u, "https", "http", 1), params))

	// A repeated name adds its distinct values in order (twilio-node, twilio-python).
	assert.Equal(t, Signature("k", u, url.Values{"A": {"1", "2"}}), Signature("k", u, url.Values{"A": {"2", "1", "2"}}))
}

func TestWebhookRetriesAfter5xxThenDelivers(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	w := testHooks(t)
	w.sendEvent(WebhookSimUpdate, hookToken, rc.URL, "POST", simParams()) // the plain send is recorded too
	d := waitDelivery(t, w, w.list(WebhookQuery{Limit: 1})[0].ID)
	assert.Equal(t, WebhookDelivered, d.Status)
	require.Len(t, d.Attempts, 3)
	for i, code := range []int{500, 429, 204} {
		assert.Equal(t, i+1, d.Attempts[i].Attempt)
		assert.Equal(t, code, d.Attempts[i].HTTPStatus)
		assert.Empty(t, d.Attempts[i].Error)
	}
	tokens := map[string]bool{}
	for range 3 {
		tokens[rc.next(t).header.Get("I-Twilio-Idempotency-Token")] = true
	}
	assert.Len(t, tokens, 1, "every attempt of one callback carries the same idempotency token")
	assert.True(t, tokens[d.IdempotencyToken])
}

func TestWebhookGivesUpAfterTheBound(t *testing.T) {
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	w := testHooks(t)
	w.sendEvent(WebhookSimUpdate, hookToken, rc.URL, "POST", simParams())
	d := waitDelivery(t, w, w.list(WebhookQuery{Limit: 1})[0].ID)
	assert.Equal(t, WebhookFailed, d.Status)
	assert.Len(t, d.Attempts, DefaultWebhookAttempts)
	assert.Equal(t, "HTTP 503", d.Reason)
	assert.EqualValues(t, DefaultWebhookAttempts, rc.count.Load())
}

func TestWebhookRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		code     int
		fragment string
		attempts int
		want     WebhookStatus
	}{
		{"2xx is delivered", 200, "", 1, WebhookDelivered},
		{"4xx is not retried", 400, "", 1, WebhookFailed},
		{"404 is not retried", 404, "", 1, WebhookFailed},
		{"3xx is not retried", 304, "", 1, WebhookFailed},
		{"rc=0 makes one attempt", 500, "#rc=0", 1, WebhookFailed},
		{"rc=5 makes six", 500, "#rc=5", 6, WebhookFailed},
		{"rp=ct does not retry a 5xx", 500, "#rc=3&rp=ct", 1, WebhookFailed},
		{"rp=4xx retries a 4xx", 400, "#rc=1&rp=4xx", 2, WebhookFailed},
		{"rp=all", 404, "#rc=2&rp=all", 3, WebhookFailed},
		{"bad overrides are ignored", 500, "#rc=9&rp=bogus", DefaultWebhookAttempts, WebhookFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(t, status(tc.code))
			w := testHooks(t)
			id := w.sendEvent(WebhookSmsCommandStatus, hookToken, rc.URL+"/x"+tc.fragment, "POST", url.Values{"A": {"1"}})
			d := waitDelivery(t, w, id)
			assert.Equal(t, tc.want, d.Status)
			assert.Len(t, d.Attempts, tc.attempts)
			assert.EqualValues(t, tc.attempts, rc.count.Load())
		})
	}
}

func TestWebhookConnectionFailureIsRetried(t *testing.T) {
	rc := newReceiver(t, nil)
	dead := rc.URL
	rc.Close() // nothing listens there any more
	w := testHooks(t)
	id := w.send2(dead)
	d := waitDelivery(t, w, id)
	assert.Equal(t, WebhookFailed, d.Status)
	require.Len(t, d.Attempts, DefaultWebhookAttempts)
	for _, a := range d.Attempts {
		assert.Zero(t, a.HTTPStatus)
		assert.NotEmpty(t, a.Error)
	}
}

func TestWebhookHangingReceiverTimesOutWithoutBlockingTheSender(t *testing.T) {
	entered := make(chan struct{}, 10)
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done() // hangs until the sender gives up
	})
	p := defaultWebhookPolicy()
	p.timeout = 100 * time.Millisecond
	p.attempts = 2
	w := testHooks(t, withWebhookPolicy(p))

	id := w.sendEvent(WebhookIPCommandStatus, hookToken, rc.URL, "POST", simParams())
	// send has returned although the receiver has not answered (or even
	// been reached) yet.
	<-entered
	assert.Equal(t, WebhookPending, w.list(WebhookQuery{})[0].Status)
	d := waitDelivery(t, w, id)
	assert.Equal(t, WebhookFailed, d.Status)
	require.Len(t, d.Attempts, 2, "a timeout is retried")
	for _, a := range d.Attempts {
		assert.Contains(t, a.Error, "deadline exceeded")
		assert.Less(t, a.Duration, 5*time.Second)
	}
}

func TestWebhookFullQueueDropsWithoutBlocking(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
	})
	w := testHooks(t, withWebhookWorkers(1), withWebhookQueue(2))
	var ids []string
	ids = append(ids, w.send2(rc.URL))
	<-entered // the only worker is busy with the first callback
	for range 7 {
		ids = append(ids, w.send2(rc.URL))
	}
	dropped := w.list(WebhookQuery{Status: WebhookDropped})
	require.Len(t, dropped, 5, "two wait in the queue, the rest are dropped")
	for _, d := range dropped {
		assert.Contains(t, d.Reason, "queue full")
		assert.Empty(t, d.Attempts)
	}
	close(release)
	for _, id := range ids[:3] {
		assert.Equal(t, WebhookDelivered, waitDelivery(t, w, id).Status)
	}
	assert.EqualValues(t, 3, rc.count.Load())
}

// send2 sends a small POST callback to u and returns its ID.
func (w *webhooks) send2(u string) string {
	return w.sendEvent("", hookToken, u, "POST", url.Values{"N": {"1"}})
}

func TestWebhookCloseDrainsTheQueueAndWaitsForWorkers(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
	})
	w := newWebhooks(nil, nil, withWebhookWorkers(1), withWebhookCloseGrace(time.Minute))
	var ids []string
	for range 4 {
		ids = append(ids, w.send2(rc.URL))
	}
	<-entered
	closed := make(chan struct{})
	go func() {
		w.close()
		close(closed)
	}()
	waitFor(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return w.closing })
	late := w.send2(rc.URL)
	close(release) // the receiver answers: the queued callbacks go out
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("close did not return")
	}
	byID := map[string]WebhookDelivery{}
	for _, d := range w.list(WebhookQuery{}) {
		byID[d.ID] = d
	}
	for _, id := range ids {
		assert.Equal(t, WebhookDelivered, byID[id].Status, id)
	}
	assert.Equal(t, WebhookDropped, byID[late].Status)
	assert.EqualValues(t, 4, rc.count.Load())
	assertNoWorkers(t)
}

func TestWebhookCloseAbandonsAfterTheGrace(t *testing.T) {
	entered := make(chan struct{}, 10)
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done()
	})
	w := newWebhooks(nil, nil, withWebhookWorkers(1), withWebhookCloseGrace(50*time.Millisecond))
	first := w.send2(rc.URL)
	queued := w.send2(rc.URL)
	<-entered
	w.close() // returns once the grace is over and the workers have stopped
	byID := map[string]WebhookDelivery{}
	for _, d := range w.list(WebhookQuery{}) {
		byID[d.ID] = d
	}
	assert.Equal(t, WebhookFailed, byID[first].Status)
	assert.Contains(t, byID[first].Reason, "shutting down")
	assert.Equal(t, WebhookDropped, byID[queued].Status)
	assert.Empty(t, byID[queued].Attempts)
	assertNoWorkers(t)
	w.close() // a second close is harmless
}

func TestWebhookCloseAbandonsWaitingRetries(t *testing.T) {
	rc := newReceiver(t, status(http.StatusBadGateway))
	w := newWebhooks(nil, nil, withWebhookBackoff(func(uint64, int) time.Duration { return time.Hour }))
	id := w.send2(rc.URL)
	rc.next(t)
	waitFor(t, func() bool { return len(w.list(WebhookQuery{})[0].Attempts) == 1 })
	w.close() // does not wait for the hour
	d := w.list(WebhookQuery{})[0]
	assert.Equal(t, id, d.ID)
	assert.Equal(t, WebhookFailed, d.Status)
	assert.Contains(t, d.Reason, "retry abandoned")
}

func TestWebhookBadURLIsDropped(t *testing.T) {
	w := testHooks(t)
	for _, u := range []string{"", "%zz", "/relative", "ftp://example.com/x", "http://"} {
		id := w.send2(u)
		d := waitDelivery(t, w, id)
		assert.Equal(t, WebhookDropped, d.Status, u)
		assert.Contains(t, d.Reason, "bad callback URL")
	}
}

func TestWebhookHistoryIsBoundedNewestFirstAndFiltered(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n%2 == 0 {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	w := testHooks(t, withWebhookHistory(4), withWebhookWorkers(1))
	var ids []string
	for i := range 6 {
		kind := WebhookSimUpdate
		if i%2 == 1 {
			kind = WebhookESimProfile
		}
		id := w.sendEvent(kind, hookToken, rc.URL, "POST", url.Values{"I": {string(rune('0' + i))}})
		waitDelivery(t, w, id) // one at a time, so the receiver's count is the send order
		ids = append(ids, id)
	}
	all := w.list(WebhookQuery{})
	require.Len(t, all, 4)
	for i, d := range all {
		assert.Equal(t, ids[5-i], d.ID, "newest first")
	}
	failed := w.list(WebhookQuery{Status: WebhookFailed})
	require.Len(t, failed, 2)
	for _, d := range failed {
		assert.Equal(t, WebhookESimProfile, d.Kind)
	}
	assert.Len(t, w.list(WebhookQuery{Kind: WebhookSimUpdate}), 2)
	assert.Len(t, w.list(WebhookQuery{Limit: 1}), 1)

	// The listing is a copy.
	all[0].Params.Set("I", "changed")
	assert.NotEqual(t, "changed", w.list(WebhookQuery{Limit: 1})[0].Params.Get("I"))
}

func TestParseWebhookStatus(t *testing.T) {
	for in, want := range map[string]WebhookStatus{"": WebhookAny, "pending": WebhookPending,
		"Delivered": WebhookDelivered, "FAILED": WebhookFailed, "dropped": WebhookDropped} {
		got, err := ParseWebhookStatus(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseWebhookStatus("queued")
	requireSimCode(t, err, CodeInvalidParameter)
	b, _ := WebhookFailed.MarshalText()
	assert.Equal(t, "failed", string(b))
}

func TestWebhookSendersRunConcurrently(t *testing.T) {
	rc := newReceiver(t, nil)
	w := testHooks(t)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.sendEvent(WebhookSimUpdate, hookToken, rc.URL, "GET", simParams())
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { return len(w.list(WebhookQuery{Status: WebhookDelivered})) == 50 })
}

func requireSimCode(t *testing.T, err error, code int) {
	t.Helper()
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, code, e.Code)
}

// waitFor waits until cond holds, failing the test after 20 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		<-tick.C
	}
}

// assertNoWorkers checks that no delivery worker is left running.
func assertNoWorkers(t *testing.T) {
	t.Helper()
	waitFor(t, func() bool {
		buf := make([]byte, 1<<20)
		return !strings.Contains(string(buf[:runtime.Stack(buf, true)]), "(*webhooks).run")
	})
}
