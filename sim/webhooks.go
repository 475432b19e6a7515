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
	mrand "math/rand/v2"
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
// webhooks. Sending never blocks the caller: a callback is put on the queue
// of its destination (scheme, host and port of its URL) and delivered from
// there, so a slow or dead receiver only delays its own callbacks.
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
//   - Queues. Each destination has its own FIFO queue, at most 1,000
//     callbacks long, and at most 4 callbacks in flight (retries and the
//     waits between them included); at most 10,000 callbacks wait in all
//     and at most 256 are in flight in all. Destinations with callbacks
//     waiting take free delivery slots in turn (round robin), so a receiver
//     that never answers holds at most its own 4 slots. A callback that
//     finds its destination's queue or the whole queue full is dropped:
//     recorded as dropped in the debug listing, counted in WebhookStats and
//     logged (the 1st, 2nd, 4th, 8th… drop of a destination). A destination
//     whose queue is empty and that has nothing in flight is freed; its
//     counters stay (for the first 1,000 destinations; later ones are
//     counted together as "other").
//   - Back-off. The wait before a retry is drawn between half and all of
//     1 s, 2 s, 4 s, 8 s (jitter, so that retries to a recovering receiver
//     spread out), from a hash of a seed, the delivery's sequence number
//     and the attempt: random per process on the wall clock, fixed with
//     WithWebhookTransport so that virtual runs replay identically.
//   - Shutdown. close stops taking callbacks, lets delivery go on with what
//     is queued or in flight for up to 2 s, abandons waiting retries at
//     once, then cancels whatever is left and waits for the goroutines.
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
	webhookTimeout          = 15 * time.Second // per attempt, connection included
	DefaultWebhookQueue     = 10000            // callbacks waiting, all destinations together
	DefaultWebhookDestQueue = 1000             // callbacks waiting for one destination
	DefaultWebhookWorkers   = 4                // callbacks in flight to one destination
	DefaultWebhookInFlight  = 256              // callbacks in flight, all destinations together
	DefaultWebhookAttempts  = 3
	DefaultWebhookHistory   = 1000
	webhookCloseGrace       = 2 * time.Second
	webhookMaxRetryAfter    = 30 * time.Second
	webhookUserAgent        = "TwilioProxy/1.1"
	webhookMaxRetries       = 5 // Twilio's bound on the rc override
	webhookBodyDiscard      = 64 << 10
	webhookMaxTracked       = 1000             // destinations with counters of their own
	webhookOther            = "other"          // the destination the others are counted under
	webhookInlineSeed       = 0x666c656574736d // jitter seed of inline delivery
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
	Destination      string      // scheme://host:port it goes to; "" for a bad URL
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

// WebhookCounts are the figures of webhook delivery, for all destinations
// or one. Queued and InFlight are gauges; the rest count up from the start.
type WebhookCounts struct {
	Queued    int    // waiting in a queue
	InFlight  int    // being attempted, or waiting for a retry
	Attempts  uint64 // HTTP requests made
	Delivered uint64 // callbacks that got a 2xx
	Failed    uint64 // callbacks given up on after one or more attempts
	Dropped   uint64 // callbacks never attempted: queue full, bad URL, shutting down
}

// WebhookDestinationStats are the figures of one destination.
type WebhookDestinationStats struct {
	Destination string // scheme://host:port, or "other" for those past the first 1,000
	WebhookCounts
}

// WebhookStats are the figures of webhook delivery: in all (callbacks
// dropped for a bad URL count only there) and by destination, in
// destination order.
type WebhookStats struct {
	WebhookCounts
	Destinations []WebhookDestinationStats
}

// WebhookStats returns the figures of webhook delivery.
func (c *Control) WebhookStats() WebhookStats { return c.hooks.stats() }

func (w *webhooks) stats() WebhookStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := WebhookStats{WebhookCounts: w.total.counts()}
	st.Queued, st.InFlight = w.queued, w.inFlight
	st.Destinations = make([]WebhookDestinationStats, 0, len(w.counts))
	at := make(map[*webhookCounters]int, len(w.counts))
	for key, c := range w.counts {
		at[c] = len(st.Destinations)
		st.Destinations = append(st.Destinations, WebhookDestinationStats{Destination: key, WebhookCounts: c.counts()})
	}
	for _, ds := range w.dests { // a destination past the first 1,000 shares "other"'s counters
		i := at[ds.counts]
		st.Destinations[i].Queued += len(ds.queue)
		st.Destinations[i].InFlight += ds.inFlight
	}
	slices.SortFunc(st.Destinations, func(a, b WebhookDestinationStats) int { return strings.Compare(a.Destination, b.Destination) })
	return st
}

func (c *webhookCounters) counts() WebhookCounts {
	return WebhookCounts{Attempts: c.attempts, Delivered: c.delivered, Failed: c.failed, Dropped: c.dropped}
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
	seq       uint64
	endpoint  string // the URL requested: without fragment, with the query for GET
	body      string // POST form
	signature string
	policy    webhookPolicy
	counts    *webhookCounters // of its destination; nil for a bad URL
}

