package modem

import (
	"testing"
	"time"
)

// idleState is what a modem keeps beyond its idle size: its main port's
// session working state and its rare state.
type idleState struct{ work, rare bool }

// kept reports what the harness modem keeps now.
func (h *harness) kept() idleState {
	h.t.Helper()
	m := h.m
	m.mu.Lock()
	s := m.ports[0].sess
	rare := m.rare != nil
	m.mu.Unlock()
	if s == nil {
		h.t.Fatal("no session on the main port")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return idleState{work: s.sessionWork != nil, rare: rare}
}

// TestIdleAfterDataSession: a port that goes back to command state after
// a data session ("+++" and its guard time, no further input) keeps no
// working state, and the modem no rare state for the escape's timer, as
// before the session; a port in data state keeps its working state (the
// escape's guard times).
func TestIdleAfterDataSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock(), withHub())
	idle := func(when string) {
		t.Helper()
		if got := h.kept(); got != (idleState{}) {
			t.Fatalf("%s: kept %+v, want nothing", when, got)
		}
	}
	escape := func() {
		t.Helper()
		h.advance(escapeGuard)
		h.send("+++")
		h.awaitTimer(escapeGuard)
		h.advance(escapeGuard)
		h.expect(okLine)
	}
	idle("registered")
	h.send("ATD*99#\r")
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect("\r\nCONNECT\r\n")
	h.send("hello")
	h.sync()
	if got := h.kept(); !got.work {
		t.Fatalf("in data state: kept %+v, want the working state", got)
	}
	escape()
	idle("after +++ and OK")

	// The session goes on (ATO), and ends again the same way.
	h.run([]step{{send: "ATO\r", want: "\r\nCONNECT\r\n"}})
	h.send("abc")
	h.sync()
	escape()
	idle("after ATO, data, +++ and OK")

	// "+++" then data within the guard time is data: the state stays.
	h.run([]step{{send: "ATO\r", want: "\r\nCONNECT\r\n"}})
	h.advance(escapeGuard)
	h.send("+++")
	h.awaitTimer(escapeGuard)
	h.advance(escapeGuard / 2)
	h.send("x")
	h.sync()
	h.advance(3 * escapeGuard)
	if got := h.kept(); !got.work || !h.dataMode() {
		t.Fatalf("after +++x: kept %+v, data state %v; want both", got, h.dataMode())
	}
	escape()
	h.run([]step{{send: "ATH\r", want: okLine}})
	idle("after ATH")
	h.advance(time.Hour)
	idle("an hour later")
}
