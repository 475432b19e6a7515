package sim

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the control plane's timing.
const (
	DefaultUpdateDelay      = 3 * time.Second
	DefaultLimitPropagation = 5 * time.Minute
	MaxLimitPropagation     = 15 * time.Minute
	DefaultCards            = 10
)

// Control is the Super SIM control plane: accounts, the card inventory, Sims,
// Fleets, Network Access Profiles, the Networks catalog, usage and the
// decisions the cellular core takes for a modem. It is safe for concurrent
// use; every change is durable in its Store before a method returns.
type Control struct {
	cfg     config
	catalog *Catalog
	store   Store
	discard bool // store is a DiscardStore
	hooks   *webhooks
	commits *committer            // nil with a DiscardStore
	fault   atomic.Pointer[Error] // set once a commit failed: the control plane stopped
	shared  *replica              // with a SharedStore
	stats   stats                 // counters for Stats: atomic, outside mu

	mu         sync.RWMutex
	closed     bool
	seq        int64
	main       *Account
	accounts   table[Account]
	sims       simTable
	fleets     table[Fleet]
	naps       table[NAP]
	sms        table[SmsCommand]
	ips        table[IPCommand]
	esims      table[ESimProfile]
	settings   table[SettingsUpdate]
	usage      *usageStore
	inv        inventory
	esimCards  map[string]Card   // eSIM profiles' cards known to the network, by ICCID
	ids        []string          // interned account and Fleet SIDs of the Sim records; ids[0] is ""
	idIdx      map[string]uint32 // index in ids
	cardSims   []int32           // by inventory card: index+1 of its Sim's record, or 0
	extra      []string          // ICCIDs of Sims' cards outside the inventory
	extraIdx   map[string]int32  // index in extra
	extraSims  []int32           // by extra card: index+1 of its Sim's record
	names      map[string]string // kind|account|unique name → sid
	timers     map[string]Timer  // pending Sim update and eSIM timers by sid
	lastUpdate *SimUpdate        // see shareUpdate
	subs       map[int]func(Event)
	sessions   sessionSet // the cards with a data session: network state, never stored
	nextSub    int

	loading     bool              // in load: see putSettings
	baseLoaded  []*SettingsUpdate // first settings updates loaded before their Sims
	usageLoaded []*Usage          // usage loaded before its Sims
}

type config struct {
	clock       Clock
	rand        io.Reader
	updateDelay time.Duration
	propagation time.Duration
	spreadMax   time.Duration // with a spread, the longest a SIM waits for a new limit
	spreadSeed  uint64
	cardSeed    string
	cards       int
	mainSid     string
	mainToken   string
	catalog     *Catalog
	logger      *slog.Logger
	httpClient  *http.Client
	hookRT      http.RoundTripper
	observe     func(time.Duration, int)
	usageHourly time.Duration
	usageDaily  time.Duration
}

// Option configures a Control.
type Option func(*config)

// WithClock sets the clock (default the wall clock).
func WithClock(c Clock) Option { return func(o *config) { o.clock = c } }

// WithRand sets the source of SIDs and auth tokens (default crypto/rand).
// A seeded source makes a run reproducible.
func WithRand(r io.Reader) Option { return func(o *config) { o.rand = r } }

// WithUpdateDelay sets how long an asynchronous Sim update stays scheduled.
func WithUpdateDelay(d time.Duration) Option { return func(o *config) { o.updateDelay = d } }

// WithLimitPropagation sets how long a Fleet's new data limit takes to be
// enforced; the seed allows at most 15 minutes.
func WithLimitPropagation(d time.Duration) Option { return func(o *config) { o.propagation = d } }

// WithLimitPropagationSpread spreads a new data limit over the SIMs: each
// enforces it after a delay of its own, at most the propagation delay for
// nine SIMs in ten and at most max for all, derived from seed, the change
// and the SIM's ICCID (the same seed replays the same delays).
func WithLimitPropagationSpread(max time.Duration, seed uint64) Option {
	return func(o *config) { o.spreadMax, o.spreadSeed = max, seed }
}

