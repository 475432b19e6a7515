package modem

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// session reads one port's transport: command lines in command state, raw
// bytes in data state. A command that starts a procedure taking time (a scan, an
// attach, a PDP activation) does not block the session: its handler returns
// a pending outcome, the rest of the line resumes when it completes, and
// input arriving meanwhile waits its turn, as in a module's UART buffer.
// So a modem needs no goroutine of its own: on a virtual clock, a whole
// fleet runs in one.
type session struct {
	m *Modem
	p *port // the port it serves

	mu   sync.Mutex // input and resumption may come from different goroutines
	last string     // the last command line, for A/
	// endedCR is set when the last command line ended with S3 and no byte
	// has come since: an LF then is the second half of a CR LF terminator,
	// not the first byte of what a prompt reads.
	endedCR bool
	closed  bool

	// The session's working state, held from the input that starts a
	// command line until the session is idle again (see release): an idle
	// session keeps none, so an idle modem does not pay for buffers.
	*sessionWork

	wr writer // the port's writer
}

// sessionWork is what a session needs only while it works: the line being
// read and run, its response, input waiting its turn, data state. Reused
// from one session to another.
type sessionWork struct {
	lr     lineReader
	prompt func([]byte) int // the running command's input after its "> ", if it reads any
	boot   uint32           // the modem's power-up the running command belongs to
	queued []byte           // input received while busy
	// The command line being run.
	cmds  []Command
	next  int
	out   []byte   // the response so far, reused from line to line
	echo  []byte   // the echo of input, reused
	after []string // indications its commands raised about themselves
	// data mode: the "+++" escape needs a guard time of silence before and after.
	// Times are Unix nanoseconds of the modem's clock.
	lastData int64
	plus     int
	lastPlus int64 // when the last "+" of a possible escape came

	busy bool // a command line is running

	// s is the session that holds it, and later the later outcome
	// (Modem.later) it waits for as an event of the clock (see Fire);
	// Modem.later fills it in while the session runs a command.
	s     *session
	later pending

	// The guard time after "+++" while it runs (see armEscape): an
	// event of a virtual clock, reused, or a timer of another. Guarded
	// by the mutex of the modem whose escape this is.
	esc  vclock.Event
	escT sim.Timer
}

// The words of the events of a sessionWork (see Fire): a later outcome, or
// the guard time after "+++" with the modem's escapes count above the bit.
const (
	fireOutcome uint64 = 0
	fireEscape  uint64 = 1
)

// sessionWorks are the working states of idle sessions, for the next
// session that works.
var sessionWorks = sync.Pool{New: func() any { return &sessionWork{lr: lineReader{max: MaxLine}} }}

// acquire gives the session its working state. Callers hold s.mu.
func (s *session) acquire() {
	if s.sessionWork == nil {
		s.sessionWork = sessionWorks.Get().(*sessionWork)
		s.sessionWork.s = s
	}
}

// release gives back the working state of a session that has nothing
// under way: no line being read or run, no input waiting, no data
// session. What must outlive it (the port's settings, A/'s line, a CR
// LF's half) is kept elsewhere. Callers hold s.mu.
func (s *session) release() {
	w := s.sessionWork
	if w == nil || w.busy || w.prompt != nil || len(w.queued) > 0 || w.lr.st != stIdle || w.plus != 0 {
		return
	}
	m := s.m
	m.mu.Lock()
	busy := s.p.st.dataMode || m.escape == w // its guard time's event is w's
	m.mu.Unlock()
	if busy {
		return
	}
	s.sessionWork = nil
	if cap(w.queued) > maxKeptOut || cap(w.echo) > maxKeptOut || cap(w.lr.body) > maxKeptOut {
		return // a large buffer is not kept for others
	}
	w.queued, w.echo = w.queued[:0], w.echo[:0]
	w.next, w.lastData, w.lastPlus, w.boot = 0, 0, 0, 0
	w.s = nil
	sessionWorks.Put(w)
}

