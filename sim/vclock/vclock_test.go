package vclock_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestTimersFireInDueOrderAtTheirTime(t *testing.T) {
	c := vclock.New(start)
	var fired []string
	var at []time.Duration
	record := func(name string) func() {
		return func() { fired = append(fired, name); at = append(at, c.Now().Sub(start)) }
	}
	c.AfterFunc(3*time.Second, record("c"))
	c.AfterFunc(time.Second, record("a"))
	c.AfterFunc(time.Second, record("a2")) // same due time: creation order
	stopped := c.AfterFunc(2*time.Second, record("never"))
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop(), "a stopped timer cannot be stopped again")

	c.Advance(time.Second - time.Nanosecond)
	assert.Empty(t, fired, "nothing is due yet")
	c.Advance(5 * time.Second)
	assert.Equal(t, []string{"a", "a2", "c"}, fired)
	assert.Equal(t, []time.Duration{time.Second, time.Second, 3 * time.Second}, at)
	assert.Equal(t, start.Add(6*time.Second-time.Nanosecond), c.Now(), "the clock ends where it was advanced to")
	assert.Zero(t, c.Pending())
}

func TestTimersStartedByCallbacksRunWithinTheAdvance(t *testing.T) {
	c := vclock.New(start)
	n := 0
	var tick func()
	tick = func() {
		n++
		c.AfterFunc(time.Minute, tick)
	}
	c.AfterFunc(time.Minute, tick)
	c.Advance(time.Hour)
	assert.Equal(t, 60, n, "a timer re-armed every minute fires 60 times in an hour")
	assert.Equal(t, 1, c.Pending())
	c.AdvanceTo(start) // never backward
	assert.Equal(t, start.Add(time.Hour), c.Now())
}

func TestTiesFireInCreationOrder(t *testing.T) {
	c := vclock.New(start)
	var fired []int
	// Enough timers for a heap several levels deep, due at three instants
	// and created interleaved, so that only the creation number can keep
	// each instant's timers in order.
	for i := range 300 {
		c.AfterFunc(time.Duration(2-i%3)*time.Second, func() { fired = append(fired, i) })
	}
	c.Advance(2 * time.Second)
	var want []int
	for _, due := range []int{2, 1, 0} {
		for i := due; i < 300; i += 3 {
			want = append(want, i)
		}
	}
	assert.Equal(t, want, fired)
}

func TestStopFromACallbackOfATimerDueAtTheSameInstant(t *testing.T) {
	c := vclock.New(start)
	var fired []string
	var a, b, d sim.Timer
	a = c.AfterFunc(time.Second, func() {
		fired = append(fired, "a")
		assert.True(t, b.Stop(), "b is due at the same instant but has not fired yet")
		assert.False(t, a.Stop(), "a timer firing is no longer pending")
	})
	b = c.AfterFunc(time.Second, func() { fired = append(fired, "b") })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, "c")
		assert.False(t, a.Stop(), "a fired before c")
		assert.True(t, d.Stop(), "d is due later in the same advance")
	})
	d = c.AfterFunc(time.Second+time.Nanosecond, func() { fired = append(fired, "d") })
	c.AfterFunc(time.Second+time.Nanosecond, func() { fired = append(fired, "e") })
	c.Advance(time.Hour)
	assert.Equal(t, []string{"a", "c", "e"}, fired)
	assert.Zero(t, c.Pending())
}

func TestStopAfterFireReturnsFalse(t *testing.T) {
	c := vclock.New(start)
	n := 0
	fired := c.AfterFunc(time.Second, func() { n++ })
	stopped := c.AfterFunc(time.Second, func() { n++ })
	later := c.AfterFunc(time.Minute, func() { n++ })
	assert.True(t, stopped.Stop())
	assert.Equal(t, 2, c.Pending())
	c.Advance(time.Second)
	assert.Equal(t, 1, n)
	assert.False(t, fired.Stop(), "a timer that fired was not pending")
	assert.False(t, fired.Stop())
	assert.False(t, stopped.Stop(), "a timer stopped once is not pending")
	assert.Equal(t, 1, c.Pending(), "stopping timers no longer pending leaves the others be")
	assert.True(t, later.Stop())
	assert.Zero(t, c.Pending())
	c.Advance(time.Hour)
	assert.Equal(t, 1, n)
	assert.EqualValues(t, 1, c.Fired(), "stopped timers do not count as run")
}

