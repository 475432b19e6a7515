package sim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook delivery
//
// Every callback the control plane makes (the Sim async-update callback, SMS
// and IP Command status callbacks, the Fleet's sms_commands_url and
// ip_commands_url, eSIM profile callbacks) goes through one component,
// webhooks. Sending never blocks the caller: a callback is put on a bounded
// queue and a small, fixed pool of workers delivers it.
//
// Policy (Twilio's documented platform defaults first, then what fleetsim does):
//
//   - Timeouts. Twilio waits at most 15 s for a response, connection included
//     (errors 11200/11205; connection overrides: ct 5000 ms, rt 15000 ms, tt
//     15000 ms). fleetsim gives each attempt 15 s in all.
//   - Retries. Twilio's default is one retry, and only when the connection
//     could not be made (connection overrides: rc=1, rp=ct). fleetsim retries
//     more readily, so that a receiver that is starting up or briefly failing
//     still gets its callbacks in a test run: up to 3 attempts in all, after a
//     connection failure, a timeout, a 5xx or a 429, waiting 1 s then 2 s
//     (a 429's Retry-After is honoured up to 30 s). Any other status ends the
//     delivery: 2xx as delivered, the rest as failed.
//   - Connection overrides. A URL fragment such as #rc=1&rp=ct&tt=15000 is
//     honoured as Twilio documents it: rc (0..5 retries), rp (ct, rt, 4xx,
//     5xx, all) and tt (100..15000 ms for all attempts); rt (100..15000 ms)
//     bounds each attempt. ct, e and sni are accepted and ignored. The
//     fragment is never sent and is not part of the signed URL.
//   - Queue. At most 10,000 callbacks wait; when the queue is full the new
//     callback is dropped and recorded as dropped.
//   - Shutdown. close stops taking callbacks, lets the workers finish what is
//     queued or in flight for up to 2 s, abandons waiting retries at once,
//     then cancels whatever is left and waits for the workers.
//
// Each request carries X-Twilio-Signature (see Signature), an
// I-Twilio-Idempotency-Token that is the same on every attempt of one
// callback, and User-Agent TwilioProxy/1.1. GET sends the parameters in the
// query string (appended to the configured URL's own query); POST sends them
// as an application/x-www-form-urlencoded body.
//
// The last 1,000 callbacks and their attempts are kept for the debug
// listing, Control.WebhookDeliveries.

// Defaults of webhook delivery.
const (
	webhookTimeout         = 15 * time.Second // per attempt, connection included
	DefaultWebhookQueue    = 10000
	DefaultWebhookWorkers  = 4
	DefaultWebhookAttempts = 3
	DefaultWebhookHistory  = 1000
	webhookCloseGrace      = 2 * time.Second
	webhookMaxRetryAfter   = 30 * time.Second
	webhookUserAgent       = "TwilioProxy/1.1"
	webhookMaxRetries      = 5 // Twilio's bound on the rc override
	webhookBodyDiscard     = 64 << 10
)

// WebhookStatus is where a callback's delivery stands.
type WebhookStatus uint8

const (
	// WebhookAny matches every status in a WebhookQuery; no delivery has it.
	WebhookAny WebhookStatus = iota
	// WebhookPending: queued, in flight or waiting to be retried.
	WebhookPending
	// WebhookDelivered: an attempt got a 2xx response.
	WebhookDelivered
	// WebhookFailed: attempted, and given up on.
	WebhookFailed
	// WebhookDropped: never attempted (queue full, bad URL, shutting down).
	WebhookDropped
)

var webhookStatusNames = [...]string{"", "pending", "delivered", "failed", "dropped"}

