// Package modem is a virtual cellular modem: an AT command engine (V.250,
// 3GPP TS 27.007 and one real module's dialect) over any io.ReadWriter,
// and a virtual radio that scans, attaches and moves data as the Super
// SIM control plane allows. It asks the control plane for decisions
// through Core and never reaches into its storage.
package modem

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Core is the cellular core network as a modem meets it: *sim.Control.
type Core interface {
	AuthorizeAttach(iccid string, plmn sim.PLMN) (sim.Network, error)
	AuthorizeData(iccid string) error
	// DataAllowance is how many bytes the SIM may still move before the
	// data limit the network enforces now; 0 with an error once it may not.
	DataAllowance(iccid string) (int64, error)
	RecordUsage(ctx context.Context, r sim.UsageReport) error
	Subscribe(fn func(sim.Event)) (cancel func())
}

// MaxLine is the longest command line body accepted; a longer one is
// answered with ERROR.
const MaxLine = 2048

// Timing is how long the virtual radio's procedures take.
type Timing struct {
	Boot   time.Duration // power-up to RDY
	Scan   time.Duration // a network scan (AT+COPS=? and before an automatic attach)
	Attach time.Duration // one attach attempt
	Data   time.Duration // PDP context activation
}

// DefaultTiming feels like a real LTE-M module in good coverage.
var DefaultTiming = Timing{Boot: 2 * time.Second, Scan: 3 * time.Second, Attach: 2 * time.Second, Data: 500 * time.Millisecond}

// DefaultAuthCache is how long a visited network caches a SIM's
// authorisation, counted from the attach and renewed while the NAP allows
// the network: a network removed from the NAP serves the SIM until the
// cache expires. At most a week.
const (
	DefaultAuthCache = 24 * time.Hour
	MaxAuthCache     = 7 * 24 * time.Hour
)

// Config describes one modem. Card, IMEI and Country are the modem's own;
// the rest is what the modems of a fleet share (Env).
type Config struct {
	Card      sim.Card
	IMEI      string
	Profile   Profile
	Core      Core
	World     *World
	Clock     sim.Clock
	Timing    Timing
	AuthCache time.Duration
	Country   string // ISO 3166 alpha-2 (or a World location) where the modem starts
	Hub       *Hub   // delivers the core's events; without one the modem subscribes itself
	Logger    *slog.Logger
	Stats     *Stats // counts attaches, rejections and detaches, if set (shared by a fleet)
}

// Env is what the modems of a fleet share: the core, the world, the
// clock, the profile and the settings of Config other than Card, IMEI and
// Country. Every modem points at one instead of keeping a copy: a fleet
// keeps a million modems. Never changed once made, but for auth.
type Env struct {
	profile   Profile
	core      Core
	world     *World
	clock     sim.Clock
	timing    Timing
	authCache time.Duration
	hub       *Hub
	logger    *slog.Logger
	stats     *Stats

	// The optional parts of the profile, found once; nil (false) where it
	// has none. The core's are asked for where they are used (ipCore,
	// smsCore).
	defaults   profileDefaults // power-up settings other than the engine's (SIMCom)
	cmeTexts   map[int]string  // the profile's own +CME ERROR texts, over 27.007's (at3gpp.CMEText)
	silentBoot bool            // the UART reads nothing while booting (u-blox)
	portNames  []string        // the profile's ports, the main port first
	urcName    string          // the port indications go to at first
	urcIndex   int             // urcName's index in portNames, or -1
	cards      cardCore        // the core, if it gives card keys

	auth authQueue // the modems' cached authorisations (the one mutable part)
}

