package modem

// The engine test harness: one modem served over net.Pipe, with a real
// control plane behind it. Other test files of the package may use it; its
// API is newHarness, the options below and the harness methods.
//
//	h := newHarness(t)                  // booted, echo off, registered on Vodafone UK
//	got := h.cmd("AT+CSQ")              // "\r\n+CSQ: 24,99\r\n\r\nOK\r\n"
//	h.waitURC("+CEREG:")                // the next +CEREG indication
//
// On the wall clock (the default) the radio runs with millisecond timings
// and every wait has a deadline. With withVClock the modem and the control
// plane share a virtual clock that moves only when the test calls advance
// or feed, so a test can assert when things happen to the nanosecond.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// harnessWait bounds every wait of the harness on the wall clock.
const harnessWait = 5 * time.Second

// harnessEpoch is where the virtual clock starts.
var harnessEpoch = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// Timings of the two clocks: milliseconds on the wall clock, a real
// module's on the virtual one.
var (
	harnessWallTiming = Timing{Boot: time.Millisecond, Scan: 5 * time.Millisecond, Attach: 5 * time.Millisecond, Data: time.Millisecond}
	harnessVTiming    = DefaultTiming
)

// The catalog networks the harness relies on, by PLMN.
var (
	plmnVodafoneUK = sim.PLMN{MCC: "234", MNC: "15"} // the harness NAP allows it
	plmnEEUK       = sim.PLMN{MCC: "234", MNC: "30"} // stronger than Vodafone, not allowed
)

// harness is a modem for card 0 served over net.Pipe, and the control plane
// it asks. Its fields are for reading; use the methods to talk to the modem.
type harness struct {
	t      testing.TB
	ctx    context.Context
	ctl    *sim.Control
	acct   *sim.Account
	nap    *sim.NAP   // allows Vodafone UK only
	fleet  *sim.Fleet // uses nap
	simSid string     // the Sim of card 0
	card   sim.Card
	vf     sim.Network // Vodafone UK (234-15)
	m      *Modem
	timing Timing
	clock  *testClock // nil on the wall clock
	conn   net.Conn   // the host's end of the pipe; nil with withLink
	link   *Link      // the host in process, with withLink

	mu      sync.Mutex
	out     []byte        // what the modem wrote and no helper consumed yet
	changed chan struct{} // closed and replaced whenever out grows
	rerr    error         // why reading stopped
	mark    int           // clock.armed entries before the last send
}

type harnessConfig struct {
	vclock    bool
	profile   string
	status    string // "new", "ready", "active" or "inactive"
	fleet     func(*sim.FleetParams)
	ctlOpts   []sim.Option
	authCache time.Duration
	link      bool
	hub       bool
}

// harnessOption configures newHarness.
type harnessOption func(*harnessConfig)

// withVClock runs the modem and the control plane on a virtual clock (see
// advance, awaitTimer and feed) with DefaultTiming and a 3 s update delay.
func withVClock() harnessOption { return func(c *harnessConfig) { c.vclock = true } }

// withProfile selects the modem profile by name (default "bg96").
func withProfile(name string) harnessOption { return func(c *harnessConfig) { c.profile = name } }

// withSimStatus leaves the Sim of card 0 in this status: "new" (registered
// only), "ready", "active" (the default) or "inactive". The harness waits
// for registration only when the status lets the SIM attach.
func withSimStatus(s string) harnessOption { return func(c *harnessConfig) { c.status = s } }

// withFleet edits the parameters the harness Fleet is created with.
func withFleet(edit func(*sim.FleetParams)) harnessOption {
	return func(c *harnessConfig) { c.fleet = edit }
}

// withControl adds options to sim.New (after the harness's own).
func withControl(opts ...sim.Option) harnessOption {
	return func(c *harnessConfig) { c.ctlOpts = append(c.ctlOpts, opts...) }
}

// withLink connects the host in process (Modem.Connect) instead of
// serving the modem over net.Pipe: no Serve, no session goroutine.
func withLink() harnessOption { return func(c *harnessConfig) { c.link = true } }

// withHub delivers the control plane's events through a Hub, as a fleet
// does, instead of the modem's own subscription.
func withHub() harnessOption { return func(c *harnessConfig) { c.hub = true } }

// withAuthCache sets Config.AuthCache.
func withAuthCache(d time.Duration) harnessOption { return func(c *harnessConfig) { c.authCache = d } }