func (s WebhookStatus) String() string {
	if int(s) < len(webhookStatusNames) {
		return webhookStatusNames[s]
	}
	return "WebhookStatus(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the status's name.
func (s WebhookStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseWebhookStatus reads a status name, case-insensitively; "" is
// WebhookAny. Anything else is an invalid-parameter *Error.
func ParseWebhookStatus(name string) (WebhookStatus, error) {
	for i, n := range webhookStatusNames {
		if strings.EqualFold(n, name) {
			return WebhookStatus(i), nil
		}
	}
	return WebhookAny, errorf(CodeInvalidParameter, http.StatusBadRequest,
		"Status must be one of pending, delivered, failed, dropped")
}

// WebhookKind names the callback a delivery is for, in the debug listing.
type WebhookKind string

// The callbacks Super SIM makes.
const (
	WebhookSimUpdate        WebhookKind = "sim_update"          // CallbackUrl of POST /v1/Sims/{Sid}
	WebhookSmsCommandStatus WebhookKind = "sms_command_status"  // CallbackUrl of POST /v1/SmsCommands
	WebhookIPCommandStatus  WebhookKind = "ip_command_status"   // CallbackUrl of POST /v1/IpCommands
	WebhookFleetSmsCommand  WebhookKind = "fleet_sms_command"   // a Fleet's sms_commands_url (mobile originated)
	WebhookFleetIPCommand   WebhookKind = "fleet_ip_command"    // a Fleet's ip_commands_url (mobile originated)
	WebhookESimProfile      WebhookKind = "esim_profile_status" // CallbackUrl of POST /v1/ESimProfiles
)

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	Attempt    int           // 1 for the first
	Time       time.Time     // when the request started
	Duration   time.Duration // until the response headers, or the error
	HTTPStatus int           // 0 when no response came
	Error      string        // "" when a response came
}

// WebhookDelivery is one callback and every attempt to deliver it.
type WebhookDelivery struct {
	ID               string
	Kind             WebhookKind // "" when the sender gave none
	URL              string      // as configured
	Method           string      // GET or POST
	Params           url.Values
	IdempotencyToken string
	Status           WebhookStatus
	Reason           string // why it failed or was dropped
	Created          time.Time
	Updated          time.Time
	Attempts         []WebhookAttempt
}

// WebhookQuery selects deliveries for Control.WebhookDeliveries.
type WebhookQuery struct {
	Status WebhookStatus // WebhookAny: every status
	Kind   WebhookKind   // "": every kind
	Limit  int           // ≤ 0: no limit beyond the history kept
}

// WebhookDeliveries returns the callbacks delivered, being delivered or
// given up on, newest first, from the last DefaultWebhookHistory.
func (c *Control) WebhookDeliveries(q WebhookQuery) []WebhookDelivery {
	return c.hooks.list(q)
}

// retryClass is a kind of failed attempt, matching Twilio's rp values.
type retryClass uint8

const (
	retryConnect retryClass = 1 << iota // ct: no connection (dial, DNS, TLS)
	retryRead                           // rt: no response in time, or it broke off
	retry4xx                            // 4xx other than 429
	retry429                            // 429 Too Many Requests
	retry5xx                            // 5xx
)

// webhookPolicy is how one delivery is attempted.
type webhookPolicy struct {
	attempts int           // in all, ≥ 1
	retryOn  retryClass    // failures worth another attempt
	timeout  time.Duration // per attempt
	total    time.Duration // for all attempts and waits; 0: unbounded
}

func defaultWebhookPolicy() webhookPolicy {
	return webhookPolicy{
		attempts: DefaultWebhookAttempts,
		retryOn:  retryConnect | retryRead | retry429 | retry5xx,
		timeout:  webhookTimeout,
	}
}

// override applies Twilio's connection overrides from a URL fragment
// (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
// Values out of range are ignored, as is the whole key when it is unknown.
func (p webhookPolicy) override(fragment string) webhookPolicy {
	if fragment == "" {
		return p
	}
	q, err := url.ParseQuery(fragment)
	if err != nil {
		return p
	}
	ms := func(key string) (time.Duration, bool) {
		n, err := strconv.Atoi(q.Get(key))
		if err != nil || n < 100 || n > 15000 {
			return 0, false
		}
		return time.Duration(n) * time.Millisecond, true
	}
	if n, err := strconv.Atoi(q.Get("rc")); err == nil && n >= 0 && n <= webhookMaxRetries {
		p.attempts = n + 1
	}
	if q.Has("rp") {
		var on retryClass
		ok := true
		for _, v := range strings.Split(q.Get("rp"), ",") {
			switch strings.TrimSpace(v) {
			case "ct":
				on |= retryConnect
			case "rt":
				on |= retryRead
			case "4xx":
				on |= retry4xx | retry429
			case "5xx":
				on |= retry5xx
			case "all":
				on |= retryConnect | retryRead | retry4xx | retry429 | retry5xx
			default:
				ok = false
			}
		}
		if ok {
			p.retryOn = on
		}
	}
	if d, ok := ms("rt"); ok {
		p.timeout = d
	}
	if d, ok := ms("tt"); ok {
		p.total = d
	}
	return p
}

// delivery is a callback on its way; its exported record is guarded by
// webhooks.mu, the rest is fixed when it is queued.
type delivery struct {
	rec       WebhookDelivery
	endpoint  string // the URL requested: without fragment, with the query for GET
	body      string // POST form
	signature string
	policy    webhookPolicy
}

// webhookOption configures webhooks; tests use them to shrink bounds and
// waits.
type webhookOption func(*webhooks)

func withWebhookQueue(n int) webhookOption {
	return func(w *webhooks) { w.queue = make(chan *delivery, n) }
}
func withWebhookWorkers(n int) webhookOption { return func(w *webhooks) { w.workers = n } }
func withWebhookHistory(n int) webhookOption {
	return func(w *webhooks) { w.history = make([]*delivery, n) }
}
func withWebhookPolicy(p webhookPolicy) webhookOption {
	return func(w *webhooks) { w.policy = p }
}
func withWebhookBackoff(f func(attempt int) time.Duration) webhookOption {
	return func(w *webhooks) { w.backoff = f }
}
func withWebhookCloseGrace(d time.Duration) webhookOption {
	return func(w *webhooks) { w.grace = d }
}

// withWebhookInline delivers callbacks through rt on clock instead of by
// workers on the wall clock: each callback is attempted by a timer of clock
// due at once, retries wait on clock, timestamps read clock, and the
// idempotency token derives from the delivery's sequence number. On a
// virtual clock, delivery is then part of the simulation: callbacks arrive
// at virtual instants, in the order they are made, and replay identically.
func withWebhookInline(clock Clock, rt http.RoundTripper) webhookOption {
	return func(w *webhooks) {
		w.clock, w.now = clock, clock.Now
		w.client = &http.Client{Transport: rt}
	}
}

// webhookBackoff waits 1 s after the first attempt, then doubles, up to 8 s.
func webhookBackoff(attempt int) time.Duration {
	return time.Second << min(attempt-1, 3)
}

// webhooks delivers callbacks from a bounded queue with a fixed pool of
// workers, signed as Twilio signs them. Its goroutines start with the first
// callback; close stops them and waits.
type webhooks struct {
	client  *http.Client
	logger  *slog.Logger
	queue   chan *delivery
	workers int
	policy  webhookPolicy
	backoff func(attempt int) time.Duration
	grace   time.Duration
	now     func() time.Time
	clock   Clock // set: deliver inline on this clock (see withWebhookInline)

	ctx    context.Context // cancelled at the end of close's grace
	cancel context.CancelFunc
	stop   chan struct{} // closed when close begins
	start  sync.Once
	wg     sync.WaitGroup

	mu      sync.Mutex
	closing bool
	seq     uint64
	history []*delivery // ring of the latest deliveries
	next    int         // history index of the next record
}

func newWebhooks(client *http.Client, logger *slog.Logger, opts ...webhookOption) *webhooks {
	if client == nil {
		client = &http.Client{Timeout: webhookTimeout}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &webhooks{
		client:  client,
		logger:  logger,
		queue:   make(chan *delivery, DefaultWebhookQueue),
		workers: DefaultWebhookWorkers,
		policy:  defaultWebhookPolicy(),
		backoff: webhookBackoff,
		grace:   webhookCloseGrace,
		now:     time.Now,
		ctx:     ctx,
		cancel:  cancel,
		stop:    make(chan struct{}),
		history: make([]*delivery, DefaultWebhookHistory),
	}
	for _, o := range opts {
		o(w)
	}
	w.workers = max(w.workers, 1)
	if len(w.history) == 0 {
		w.history = make([]*delivery, 1)
	}
	return w
}

// sendEvent delivers params to target with method (GET: query string,
// POST: form), signed with authToken, as a callback of kind (named in the
// debug listing). It never blocks, and returns the delivery's ID.
func (w *webhooks) sendEvent(kind WebhookKind, authToken, target, method string, params url.Values) string {
	now := w.now().UTC()
	d := &delivery{rec: WebhookDelivery{
		Kind: kind, URL: target, Method: webhookMethod(method), Params: cloneValues(params),
		IdempotencyToken: idempotencyToken(), Status: WebhookPending, Created: now, Updated: now,
	}}
	prepErr := d.prepare(authToken, w.policy)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	d.rec.ID = fmt.Sprintf("WH%032x", w.seq)
	if w.clock != nil {
		d.rec.IdempotencyToken = seqToken(w.seq)
	}
	w.history[w.next] = d
	w.next = (w.next + 1) % len(w.history)
	switch {
	case prepErr != nil:
		w.finishLocked(d, WebhookDropped, prepErr.Error())
	case w.closing:
		w.finishLocked(d, WebhookDropped, "not queued: shutting down")
	case w.clock != nil:
		w.clock.AfterFunc(0, func() { w.deliverInline(d, 1) })
	default:
		w.start.Do(func() {
			for range w.workers {
				w.wg.Add(1)
				go w.work()
			}
		})
		select {
		case w.queue <- d:
		default:
			w.finishLocked(d, WebhookDropped, fmt.Sprintf("not queued: queue full (%d waiting)", cap(w.queue)))
		}
	}
	return d.rec.ID
}

// prepare fixes the request's URL, body and signature.
func (d *delivery) prepare(authToken string, policy webhookPolicy) error {
	u, err := url.Parse(d.rec.URL)
	if err != nil {
		return fmt.Errorf("bad callback URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("bad callback URL %q: want an absolute http or https URL", d.rec.URL)
	}
	d.policy = policy.override(u.Fragment)
	// The URL as configured, less the fragment a client never sends.
	d.endpoint, _, _ = strings.Cut(d.rec.URL, "#")
	if d.rec.Method == http.MethodGet {
		if enc := d.rec.Params.Encode(); enc != "" {
			sep := "?"
			if strings.Contains(d.endpoint, "?") {
				sep = "&"
				if strings.HasSuffix(d.endpoint, "?") || strings.HasSuffix(d.endpoint, "&") {
					sep = ""
				}
			}
			d.endpoint += sep + enc
		}
		d.signature = Signature(authToken, d.endpoint, nil)
		return nil
	}
	d.body = d.rec.Params.Encode()
	d.signature = Signature(authToken, d.endpoint, d.rec.Params)
	return nil
}

func (w *webhooks) work() {
	defer w.wg.Done()
	for {
		select {
		case d := <-w.queue:
			w.run(d)
		case <-w.stop:
			for {
				select {
				case d := <-w.queue:
					w.run(d)
				default:
					return
				}
			}
		}
	}
}

// run delivers d unless close's grace is over.
func (w *webhooks) run(d *delivery) {
	if w.ctx.Err() != nil {
		w.finish(d, WebhookDropped, "not attempted: shutting down")
		return
	}
	w.deliver(d)
}

// attemptResult is what one attempt came to.
type attemptResult struct {
	ok         bool
	class      retryClass // of a failure
	retryAfter time.Duration
	reason     string
}

func (w *webhooks) deliver(d *delivery) {
	var deadline time.Time
	if d.policy.total > 0 {
		deadline = w.now().Add(d.policy.total)
	}
	for n := 1; ; n++ {
		res := w.attempt(d, n, deadline)
		wait, done := w.after(d, n, res, deadline)
		if done {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.stop:
			t.Stop()
			w.finish(d, WebhookFailed, res.reason+" (retry abandoned: shutting down)")
			return
		}
	}
}

// deliverInline makes attempt n of d on w.clock and schedules the next one.
func (w *webhooks) deliverInline(d *delivery, n int) {
	w.mu.Lock()
	closing := w.closing
	w.mu.Unlock()
	if closing {
		w.finish(d, WebhookDropped, "not attempted: shutting down")
		return
	}
	var deadline time.Time
	if d.policy.total > 0 {
		deadline = d.rec.Created.Add(d.policy.total)
	}
	if wait, done := w.after(d, n, w.attempt(d, n, deadline), deadline); !done {
		w.clock.AfterFunc(wait, func() { w.deliverInline(d, n+1) })
	}
}

// after settles d after attempt n came to res: it finishes d and reports
// done, or returns how long to wait for the next attempt.
func (w *webhooks) after(d *delivery, n int, res attemptResult, deadline time.Time) (wait time.Duration, done bool) {
	switch {
	case res.ok:
		w.finish(d, WebhookDelivered, "")
		return 0, true
	case w.ctx.Err() != nil:
		w.finish(d, WebhookFailed, res.reason+" (abandoned: shutting down)")
		return 0, true
	case n >= d.policy.attempts || d.policy.retryOn&res.class == 0:
		w.finish(d, WebhookFailed, res.reason)
		w.logger.Warn("callback failed", "url", d.rec.URL, "attempts", n, "reason", res.reason)
		return 0, true
	}
	wait = w.backoff(n)
	if res.retryAfter > wait {
		wait = min(res.retryAfter, webhookMaxRetryAfter)
	}
	if !deadline.IsZero() && w.now().Add(wait).After(deadline) {
		w.finish(d, WebhookFailed, res.reason+" (no time left for a retry)")
		return 0, true
	}
	return wait, false
}

// attempt makes request n of d and records it.
func (w *webhooks) attempt(d *delivery, n int, deadline time.Time) attemptResult {
	ctx, cancel := context.WithTimeout(w.ctx, d.policy.timeout)
	defer cancel()
	if !deadline.IsZero() {
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, deadline)
		defer c2()
	}
	var body io.Reader
	method := http.MethodGet
	if d.rec.Method != http.MethodGet {
		method, body = http.MethodPost, strings.NewReader(d.body)
	}
	start := w.now()
	a := WebhookAttempt{Attempt: n, Time: start.UTC()}
	var res attemptResult
	req, err := http.NewRequestWithContext(ctx, method, d.endpoint, body)
	if err == nil {
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("X-Twilio-Signature", d.signature)
		req.Header.Set("I-Twilio-Idempotency-Token", d.rec.IdempotencyToken)
		req.Header.Set("User-Agent", webhookUserAgent)
		req.Header.Set("Accept", "*/*")
		var resp *http.Response
		resp, err = w.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookBodyDiscard))
			resp.Body.Close()
			a.HTTPStatus = resp.StatusCode
			res = classifyStatus(resp)
		}
	}
	a.Duration = w.now().Sub(start)
	if err != nil {
		a.Error = err.Error()
		res = attemptResult{class: classifyError(err), reason: err.Error()}
	}
	w.mu.Lock()
	d.rec.Attempts = append(d.rec.Attempts, a)
	d.rec.Updated = w.now().UTC()
	w.mu.Unlock()
	return res
}