// NewEnv returns the shared part of cfg, with the defaults New gives;
// cfg.Card, cfg.IMEI and cfg.Country are ignored.
func NewEnv(cfg Config) *Env {
	e := &Env{
		profile: cfg.Profile, core: cfg.Core, world: cfg.World, clock: cfg.Clock, timing: cfg.Timing,
		authCache: cfg.AuthCache, hub: cfg.Hub, logger: cfg.Logger, stats: cfg.Stats,
	}
	if e.profile == nil {
		e.profile = Generic{}
	}
	if e.clock == nil {
		e.clock = sim.WallClock{}
	}
	if e.timing == (Timing{}) {
		e.timing = DefaultTiming
	}
	if e.authCache <= 0 {
		e.authCache = DefaultAuthCache
	}
	if e.logger == nil {
		e.logger = discardLogger
	}
	e.portNames, e.urcName = portNames(e.profile)
	e.urcIndex = slices.Index(e.portNames, e.urcName)
	e.defaults, _ = e.profile.(profileDefaults)
	if t, ok := e.profile.(interface{ cmeTexts() map[int]string }); ok {
		e.cmeTexts = t.cmeTexts()
	}
	_, e.silentBoot = e.profile.(silentBooter)
	e.cards, _ = e.core.(cardCore)
	return e
}

// Modem is one virtual modem with a SIM inside.
type Modem struct {
	env  *Env
	card card

	// exec is the module's one command processor: commands from its ports
	// run one at a time. Taken before mu, never while holding it.
	exec sync.Mutex

	mu     sync.Mutex
	st     state
	ports  []*port                    // the profile's ports, the main port first
	boots  uint32                     // power-ups so far (a wrap after 4G power cycles harms nothing)
	gen    uint32                     // the registration procedure in progress; bumping it cancels
	sel    *selection                 // the procedure's outcome, which a command may be waiting for
	timers [numCommonTimers]sim.Timer // the rarer kinds are in rare
	authAt atomic.Int64               // when the cached authorisation expires, in Unix nanoseconds; 0: none (see authQueue)
	closed bool
	cur    uint8 // the port a command runs for while one runs, as its index+1; 0 otherwise (see running)
	imei   imeiKind
	urcTo  urcChoice  // the port indications go to (AT+QURCCFG="urcport")
	index  int32      // the card's index, for IMEI(index) (imeiIndex)
	rare   *modemRare // made when first needed
	// escape is the working state of the session whose guard time after
	// "+++" runs, if one does, and escapes counts the guard times armed
	// (see armEscape). In Modem's size class: no byte more per modem.
	escape  *sessionWork
	escapes uint32
	// pend is the pending outcome of the working state of the session
	// running a command, for later to fill (see resume); m.exec guards it.
	pend *pending
	tap  atomic.Pointer[Tap] // made by the first Tap call
	sock *socketState        // allocated on first use: most modems open no socket
	sms  *smsState           // allocated on first use
}

// card is what a modem reads of its SIM card (sim.Card without what only
// the control plane reads; its index is Modem.index). The ICCID is read
// for every request to the core; the IMSI seldom, so it is kept in a word
// and formatted when read (see Modem.imsi).
type card struct {
	ICCID string
	imsi  imsiWord
	key   sim.CardKey // the core's key of the card (see cardCore), made in New
}

// cardCore is a core that resolves a card once (*sim.Control): a modem
// keeps its card's key and names the card by it in the calls it makes for
// every data session, not by the ICCID the core would parse each time.
type cardCore interface {
	CardKey(iccid string) sim.CardKey
	AuthorizeCardData(k sim.CardKey, iccid string) error
}

// authorizeData is the core's AuthorizeData of the modem's card.
func (m *Modem) authorizeData() error {
	if c := m.env.cards; c != nil {
		return c.AuthorizeCardData(m.card.key, m.card.ICCID)
	}
	return m.env.core.AuthorizeData(m.card.ICCID)
}

// imsiWord is an IMSI of up to 16 digits: their value, and their count in
// the top byte; imsiKept for one that is not digits alone, which the
// modem keeps as it is in rare.imsi.
type imsiWord uint64

const imsiKept imsiWord = 1 << 63

// packIMSI packs s if it is up to 16 digits (an IMSI has 15 at most).
func packIMSI(s string) (imsiWord, bool) {
	v, ok := digits(s, 16)
	if !ok {
		return 0, false
	}
	return imsiWord(v) | imsiWord(len(s))<<56, true
}

// String is the IMSI w packs.
func (w imsiWord) String() string {
	n := int(w >> 56)
	if n == 0 {
		return ""
	}
	var b [16]byte
	v := uint64(w & (1<<56 - 1))
	for i := n - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:n])
}

// imsi is the IMSI of the modem's SIM.
func (m *Modem) imsi() string {
	if m.card.imsi == imsiKept {
		return m.rare.imsi // made in New, never replaced
	}
	return m.card.imsi.String()
}

