package modem

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// session reads one transport: command lines in command state, raw bytes
// in data state.
type session struct {
	m  *Modem
	lr *lineReader
	// data mode: the "+++" escape needs a guard time of silence before and after.
	lastData time.Time
	plus     int
	lastPlus time.Time // when the last "+" of a possible escape came
}

// escapeGuard is the silence around "+++" (S12 = 50 × 20 ms).
const escapeGuard = time.Second

func newSession(m *Modem) *session { return &session{m: m, lr: newLineReader(MaxLine)} }

// input handles bytes as they arrive; how they are split does not matter.
func (s *session) input(ctx context.Context, b []byte) {
	m := s.m
	var echo []byte
	flush := func() {
		if len(echo) > 0 {
			m.mu.Lock()
			if m.out != nil {
				m.out.send(echo)
			}
			m.mu.Unlock()
			echo = nil
		}
	}
	for i := 0; i < len(b); i++ {
		m.mu.Lock()
		data := m.st.dataMode
		s3, s5, echoOn := m.st.s3(), m.st.s5(), m.st.echo
		m.mu.Unlock()
		if data {
			flush()
			n := s.data(ctx, b[i:])
			i += n - 1
			continue
		}
		ev, e := s.lr.feed(b[i], s3, s5)
		if e && echoOn {
			echo = append(echo, b[i])
		}
		switch ev {
		case evLine:
			flush()
			s.run(ctx, string(s.lr.body), true)
		case evRepeat:
			flush()
			m.mu.Lock()
			last := m.lastLine
			m.mu.Unlock()
			s.run(ctx, last, false)
		case evOverflow:
			flush()
			m.mu.Lock()
			m.out.send([]byte(m.st.result(resError)))
			m.mu.Unlock()
		}
	}
	flush()
}

// run executes one command line and writes its response in one piece.
func (s *session) run(ctx context.Context, body string, remember bool) {
	m := s.m
	if remember {
		m.mu.Lock()
		m.lastLine = body
		m.mu.Unlock()
	}
	var out strings.Builder
	final := func(res string) {
		out.WriteString(res)
		m.mu.Lock()
		if m.out != nil {
			m.out.send([]byte(out.String()))
		}
		// Indications a command raised about itself follow its final result.
		m.urc(m.st.afterResult...)
		m.st.afterResult = nil
		m.mu.Unlock()
	}
	cmds, err := ParseLine(body)
	if err != nil {
		m.mu.Lock()
		res := m.st.result(resError)
		m.mu.Unlock()
		final(res)
		return
	}
	for _, c := range cmds {
		h := m.handler(c.Name)
		var lines []string
		err := ErrError
		if h != nil {
			lines, err = h(ctx, m, c)
		}
		m.mu.Lock()
		for _, l := range lines {
			out.WriteString(m.st.frame(l))
		}
		var res string
		switch {
		case errors.Is(err, errConnect):
			res = m.st.result(resConnect)
		case errors.Is(err, errNoCarrier):
			res = m.st.result(resNoCarrier)
		case err != nil:
			res = m.st.errorResult(err)
		}
		m.mu.Unlock()
		if err != nil {
			if errors.Is(err, errConnect) {
				s.lastData, s.plus = m.cfg.Clock.Now(), 0
			}
			final(res)
			return
		}
	}
	m.mu.Lock()
	res := m.st.result(resOK)
	m.mu.Unlock()
	final(res)
}

var (
	errConnect   = errors.New("CONNECT")
	errNoCarrier = errors.New("NO CARRIER")
)

// data consumes bytes of the data session and returns how many it took.
// Every byte counts as upload; "+++" between guard times returns to
// command state with the session kept (ATO resumes it).
func (s *session) data(ctx context.Context, b []byte) int {
	m := s.m
	now := m.cfg.Clock.Now()
	n := 0
	for n < len(b) {
		c := b[n]
		n++
		if c == '+' && s.plus > 0 && now.Sub(s.lastPlus) >= escapeGuard {
			// The "+"s of an escape come within the guard time of each
			// other: older ones were data, and the silence since is a guard.
			s.plus, s.lastData = 0, s.lastPlus
		}
		if c == '+' && (s.plus > 0 || now.Sub(s.lastData) >= escapeGuard) {
			s.plus++
			s.lastPlus = now
			if s.plus == 3 {
				s.plus = 0
				m.mu.Lock()
				m.after("escape", escapeGuard, func() {
					if m.st.dataMode {
						m.st.dataMode = false
						m.raw(m.st.result(resOK))
					}
				})
				m.mu.Unlock()
				return n
			}
			continue
		}
		s.plus = 0
		s.lastData = now
	}
	m.mu.Lock()
	delete(m.timers, "escape")
	serving := m.st.serving
	m.mu.Unlock()
	if serving == nil {
		return n
	}
	if err := m.cfg.Core.AuthorizeData(m.cfg.Card.ICCID); err != nil {
		m.mu.Lock()
		m.dropData()
		m.mu.Unlock()
		return n
	}
	_ = m.cfg.Core.RecordUsage(ctx, sim.UsageReport{ICCID: m.cfg.Card.ICCID, PLMN: serving.PLMN, Upload: int64(n)})
	return n
}