func classifyStatus(resp *http.Response) attemptResult {
	code := resp.StatusCode
	res := attemptResult{ok: code/100 == 2, reason: "HTTP " + strconv.Itoa(code)}
	switch {
	case code == http.StatusTooManyRequests:
		res.class = retry429
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			res.retryAfter = time.Duration(s) * time.Second
		}
	case code/100 == 4:
		res.class = retry4xx
	case code/100 == 5:
		res.class = retry5xx
	}
	return res
}

// classifyError tells a connection that was never made, TLS handshake
// included (Twilio's ct), from one that gave no timely response (rt).
func classifyError(err error) retryClass {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return retryConnect
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return retryConnect
	}
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	if errors.As(err, &rh) || errors.As(err, &cv) {
		return retryConnect
	}
	return retryRead
}

func (w *webhooks) finish(d *delivery, st WebhookStatus, reason string) {
	w.mu.Lock()
	w.finishLocked(d, st, reason)
	w.mu.Unlock()
}

func (w *webhooks) finishLocked(d *delivery, st WebhookStatus, reason string) {
	d.rec.Status, d.rec.Reason, d.rec.Updated = st, reason, w.now().UTC()
}

// list returns copies of the recorded deliveries matching q, newest first.
func (w *webhooks) list(q WebhookQuery) []WebhookDelivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []WebhookDelivery
	for i := range len(w.history) {
		d := w.history[(w.next-1-i+2*len(w.history))%len(w.history)]
		if d == nil {
			break
		}
		if q.Status != WebhookAny && d.rec.Status != q.Status || q.Kind != "" && d.rec.Kind != q.Kind {
			continue
		}
		r := d.rec
		r.Params = cloneValues(r.Params)
		r.Attempts = slices.Clone(r.Attempts)
		out = append(out, r)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out
}