func TestZeroDelayTimersFromCallbacksRunAfterThoseAlreadyDue(t *testing.T) {
	c := vclock.New(start)
	var fired []string
	var at []time.Duration
	record := func(name string) func() {
		return func() { fired = append(fired, name); at = append(at, c.Now().Sub(start)) }
	}
	c.AfterFunc(time.Second, func() {
		record("a")()
		c.AfterFunc(0, func() {
			record("a0")()
			c.AfterFunc(0, record("a00")) // a chain at one instant runs to its end
		})
		c.AfterFunc(-time.Hour, record("a-")) // negative delays mean now
	})
	c.AfterFunc(time.Second, record("b"))
	c.AfterFunc(time.Second+time.Nanosecond, func() {
		record("c")()
		c.AfterFunc(time.Second-time.Nanosecond, record("c-end")) // due exactly at the end of the advance
		c.AfterFunc(time.Second, record("c-after"))               // a nanosecond too late
	})
	c.Advance(2 * time.Second)
	assert.Equal(t, []string{"a", "b", "a0", "a-", "a00", "c", "c-end"}, fired)
	s := time.Second
	assert.Equal(t, []time.Duration{s, s, s, s, s, s + 1, 2 * s}, at)
	assert.Equal(t, 1, c.Pending())
	c.Advance(time.Nanosecond)
	assert.Equal(t, "c-after", fired[len(fired)-1])
}

func TestNeverBackwardAndClampedToInt64Nanos(t *testing.T) {
	c := vclock.New(start)
	n := 0
	c.AfterFunc(0, func() { n++ })
	c.Advance(-time.Second)
	c.AdvanceTo(time.Time{}) // year 1: before what int64 nanoseconds reach
	c.AdvanceTo(start.Add(-time.Nanosecond))
	assert.Equal(t, start, c.Now())
	assert.Zero(t, n, "a timer due now does not fire when time goes back")
	c.Advance(0)
	assert.Equal(t, 1, n)

	maxTime := time.Unix(0, math.MaxInt64).UTC()
	var fired []string
	c.AfterFunc(math.MaxInt64, func() { fired = append(fired, "a") })
	c.AfterFunc(math.MaxInt64-1, func() { fired = append(fired, "b") })
	c.AdvanceTo(maxTime.Add(-time.Nanosecond))
	assert.Empty(t, fired, "timers that would be due after 2262 are due at its end")
	c.AdvanceTo(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, []string{"a", "b"}, fired, "in creation order")
	assert.Equal(t, maxTime, c.Now())
	c.Advance(time.Hour)
	assert.Equal(t, maxTime, c.Now(), "the clock stops at the end of int64 nanoseconds")
}

// A million pending timers, a third of them stopped, fire in order: the
// heap scales, where a scan per timer would take hours.
func TestAMillionTimers(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 50_000
	}
	c := vclock.New(start)
	rng := rand.New(rand.NewPCG(1, 1))
	due := make([]time.Duration, n)
	timers := make([]sim.Timer, n)
	var fired []int32
	for i := range n {
		due[i] = time.Duration(rng.Int64N(int64(24 * time.Hour)))
		timers[i] = c.AfterFunc(due[i], func() { fired = append(fired, int32(i)) })
	}
	stopped := 0
	for _, i := range rng.Perm(n)[:n/3] {
		stopped++
		require.True(t, timers[i].Stop())
	}
	require.Equal(t, n-stopped, c.Pending())
	require.NoError(t, c.CheckHeap())
	c.Advance(24 * time.Hour)
	require.Len(t, fired, n-stopped)
	for k := 1; k < len(fired); k++ {
		a, b := fired[k-1], fired[k]
		if due[a] > due[b] || due[a] == due[b] && a > b {
			t.Fatalf("timer %d (due %v) fired before %d (due %v)", a, due[a], b, due[b])
		}
	}
	assert.Zero(t, c.Pending())
}

// clock is what the model test drives: the Clock under test or refClock.
type clock interface {
	sim.Scheduler
	Advance(time.Duration)
	AdvanceTo(time.Time)
	Pending() int
}

// refClock is the obvious virtual clock, a list searched from end to end
// for the next timer, for Clock to be compared with.
type refClock struct {
	now    time.Time
	seq    int
	timers []*refTimer
}

type refTimer struct {
	c   *refClock
	due time.Time
	seq int
	f   func()
}

func (c *refClock) Now() time.Time { return c.now }
func (c *refClock) Pending() int   { return len(c.timers) }

func (c *refClock) AfterFunc(d time.Duration, f func()) sim.Timer {
	c.seq++
	t := &refTimer{c: c, due: c.now.Add(max(d, 0)), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (c *refClock) Schedule(d time.Duration, h sim.Handler, arg uint64) {
	c.AfterFunc(d, func() { h.Fire(arg) })
}

func (t *refTimer) Stop() bool {
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			return true
		}
	}
	return false
}