// modemRare is what few modems of a fleet need.
type modemRare struct {
	// imei is the modem's IMEI when it is not IMEI(index), the one
	// most modems have and need not keep (see imeiOf).
	imei    string
	imsi    string // the SIM's IMSI when it does not pack (see imsiWord)
	unsub   func() // ends the core subscription of a modem without a hub
	limitAt int64  // when timerLimit fires, in Unix nanoseconds
	// timers are the running timers of the kinds from numCommonTimers on.
	timers [numTimers - numCommonTimers]sim.Timer
}

// unused reports whether r holds nothing: no IMEI or IMSI, no subscription, no
// timer running (limitAt means something only while timerLimit runs).
func (r *modemRare) unused() bool {
	return r.imei == "" && r.imsi == "" && r.unsub == nil && r.timers == [len(r.timers)]sim.Timer{}
}

// rareOf returns m.rare, made now if it was not yet. Callers hold m.mu
// (or have the modem to themselves, in New).
func (m *Modem) rareOf() *modemRare {
	if m.rare == nil {
		m.rare = new(modemRare)
	}
	return m.rare
}

// ipCore is the core's session addresses and IP Commands (sockets.go), if it has them.
func (m *Modem) ipCore() IPCore { c, _ := m.env.core.(IPCore); return c }

// smsCore is the core's SMS both ways (sms.go), if it has them.
func (m *Modem) smsCore() smsCore { c, _ := m.env.core.(smsCore); return c }

// imeiKind is where a modem's IMEI is.
type imeiKind uint8

const (
	imeiNone  imeiKind = iota // it has none
	imeiIndex                 // IMEI(index)
	imeiKept                  // in rare.imei
)

// imeiOf is the modem's IMEI.
func (m *Modem) imeiOf() string {
	switch m.imei {
	case imeiIndex:
		return IMEI(int(m.index))
	case imeiKept:
		return m.rare.imei // made in New, never replaced
	}
	return ""
}

// discardLogger is every modem's logger when its Config has none: one,
// not one per modem. Never changed.
var discardLogger = slog.New(slog.DiscardHandler)

// New returns a powered-off modem; Serve powers it on. Modems of a fleet
// share one Env: NewEnv once, then Env.New for each.
func New(cfg Config) *Modem {
	return NewEnv(cfg).New(cfg.Card, cfg.IMEI, cfg.Country)
}

// New returns a powered-off modem of the environment e with its own SIM
// card, IMEI and starting country (see Config).
func (e *Env) New(c sim.Card, imei, country string) *Modem {
	m := &Modem{env: e, card: card{ICCID: c.ICCID}}
	if e.cards != nil {
		m.card.key = e.cards.CardKey(c.ICCID)
	}
	if w, ok := packIMSI(c.IMSI); ok {
		m.card.imsi = w
	} else {
		m.card.imsi, m.rareOf().imsi = imsiKept, c.IMSI
	}
	switch {
	case imei == "":
	case imei == IMEI(c.Index) && c.Index == int(int32(c.Index)):
		m.imei, m.index = imeiIndex, int32(c.Index)
	default:
		m.imei, m.rareOf().imei = imeiKept, imei
	}
	m.newPorts()
	m.st = initialState(country)
	m.repoint()
	switch {
	case e.hub != nil:
		e.hub.join(m) // Close leaves it
	case e.core != nil:
		unsub := e.core.Subscribe(m.onEvent)
		m.mu.Lock() // its events may have come already
		m.rareOf().unsub = unsub
		m.mu.Unlock()
	}
	return m
}

// ICCID returns the ICCID of the modem's SIM.
func (m *Modem) ICCID() string { return m.card.ICCID }

// Serve powers the modem on and answers AT commands read from rw on its
// main port until reading fails (close rw to stop it) or ctx ends. All the
// port's output, responses and unsolicited result codes alike, goes
// through one writer, so an indication never lands inside a response.
// ServePort serves the modem's other ports.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error {
	return m.serve(ctx, m.ports[0], rw, true)
}