// close stops taking callbacks, lets the workers finish for up to the
// grace period, then cancels what is left and waits for them.
func (w *webhooks) close() {
	w.mu.Lock()
	if !w.closing {
		w.closing = true
		close(w.stop)
	}
	w.mu.Unlock()
	t := time.AfterFunc(w.grace, w.cancel)
	w.wg.Wait()
	t.Stop()
	w.cancel()
}

func webhookMethod(m string) string {
	if strings.EqualFold(m, http.MethodGet) {
		return http.MethodGet
	}
	return http.MethodPost
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// idempotencyToken returns a random UUID (version 4). The format of
// Twilio's own tokens is not documented.
func idempotencyToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// seqToken is a UUID (version 4 layout) derived from a delivery's sequence
// number, for inline delivery, where a run must replay identically.
func seqToken(seq uint64) string {
	b := sha1.Sum([]byte("fleetsim webhook " + strconv.FormatUint(seq, 10)))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Signature computes X-Twilio-Signature: base64 HMAC-SHA1, keyed with the
// auth token, of the URL followed by each POST parameter's name and value in
// name order; a name given more than once adds its distinct values in order.
// For GET, pass the full URL with its query string and no params.
func Signature(authToken, target string, params url.Values) string {
	var b strings.Builder
	b.WriteString(target)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := slices.Compact(slices.Sorted(slices.Values(params[k])))
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