func (c *refClock) Advance(d time.Duration) { c.AdvanceTo(c.now.Add(d)) }

func (c *refClock) AdvanceTo(end time.Time) {
	for {
		next := -1
		for i, t := range c.timers {
			if !t.due.After(end) && (next < 0 || t.due.Before(c.timers[next].due) ||
				t.due.Equal(c.timers[next].due) && t.seq < c.timers[next].seq) {
				next = i
			}
		}
		if next < 0 {
			if end.After(c.now) {
				c.now = end
			}
			return
		}
		t := c.timers[next]
		t.Stop()
		if t.due.After(c.now) {
			c.now = t.due
		}
		t.f()
	}
}

// modelScript drives c with ops random operations from seed and returns a
// log of what it saw: which timer fired when, what each Stop returned, and
// the time and pending count after every step. Callbacks start, stop and
// advance too. Two clocks that behave alike draw the same random numbers in
// the same order and so write the same log. check, if not nil, runs after
// every step.
func modelScript(seed uint64, ops int, c clock, check func() error) ([]string, error) {
	rng := rand.New(rand.NewPCG(seed, 0))
	var log []string
	logf := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	// Delays are mostly whole milliseconds so that many timers tie, some
	// about a minute (the near heap's window) so that timers of both heaps
	// tie.
	delay := func() time.Duration {
		switch rng.IntN(12) {
		case 10:
			return time.Minute + time.Duration(rng.IntN(5)-2)*time.Millisecond
		case 11:
			return time.Minute - time.Duration(rng.IntN(40))*time.Millisecond
		case 0:
			return 0
		case 1:
			return -time.Duration(rng.IntN(3)) * time.Millisecond
		case 2:
			return time.Duration(rng.Int64N(int64(time.Second)))
		case 3, 4:
			return time.Duration(rng.IntN(5)) * time.Millisecond
		}
		return time.Duration(rng.IntN(500)) * time.Millisecond
	}
	var timers []sim.Timer
	// pick picks a timer to stop: often a recent one, likely pending, and
	// otherwise any, likely fired or stopped.
	pick := func() int {
		if rng.IntN(2) == 0 {
			return len(timers) - 1 - rng.IntN(min(len(timers), 300))
		}
		return rng.IntN(len(timers))
	}
	nested := false
	var arm func(by string)
	arm = func(by string) {
		id := len(timers)
		d := delay()
		if rng.IntN(4) == 0 { // an event of Schedule, which cannot be stopped
			logf("%s schedules %d in %v", by, id, d)
			timers = append(timers, unstoppable{})
			c.Schedule(d, fireFunc(func(arg uint64) {
				logf("%d fires at %v with %d", id, c.Now().Sub(start), arg)
				if rng.IntN(3) == 0 {
					arm(fmt.Sprint(id))
				}
			}), uint64(id))
			return
		}
		logf("%s arms %d in %v", by, id, d)
		timers = append(timers, c.AfterFunc(d, func() {
			logf("%d fires at %v", id, c.Now().Sub(start))
			switch rng.IntN(10) {
			case 0, 1, 2:
				arm(fmt.Sprint(id))
			case 3, 4:
				k := pick()
				logf("%d stops %d: %v", id, k, timers[k].Stop())
			case 5:
				logf("%d stops itself: %v", id, timers[id].Stop())
			case 6:
				if !nested {
					nested = true
					d := time.Duration(rng.IntN(5)) * time.Millisecond
					logf("%d advances %v", id, d)
					c.Advance(d)
					nested = false
				}
			}
			logf("pending %d", c.Pending())
		}))
	}
	for range ops {
		switch op := rng.IntN(20); {
		case op < 7:
			arm("script")
		case op < 8:
			for range rng.IntN(100) {
				arm("script")
			}
		case op < 12:
			if len(timers) > 0 {
				k := pick()
				logf("stop %d: %v", k, timers[k].Stop())
			}
		case op < 18:
			d := time.Duration(rng.IntN(40)-2)*time.Millisecond + time.Duration(rng.IntN(3))*time.Millisecond/2
			if rng.IntN(8) == 0 {
				d += time.Duration(rng.IntN(30)) * time.Second
			}
			logf("advance %v", d)
			c.Advance(d)
		default:
			to := c.Now().Add(time.Duration(rng.IntN(60)-10) * time.Millisecond)
			logf("advance to %v", to.Sub(start))
			c.AdvanceTo(to)
		}
		logf("now %v, pending %d", c.Now().Sub(start), c.Pending())
		if check != nil {
			if err := check(); err != nil {
				return log, err
			}
		}
	}
	c.Advance(time.Hour)
	logf("now %v, pending %d", c.Now().Sub(start), c.Pending())
	return log, nil
}

