// Package hw talks AT to real cellular modules over serial ports: a client
// hardened for what modules do on a real UART or USB port (echo, URCs in
// the middle of answers, commands that take minutes, late replies, noise,
// restarts, a port that vanishes and comes back), a probe that reads what
// a module knows about itself, its SIM and its network, and traces of
// every exchange that people can read and tests can replay.
//
// The client is built on github.com/warthog618/modem/at, which writes
// commands and parses their answers. It sits between the port and at: one
// reader frames the port's bytes into lines, takes indications out in
// order, and hands at only the lines of the command in progress, so that
// nothing from before the command or after its final result code reaches
// it. The package knows nothing of PTYs: Dial takes any io.ReadWriteCloser.
package hw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warthog618/modem/at"
)

// DefaultTimeout is how long a command may take unless it is one of the
// slow ones (see CommandTimeout).
const DefaultTimeout = 5 * time.Second

// slowCommands are the maximum response times of slow commands, from the
// Quectel BG95 AT manual (AT+COPS 180 s, AT+CGATT 140 s, AT+CGACT 150 s,
// AT+CFUN 15 s), by command: "+COPS=?" is exactly the scan, "+COPS=" every
// set command of +COPS, "+COPS" every form.
var slowCommands = map[string]time.Duration{
	"+COPS=?":   180 * time.Second,
	"+COPS=":    180 * time.Second,
	"+CGATT=":   140 * time.Second,
	"+CGACT=":   150 * time.Second,
	"+CFUN=":    15 * time.Second,
	"+CGDATA":   150 * time.Second,
	"D":         150 * time.Second,
	"+QCFG=":    15 * time.Second,
	"+CPIN=":    5 * time.Second,
	"+CEREG=":   DefaultTimeout,
	"+QPOWD":    40 * time.Second,
	"+CPOWD":    40 * time.Second,
	"+CSIM=":    15 * time.Second,
	"+CRSM=":    15 * time.Second,
	"+QNWINFO":  DefaultTimeout,
	"+QCSQ":     DefaultTimeout,
	"+CGPADDR":  DefaultTimeout,
	"+CGDCONT=": DefaultTimeout,
	// SMS and sockets: AT+CMGS 60 s (SIM7080 manual §4.2.5, TinyGSM),
	// AT+QIACT and AT+QIOPEN 150 s (ST's BG96 driver from the Quectel
	// manual), AT+CNACT's activation as AT+CGACT's.
	"+CMGS=":   60 * time.Second,
	"+QIACT=":  150 * time.Second,
	"+QIOPEN=": 150 * time.Second,
	"+CNACT=":  150 * time.Second,
}

// timeoutKey is cmd without "AT", in upper case.
func timeoutKey(cmd string) string { return strings.ToUpper(trimAT(cmd)) }

// lookupTimeout finds cmd's entry in m: the exact command, then its ID
// with '=' for a set or test command, then its ID alone.
func lookupTimeout(m map[string]time.Duration, cmd string) (time.Duration, bool) {
	k := timeoutKey(cmd)
	if d, ok := m[k]; ok {
		return d, true
	}
	id := cmdID(k)
	if strings.HasPrefix(k, "D") {
		id = "D"
	}
	if strings.Contains(k, "=") {
		if d, ok := m[id+"="]; ok {
			return d, true
		}
	}
	d, ok := m[id]
	return d, ok
}

// CommandTimeout is the timeout a client with default options gives cmd.
func CommandTimeout(cmd string) time.Duration {
	if d, ok := lookupTimeout(slowCommands, cmd); ok {
		return d
	}
	return DefaultTimeout
}

// trimAT removes a leading "AT" (any case) from a command line.
func trimAT(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if len(cmd) >= 2 && strings.EqualFold(cmd[:2], "AT") {
		return cmd[2:]
	}
	return cmd
}

// State is the state of a client's connection.
type State uint8

const (
	StateConnected    State = iota + 1 // the port is open
	StateDisconnected                  // the port went away; the client is reopening it
	StateClosed                        // Close was called
)