// maxQueued bounds input held while a command runs; past it input is lost,
// as a real module's receive buffer overflows.
const maxQueued = 4 * MaxLine

// escapeGuard is the silence around "+++" (S12 = 50 × 20 ms).
const escapeGuard = time.Second

func newSession(m *Modem, p *port, w io.Writer, srv *served) *session {
	s := &session{m: m, p: p}
	s.wr.init(w, srv)
	return s
}

// ctx is the context the session's commands run in: the serving one's,
// or none for a link's host.
func (s *session) ctx() context.Context {
	if s.wr.srv != nil {
		return s.wr.srv.ctx
	}
	return context.Background()
}

// input handles bytes as they arrive; how they are split does not matter.
func (s *session) input(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.m.tapIn(s.p, b)
	if s.m.deaf() {
		return
	}
	s.acquire()
	defer s.release()
	if m := s.m; len(b) > 0 && !s.p.used {
		m.mu.Lock()
		if s.p.sess == s { // a host is there: indications may go to the port
			s.p.used = true
			m.repoint()
		}
		m.mu.Unlock()
	}
	if s.busy {
		s.queue(b)
		return
	}
	s.feed(b)
}

func (s *session) queue(b []byte) {
	if len(b) == 0 {
		return
	}
	if s.prompt != nil { // a command's prompt ("> ") takes its bytes first
		if s.endedCR && b[0] == '\n' {
			b = b[1:]
		}
		s.endedCR = false
		s.m.enter(s.p)
		n := s.prompt(b)
		s.m.leave()
		b = b[n:]
	}
	if n := maxQueued - len(s.queued); n < len(b) {
		b = b[:max(n, 0)]
	}
	s.queued = append(s.queued, b...)
}

// close ends the session: a command still running finishes unheard.
func (s *session) close() {
	s.mu.Lock()
	s.closed = true
	s.sessionWork = nil // a command still running finishes unheard, without it
	s.mu.Unlock()
}

// feed consumes b until it is used up or a command goes pending, in which
// case the rest is queued. Callers hold s.mu.
func (s *session) feed(b []byte) {
	m := s.m
	ps := &s.p.st
	echo := s.echo[:0] // reused: send copies what it keeps
	flush := func() {
		if len(echo) > 0 {
			s.wr.send(echo)
			echo = echo[:0]
		}
	}
	defer func() { s.echo = echo[:0] }()
	// The port's settings are read once, and again after anything that
	// may change them: a command line, data.
	var data, echoOn bool
	var s3, s5 byte
	settings := func() {
		m.mu.Lock()
		data = ps.dataMode
		s3, s5, echoOn = ps.s3(), ps.s5(), ps.echo
		m.mu.Unlock()
	}
	settings()
	for i := 0; i < len(b); i++ {
		if data {
			flush()
			n := s.data(b[i:])
			i += n - 1
			settings()
			continue
		}
		ev, e := s.lr.feed(b[i], s3, s5)
		if e && echoOn {
			echo = append(echo, b[i])
		}
		s.endedCR = false
		switch ev {
		case evLine:
			flush()
			s.endedCR = b[i] == s3
			s.start(lineString(s.lr.body), true)
		case evRepeat:
			flush()
			s.start(s.last, false)
		case evOverflow:
			flush()
			m.mu.Lock()
			res := ps.result(resError)
			m.mu.Unlock()
			m.tapOut(s.p, res)
			s.wr.send([]byte(res))
		}
		if s.busy {
			s.queue(b[i+1:])
			return
		}
		if ev != evNone {
			settings()
		}
	}
	flush()
}

// start begins running a command line. Callers hold s.mu.
func (s *session) start(body string, remember bool) {
	m := s.m
	if remember {
		s.last = body
	}
	s.out = s.out[:0]
	cmds, err := parseLine(s.cmds[:0], body)
	if err != nil {
		m.mu.Lock()
		res := s.p.st.result(resError)
		m.mu.Unlock()
		s.final(res)
		return
	}
	s.cmds, s.next = cmds, 0
	s.resume()
}

