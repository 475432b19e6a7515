package modem

import (
	"testing"
	"time"
)

// idleState is what a modem keeps beyond its idle size: its main port's
// session working state, its rare state, a list of its PDP contexts.
type idleState struct{ work, rare, contexts bool }

// kept reports what the harness modem keeps now.
func (h *harness) kept() idleState {
	h.t.Helper()
	m := h.m
	m.mu.Lock()
	s := m.ports[0].sess
	rare, contexts := m.rare != nil, m.st.contexts.list != nil
	m.mu.Unlock()
	if s == nil {
		h.t.Fatal("no session on the main port")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return idleState{work: s.sessionWork != nil, rare: rare, contexts: contexts}
}

// TestIdleAfterDataSession: a port that goes back to command state after
// a data session ("+++" and its guard time, no further input) keeps no
// working state, and the modem no rare state for the escape's timer, as
// before the session; a port in data state keeps its working state (the
// escape's guard times). The power-up context, activated and not
// redefined, needs no list of contexts.
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
	if got := h.kept(); got != (idleState{work: true}) {
		t.Fatalf("in data state: kept %+v, want the working state alone", got)
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
	h.plusThenData()
	if got := h.kept(); !got.work || !h.dataMode() {
		t.Fatalf("after +++x: kept %+v, data state %v; want both", got, h.dataMode())
	}
	escape()
	h.run([]step{{send: "ATH\r", want: okLine}})
	idle("after ATH")
	h.advance(time.Hour)
	idle("an hour later")

	// A definition changed: the contexts are a list from then on, and
	// read as before.
	h.run([]step{
		{send: "AT+CGDCONT=2,\"IPV6\",\"\"\r", want: okLine},
		{send: "AT+CGDCONT?\r", want: resp(`+CGDCONT: 1,"IP","super","0.0.0.0",0,0`, `+CGDCONT: 2,"IPV6","","0.0.0.0",0,0`)},
	})
	h.send("AT+CGACT=1,1\r")
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect(okLine)
	h.run([]step{
		{send: "AT+CGACT?\r", want: resp("+CGACT: 1,1", "+CGACT: 2,0")},
		{send: "AT+CGPADDR=1\r", want: resp(`+CGPADDR: 1,"100.65.0.1"`)},
	})
	if got := h.kept(); !got.contexts {
		t.Fatalf("after AT+CGDCONT=2: kept %+v, want a list of contexts", got)
	}
}