// newHarness starts a control plane with a NAP allowing Vodafone UK, a
// Fleet using it and card 0's Sim in that Fleet, then serves a modem for
// card 0 in GB over net.Pipe. It returns once the modem has booted (RDY …
// APP RDY seen on a Quectel profile), echo is off (ATE0) and, when the Sim
// may attach, the modem is registered (roaming) on Vodafone UK. Cleanup
// closes the pipe, waits for Serve to return and closes the modem and the
// control plane.
func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	cfg := harnessConfig{profile: "bg96", status: "active"}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, ctx: ctx, changed: make(chan struct{}), timing: harnessWallTiming}
	ctlOpts := []sim.Option{sim.WithCards("modem", 10), sim.WithUpdateDelay(time.Millisecond)}
	if cfg.vclock {
		h.clock = newTestClock(harnessEpoch)
		h.timing = harnessVTiming
		ctlOpts = append(ctlOpts, sim.WithClock(h.clock), sim.WithUpdateDelay(sim.DefaultUpdateDelay))
	}
	ctl, err := sim.New(ctx, sim.NewMemStore(), append(ctlOpts, cfg.ctlOpts...)...)
	if err != nil {
		cancel()
		t.Fatalf("sim.New: %v", err)
	}
	h.ctl, h.acct = ctl, ctl.MainAccount()
	t.Cleanup(func() { ctl.Close() })
	t.Cleanup(cancel) // runs first: ends procedures the modem is waiting on

	var ok bool
	if h.vf, ok = ctl.Catalog().ByPLMN(plmnVodafoneUK); !ok {
		t.Fatalf("no catalog network has PLMN %s", plmnVodafoneUK)
	}
	if h.nap, err = ctl.CreateNAP(ctx, h.acct, nil, []string{h.vf.Sid}); err != nil {
		t.Fatalf("CreateNAP: %v", err)
	}
	fp := sim.FleetParams{NetworkAccessProfile: &h.nap.Sid}
	if cfg.fleet != nil {
		cfg.fleet(&fp)
	}
	if h.fleet, err = ctl.CreateFleet(ctx, h.acct, fp); err != nil {
		t.Fatalf("CreateFleet: %v", err)
	}
	h.card = ctl.Cards()[0].Card
	s, err := ctl.RegisterSim(ctx, h.acct, h.card.ICCID, h.card.RegistrationCode)
	if err != nil {
		t.Fatalf("RegisterSim: %v", err)
	}
	h.simSid = s.Sid
	switch cfg.status {
	case "new":
	case "ready", "active":
		h.setSimStatus(cfg.status, h.fleet.Sid)
	case "inactive":
		h.setSimStatus("active", h.fleet.Sid)
		h.setSimStatus("inactive", "")
	default:
		t.Fatalf("newHarness: unknown Sim status %q", cfg.status)
	}

	profile, err := ProfileByName(cfg.profile)
	if err != nil {
		t.Fatal(err)
	}
	var clock sim.Clock
	if h.clock != nil {
		clock = h.clock
	}
	var hub *Hub
	if cfg.hub {
		hub = NewHub(ctl)
		t.Cleanup(hub.Close) // after the modem's Close: cleanups run last first
	}
	h.m = New(Config{
		Card: h.card, IMEI: IMEI(0), Core: ctl, World: NewWorld(ctl.Catalog()), Clock: clock,
		Country: "GB", Profile: profile, Timing: h.timing, AuthCache: cfg.authCache, Hub: hub,
	})
	if cfg.link {
		h.link = h.m.Connect(h.output)
		h.m.PowerCycle()
		t.Cleanup(func() {
			cancel()
			h.link.Close()
			h.m.Close()
		})
		return h.boot(profile, cfg)
	}
	host, dev := net.Pipe()
	h.conn = host
	go h.readLoop()
	served := make(chan error, 1)
	go func() { served <- h.m.Serve(ctx, dev) }()
	t.Cleanup(func() {
		cancel()
		host.Close()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(harnessWait):
			t.Errorf("Serve did not return within %v of the pipe closing", harnessWait)
		}
		dev.Close()
		h.m.Close()
	})
	return h.boot(profile, cfg)
}