func (s State) String() string {
	switch s {
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// CmdOption configures one command.
type CmdOption func(*cmdConfig)

type cmdConfig struct{ timeout time.Duration }

// Timeout sets how long this command may take.
func Timeout(d time.Duration) CmdOption { return func(c *cmdConfig) { c.timeout = d } }

// Client sends AT commands to one modem and routes its indications. It is
// safe for concurrent use; commands run one at a time.
type Client struct {
	cfg  config
	name string
	dial func(context.Context) (io.ReadWriteCloser, error)
	tr   *tracer

	ctx       context.Context // the client's life; Close cancels it
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the reader, the dispatcher, the reconnector
	sem       chan struct{}  // held by the command in progress
	queued    chan struct{}  // wakes the dispatcher
	closeOnce sync.Once
	prompt    atomic.Uint32 // promptIdle, promptAwaited or promptSeen (see Send)

	mu       sync.Mutex
	state    State
	changed  chan struct{} // closed and replaced when state changes
	conn     *conn
	lastErr  error    // why the port went away
	pend     *pending // the command in progress
	sync     chan string
	syncID   string
	needSync bool // a reply may still be on its way: probe before the next command
	needInit bool // (re)connected or restarted: send the init commands
	probeN   int
	handlers []*handler
	urcs     []string // cfg.urcs and the handlers' prefixes
	queue    []string // indications not yet dispatched
}

// conn is one opening of the port.
type conn struct {
	rw   io.ReadWriteCloser
	eng  *engine       // guarded by Client.mu
	done chan struct{} // closed when the port is lost
}

// engine is an at.AT fed by the client's reader through a pipe. A new one
// replaces it whenever a command ends without its final result (timeout,
// cancellation, restart), so nothing at still holds can answer a later
// command.
type engine struct {
	a      *at.AT
	pr     *io.PipeReader
	pw     *io.PipeWriter
	closed sync.Once
}

// close ends the engine's goroutines and waits for them.
func (e *engine) close() {
	e.closed.Do(func() {
		e.pw.Close()
		e.pr.Close()
	})
	<-e.a.Closed()
}

// pending is the command in progress.
type pending struct {
	id    string
	eng   *engine
	live  bool       // written and its final result not yet seen: lines go to eng
	abort chan error // why the command cannot complete (restart, lost port)
}

func (p *pending) fail(err error) {
	select {
	case p.abort <- err:
	default:
	}
}

type handler struct {
	prefix string
	fn     func(string)
}

// Dial returns a client over the transport dial opens; when that fails
// with a read error the client calls dial again, with backoff, until it
// works or the client is closed. name is used in messages and traces.
func Dial(ctx context.Context, name string, dial func(context.Context) (io.ReadWriteCloser, error), opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return dial2(ctx, name, dial, cfg)
}

func dial2(ctx context.Context, name string, dial func(context.Context) (io.ReadWriteCloser, error), cfg config) (*Client, error) {
	rw, err := dial(ctx)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg: cfg, name: name, dial: dial,
		sem: make(chan struct{}, 1), queued: make(chan struct{}, 1), changed: make(chan struct{}),
		urcs: cfg.urcs,
	}
	if cfg.trace != nil {
		c.tr = &tracer{w: cfg.trace, now: cfg.now, port: cfg.tracePort}
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.dispatch() }()
	c.tr.note("open %s", name)
	c.attach(rw)
	return c, nil
}

// attach makes rw the client's connection and starts reading it.
func (c *Client) attach(rw io.ReadWriteCloser) {
	cn := &conn{rw: rw, done: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		rw.Close()
		return
	}
	c.conn, c.needSync, c.needInit = cn, true, true
	c.setState(StateConnected)
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.read(cn) }()
}

// setState changes the state; callers hold c.mu.
func (c *Client) setState(s State) {
	if c.state == s {
		return
	}
	c.state = s
	close(c.changed)
	c.changed = make(chan struct{})
}

// State reports whether the port is open.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// WaitConnected returns once the port is open, or ctx's error, or
// ErrClosed.
func (c *Client) WaitConnected(ctx context.Context) error { return c.waitState(ctx, StateConnected) }

func (c *Client) waitState(ctx context.Context, want State) error {
	for {
		c.mu.Lock()
		st, ch := c.state, c.changed
		c.mu.Unlock()
		switch {
		case st == want:
			return nil
		case st == StateClosed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// OnIndication calls fn with every indication whose line starts with
// prefix ("" for all, and for lines that arrive outside any command and
// are not known indications), in the order the modem sent them, from one
// goroutine of the client. fn must not call Command. A prefix that is not
// a known indication (+CEREG:, RDY, +QIND: ...) becomes one. The returned
// function unregisters fn.
func (c *Client) OnIndication(prefix string, fn func(line string)) (cancel func()) {
	h := &handler{prefix: prefix, fn: fn}
	c.mu.Lock()
	c.handlers = append(c.handlers, h)
	c.rebuildURCs()
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.handlers {
			if x == h {
				c.handlers = append(c.handlers[:i:i], c.handlers[i+1:]...)
				break
			}
		}
		c.rebuildURCs()
	}
}

func (c *Client) rebuildURCs() {
	urcs := append([]string(nil), c.cfg.urcs...)
	for _, h := range c.handlers {
		if h.prefix != "" {
			urcs = append(urcs, h.prefix)
		}
	}
	c.urcs = urcs
}

// Close stops the client: it closes the port, fails the command in
// progress with ErrClosed and waits for the client's goroutines.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.mu.Lock()
		cn := c.conn
		c.conn = nil
		var eng *engine
		if cn != nil {
			eng, cn.eng = cn.eng, nil
		}
		if c.pend != nil {
			c.pend.fail(ErrClosed)
		}
		c.setState(StateClosed)
		c.mu.Unlock()
		if cn != nil {
			cn.rw.Close()
			close(cn.done)
		}
		if eng != nil {
			eng.close()
		}
		c.wg.Wait()
		c.tr.note("closed %s", c.name)
	})
	return nil
}