// resume runs the line's commands from s.next until one fails, one goes
// pending or the line is done. Each runs as the port's turn on the
// module's command processor. Callers hold s.mu.
func (s *session) resume() {
	m := s.m
	for s.next < len(s.cmds) {
		c := s.cmds[s.next]
		s.next++
		h := m.handler(c.Name)
		var lines []string
		err := ErrError
		m.enter(s.p)
		m.pend = &s.later // under m.exec, as later reads it
		if h != nil {
			lines, err = h(s.ctx(), m, c)
		}
		m.pend = nil
		p, ok := err.(*pending)
		m.mu.Lock()
		s.after = append(s.after, m.st.takeAfter()...)
		if ok {
			s.boot = m.boots
		}
		m.mu.Unlock()
		if ok {
			s.busy, s.prompt = true, p.input
			if sch, isSch := m.env.clock.(sim.Scheduler); isSch && p.isLater() {
				// A later outcome on a simulation's clock: an event of
				// the working state, which the session keeps while busy,
				// rather than a timer, two closures and a sync.Once.
				s.later = *p
				sch.Schedule(p.delay, s.sessionWork, fireOutcome)
			} else {
				p.begin(m, s.finisher())
			}
			m.leave()
			return
		}
		m.leave()
		if !s.result(lines, err) {
			return
		}
	}
	m.mu.Lock()
	res := s.p.st.result(resOK)
	m.mu.Unlock()
	s.final(res)
}

// result adds one command's outcome to the response and reports whether
// the line goes on. Callers hold s.mu.
func (s *session) result(lines []string, err error) bool {
	m := s.m
	m.mu.Lock()
	m.st.portState = &s.p.st // formatted as this port's settings say
	for _, l := range lines {
		s.out = m.st.appendFrame(s.out, l)
	}
	var res string
	if err != nil {
		switch {
		case errors.Is(err, errConnect):
			res = m.st.result(resConnect)
		case errors.Is(err, errNoCarrier):
			res = m.st.result(resNoCarrier)
		case isFinalText(err): // a command's own final result: SEND OK, SEND FAIL
			res = m.st.frame(err.Error())
		case isCMS(err): // 27.005's +CMS ERROR, as +CMEE says
			res = m.st.cmsResult(err)
		default:
			res = m.st.errorResult(err, m.env.cmeTexts)
		}
	}
	m.repoint()
	m.mu.Unlock()
	if err == nil {
		return true
	}
	if errors.Is(err, errConnect) {
		s.lastData, s.plus = m.env.clock.Now().UnixNano(), 0
	}
	s.final(res)
	return false
}

// isFinalText and isCMS are errors.As without a target on the heap.
func isFinalText(err error) bool {
	_, ok := errors.AsType[finalText](err)
	return ok
}

func isCMS(err error) bool {
	_, ok := errors.AsType[*CMSError](err)
	return ok
}

// finisher returns the function a pending command calls with its outcome:
// the line goes on, then the input that waited. It runs at most once.
func (s *session) finisher() func([]string, error) {
	var once sync.Once
	return func(lines []string, err error) {
		once.Do(func() { s.finish(lines, err) })
	}
}

// Fire is a later outcome falling due (see resume): the session's
// pending command finishes with it; or the guard time after "+++" passing.
func (w *sessionWork) Fire(arg uint64) {
	if arg&fireEscape != 0 {
		w.s.escaped(w, uint32(arg>>1))
		return
	}
	p := w.later
	w.later = pending{}
	w.s.finish(p.result(w.s.m))
}