// boot waits for the modem to boot and register, with echo off.
func (h *harness) boot(profile Profile, cfg harnessConfig) *harness {
	t := h.t
	t.Helper()

	if h.clock != nil {
		h.awaitTimer(h.timing.Boot)
		h.advance(h.timing.Boot)
	}
	if urcs := profile.BootURCs(); len(urcs) > 0 {
		h.waitURC(urcs[len(urcs)-1])
	}
	h.waitAwake()
	if got := h.cmd("ATE0"); got != "ATE0\r\r\nOK\r\n" {
		t.Fatalf("ATE0 answered %q", got)
	}
	if cfg.status == "ready" || cfg.status == "active" {
		h.waitReg(RegRoaming)
	} else if h.clock != nil {
		h.advance(time.Minute) // let the attempt fail
	}
	return h
}

// waitAwake returns once the modem has powered up and reads its UART: a
// module silent at boot (u-blox) reads nothing until its boot time has
// passed.
func (h *harness) waitAwake() {
	h.t.Helper()
	deadline := time.Now().Add(harnessWait)
	up := func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return h.m.boots > 0
	}
	for !up() || h.m.deaf() {
		if h.clock != nil || time.Now().After(deadline) {
			h.t.Fatalf("the modem did not finish booting within %v", harnessWait)
		}
		time.Sleep(time.Millisecond) // poll interval on the wall clock
	}
}

// setSimStatus moves the Sim to status (with the Fleet, if not "") and
// waits until the asynchronous update has completed.
func (h *harness) setSimStatus(status, fleet string) {
	h.t.Helper()
	p := sim.SimParams{Status: &status}
	if fleet != "" {
		p.Fleet = &fleet
	}
	events := make(chan struct{}, 1)
	cancel := h.ctl.Subscribe(func(sim.Event) {
		select {
		case events <- struct{}{}:
		default:
		}
	})
	defer cancel()
	if _, _, err := h.ctl.UpdateSim(h.ctx, h.acct, h.simSid, p); err != nil {
		h.t.Fatalf("UpdateSim %s: %v", status, err)
	}
	if h.clock != nil {
		h.advance(sim.DefaultUpdateDelay)
	}
	deadline := time.After(harnessWait)
	for {
		s, err := h.ctl.Sim(h.acct, h.simSid)
		if err != nil {
			h.t.Fatalf("Sim: %v", err)
		}
		if s.Pending == nil && s.Status.String() == status {
			return
		}
		select {
		case <-events:
		case <-deadline:
			h.t.Fatalf("the Sim did not become %s within %v", status, harnessWait)
		}
	}
}