// read frames what the port sends into lines and routes them.
func (c *Client) read(cn *conn) {
	buf := make([]byte, 4096)
	var fr framer
	emit := func(l string) { c.route(cn, l) }
	for {
		n, err := cn.rw.Read(buf)
		if n > 0 {
			c.tr.record(DirIn, buf[:n])
			over, prompts := fr.overflow, fr.prompts
			fr.prompt = c.prompt.Load() == promptAwaited
			fr.feed(buf[:n], emit)
			if fr.prompts != prompts {
				c.prompt.CompareAndSwap(promptAwaited, promptSeen)
			}
			if fr.overflow != over {
				c.tr.note("a line longer than %d bytes was cut", MaxLine)
			}
		}
		if err == nil && n == 0 {
			err = io.ErrNoProgress
		}
		if err != nil {
			c.lost(cn, err)
			return
		}
	}
}

// route sends a line to the indication handlers, the resynchronisation in
// progress or the command in progress.
func (c *Client) route(cn *conn, line string) {
	c.mu.Lock()
	if c.conn != cn {
		c.mu.Unlock()
		return
	}
	p, id := c.pend, ""
	switch {
	case c.sync != nil:
		id = c.syncID
	case p != nil && p.live:
		id = p.id
	}
	if unsolicited(line, id, c.urcs) {
		c.queueLocked(line)
		if rebootURC(line) {
			c.needInit, c.needSync = true, true
			if p != nil {
				p.fail(ErrRebooted)
			}
		}
		c.mu.Unlock()
		return
	}
	if c.sync != nil {
		select {
		case c.sync <- line:
		default:
		}
		c.mu.Unlock()
		return
	}
	if p == nil || !p.live {
		c.queueLocked(line) // a stray line, for "" handlers
		c.mu.Unlock()
		return
	}
	if final(line, p.id) != notFinal {
		p.live = false
	}
	eng := p.eng
	c.mu.Unlock()
	eng.pw.Write([]byte(line + "\r\n")) // fails only once the engine is dropped
}

func (c *Client) queueLocked(line string) {
	c.queue = append(c.queue, line)
	select {
	case c.queued <- struct{}{}:
	default:
	}
}

// dispatch calls the indication handlers in order.
func (c *Client) dispatch() {
	for {
		select {
		case <-c.queued:
		case <-c.ctx.Done():
			return
		}
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		hs := append([]*handler(nil), c.handlers...)
		c.mu.Unlock()
		for _, line := range q {
			for _, h := range hs {
				if strings.HasPrefix(line, h.prefix) {
					h.fn(line)
				}
			}
		}
	}
}

// lost handles the port going away: the command in progress fails with
// ErrDisconnected and a goroutine starts reopening the port.
func (c *Client) lost(cn *conn, err error) {
	c.mu.Lock()
	if c.conn != cn {
		c.mu.Unlock()
		return
	}
	c.conn, c.lastErr = nil, err
	eng := cn.eng
	cn.eng = nil
	if c.pend != nil {
		c.pend.fail(fmt.Errorf("%w: %v", ErrDisconnected, err))
	}
	c.setState(StateDisconnected)
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.reconnect() }()
	c.mu.Unlock()
	close(cn.done)
	cn.rw.Close()
	if eng != nil {
		eng.close()
	}
	c.tr.note("lost %s: %v", c.name, err)
}

// reconnect reopens the port with exponential backoff.
func (c *Client) reconnect() {
	wait := c.cfg.backoffMin
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		rw, err := c.dial(c.ctx)
		if err == nil {
			c.tr.note("reopened %s", c.name)
			c.attach(rw)
			return
		}
		c.tr.note("reopening %s: %v", c.name, err)
		wait = min(2*wait, c.cfg.backoffMax)
		t.Reset(wait)
	}
}