// webhookOption configures webhooks; tests use them to shrink bounds and
// waits.
type webhookOption func(*webhooks)

func withWebhookQueue(n int) webhookOption     { return func(w *webhooks) { w.maxQueued = n } }
func withWebhookDestQueue(n int) webhookOption { return func(w *webhooks) { w.maxDestQueued = n } }
func withWebhookWorkers(n int) webhookOption   { return func(w *webhooks) { w.perDest = n } }
func withWebhookInFlight(n int) webhookOption  { return func(w *webhooks) { w.maxInFlight = n } }
func withWebhookHistory(n int) webhookOption {
	return func(w *webhooks) { w.history = make([]*delivery, n) }
}
func withWebhookPolicy(p webhookPolicy) webhookOption {
	return func(w *webhooks) { w.policy = p }
}
func withWebhookBackoff(f func(seq uint64, attempt int) time.Duration) webhookOption {
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
		w.backoff = jitteredBackoff(webhookInlineSeed)
	}
}

// jitteredBackoff waits between half and all of 1 s after the first
// attempt, doubling up to 8 s, drawn from a hash of seed, the delivery's
// sequence number and the attempt: the same for the same three.
func jitteredBackoff(seed uint64) func(seq uint64, attempt int) time.Duration {
	return func(seq uint64, attempt int) time.Duration {
		base := time.Second << min(attempt-1, 3)
		h := seed ^ seq*0x9e3779b97f4a7c15 ^ uint64(attempt)*0xc2b2ae3d27d4eb4f
		h ^= h >> 33
		h *= 0xff51afd7ed558ccd
		h ^= h >> 33
		h *= 0xc4ceb9fe1a85ec53
		h ^= h >> 33
		half := base / 2
		return half + time.Duration(h%uint64(half+1)).Truncate(time.Millisecond)
	}
}

// webhooks delivers callbacks from per-destination queues, signed as
// Twilio signs them. Each callback taken off a queue is delivered by a
// goroutine of its own, at most perDest per destination and maxInFlight in
// all; close stops them and waits.
type webhooks struct {
	client        *http.Client
	logger        *slog.Logger
	maxQueued     int
	maxDestQueued int
	perDest       int
	maxInFlight   int
	policy        webhookPolicy
	backoff       func(seq uint64, attempt int) time.Duration
	grace         time.Duration
	now           func() time.Time
	clock         Clock // set: deliver inline on this clock (see withWebhookInline)

	ctx    context.Context // cancelled at the end of close's grace
	cancel context.CancelFunc
	stop   chan struct{} // closed when close begins
	wg     sync.WaitGroup

	mu       sync.Mutex
	closing  bool
	seq      uint64
	history  []*delivery // ring of the latest deliveries
	next     int         // history index of the next record
	dests    map[string]*destination
	ready    []*destination // destinations that may start a callback, in turn
	queued   int            // callbacks waiting, all destinations
	inFlight int            // callbacks being delivered, all destinations
	total    webhookCounters
	counts   map[string]*webhookCounters // by destination, at most webhookMaxTracked+1
}

// destination is the queue of one scheme://host:port; it exists while it
// has callbacks waiting or in flight.
type destination struct {
	key      string
	queue    []*delivery // FIFO
	inFlight int
	ready    bool // in webhooks.ready
	counts   *webhookCounters
}

// webhookCounters count what became of the callbacks of a destination, or
// of all.
type webhookCounters struct {
	attempts, delivered, failed, dropped uint64
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
		client:        client,
		logger:        logger,
		maxQueued:     DefaultWebhookQueue,
		maxDestQueued: DefaultWebhookDestQueue,
		perDest:       DefaultWebhookWorkers,
		maxInFlight:   DefaultWebhookInFlight,
		policy:        defaultWebhookPolicy(),
		backoff:       jitteredBackoff(mrand.Uint64()),
		grace:         webhookCloseGrace,
		now:           time.Now,
		ctx:           ctx,
		cancel:        cancel,
		stop:          make(chan struct{}),
		history:       make([]*delivery, DefaultWebhookHistory),
		dests:         make(map[string]*destination),
		counts:        make(map[string]*webhookCounters),
	}
	for _, o := range opts {
		o(w)
	}
	w.perDest = max(w.perDest, 1)
	w.maxInFlight = max(w.maxInFlight, 1)
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
		Status: WebhookPending, Created: now, Updated: now,
	}}
	prepErr := d.prepare(authToken, w.policy)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	d.seq = w.seq
	d.rec.ID = fmt.Sprintf("WH%032x", w.seq)
	if w.clock != nil {
		d.rec.IdempotencyToken = seqToken(w.seq)
	} else {
		d.rec.IdempotencyToken = idempotencyToken()
	}
	if prepErr == nil {
		d.counts = w.countsLocked(d.rec.Destination)
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
		w.enqueueLocked(d)
	}
	return d.rec.ID
}

