// Package modem is a virtual cellular modem: an AT command engine (V.250,
// 3GPP TS 27.007 and one real module's dialect) over any io.ReadWriter,
// and a virtual radio that scans, attaches and moves data as the Super
// SIM control plane allows. It asks the control plane for decisions
// through Core and never reaches into its storage.
package modem

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Core is the cellular core network as a modem meets it: *sim.Control.
type Core interface {
	AuthorizeAttach(iccid string, plmn sim.PLMN) (sim.Network, error)
	AuthorizeData(iccid string) error
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

// DefaultAuthCache is how long a visited network keeps a SIM's attach
// authorised after the SIM's NAP stops allowing it; at most a week.
const (
	DefaultAuthCache = 24 * time.Hour
	MaxAuthCache     = 7 * 24 * time.Hour
)

// Config describes one modem.
type Config struct {
	Card      sim.Card
	IMEI      string
	Profile   Profile
	Core      Core
	World     *World
	Clock     sim.Clock
	Timing    Timing
	AuthCache time.Duration
	Country   string // ISO 3166 alpha-2 where the modem starts
	Logger    *slog.Logger
}

// Modem is one virtual modem with a SIM inside.
type Modem struct {
	cfg Config

	mu       sync.Mutex
	st       state
	out      *writer
	gen      uint64       // the registration procedure in progress; bumping it cancels
	sel      chan<- error // its outcome, which a command may be waiting for
	timers   map[string]sim.Timer
	lastLine string
	unsub    func()
	closed   bool
}

// New returns a powered-off modem; Serve powers it on.
func New(cfg Config) *Modem {
	if cfg.Profile == nil {
		cfg.Profile = Generic{}
	}
	if cfg.Clock == nil {
		cfg.Clock = sim.WallClock{}
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = DefaultTiming
	}
	if cfg.AuthCache <= 0 {
		cfg.AuthCache = DefaultAuthCache
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Modem{cfg: cfg, timers: make(map[string]sim.Timer)}
	m.st = initialState(cfg.Country)
	if cfg.Core != nil {
		m.unsub = cfg.Core.Subscribe(m.onEvent)
	}
	return m
}

// ICCID returns the ICCID of the modem's SIM.
func (m *Modem) ICCID() string { return m.cfg.Card.ICCID }

// Serve powers the modem on and answers AT commands read from rw until
// reading fails (close rw to stop it) or ctx ends. Everything the modem
// writes, responses and unsolicited result codes alike, goes through one
// writer, so an indication never lands inside a response.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newWriter(rw)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(ctx) }()
	m.mu.Lock()
	m.out = w
	m.mu.Unlock()
	m.PowerCycle()

	s := newSession(m)
	buf := make([]byte, 4096)
	var err error
	for ctx.Err() == nil {
		var n int
		n, err = rw.Read(buf)
		if n > 0 {
			s.input(ctx, buf[:n])
		}
		if err != nil {
			break
		}
	}
	m.mu.Lock()
	m.out = nil
	m.stopTimers()
	m.mu.Unlock()
	cancel()
	wg.Wait()
	if ctx.Err() != nil || err == io.EOF {
		return nil
	}
	return err
}

// Close stops the modem's timers and its subscription to the core.
func (m *Modem) Close() {
	m.mu.Lock()
	m.closed = true
	m.stopTimers()
	m.mu.Unlock()
	if m.unsub != nil {
		m.unsub()
	}
}

func (m *Modem) stopTimers() {
	for k, t := range m.timers {
		t.Stop()
		delete(m.timers, k)
	}
	m.gen++
	m.abandonSelection()
}

// abandonSelection ends the network selection in progress, if any, with
// phone failure for a command waiting for its outcome (a power cycle from
// the control API during AT+COPS=1 must not leave the host waiting
// forever). Callers hold m.mu.
func (m *Modem) abandonSelection() {
	if m.sel != nil {
		select {
		case m.sel <- cme(CMEPhoneFailure):
		default: // the outcome is already there
		}
		m.sel = nil
	}
}

// after runs f under m.mu once d has passed, unless the timer named key is
// replaced or the modem stops. Callers hold m.mu.
func (m *Modem) after(key string, d time.Duration, f func()) {
	if m.closed {
		return
	}
	if t, ok := m.timers[key]; ok {
		t.Stop()
	}
	var t sim.Timer
	t = m.cfg.Clock.AfterFunc(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.timers[key] != t {
			return
		}
		delete(m.timers, key)
		f()
	})
	m.timers[key] = t
}

// urc queues an unsolicited result code. Callers hold m.mu.
func (m *Modem) urc(lines ...string) {
	if m.out == nil || m.st.quiet {
		return
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(m.st.frame(l))
	}
	m.out.send([]byte(b.String()))
}

// raw queues already framed output. Callers hold m.mu.
func (m *Modem) raw(s string) {
	if m.out != nil {
		m.out.send([]byte(s))
	}
}

// writer is the modem's only writer to its transport.
type writer struct {
	w  io.Writer
	ch chan []byte
}

// writerQueue bounds what waits for a host that does not read; past it the
// oldest-first order is kept and new output is dropped, as a real module's
// UART buffer overflows.
const writerQueue = 1024

func newWriter(w io.Writer) *writer { return &writer{w: w, ch: make(chan []byte, writerQueue)} }

func (w *writer) send(b []byte) {
	if len(b) == 0 {
		return
	}
	select {
	case w.ch <- b:
	default:
	}
}

func (w *writer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-w.ch:
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