// output is the modem's output to a linked host (withLink).
func (h *harness) output(b []byte) {
	h.mu.Lock()
	h.out = append(h.out, b...)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *harness) readLoop() {
	b := make([]byte, 64<<10)
	for {
		n, err := h.conn.Read(b)
		h.mu.Lock()
		h.out = append(h.out, b[:n]...)
		if err != nil {
			h.rerr = err
		}
		close(h.changed)
		h.changed = make(chan struct{})
		h.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// send writes s to the modem as the host. On the virtual clock it also
// starts a new window for awaitTimer.
func (h *harness) send(s string) {
	h.t.Helper()
	if h.clock != nil {
		n := h.clock.count()
		h.mu.Lock()
		h.mark = n
		h.mu.Unlock()
	}
	if h.link != nil {
		h.link.Write([]byte(s))
		return
	}
	h.conn.SetWriteDeadline(time.Now().Add(harnessWait))
	if _, err := h.conn.Write([]byte(s)); err != nil {
		h.t.Fatalf("writing %q: %v", s, err)
	}
}

// sync returns once the modem has handled everything sent so far: an
// empty write completes only when Serve reads again, after the previous
// input went through the engine. Its output may still be on its way.
func (h *harness) sync() {
	h.t.Helper()
	if h.link != nil { // a linked host's write returns once the modem handled it
		return
	}
	h.conn.SetWriteDeadline(time.Now().Add(harnessWait))
	if _, err := h.conn.Write(nil); err != nil {
		h.t.Fatalf("the modem did not come back for input: %v", err)
	}
}

// feed writes b and returns once the modem has handled all of it. On the
// virtual clock it advances time by a minute whenever a timer is armed
// meanwhile, so that procedures (AT+COPS=?, ATD, attaches) complete; it
// fails the test if the modem stops reading for harnessWait (a hang).
func (h *harness) feed(b []byte) {
	h.t.Helper()
	if h.link != nil && h.clock == nil {
		h.link.Write(b)
		return
	}
	h.conn.SetWriteDeadline(time.Now().Add(harnessWait))
	done := make(chan error, 1)
	go func() {
		_, err := h.conn.Write(b)
		if err == nil {
			_, err = h.conn.Write(nil)
		}
		done <- err
	}()
	deadline := time.NewTimer(harnessWait)
	defer deadline.Stop()
	for {
		var armed <-chan struct{}
		if h.clock != nil {
			armed = h.clock.changedCh()
			h.clock.Advance(time.Minute)
		}
		select {
		case err := <-done:
			if err != nil {
				h.t.Fatalf("feeding %d bytes: %v (the modem stopped reading: a hang)", len(b), err)
			}
			return
		case <-armed:
		case <-deadline.C:
			h.t.Fatalf("the modem did not read %d bytes within %v (a hang)", len(b), harnessWait)
		}
	}
}

// take waits until match finds something at the start of the unread output
// and consumes it; match returns how many bytes to consume, or -1.
func (h *harness) take(what string, match func([]byte) int) string {
	h.t.Helper()
	deadline := time.NewTimer(harnessWait)
	defer deadline.Stop()
	// On a virtual clock, what is due now fires while the test waits, as
	// on a running clock: an outcome a command hands to a zero-delay event
	// (its procedure ended before it could wait on it, e.g. the clock was
	// advanced between the handler's timer and its await) is not left for
	// an advance that never comes.
	var due <-chan time.Time
	if h.clock != nil {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		due = tick.C
	}
	for {
		h.mu.Lock()
		if n := match(h.out); n >= 0 {
			got := string(h.out[:n])
			h.out = h.out[n:]
			h.mu.Unlock()
			return got
		}
		changed, rerr, unread := h.changed, h.rerr, string(h.out)
		h.mu.Unlock()
		if rerr != nil {
			h.t.Fatalf("reading stopped (%v) while waiting for %s; unread output %q", rerr, what, unread)
		}
		select {
		case <-changed:
		case <-due:
			h.clock.Advance(0)
		case <-deadline.C:
			h.t.Fatalf("no %s within %v; unread output %q", what, harnessWait, unread)
		}
	}
}

// finalRE finds a final result code in verbose form.
var finalRE = regexp.MustCompile(`\r\n(?:OK|ERROR|\+CME ERROR: [^\r\n]*|CONNECT|NO CARRIER)\r\n`)

// cmd sends line+"\r" and returns everything the modem wrote up to and
// including the first final result (OK, ERROR, +CME ERROR:, CONNECT, NO
// CARRIER) in verbose form: indications that came first are included.
func (h *harness) cmd(line string) string {
	h.t.Helper()
	h.send(line + "\r")
	return h.readFinal(line)
}

// readFinal consumes output up to and including the next final result.
func (h *harness) readFinal(what string) string {
	h.t.Helper()
	return h.take("final result for "+strconv.Quote(what), func(b []byte) int {
		if loc := finalRE.FindIndex(b); loc != nil {
			return loc[1]
		}
		return -1
	})
}

// expect consumes exactly len(want) bytes of output and fails unless they are want.
func (h *harness) expect(want string) {
	h.t.Helper()
	got := h.take(fmt.Sprintf("%d bytes %q", len(want), want), func(b []byte) int {
		if len(b) >= len(want) {
			return len(want)
		}
		return -1
	})
	if got != want {
		h.t.Fatalf("got %q, want %q", got, want)
	}
}

// readUntil consumes output up to and including the first s.
func (h *harness) readUntil(s string) string {
	h.t.Helper()
	return h.take(strconv.Quote(s), func(b []byte) int {
		if i := bytes.Index(b, []byte(s)); i >= 0 {
			return i + len(s)
		}
		return -1
	})
}

// unread returns the output no helper consumed yet, without waiting.
func (h *harness) unread() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.out)
}

// waitURC consumes output up to and including the next line (in verbose
// framing) starting with prefix, and returns that line.
func (h *harness) waitURC(prefix string) string {
	h.t.Helper()
	var line string
	h.take("indication "+strconv.Quote(prefix), func(b []byte) int {
		i := bytes.Index(b, []byte("\r\n"+prefix))
		if i < 0 {
			return -1
		}
		end := bytes.Index(b[i+2:], []byte("\r\n"))
		if end < 0 {
			return -1
		}
		line = string(b[i+2 : i+2+end])
		return i + 2 + end + 2
	})
	return line
}