// finish is a pending command's outcome: the line goes on, then the input
// that waited. It runs once per pending command.
func (s *session) finish(lines []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	defer s.release()
	s.busy, s.prompt = false, nil
	m := s.m
	// What the command's completion raised about itself (+CASEND
	// after its OK) is its own: a handler's is taken as it returns,
	// on the command processor, so none of another port's is left.
	m.enter(s.p)
	m.mu.Lock()
	lost := m.boots != s.boot
	s.after = append(s.after, m.st.takeAfter()...)
	m.mu.Unlock()
	m.leave()
	switch {
	case lost: // the modem lost power meanwhile: so did the command
		s.cmds, s.after = s.cmds[:0], nil
		s.out = s.out[:0]
	case s.result(lines, err):
		s.resume()
	}
	if s.busy && s.prompt != nil && len(s.queued) > 0 {
		// The line went on to a command that prompts: what waited
		// is its input.
		q := s.queued
		s.queued = nil
		s.queue(q)
	}
	for !s.busy && len(s.queued) > 0 && !s.closed {
		q := s.queued
		s.queued = nil
		s.feed(q)
	}
}

// final writes the response with its final result code in one piece.
// Callers hold s.mu.
func (s *session) final(res string) {
	m := s.m
	s.out = append(s.out, res...)
	// Indications a command raised about themselves follow its final result at
	// once: nothing else comes between (an indication's data pushed the
	// moment the host reads the OK comes after the +QIOPEN it follows).
	m.mu.Lock()
	m.tapOutBytes(s.p, s.out)
	s.wr.send(s.out)
	m.urc(s.after...)
	m.mu.Unlock()
	s.out = s.out[:0]
	if cap(s.out) > maxKeptOut { // a long response's buffer is not kept
		s.out = nil
	}
	clear(s.cmds) // the commands' strings are not kept alive
	s.cmds, s.after = s.cmds[:0], nil
	if cap(s.cmds) > 1 { // a long line's array is not kept: an idle session is small
		s.cmds = nil
	}
}

// maxKeptOut is the largest response buffer a session keeps for the next.
const maxKeptOut = 512

var (
	errConnect   = errors.New("CONNECT")
	errNoCarrier = errors.New("NO CARRIER")
)

// pending is a handler's outcome that comes later: the command started a
// procedure that takes time. The session calls start once, with m.mu not
// held, and the procedure calls finish exactly once, later (never from
// within start), with the information lines and the result. A later
// outcome (Modem.later) has no start but a delay and the outcome's
// function: begin runs either. A command that
// prompts for data ("> ", as AT+QISEND and AT+CMGS do) has input: the
// session gives it what arrives meanwhile, with its own lock held, and
// queues what it did not take (the count it returns) as command lines.
type pending struct {
	start   func(finish func([]string, error))
	input   func(b []byte) int
	delay   time.Duration
	outcome func() ([]string, error)
	// Or the outcome is fn(m, p, arg), for the port p the command ran
	// for: a function without a closure.
	fn  func(m *Modem, p *port, arg uint64) ([]string, error)
	arg uint64
	p   *port
}

// isLater reports whether p is a later outcome (Modem.later, laterDo).
func (p *pending) isLater() bool { return p.outcome != nil || p.fn != nil }

// result runs a later outcome.
func (p *pending) result(m *Modem) ([]string, error) {
	if p.fn != nil {
		return p.fn(m, p.p, p.arg)
	}
	return p.outcome()
}

// begin starts p's procedure, which calls finish once it completes.
func (p *pending) begin(m *Modem, finish func([]string, error)) {
	if p.start != nil {
		p.start(finish)
		return
	}
	q := *p // p may be the session's, which the next command reuses
	m.env.clock.AfterFunc(p.delay, func() { finish(q.result(m)) })
}

func (*pending) Error() string { return "command in progress" }

// later is the outcome of f, run once d has passed on the modem's clock.
// Callers hold m.exec (they are handlers).
func (m *Modem) later(d time.Duration, f func() ([]string, error)) error {
	return m.pendingOf(pending{delay: d, outcome: f})
}

// laterDo is later with the outcome fn(m, p, arg), for the port p the
// command runs for, which needs no closure. Callers hold m.exec.
func (m *Modem) laterDo(d time.Duration, fn func(*Modem, *port, uint64) ([]string, error), arg uint64) error {
	return m.pendingOf(pending{delay: d, fn: fn, arg: arg, p: m.running()})
}