// connWriter is the writer of an engine: what at writes goes to the port,
// into the trace, and marks the pending command as written.
type connWriter struct {
	c   *Client
	cn  *conn
	eng *engine
}

func (w connWriter) Write(b []byte) (int, error) {
	w.c.mu.Lock()
	if w.c.conn != w.cn {
		w.c.mu.Unlock()
		return 0, ErrDisconnected
	}
	if p := w.c.pend; p != nil && p.eng == w.eng {
		p.live = true
	}
	w.c.mu.Unlock()
	return w.c.write(w.cn, b)
}

func (c *Client) write(cn *conn, b []byte) (int, error) {
	c.tr.record(DirOut, b)
	n, err := cn.rw.Write(b)
	if err != nil {
		return n, fmt.Errorf("%w: %v", ErrDisconnected, err)
	}
	return n, nil
}

func (c *Client) newEngine(cn *conn) *engine {
	pr, pw := io.Pipe()
	e := &engine{pr: pr, pw: pw}
	e.a = at.New(struct {
		io.Reader
		io.Writer
	}{pr, connWriter{c: c, cn: cn, eng: e}}, at.WithTimeout(c.cfg.timeout))
	return e
}

// dropEngine ends eng, the engine of cn, after a command that did not end
// with its final result.
func (c *Client) dropEngine(cn *conn, eng *engine) {
	c.mu.Lock()
	if cn.eng == eng {
		cn.eng = nil
	}
	c.needSync = true
	c.mu.Unlock()
	eng.close()
}

// timeoutFor is the timeout of cmd (without AT).
func (c *Client) timeoutFor(cmd string) time.Duration {
	if d, ok := lookupTimeout(c.cfg.timeouts, cmd); ok {
		return d
	}
	if d, ok := lookupTimeout(slowCommands, cmd); ok && d > c.cfg.timeout {
		return d
	}
	return c.cfg.timeout
}

// Command sends the command line cmd (with or without "AT") and returns
// its information lines, without the echo, the final result code and the
// indications that arrived meanwhile. An ERROR answer is ErrError, a +CME
// ERROR a *CMEError; a command that takes longer than its timeout (see
// Timeout, WithCommandTimeout, CommandTimeout) fails with ErrTimeout, and
// the client then resynchronises with the modem before the next command.
// While the port is away commands fail at once with ErrDisconnected.
func (c *Client) Command(ctx context.Context, cmd string, opts ...CmdOption) ([]string, error) {
	return c.run(ctx, cmd, opts, func(cmd string, timeout time.Duration) ([]string, error) {
		return c.exchange(ctx, cmd, timeout)
	})
}

// run runs one command (Command, Send) by exchange, alone on the port: it
// waits its turn, resynchronises first if need be and names the command in
// its error.
func (c *Client) run(ctx context.Context, cmd string, opts []CmdOption, exchange func(cmd string, timeout time.Duration) ([]string, error)) ([]string, error) {
	cmd = trimAT(cmd)
	cc := cmdConfig{timeout: c.timeoutFor(cmd)}
	for _, o := range opts {
		o(&cc)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.ctx.Done():
		return nil, ErrClosed
	}
	defer func() { <-c.sem }()
	if err := c.prepare(ctx); err != nil {
		return nil, fmt.Errorf("AT%s: %w", cmd, err)
	}
	info, err := exchange(cmd, cc.timeout)
	if err != nil {
		return info, fmt.Errorf("AT%s: %w", cmd, err)
	}
	return info, nil
}

// current is the open connection, or the reason there is none.
func (c *Client) current() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.ctx.Err() != nil:
		return nil, ErrClosed
	case c.conn == nil && c.lastErr != nil:
		return nil, fmt.Errorf("%w: %s: %v", ErrDisconnected, c.name, c.lastErr)
	case c.conn == nil:
		return nil, fmt.Errorf("%w: %s", ErrDisconnected, c.name)
	}
	return c.conn, nil
}

// prepare resynchronises and initialises the modem as needed.
func (c *Client) prepare(ctx context.Context) error {
	cn, err := c.current()
	if err != nil {
		return err
	}
	c.mu.Lock()
	needSync := c.needSync
	c.mu.Unlock()
	if needSync {
		if err := c.resync(ctx, cn); err != nil {
			return err
		}
	}
	c.mu.Lock()
	needInit := c.needInit
	c.needSync, c.needInit = false, false
	c.mu.Unlock()
	if !needInit {
		return nil
	}
	// A module that finishes booting (RDY) while being initialised has
	// forgotten the settings: start again, a few times at most.
	for attempt := 1; ; attempt++ {
		err := c.initialise(ctx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrRebooted) || attempt == 3 {
			c.mu.Lock()
			c.needInit = true
			c.mu.Unlock()
			return err
		}
	}
}