var ceregReadRE = regexp.MustCompile(`\+CEREG: \d,(\d)[^\r\n]*\r\n\r\nOK\r\n$`)

// waitReg polls AT+CEREG? until the EPS registration status is stat. On the
// virtual clock it advances time a second between polls, for at most ten
// minutes of virtual time.
func (h *harness) waitReg(stat RegState) {
	h.t.Helper()
	deadline := time.Now().Add(harnessWait)
	for i := 0; ; i++ {
		got := h.cmd("AT+CEREG?")
		if m := ceregReadRE.FindStringSubmatch(got); m != nil && m[1] == strconv.Itoa(int(stat)) {
			return
		}
		if h.clock != nil && i < 600 {
			h.advance(time.Second)
			continue
		}
		if h.clock != nil || time.Now().After(deadline) {
			h.t.Fatalf("registration status never became %d; last AT+CEREG? %q", stat, got)
		}
		time.Sleep(time.Millisecond) // poll interval on the wall clock
	}
}

// advance moves the virtual clock forward, firing due timers in this goroutine.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	if h.clock == nil {
		h.t.Fatal("advance needs withVClock")
	}
	h.clock.Advance(d)
}

// awaitTimer waits until the modem or the control plane arms a timer of
// exactly d since the last send (or since the start), for a procedure that
// waits on the virtual clock.
func (h *harness) awaitTimer(d time.Duration) {
	h.t.Helper()
	if h.clock == nil {
		h.t.Fatal("awaitTimer needs withVClock")
	}
	h.mu.Lock()
	from := h.mark
	h.mu.Unlock()
	deadline := time.NewTimer(harnessWait)
	defer deadline.Stop()
	for {
		changed := h.clock.changedCh()
		if _, ok := h.clock.armedSince(from, d); ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			h.t.Fatalf("no timer of %v was armed within %v; unread output %q", d, harnessWait, h.unread())
		}
	}
}

// dataMode reports whether the modem is in data state.
func (h *harness) dataMode() bool {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	return h.m.st.dataMode
}

// testClock is a vclock.Clock that logs every timer (and event) armed on it, so that a
// test can wait until the modem has armed the timer a procedure waits on
// before it moves time.
type testClock struct {
	*vclock.Clock
	mu      sync.Mutex
	armed   []armedTimer
	changed chan struct{}
}

// armedTimer is one AfterFunc call: its duration and the virtual time it was made at.
type armedTimer struct {
	d  time.Duration
	at time.Time
}

func newTestClock(start time.Time) *testClock {
	return &testClock{Clock: vclock.New(start), changed: make(chan struct{})}
}

// AfterFunc implements sim.Clock.
func (c *testClock) AfterFunc(d time.Duration, f func()) sim.Timer {
	at := c.Now()
	t := c.Clock.AfterFunc(d, f)
	c.mu.Lock()
	c.armed = append(c.armed, armedTimer{d: d, at: at})
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return t
}

// Schedule implements sim.Scheduler, logged as AfterFunc is: a later
// outcome is an event, not a timer.
func (c *testClock) Schedule(d time.Duration, h sim.Handler, arg uint64) {
	at := c.Now()
	c.Clock.Schedule(d, h, arg)
	c.mu.Lock()
	c.armed = append(c.armed, armedTimer{d: d, at: at})
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *testClock) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.armed)
}

func (c *testClock) changedCh() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// armedSince returns when the first timer of d at index from or later was armed.
func (c *testClock) armedSince(from int, d time.Duration) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.armed[min(from, len(c.armed)):] {
		if a.d == d {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// lastArmed returns when the last timer of d was armed.
func (c *testClock) lastArmed(d time.Duration) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.armed) - 1; i >= 0; i-- {
		if c.armed[i].d == d {
			return c.armed[i].at, true
		}
	}
	return time.Time{}, false
}

// plusThenData sends "+++" after the guard time's silence, then a byte
// within the guard time after it (which makes the "+++" data: no escape),
// and lets the guard time pass.
func (h *harness) plusThenData() {
	h.advance(escapeGuard)
	h.send("+++")
	h.awaitTimer(escapeGuard)
	h.advance(escapeGuard / 2)
	h.send("x")
	h.sync()
	h.advance(3 * escapeGuard)
}