// unstoppable is what the model script keeps for an event of Schedule.
type unstoppable struct{}

func (unstoppable) Stop() bool { return false }

// fireFunc is a Handler that calls itself.
type fireFunc func(arg uint64)

func (f fireFunc) Fire(arg uint64) { f(arg) }

func TestMatchesAReferenceModel(t *testing.T) {
	for seed := range uint64(16) {
		ref := &refClock{now: start}
		want, err := modelScript(seed, 2000, ref, nil)
		require.NoError(t, err)
		c := vclock.New(start)
		got, err := modelScript(seed, 2000, c, c.CheckHeap)
		require.NoError(t, err, "seed %d, after %q", seed, got[max(len(got)-3, 0):])
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("seed %d: step %d is %q, the model's %q; before it:\n%s",
					seed, i, got[i], want[i], strings.Join(want[max(i-10, 0):i], "\n"))
			}
		}
		require.Equal(t, len(want), len(got), "seed %d", seed)
	}
}

// Goroutines start and stop timers while others advance the clock: each
// timer either fires once or is stopped, never both, and time never goes
// back. Run with -race.
func TestConcurrentUse(t *testing.T) {
	c := vclock.New(start)
	const workers, perWorker = 4, 2000
	var fires [workers * perWorker]atomic.Int32
	var stopped [workers * perWorker]bool
	var extra atomic.Int32 // timers callbacks start: each must fire once
	var extraFired atomic.Int32

	var advancing sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		advancing.Go(func() {
			last := c.Now()
			for {
				select {
				case <-done:
					return
				default:
				}
				c.Advance(time.Millisecond)
				now := c.Now()
				assert.False(t, now.Before(last), "time went back")
				last = now
			}
		})
	}
	var working sync.WaitGroup
	for w := range workers {
		working.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0))
			timers := make([]sim.Timer, perWorker)
			for i := range perWorker {
				id := w*perWorker + i
				timers[i] = c.AfterFunc(time.Duration(rng.IntN(50))*time.Millisecond, func() {
					fires[id].Add(1)
					if id%10 == 0 {
						extra.Add(1)
						c.AfterFunc(time.Millisecond, func() { extraFired.Add(1) })
					}
				})
				if rng.IntN(3) == 0 {
					k := rng.IntN(i + 1)
					if timers[k].Stop() {
						assert.False(t, stopped[w*perWorker+k], "a timer stopped twice")
						stopped[w*perWorker+k] = true
					}
				}
				_ = c.Pending()
			}
		})
	}
	working.Wait()
	close(done)
	advancing.Wait()
	c.Advance(time.Hour)
	for id := range fires {
		want := int32(1)
		if stopped[id] {
			want = 0
		}
		require.Equal(t, want, fires[id].Load(), "timer %d, stopped %v", id, stopped[id])
	}
	assert.Equal(t, extra.Load(), extraFired.Load())
	want := int64(extraFired.Load())
	for id := range fires {
		want += int64(fires[id].Load())
	}
	assert.Equal(t, want, c.Fired())
	assert.Zero(t, c.Pending())
	require.NoError(t, c.CheckHeap())
}

// TestAdvanceToContextStopsATimerStorm: timers that re-arm themselves 1ns
// apart would keep AdvanceTo busy for ages; AdvanceToContext stops soon
// after its context is cancelled, at the last timer it ran.
func TestAdvanceToContextStopsATimerStorm(t *testing.T) {
	c := vclock.New(time.Unix(0, 0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fired := 0
	var storm func()
	storm = func() {
		fired++
		if fired == 1000 {
			cancel()
		}
		c.AfterFunc(time.Nanosecond, storm)
	}
	c.AfterFunc(time.Nanosecond, storm)
	err := c.AdvanceToContext(ctx, time.Unix(0, 0).Add(time.Hour))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("AdvanceToContext = %v, want context.Canceled", err)
	}
	if fired < 1000 || fired > 1000+256 {
		t.Fatalf("%d timers ran; want the storm stopped within 256 of the cancel", fired)
	}
	if got := c.Now(); !got.Equal(time.Unix(0, int64(fired)).UTC()) {
		t.Fatalf("clock at %v after the stop, want the last timer's time", got)
	}
	if err := c.AdvanceToContext(ctx, time.Unix(0, 0).Add(time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("AdvanceToContext with a done context = %v", err)
	}
}