// initialise sends the init commands; a module that refuses one goes on
// with the others.
func (c *Client) initialise(ctx context.Context) error {
	for _, cmd := range c.cfg.init {
		_, err := c.exchange(ctx, cmd, c.cfg.syncTimeout)
		var cme *CMEError
		switch {
		case err == nil, errors.Is(err, ErrError), errors.As(err, &cme):
		default:
			return fmt.Errorf("initialising with AT%s: %w", cmd, err)
		}
	}
	return nil
}

// probes are what the client sends to find where the modem's answers are
// after a timeout: each answer is recognisable (its information line), and
// consecutive attempts use different ones, so that the answer to a probe
// that timed out is not taken for the answer to the next.
var probes = []struct {
	cmd   string
	match func(string) bool
}{
	{"+CMEE?", func(l string) bool { return strings.HasPrefix(l, "+CMEE:") }},
	{"+CSCS?", func(l string) bool { return strings.HasPrefix(l, "+CSCS:") }},
	{"S3?", func(l string) bool { return strings.TrimLeft(l, "0") == "13" }},
}

// resync probes the modem until the answer to a probe arrives, dropping
// everything before it (the late replies).
func (c *Client) resync(ctx context.Context, cn *conn) error {
	for range len(probes) {
		c.mu.Lock()
		pr := probes[c.probeN%len(probes)]
		c.probeN++
		ch := make(chan string, 256)
		c.sync, c.syncID = ch, cmdID(pr.cmd)
		c.mu.Unlock()
		c.tr.note("resynchronising with AT%s", pr.cmd)
		ok, err := c.probe(ctx, cn, ch, pr.cmd, pr.match)
		c.mu.Lock()
		c.sync = nil
		c.mu.Unlock()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return ErrNotSynced
}

// probe sends one probe and waits for its answer: a line match accepts,
// then OK.
func (c *Client) probe(ctx context.Context, cn *conn, ch chan string, cmd string, match func(string) bool) (bool, error) {
	// The CR first ends whatever half line the modem holds.
	if _, err := c.write(cn, []byte("\rAT"+cmd+"\r")); err != nil {
		return false, err
	}
	t := time.NewTimer(c.cfg.syncTimeout)
	defer t.Stop()
	seen := false
	for {
		select {
		case line := <-ch:
			switch {
			case match(line):
				seen = true
			case seen && line == "OK":
				return true, nil
			case final(line, "") != notFinal:
				seen = false
			}
		case <-t.C:
			return false, nil
		case <-cn.done:
			return false, ErrDisconnected
		case <-ctx.Done():
			c.mu.Lock()
			c.needSync = true
			c.mu.Unlock()
			return false, ctx.Err()
		}
	}
}

// exchange runs one command through the engine.
func (c *Client) exchange(ctx context.Context, cmd string, timeout time.Duration) ([]string, error) {
	c.mu.Lock()
	cn := c.conn
	if cn == nil {
		c.mu.Unlock()
		return nil, ErrDisconnected
	}
	eng := cn.eng
	if eng == nil {
		eng = c.newEngine(cn)
		cn.eng = eng
	}
	p := &pending{id: cmdID(cmd), eng: eng, abort: make(chan error, 1)}
	c.pend = p
	c.mu.Unlock()

	type result struct {
		info []string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := eng.a.Command(cmd, at.WithTimeout(timeout))
		done <- result{info, err}
	}()
	var r result
	var reason error
	select {
	case r = <-done:
	case <-ctx.Done():
		reason = ctx.Err()
	case reason = <-p.abort:
	}
	if reason == nil && errors.Is(r.err, at.ErrClosed) {
		select {
		case reason = <-p.abort:
		default:
			reason = ErrDisconnected
		}
	}
	if reason != nil {
		c.dropEngine(cn, eng)
		<-done
	}
	c.mu.Lock()
	if c.pend == p {
		c.pend = nil
	}
	c.mu.Unlock()
	if reason != nil {
		c.tr.note("AT%s: %v", cmd, reason)
		return nil, reason
	}
	err := fromAT(r.err)
	if errors.Is(err, ErrTimeout) {
		c.tr.note("timeout AT%s after %v", cmd, timeout)
		c.dropEngine(cn, eng)
		err = fmt.Errorf("%w after %v", ErrTimeout, timeout)
	}
	return r.info, err
}