// serve answers AT commands on port p, with the port's own writer and
// session, powering the modem on first if on is set.
func (m *Modem) serve(ctx context.Context, p *port, rw io.ReadWriter, on bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := m.connect(p, rw, &served{ctx: ctx, wake: make(chan struct{}, 1)})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.wr.run(ctx) }()
	if on {
		m.PowerCycle()
	}

	buf := make([]byte, 4096)
	var err error
	for ctx.Err() == nil {
		var n int
		n, err = rw.Read(buf)
		if n > 0 {
			s.input(buf[:n])
		}
		if err != nil {
			break
		}
	}
	m.disconnect(s)
	cancel()
	wg.Wait()
	if ctx.Err() != nil || err == io.EOF {
		return nil
	}
	return err
}

// connect starts a session reading for port p, its output written to w,
// ending the port's previous session. srv is what a served port's writer
// goroutine needs (Modem.serve); nil for a link's host, which takes
// everything at once.
func (m *Modem) connect(p *port, w io.Writer, srv *served) *session {
	s := newSession(m, p, w, srv)
	m.mu.Lock()
	old := p.sess
	p.sess, p.out, p.used, p.held = s, &s.wr, false, nil
	m.repoint()
	m.mu.Unlock()
	if old != nil {
		old.close()
	}
	return s
}

// disconnect ends session s; when it is the main port's, the modem stops
// with it (its timers), as when its UART closes.
func (m *Modem) disconnect(s *session) {
	s.close()
	m.mu.Lock()
	if p := s.p; p.sess == s {
		p.sess, p.out, p.held = nil, nil, nil
		if p == m.ports[0] {
			m.stopTimers()
		}
		m.repoint()
	}
	m.mu.Unlock()
}

// Link is a host connected to a modem in process, without a transport or
// a goroutine: Write runs the modem's side of the input at once, and the
// modem's output goes to the function given to Connect as it is written.
// On a virtual clock a whole fleet of linked modems runs in one goroutine.
// A Link is its port's session: it costs nothing more.
type Link session

// Connect links a host to the modem's main port in process; PowerCycle
// then powers it on. out receives every byte the port writes, in order; it
// runs with the modem's locks held, so it must not call back into the
// modem (queue the bytes, or react from a timer of the modem's clock).
// The bytes are the modem's, valid only during the call and not to be
// changed: copy what is kept. A response comes in one call, its final result last.
// ConnectPort links the modem's other ports.
func (m *Modem) Connect(out func([]byte)) *Link {
	return (*Link)(m.connect(m.ports[0], funcWriter(out), nil))
}

// ConnectWriter is Connect with a writer in place of the function: its
// Write gets what out would, under the same rules, and must take all of
// it. A host that is a pointer already (a simulated device) links without
// a function value to keep.
func (m *Modem) ConnectWriter(w io.Writer) *Link {
	return (*Link)(m.connect(m.ports[0], w, nil))
}

// Write sends b to the modem as if over its UART. The modem does not keep
// b: a host may write every command from one reused buffer.
func (l *Link) Write(b []byte) (int, error) {
	(*session)(l).input(b)
	return len(b), nil
}

// Close disconnects the host; the modem stops as when its UART closes.
func (l *Link) Close() error {
	l.m.disconnect((*session)(l))
	return nil
}

// funcWriter is a transport that hands output to a function: it never
// blocks, so the writer never queues and needs no goroutine.
type funcWriter func([]byte)

func (f funcWriter) Write(b []byte) (int, error) { f(b); return len(b), nil }

// Close stops the modem's timers and its subscription to the core, closes
// its sockets and waits for their goroutines, whether or not a host is
// still connected.
func (m *Modem) Close() {
	m.mu.Lock()
	m.closed = true
	m.stopTimers()
	var unsub func()
	if m.rare != nil {
		unsub = m.rare.unsub
	}
	m.mu.Unlock()
	switch {
	case m.env.hub != nil:
		m.env.hub.leave(m)
	case unsub != nil:
		unsub()
	}
	m.closeSockets()
}

// The modem's timers: one of each kind runs at a time.
type timerKind uint8

const (
	timerBoot  timerKind = iota // power-up to RDY
	timerReg                    // the registration procedure's next step
	timerLimit                  // a new data limit reaches the SIM (a spread propagation)
	numTimers

	// numCommonTimers: the kinds before it are in Modem.timers, the rarer
	// ones in modemRare (an idle modem keeps 16 bytes fewer). The guard
	// time after "+++" is the session's (see armEscape).
	numCommonTimers = timerLimit
)