// pendingOf returns p as a handler's error: in the running session's
// working state while a session runs the command (see resume), so that a
// later outcome allocates nothing. Callers hold m.exec.
func (m *Modem) pendingOf(p pending) error {
	if w := m.pend; w != nil {
		*w = p
		return w
	}
	q := p // not &p: p would be on the heap on both ways
	return &q
}

// data consumes bytes of the data session and returns how many it took.
// Every byte counts as upload; "+++" between guard times returns to
// command state with the session kept (ATO resumes it).
func (s *session) data(b []byte) int {
	m := s.m
	now := m.env.clock.Now().UnixNano()
	n := 0
	for n < len(b) {
		if s.plus == 0 { // bytes before the next "+" are plain data
			i := bytes.IndexByte(b[n:], '+')
			if i < 0 {
				n, s.lastData = len(b), now
				break
			}
			if i > 0 {
				n, s.lastData = n+i, now
			}
		}
		c := b[n]
		n++
		if c == '+' && s.plus > 0 && now-s.lastPlus >= int64(escapeGuard) {
			// The "+"s of an escape come within the guard time of each
			// other: older ones were data, and the silence since is a guard.
			s.plus, s.lastData = 0, s.lastPlus
		}
		if c == '+' && (s.plus > 0 || now-s.lastData >= int64(escapeGuard)) {
			s.plus++
			s.lastPlus = now
			if s.plus == 3 {
				s.plus = 0
				m.mu.Lock()
				s.armEscape()
				m.mu.Unlock()
				return n
			}
			continue
		}
		s.plus = 0
		s.lastData = now
	}
	m.mu.Lock()
	m.stopEscape()
	serving := m.st.serving
	m.mu.Unlock()
	if serving == nil {
		return n
	}
	if !m.charge(s.ctx(), serving.PLMN, int64(n), 0) { // cut where the Fleet's limit is reached
		m.mu.Lock()
		m.dropData()
		m.mu.Unlock()
	}
	return n
}

// armEscape arms the guard time after "+++": once it passes in silence,
// the port leaves data state with OK. Callers hold s.mu and m.mu.
func (s *session) armEscape() {
	m := s.m
	if m.closed {
		return
	}
	m.stopEscape()
	w := s.sessionWork
	m.escapes++
	arg := uint64(m.escapes)<<1 | fireEscape
	if c, ok := m.env.clock.(*vclock.Clock); ok {
		// An event of the working state, which the session keeps while
		// it is pending (see release): no timer, no closure.
		c.Arm(&w.esc, escapeGuard, w, arg)
	} else {
		w.escT = m.env.clock.AfterFunc(escapeGuard, func() { s.escaped(w, uint32(arg>>1)) })
	}
	m.escape = w
}

// stopEscape stops the guard time after "+++", if one runs. Callers hold m.mu.
func (m *Modem) stopEscape() {
	w := m.escape
	if w == nil {
		return
	}
	if c, ok := m.env.clock.(*vclock.Clock); ok {
		c.Disarm(&w.esc)
	} else if w.escT != nil {
		w.escT.Stop()
		w.escT = nil
	}
	m.escape = nil
}

// escaped is the guard time after "+++" passing: the port is back in
// command state, and its session, idle now, gives back its working state
// (no input comes to do it: the host waits for the OK), so that an idle
// port between data sessions keeps none. Unless the guard time n (the
// modem's count of them) was stopped or replaced meanwhile.
func (s *session) escaped(w *sessionWork, n uint32) {
	m := s.m
	s.mu.Lock()
	defer s.mu.Unlock()
	m.mu.Lock()
	if m.escape == w && m.escapes == n {
		m.escape, w.escT = nil, nil
		m.endData(s.p, resOK)
	}
	m.mu.Unlock()
	s.release()
}