// WithCards sets the seed and size of the SIM card inventory.
func WithCards(seed string, n int) Option {
	return func(o *config) { o.cardSeed, o.cards = seed, n }
}

// WithMainAccount sets the main account's credentials. Without it the
// stored main account is used, or new credentials are generated.
func WithMainAccount(sid, token string) Option {
	return func(o *config) { o.mainSid, o.mainToken = sid, token }
}

// WithCatalog sets the Networks catalog (default DefaultCatalog).
func WithCatalog(c *Catalog) Option { return func(o *config) { o.catalog = c } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *config) { o.logger = l } }

// WithHTTPClient sets the client that delivers callbacks.
func WithHTTPClient(c *http.Client) Option { return func(o *config) { o.httpClient = c } }

// WithWebhookTransport makes the control plane deliver callbacks through rt
// on its clock (WithClock), one timer per attempt, instead of over the
// network by workers on the wall clock. With a virtual clock, callbacks
// then arrive at virtual instants in the order they are made, and a run
// replays them identically. Signing, retries and the debug listing are
// unchanged.
func WithWebhookTransport(rt http.RoundTripper) Option {
	return func(o *config) { o.hookRT = rt }
}

// WithCommitObserver makes the control plane call fn after every commit
// to its store with how long the commit took and how many writes it made
// durable together (group commit), e.g. to export store latency. fn runs
// in the committing goroutine and must not block.
func WithCommitObserver(fn func(d time.Duration, writes int)) Option {
	return func(o *config) { o.observe = fn }
}