// timer is the running timer of kind k, or nil. Callers hold m.mu.
func (m *Modem) timer(k timerKind) sim.Timer {
	if k < numCommonTimers {
		return m.timers[k]
	}
	if m.rare == nil {
		return nil
	}
	return m.rare.timers[k-numCommonTimers]
}

// setTimer keeps t as the running timer of kind k (nil: none). Callers
// hold m.mu.
func (m *Modem) setTimer(k timerKind, t sim.Timer) {
	switch {
	case k < numCommonTimers:
		m.timers[k] = t
	case t != nil:
		m.rareOf().timers[k-numCommonTimers] = t
	case m.rare != nil:
		m.rare.timers[k-numCommonTimers] = nil
		if m.rare.unused() { // it held only the timer
			m.rare = nil
		}
	}
}

func (m *Modem) stopTimers() {
	for k := range numTimers {
		m.stopTimer(timerKind(k))
	}
	m.stopEscape()
	m.stopAuth()
	m.gen++
	m.abandonSelection()
}

// stopTimer stops the timer of a kind, if it runs. Callers hold m.mu.
func (m *Modem) stopTimer(k timerKind) {
	if t := m.timer(k); t != nil {
		t.Stop()
		m.setTimer(k, nil)
	}
}

// abandonSelection ends the network selection in progress, if any, with
// phone failure for a command waiting for its outcome (a power cycle from
// the control API during AT+COPS=1 must not leave the host waiting
// forever). Callers hold m.mu.
func (m *Modem) abandonSelection() {
	if m.sel != nil {
		m.endSelection(m.sel, cme(CMEPhoneFailure))
	}
}

// after runs f under m.mu once d has passed, unless the timer of its kind
// is replaced or stopped, or the modem stops. Callers hold m.mu.
func (m *Modem) after(k timerKind, d time.Duration, f func()) {
	if m.closed {
		return
	}
	m.stopTimer(k)
	var t sim.Timer
	t = m.env.clock.AfterFunc(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.timer(k) != t {
			return
		}
		m.setTimer(k, nil)
		f()
	})
	m.setTimer(k, t)
}

// urc queues an unsolicited result code for the indication port (see
// urcPort), framed as that port's settings say; it waits there while the
// port carries data. Callers hold m.mu.
func (m *Modem) urc(lines ...string) {
	p := m.urcPort()
	if p == nil || len(lines) == 0 {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(p.st.frame(l))
	}
	m.toPort(p, b.String())
}

// urcIf queues an unsolicited result code unless it is empty. Callers hold m.mu.
func (m *Modem) urcIf(line string) {
	if line != "" {
		m.urc(line)
	}
}

// raw queues already framed output: a running command's (a prompt, its
// echo) goes to the command's port, anything else to the indication port.
// Callers hold m.mu.
func (m *Modem) raw(s string) {
	p := m.running()
	if p == nil {
		p = m.urcPort()
	}
	m.toPort(p, s)
}

// writer is a port's only writer to its transport. Output is written
// in the order it is sent; when nothing is queued or being written and the
// transport can write without blocking, send writes at once instead of
// waking the writer's goroutine, and queues only what did not fit.
//
// A link's host takes everything at once: its writer never queues and
// needs no goroutine, so it is a few words in its session (the part a
// goroutine needs, served, is a served port's alone).
type writer struct {
	w    io.Writer
	mu   sync.Mutex
	srv  *served // nil for a link's host
	nb   bool    // w is a nonBlockingWriter (asked again when used: an interface less to keep), or all
	all  bool    // w takes everything at once (a link's host): nothing queues
	busy bool    // run is writing
	done bool    // run has stopped: nothing more is written
}

// served is what the writer of a served port (Modem.serve) has beside
// the transport: the output waiting for it and its goroutine's wake-up,
// and the context the port's commands run in.
type served struct {
	ctx  context.Context
	wake chan struct{} // holds a token while the queue may be non-empty
	q    outQueue      // guarded by writer.mu
}

// outQueue is a ring of output waiting for a writer's transport, grown on
// demand.
type outQueue struct {
	q       [][]byte
	head, n int
}

