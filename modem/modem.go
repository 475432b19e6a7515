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
	if m.out == nil {
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

// writer is the modem's only writer to its transport. Output is written
// in the order it is sent; when nothing is queued or being written and the
// transport can write without blocking, send writes at once instead of
// waking the writer's goroutine, and queues only what did not fit.
type writer struct {
	w    io.Writer
	try  func([]byte) (int, error) // a non-blocking write, if the transport has one
	wake chan struct{}             // holds a token while the queue may be non-empty

	mu   sync.Mutex
	q    [][]byte // a ring of output waiting for the transport, grown on demand
	head int
	n    int
	busy bool // run is writing
	done bool // run has stopped: nothing more is written
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

func newWriter(w io.Writer) *writer {
	wr := &writer{w: w, wake: make(chan struct{}, 1)}
	if nb, ok := w.(nonBlockingWriter); ok {
		wr.try = nb.tryWrite
	}
	return wr
}

func (w *writer) send(b []byte) {
	if len(b) == 0 {
		return
	}
	w.mu.Lock()
	if w.try != nil && !w.busy && !w.done && w.n == 0 {
		n, err := w.try(b)
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
	// Small output joins the newest queued output: echo of input read a
	// byte at a time would otherwise fill the queue one byte per entry
	// while the host is still reading. send owns b, and the queued slices.
	if w.n > 0 {
		if t := (w.head + w.n - 1) % len(w.q); len(w.q[t])+len(b) <= writerChunk {
			w.q[t] = append(w.q[t], b...)
			w.mu.Unlock()
			return
		}
	}
	if w.n == writerQueue {
		w.mu.Unlock()
		return
	}
	if w.n == len(w.q) {
		q := make([][]byte, max(4, 2*len(w.q)))
		for i := range w.n {
			q[i] = w.q[(w.head+i)%len(w.q)]
		}
		w.q, w.head = q, 0
	}
	w.q[(w.head+w.n)%len(w.q)] = b
	w.n++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest queued output and marks the writer busy, or
// marks it idle when there is none.
func (w *writer) next() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 || w.done {
		w.busy = false
		return nil
	}
	b := w.q[w.head]
	w.q[w.head] = nil
	w.head = (w.head + 1) % len(w.q)
	w.n--
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
		case <-w.wake:
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
