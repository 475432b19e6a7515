package modem

import (
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// authQueue is when the cached authorisations of an Env's registered
// modems expire, with one timer on the clock for the next of them: every
// registered modem has one running, and a timer each (its function, and
// its place in the clock) cost a fleet some 80 bytes a modem. A cache
// lasts Env.authCache from when it is armed, so the deadlines come in the
// order they are armed: the queue is a FIFO. An entry whose modem has
// armed again since, or stopped, is stale (its deadline is no longer the
// modem's authAt) and is dropped when it comes to the head; the timer is
// only ever set for a live entry, so the clock fires what a timer per
// modem would have.
type authQueue struct {
	mu    sync.Mutex
	q     []authEntry // from head on: deadlines ascending
	head  int
	stale int       // stale entries from head on
	timer sim.Timer // set for armed, the head; nil while the queue is empty
	armed authEntry
}

type authEntry struct {
	m  *Modem
	at int64 // Unix nanoseconds
}

func (e authEntry) live() bool { return e.m.authAt.Load() == e.at }

// armAuthCache re-checks, when the visited network's cached authorisation
// expires, that the SIM may still use it (authExpired). Callers hold m.mu.
func (m *Modem) armAuthCache() {
	if m.closed {
		return
	}
	a := &m.env.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if m.authAt.Load() != 0 {
		a.stale++ // its entry
	}
	at := m.env.clock.Now().Add(m.env.authCache).UnixNano() // under a.mu: in order
	m.authAt.Store(at)
	a.q = append(a.q, authEntry{m: m, at: at})
	a.settle(m.env)
}

// stopAuth stops the modem's cached authorisation from expiring: it has
// none any more. Callers hold m.mu.
func (m *Modem) stopAuth() {
	if m.authAt.Load() == 0 {
		return
	}
	a := &m.env.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	m.authAt.Store(0)
	a.stale++
	a.settle(m.env)
}

// settle drops the stale entries at the head, compacts the queue when
// most of it is stale, and sets the timer for the head if it is not set
// for it. Callers hold a.mu.
func (a *authQueue) settle(e *Env) {
	for a.head < len(a.q) && !a.q[a.head].live() {
		a.q[a.head] = authEntry{}
		a.head++
		a.stale--
	}
	if a.head == len(a.q) {
		if a.timer != nil {
			a.timer.Stop()
			a.timer = nil
		}
		a.q, a.head, a.stale = a.q[:0], 0, 0
		return
	}
	if n := len(a.q) - a.head; a.head > n || a.stale > n/2 { // order kept: the head stays the head
		live := a.q[:0]
		for _, x := range a.q[a.head:] {
			if x.live() {
				live = append(live, x)
			}
		}
		clear(a.q[len(live):])
		a.q, a.head, a.stale = live, 0, 0
	}
	if a.timer != nil && a.armed == a.q[a.head] {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	var t sim.Timer
	a.armed = a.q[a.head]
	d := time.Duration(max(a.armed.at-e.clock.Now().UnixNano(), 0))
	t = e.clock.AfterFunc(d, func() { a.fire(e, &t) })
	a.timer = t
}

// fire is the timer set for the head, *t, falling due: the head's cache
// expires, and the timer is set for the next.
func (a *authQueue) fire(e *Env, t *sim.Timer) {
	a.mu.Lock()
	if a.timer == nil || a.timer != *t { // stopped and set for another meanwhile (a wall clock)
		a.mu.Unlock()
		return
	}
	h := a.armed // the head: settle keeps it so while the timer is set
	a.q[a.head] = authEntry{}
	a.head++
	a.timer, a.armed = nil, authEntry{}
	a.settle(e)
	a.mu.Unlock()
	h.m.authExpired(h.at)
}

// authExpired is the visited network's cached authorisation of deadline
// at expiring.
func (m *Modem) authExpired(at int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.authAt.CompareAndSwap(at, 0) {
		return // stopped, or armed again, meanwhile
	}
	s := m.st.serving
	if s == nil {
		return
	}
	if _, err := m.env.core.AuthorizeAttach(m.card.ICCID, s.PLMN); err != nil {
		m.networkDetach(err)
		return
	}
	m.armAuthCache()
}