// countsLocked returns the counters of destination key.
func (w *webhooks) countsLocked(key string) *webhookCounters {
	if c, ok := w.counts[key]; ok {
		return c
	}
	if len(w.counts) >= webhookMaxTracked {
		key = webhookOther
		if c, ok := w.counts[key]; ok {
			return c
		}
	}
	c := new(webhookCounters)
	w.counts[key] = c
	return c
}

// enqueueLocked puts d on its destination's queue, or drops it when that
// queue or all of them are full, and starts what may start.
func (w *webhooks) enqueueLocked(d *delivery) {
	key := d.rec.Destination
	ds := w.dests[key]
	if ds == nil {
		ds = &destination{key: key, counts: d.counts}
		w.dests[key] = ds
	}
	var full string
	switch {
	case len(ds.queue) >= w.maxDestQueued:
		full = fmt.Sprintf("not queued: destination queue full (%d waiting for %s)", len(ds.queue), key)
	case w.queued >= w.maxQueued:
		full = fmt.Sprintf("not queued: queue full (%d waiting)", w.queued)
	}
	if full != "" {
		w.finishLocked(d, WebhookDropped, full)
		if n := d.counts.dropped; n&(n-1) == 0 { // 1, 2, 4, 8…
			w.logger.Warn("callback dropped", "destination", key, "url", d.rec.URL, "reason", full, "dropped", n)
		}
		w.releaseLocked(ds)
		return
	}
	ds.queue = append(ds.queue, d)
	w.queued++
	w.markReadyLocked(ds)
	w.dispatchLocked()
}

// markReadyLocked puts ds in turn to start a callback if it may.
func (w *webhooks) markReadyLocked(ds *destination) {
	if !ds.ready && len(ds.queue) > 0 && ds.inFlight < w.perDest {
		ds.ready = true
		w.ready = append(w.ready, ds)
	}
}

// releaseLocked frees ds once it has nothing waiting or in flight.
func (w *webhooks) releaseLocked(ds *destination) {
	if len(ds.queue) == 0 && ds.inFlight == 0 && !ds.ready && w.dests[ds.key] == ds {
		delete(w.dests, ds.key)
	}
}

// dispatchLocked starts callbacks while slots are free, one destination
// after the other.
func (w *webhooks) dispatchLocked() {
	for w.inFlight < w.maxInFlight && len(w.ready) > 0 {
		ds := w.ready[0]
		w.ready[0] = nil
		w.ready = w.ready[1:]
		ds.ready = false
		if len(ds.queue) == 0 || ds.inFlight >= w.perDest {
			w.releaseLocked(ds)
			continue
		}
		d := ds.queue[0]
		ds.queue[0] = nil
		ds.queue = ds.queue[1:]
		if len(ds.queue) == 0 {
			ds.queue = nil // let the array go
		}
		w.queued--
		ds.inFlight++
		w.inFlight++
		w.markReadyLocked(ds)
		w.wg.Add(1)
		go w.run(ds, d)
	}
	if len(w.ready) == 0 {
		w.ready = nil
	}
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
	d.rec.Destination = destinationOf(u)
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

// destinationOf is the scheme://host:port a callback URL goes to, the
// port written out.
func destinationOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// run delivers d, a callback of ds, unless close's grace is over, then
// frees its slot and starts what may start.
func (w *webhooks) run(ds *destination, d *delivery) {
	defer w.wg.Done()
	if w.ctx.Err() != nil {
		w.finish(d, WebhookDropped, "not attempted: shutting down")
	} else {
		w.deliver(d)
	}
	w.mu.Lock()
	ds.inFlight--
	w.inFlight--
	w.markReadyLocked(ds)
	w.releaseLocked(ds)
	w.dispatchLocked()
	w.mu.Unlock()
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
	wait = w.backoff(d.seq, n)
	if res.retryAfter > wait {
		wait = min(res.retryAfter, webhookMaxRetryAfter)
	}
	if !deadline.IsZero() && w.now().Add(wait).After(deadline) {
		w.finish(d, WebhookFailed, res.reason+" (no time left for a retry)")
		return 0, true
	}
	return wait, false
}

// attempt makes request n of d and records it. Inline, what it records
// reads only w.clock; the per-attempt timeout stays on the wall clock as a
// guard against a transport that never returns (a virtual clock does not
// move while the attempt runs inside its timer).
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
	w.mu.Lock()
	w.total.attempts++
	d.counts.attempts++
	w.mu.Unlock()
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
	w.total.add(st)
	if d.counts != nil {
		d.counts.add(st)
	}
}

func (c *webhookCounters) add(st WebhookStatus) {
	switch st {
	case WebhookDelivered:
		c.delivered++
	case WebhookFailed:
		c.failed++
	case WebhookDropped:
		c.dropped++
	}
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