// queued is how many chunks of output wait. Callers hold w.mu.
func (w *writer) queued() int {
	if w.srv == nil {
		return 0
	}
	return w.srv.q.n
}

// writerQueue bounds what waits for a host that does not read; past it the
// oldest-first order is kept and new output is dropped, as a real module's
// UART buffer overflows.
const writerQueue = 1024

// writerChunk is how large queued output may grow by joining later output.
const writerChunk = 4096

// nonBlockingWriter is a transport that can write without blocking; it
// returns how much it wrote, and errWouldBlock when nothing fit.
type nonBlockingWriter interface {
	tryWrite(b []byte) (int, error)
}

var errWouldBlock = errors.New("write would block")

// init makes wr the writer of transport w: a served port's with srv, a
// link's host's (nil srv), which takes everything at once.
func (wr *writer) init(w io.Writer, srv *served) {
	wr.w, wr.srv = w, srv
	if srv == nil {
		wr.nb, wr.all = true, true
		return
	}
	_, wr.nb = w.(nonBlockingWriter)
}

// tryWrite writes b without blocking (w.nb): a link's function directly,
// a link's writer whole, any other through nonBlockingWriter.
func (w *writer) tryWrite(b []byte) (int, error) {
	if f, ok := w.w.(funcWriter); ok {
		f(b)
		return len(b), nil
	}
	if w.all {
		return w.w.Write(b)
	}
	return w.w.(nonBlockingWriter).tryWrite(b)
}

// send writes b, or queues a copy of it.
func (w *writer) send(b []byte) {
	if len(b) == 0 {
		return
	}
	w.mu.Lock()
	if w.nb && !w.busy && !w.done && w.queued() == 0 {
		n, err := w.tryWrite(b)
		if err == nil && n == len(b) {
			w.mu.Unlock()
			return
		}
		if err != nil && !errors.Is(err, errWouldBlock) {
			w.done = true
			w.mu.Unlock()
			return
		}
		b = b[n:]
	}
	if w.srv == nil { // a link's host that did not take it all: lost
		w.mu.Unlock()
		return
	}
	// Small output joins the newest queued output: echo of input read a
	// byte at a time would otherwise fill the queue one byte per entry
	// while the host is still reading. The caller keeps b: what is queued
	// is a copy.
	oq := &w.srv.q
	if oq.n > 0 {
		if t := (oq.head + oq.n - 1) % len(oq.q); len(oq.q[t])+len(b) <= writerChunk {
			oq.q[t] = append(oq.q[t], b...)
			w.mu.Unlock()
			return
		}
	}
	if oq.n == writerQueue {
		w.mu.Unlock()
		return
	}
	if oq.n == len(oq.q) {
		q := make([][]byte, max(4, 2*len(oq.q)))
		for i := range oq.n {
			q[i] = oq.q[(oq.head+i)%len(oq.q)]
		}
		oq.q, oq.head = q, 0
	}
	oq.q[(oq.head+oq.n)%len(oq.q)] = append([]byte(nil), b...)
	oq.n++
	w.mu.Unlock()
	select {
	case w.srv.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest queued output and marks the writer busy, or
// marks it idle when there is none.
func (w *writer) next() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.queued() == 0 || w.done {
		w.busy = false
		return nil
	}
	oq := &w.srv.q
	b := oq.q[oq.head]
	oq.q[oq.head] = nil
	oq.head = (oq.head + 1) % len(oq.q)
	oq.n--
	w.busy = true
	return b
}

func (w *writer) stop() {
	w.mu.Lock()
	w.done, w.busy = true, false
	w.mu.Unlock()
}

func (w *writer) run(ctx context.Context) {
	defer w.stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.srv.wake:
		}
		for b := w.next(); b != nil; b = w.next() {
			if ctx.Err() != nil {
				return
			}
			if _, err := w.w.Write(b); err != nil {
				return
			}
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func quote(s string) string { return `"` + s + `"` }

func atoiArg(a Arg, lo, hi int) (int, error) {
	n, err := strconv.Atoi(a.Value)
	if err != nil || n < lo || n > hi {
		return 0, cme(CMEIncorrectParameters)
	}
	return n, nil
}
