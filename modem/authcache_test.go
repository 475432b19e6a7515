package modem

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// authCore is a Core that allows every attach and records when each ICCID
// was asked.
type authCore struct {
	clock sim.Clock
	mu    sync.Mutex
	asked []string
}

func (c *authCore) AuthorizeAttach(iccid string, _ sim.PLMN) (sim.Network, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, fmt.Sprintf("%s@%v", iccid, c.clock.Now().Format("15:04:05")))
	return sim.Network{}, nil
}
func (*authCore) AuthorizeData(string) error                         { return nil }
func (*authCore) DataAllowance(string) (int64, error)                { return 1 << 30, nil }
func (*authCore) RecordUsage(context.Context, sim.UsageReport) error { return nil }
func (*authCore) Subscribe(func(sim.Event)) func()                   { return func() {} }

func (c *authCore) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.asked
	c.asked = nil
	return a
}

// TestAuthQueue: the cached authorisations of an Env's modems expire
// each at its own deadline, re-armed or stopped ones as they were last
// told, with one clock event per expiry, as a timer per modem had; once
// every modem is closed nothing is left on the clock.
func TestAuthQueue(t *testing.T) {
	clock := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	core := &authCore{clock: clock}
	env := NewEnv(Config{Core: core, Clock: clock, AuthCache: time.Hour})
	var ms []*Modem
	for i := range 4 {
		m := env.New(sim.Card{ICCID: fmt.Sprint(i)}, "", "GB")
		m.mu.Lock()
		m.st.serving = &Cell{}
		m.mu.Unlock()
		ms = append(ms, m)
	}
	do := func(m *Modem, f func()) {
		m.mu.Lock()
		defer m.mu.Unlock()
		f()
	}
	do(ms[0], ms[0].armAuthCache) // 00:00 -> 01:00
	clock.Advance(time.Second)    //
	do(ms[1], ms[1].armAuthCache) // 00:01 -> stopped
	clock.Advance(time.Second)    //
	do(ms[2], ms[2].armAuthCache) // 00:02 -> 01:00:02
	do(ms[3], ms[3].armAuthCache) // 00:02 -> 01:00:02, after it
	clock.Advance(time.Second)    //
	do(ms[1], ms[1].stopAuth)     //
	do(ms[0], ms[0].armAuthCache) // 00:03 -> 01:00:03
	fired := clock.Fired()
	clock.Advance(time.Hour + time.Second)
	want := []string{"2@01:00:02", "3@01:00:02", "0@01:00:03"}
	if got := core.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("expiries %q, want %q", got, want)
	}
	if n := clock.Fired() - fired; n != 3 {
		t.Fatalf("%d clock events for 3 expiries", n)
	}
	// Each was allowed again and re-armed, for another hour.
	clock.Advance(time.Hour)
	want = []string{"2@02:00:02", "3@02:00:02", "0@02:00:03"}
	if got := core.take(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second expiries %q, want %q", got, want)
	}
	for _, m := range ms {
		m.Close()
	}
	if n := clock.Pending(); n != 0 {
		t.Fatalf("%d timers left on the clock after every modem closed", n)
	}
	env.auth.mu.Lock()
	defer env.auth.mu.Unlock()
	if n := len(env.auth.q) - env.auth.head; n != 0 {
		t.Fatalf("%d entries left in the queue", n)
	}
}

// TestAuthQueueCompacts: a modem armed again and again keeps its queue
// small: stale entries do not pile up until the head expires.
func TestAuthQueueCompacts(t *testing.T) {
	clock := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	env := NewEnv(Config{Core: &authCore{clock: clock}, Clock: clock, AuthCache: time.Hour})
	ms := []*Modem{env.New(sim.Card{ICCID: "a"}, "", "GB"), env.New(sim.Card{ICCID: "b"}, "", "GB")}
	for range 1000 {
		for _, m := range ms {
			m.mu.Lock()
			m.armAuthCache()
			m.mu.Unlock()
		}
		clock.Advance(time.Second)
	}
	env.auth.mu.Lock()
	n := len(env.auth.q) - env.auth.head
	env.auth.mu.Unlock()
	if n > 8 {
		t.Fatalf("%d entries queued for 2 modems", n)
	}
	if p := clock.Pending(); p != 1 {
		t.Fatalf("%d timers on the clock, want 1", p)
	}
}
