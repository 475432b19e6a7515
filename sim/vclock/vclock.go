// Package vclock is a virtual sim.Clock: time stands still until Advance
// moves it, and timers fire in due order as it passes them. Tests and the
// scenario runner use it so that months of fleet life take milliseconds and
// replay identically.
package vclock

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Clock is a virtual clock. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*timer
}

type timer struct {
	c   *Clock
	due time.Time
	seq uint64
	f   func()
}

var _ sim.Clock = (*Clock)(nil)

// New returns a clock that reads start until advanced.
func New(start time.Time) *Clock { return &Clock{now: start.UTC()} }

// Now implements sim.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements sim.Clock. f runs synchronously inside Advance.
func (c *Clock) AfterFunc(d time.Duration, f func()) sim.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, due: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements sim.Timer.
func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	return true
}

// Advance moves the clock forward by d, running every timer that falls due
// on the way at its due time, earliest first (in creation order on ties).
// Timers a callback starts are run too if they fall due within d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	c.AdvanceTo(end)
}

// AdvanceTo moves the clock forward to t (never backward).
func (c *Clock) AdvanceTo(end time.Time) {
	for {
		c.mu.Lock()
		if len(c.timers) == 0 || c.next().due.After(end) {
			if end.After(c.now) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		t := c.next()
		c.timers = slices.DeleteFunc(c.timers, func(x *timer) bool { return x == t })
		if t.due.After(c.now) {
			c.now = t.due
		}
		c.mu.Unlock()
		t.f()
	}
}

// Pending returns how many timers wait to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// next returns the timer due first. Callers hold c.mu.
func (c *Clock) next() *timer {
	return slices.MinFunc(c.timers, func(a, b *timer) int {
		if d := a.due.Compare(b.due); d != 0 {
			return d
		}
		return cmp.Compare(a.seq, b.seq)
	})
}