// New loads the control plane's state from store and starts it. The Control
// owns the store and closes it in Close.
func New(ctx context.Context, store Store, opts ...Option) (*Control, error) {
	cfg := config{
		clock:       WallClock{},
		rand:        rand.Reader,
		updateDelay: DefaultUpdateDelay,
		propagation: DefaultLimitPropagation,
		cardSeed:    "fleetsim",
		cards:       DefaultCards,
		logger:      slog.New(slog.DiscardHandler),
		usageHourly: DefaultUsageHourly,
		usageDaily:  DefaultUsageDaily,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.propagation < 0 || cfg.propagation > MaxLimitPropagation {
		return nil, fmt.Errorf("data limit propagation %v is outside 0..%v", cfg.propagation, MaxLimitPropagation)
	}
	if cfg.spreadMax != 0 && (cfg.spreadMax < cfg.propagation || cfg.spreadMax > MaxLimitPropagation) {
		return nil, fmt.Errorf("data limit propagation spread %v is outside %v..%v", cfg.spreadMax, cfg.propagation, MaxLimitPropagation)
	}
	if cfg.updateDelay < 0 {
		return nil, fmt.Errorf("update delay %v is negative", cfg.updateDelay)
	}
	if cfg.cards < 0 || cfg.cards > maxCards {
		return nil, fmt.Errorf("card inventory size %d is outside 0..%d", cfg.cards, maxCards)
	}
	if cfg.catalog == nil {
		cat, err := DefaultCatalog()
		if err != nil {
			return nil, err
		}
		cfg.catalog = cat
	}
	c := &Control{
		cfg:     cfg,
		catalog: cfg.catalog,
		store:   store,
		discard: store == Store(DiscardStore{}),
		hooks:   newWebhooks(cfg.httpClient, cfg.logger, hookOpts(cfg)...),
		usage:   newUsageStore(cfg.usageHourly, cfg.usageDaily),
		ids:     []string{""},
		idIdx:   map[string]uint32{"": 0},
		names:   make(map[string]string),
		timers:  make(map[string]Timer),
		subs:    make(map[int]func(Event)),
	}
	if ss, ok := store.(SharedStore); ok {
		c.shared = &replica{store: ss}
	} else if !c.discard {
		c.commits = newCommitter(store, cfg.observe, c.stop)
	}
	c.inv = newInventory(cfg.cardSeed, cfg.cards)
	c.cardSims = make([]int32, cfg.cards)
	if err := c.load(ctx); err != nil {
		c.closeCommits()
		return nil, err
	}
	c.finishLoad()
	if err := c.ensureMain(ctx); err != nil {
		c.closeCommits()
		return nil, err
	}
	c.mu.Lock()
	for i := int32(0); len(c.sims.pending) > 0 && int(i) < c.sims.len(); i++ {
		if p := c.sims.pending[c.sims.at(i).sid]; p != nil {
			c.armSimTimer(i, p.Due)
		}
	}
	for _, p := range c.esims.all() {
		if p.Status == "reserving" {
			c.armESimTimer(p.Sid, p.Due)
		}
	}
	for _, f := range c.fleets.all() {
		c.armLimitTimer(f.Sid)
	}
	c.resumeSmsCommands()
	c.mu.Unlock()
	if c.shared != nil {
		c.startReplica()
	}
	return c, nil
}

func hookOpts(cfg config) []webhookOption {
	if cfg.hookRT == nil {
		return nil
	}
	return []webhookOption{withWebhookInline(cfg.clock, cfg.hookRT)}
}

// Close stops the timers, waits for callbacks in flight and closes the store.
func (c *Control) Close() error {
	c.mu.Lock()
	c.closed = true
	for id, t := range c.timers {
		t.Stop()
		delete(c.timers, id)
	}
	c.mu.Unlock()
	c.stopReplica()
	c.closeCommits()
	c.hooks.close()
	return c.store.Close()
}

func (c *Control) closeCommits() {
	if c.commits != nil {
		c.commits.close()
	}
}

// stop is the fail-stop after a failed commit: see committer.
func (c *Control) stop(err *Error) {
	c.fault.Store(err)
	c.cfg.logger.Error("state store commit failed: the control plane refuses every request until restarted", "err", err)
}

// Sync brings the control plane up to date with its store before a
// request is served: a no-op unless the store is shared with other
// replicas. It returns Err once the control plane stopped.
func (c *Control) Sync(ctx context.Context) error {
	if err := c.Err(); err != nil {
		return err
	}
	if c.shared != nil {
		return c.syncShared(ctx)
	}
	return nil
}

// Err returns why the control plane stopped serving (its store failed a
// commit: memory may hold changes that are not durable), or nil. The API
// answers every request with this error once it is set.
func (c *Control) Err() error {
	if e := c.fault.Load(); e != nil {
		return e
	}
	return nil
}

// Catalog returns the Networks catalog.
func (c *Control) Catalog() *Catalog { return c.catalog }

// Now returns the control plane's current time.
func (c *Control) Now() time.Time { return c.cfg.clock.Now().UTC() }

func (c *Control) load(ctx context.Context) error {
	c.loading = true
	apply := func(r Record) error { return c.applyRecord(r, false) }
	if c.shared != nil {
		v, err := c.shared.store.Snapshot(ctx, apply)
		c.shared.version.Store(v)
		return err
	}
	return c.store.Load(ctx, apply)
}

// applyRecord puts a stored record in memory: while loading, or live, when
// a replica replays another's change (then a resource may replace an
// older version of itself, and timers follow the state). Callers hold c.mu
// when live.
func (c *Control) applyRecord(r Record, live bool) error {
	if r.Data == nil {
		return fmt.Errorf("state: %s %s: deleting a record is not supported", r.Kind, r.ID)
	}
	var err error
	switch r.Kind {
	case "account":
		err = loadInto(r, &c.accounts, func(a *Account) int64 { return a.Seq })
		if err == nil {
			if a := c.accounts.get(r.ID); a.IsMain() {
				c.main = a
			}
		}
	case "sim":
		s := new(Sim)
		if err = json.Unmarshal(r.Data, s); err == nil && s.Sid != r.ID {
			err = fmt.Errorf("the record holds Sim %s", s.Sid)
		}
		var i int32
		if err == nil {
			c.unindexSim(s.Sid)
			i, err = c.setSim(s, true)
		}
		if err == nil {
			c.index("sim", s.AccountSid, s.UniqueName, s.Sid)
			if live && s.Pending != nil {
				c.armSimTimer(i, s.Pending.Due)
			}
		}
	case "fleet":
		if old := c.fleets.get(r.ID); old != nil {
			c.unindex("fleet", old.AccountSid, old.UniqueName)
		}
		err = loadInto(r, &c.fleets, func(f *Fleet) int64 { return f.Seq })
		if err == nil {
			f := c.fleets.get(r.ID)
			c.index("fleet", f.AccountSid, f.UniqueName, f.Sid)
			f.Limits = trimLimits(f.Limits, c.Now()) // records from before the bound held every change
			if live {
				c.armLimitTimer(f.Sid)
			}
		}
	case "nap":
		if old := c.naps.get(r.ID); old != nil {
			c.unindex("nap", old.AccountSid, old.UniqueName)
		}
		err = loadInto(r, &c.naps, func(n *NAP) int64 { return n.Seq })
		if err == nil {
			n := c.naps.get(r.ID)
			c.index("nap", n.AccountSid, n.UniqueName, n.Sid)
			if live {
				for _, e := range n.Networks {
					c.seq = max(c.seq, e.Seq)
				}
			}
		}
	case "sms":
		err = loadInto(r, &c.sms, func(m *SmsCommand) int64 { return m.Seq })
	case "ip":
		err = loadInto(r, &c.ips, func(m *IPCommand) int64 { return m.Seq })
	case "esim":
		err = loadInto(r, &c.esims, func(p *ESimProfile) int64 { return p.Seq })
		if p := c.esims.get(r.ID); err == nil && p.ICCID != "" {
			// An available profile's card is known to the network, as
			// completeESim made it.
			if card := generateCard(c.cfg.cardSeed, esimCardBase+int(p.Seq)); card.ICCID == p.ICCID {
				c.byICCIDESim(card)
			}
		}
		if p := c.esims.get(r.ID); err == nil && live && p.Status == "reserving" {
			c.armESimTimer(p.Sid, p.Due)
		}
	case "settings":
		var u SettingsUpdate
		if err = json.Unmarshal(r.Data, &u); err == nil {
			c.putSettings(&u)
		}
	case "usage":
		var u Usage
		if err = json.Unmarshal(r.Data, &u); err == nil {
			if live {
				c.replayUsage(&u)
			} else {
				c.loadUsage(&u)
			}
		}
	default:
		return fmt.Errorf("state: unknown record kind %q", r.Kind)
	}
	if err != nil {
		return fmt.Errorf("state: %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

func loadInto[T any](r Record, t *table[T], seq func(*T) int64) error {
	v := new(T)
	if err := json.Unmarshal(r.Data, v); err != nil {
		return err
	}
	t.loaded(r.ID, v, seq(v))
	return nil
}

// finishLoad puts the loaded tables in creation order and restores the
// sequence counter.
func (c *Control) finishLoad() {
	c.foldLoaded()
	c.loading = false
	c.accounts.sortOrder()
	moved := c.sims.sortOrder()
	c.reindexCards()
	c.usage.moved(moved)
	for _, u := range c.usageLoaded {
		c.loadUsage(u)
	}
	c.usageLoaded = nil
	c.fleets.sortOrder()
	c.naps.sortOrder()
	c.sms.sortOrder()
	c.ips.sortOrder()
	c.esims.sortOrder()
	c.settings.sortOrder()
	c.syncSeq()
	for _, n := range c.naps.all() {
		for _, e := range n.Networks {
			c.seq = max(c.seq, e.Seq)
		}
	}
}

// syncSeq keeps the sequence counter past every stored resource's.
func (c *Control) syncSeq() {
	for _, s := range []int64{c.accounts.maxSeq, c.sims.maxSeq, c.fleets.maxSeq, c.naps.maxSeq, c.sms.maxSeq, c.ips.maxSeq, c.esims.maxSeq, c.settings.maxSeq} {
		c.seq = max(c.seq, s)
	}
}

// untime forgets the timer of sid once it has fired. The map is made anew
// when it empties, so that a burst of timers (a whole fleet's updates)
// leaves no memory behind. Callers hold c.mu.
func (c *Control) untime(sid string) {
	delete(c.timers, sid)
	if len(c.timers) == 0 {
		c.timers = make(map[string]Timer)
	}
}

func (c *Control) nextSeq() int64 {
	c.seq++
	return c.seq
}

// newSid returns prefix followed by 32 lower-case hex digits. Callers hold c.mu.
func (c *Control) newSid(prefix string) string {
	b := c.newSid16()
	return prefix + hex.EncodeToString(b[:])
}

// newSid16 draws the 16 bytes of a new SID, as newSid does. Callers hold c.mu.
func (c *Control) newSid16() sid16 {
	var b sid16
	if _, err := io.ReadFull(c.cfg.rand, b[:]); err != nil {
		panic(fmt.Sprintf("sim: random source failed: %v", err))
	}
	return b
}

func nameKey(kind, account, name string) string { return kind + "|" + account + "|" + name }

func (c *Control) index(kind, account, name, sid string) {
	if name != "" {
		c.names[nameKey(kind, account, name)] = sid
	}
}

func (c *Control) unindex(kind, account, name string) {
	if name != "" {
		delete(c.names, nameKey(kind, account, name))
	}
}

// txn collects the records of one change and the in-memory updates that
// follow once the store has made them durable.
type txn struct {
	discard bool // the store keeps nothing: no need to encode
	recs    []Record
	apply   []func()
	events  []Event  // published once durable, before after; replayed by other replicas
	after   []func() // run after the lock is released: callbacks
}

// txns are write's transactions, kept for reuse with the capacity of
// their lists: a set-up makes millions of writes of one or two changes,
// and each made a transaction and its lists (about 200 bytes) to throw
// away.
var txns = sync.Pool{New: func() any { return new(txn) }}

// release empties t and keeps it for another write. Records go with their
// batch to the committer: their list is never reused; nor are lists grown
// past a few entries by a large change.
func (t *txn) release() {
	const keep = 16
	clear(t.apply)
	clear(t.events)
	clear(t.after)
	*t = txn{apply: t.apply[:0], events: t.events[:0], after: t.after[:0]}
	if cap(t.apply) > keep || cap(t.events) > keep || cap(t.after) > keep {
		*t = txn{}
	}
	txns.Put(t)
}

// event raises e once the change is durable.
func (t *txn) event(e Event) { t.events = append(t.events, e) }

func (t *txn) put(kind, id string, v any, apply func()) {
	if t.discard {
		t.apply = append(t.apply, apply)
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sim: encoding %s %s: %v", kind, id, err))
	}
	t.recs = append(t.recs, Record{Kind: kind, ID: id, Data: data})
	t.apply = append(t.apply, apply)
}

// write runs fn under the write lock and applies what it put in memory at
// once; it returns, and runs t.after (events, callbacks), only once the
// committer made the records durable, without holding the lock meanwhile.
func (c *Control) write(ctx context.Context, fn func(t *txn) error) error {
	if c.shared != nil {
		return c.writeShared(ctx, fn)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errorf(20503, http.StatusServiceUnavailable, "the control plane is shutting down")
	}
	if e := c.fault.Load(); e != nil {
		c.mu.Unlock()
		return e
	}
	t := txns.Get().(*txn)
	defer t.release()
	t.discard = c.discard
	if err := fn(t); err != nil {
		c.mu.Unlock()
		return err
	}
	for _, a := range t.apply {
		a()
	}
	var b *batch
	if len(t.recs) > 0 {
		b = c.commits.enqueue(t.recs)
	}
	c.mu.Unlock()
	if b != nil {
		<-b.done
		if b.err != nil {
			return b.err
		}
	}
	c.finish(t)
	return nil
}

// finish publishes the events of a durable write and runs its after funcs.
func (c *Control) finish(t *txn) {
	for _, e := range t.events {
		c.publish(e)
	}
	for _, a := range t.after {
		a()
	}
}

func (c *Control) putSim(t *txn, s *Sim) {
	t.put("sim", s.Sid, s, func() { c.keepSim(s) })
}

// putSimPending is putSim for a Sim whose update it schedules: the update
// completes at s.Pending.Due.
func (c *Control) putSimPending(t *txn, s *Sim) {
	t.put("sim", s.Sid, s, func() { c.armSimTimer(c.keepSim(s), s.Pending.Due) })
}

// keepSim is putSim's change in memory; it returns the index of the
// Sim's record.
func (c *Control) keepSim(s *Sim) int32 {
	c.unindexSim(s.Sid)
	i, err := c.setSim(s, false)
	if err != nil {
		panic(fmt.Sprintf("sim: keeping Sim %s: %v", s.Sid, err))
	}
	c.index("sim", s.AccountSid, s.UniqueName, s.Sid)
	return i
}

// unindexSim forgets the unique name of the Sim's stored version.
func (c *Control) unindexSim(sid string) {
	if i, ok := c.sims.lookup(sid); ok {
		r := c.sims.at(i)
		c.unindex("sim", c.ids[r.account], c.sims.names[r.sid])
	}
}

func (c *Control) putFleet(t *txn, f *Fleet) {
	t.put("fleet", f.Sid, f, func() {
		if old := c.fleets.get(f.Sid); old != nil {
			c.unindex("fleet", old.AccountSid, old.UniqueName)
		}
		c.fleets.set(f.Sid, f, f.Seq)
		c.index("fleet", f.AccountSid, f.UniqueName, f.Sid)
	})
}

func (c *Control) putNAP(t *txn, n *NAP) {
	t.put("nap", n.Sid, n, func() {
		if old := c.naps.get(n.Sid); old != nil {
			c.unindex("nap", old.AccountSid, old.UniqueName)
		}
		c.naps.set(n.Sid, n, n.Seq)
		c.index("nap", n.AccountSid, n.UniqueName, n.Sid)
	})
}

// table holds the resources of one kind in creation order: order and
// seqs are parallel, seqs increasing.
type table[T any] struct {
	byID   map[string]*T
	order  []string
	seqs   []int64
	maxSeq int64
}

func (t *table[T]) get(id string) *T {
	if t.byID == nil {
		return nil
	}
	return t.byID[id]
}

func (t *table[T]) set(id string, v *T, seq int64) {
	if t.byID == nil {
		t.byID = make(map[string]*T)
	}
	if _, ok := t.byID[id]; !ok {
		t.order = append(t.order, id)
		t.seqs = append(t.seqs, seq)
	}
	t.byID[id] = v
	t.maxSeq = max(t.maxSeq, seq)
}

// loaded adds a resource read from the store; sortOrder must follow.
func (t *table[T]) loaded(id string, v *T, seq int64) { t.set(id, v, seq) }

func (t *table[T]) sortOrder() {
	idx := make([]int, len(t.order))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(t.seqs[a], t.seqs[b]) })
	order, seqs := make([]string, len(idx)), make([]int64, len(idx))
	for i, j := range idx {
		order[i], seqs[i] = t.order[j], t.seqs[j]
	}
	t.order, t.seqs = order, seqs
}

// search returns the index in order of the first resource whose Seq is
// above seq.
func (t *table[T]) search(seq int64) int {
	i, found := slices.BinarySearch(t.seqs, seq)
	if found {
		i++
	}
	return i
}

// all returns the resources in creation order.
func (t *table[T]) all() []*T {
	out := make([]*T, len(t.order))
	for i, id := range t.order {
		out[i] = t.byID[id]
	}
	return out
}

// filter returns the resources for which keep is true, in creation order.
func (t *table[T]) filter(keep func(*T) bool) []*T {
	var out []*T
	for _, id := range t.order {
		if v := t.byID[id]; keep(v) {
			out = append(out, v)
		}
	}
	return out
}
