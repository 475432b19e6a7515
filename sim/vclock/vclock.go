// Package vclock is a virtual sim.Clock: time stands still until Advance
// moves it, and timers fire in due order as it passes them. Tests and the
// scenario runner use it so that months of fleet life take milliseconds and
// replay identically.
//
// A fleet simulation keeps a timer or two pending per device, so the clock
// is built for about a million of them: pending timers live in 4-ary
// min-heaps and each timer remembers its place in its heap, which makes
// AfterFunc, Stop and firing the next timer O(log n) rather than a scan of
// them all. Most events of a simulation are due soon (a reply in half a
// second, the next step of a device at once) while a timer or so per device
// waits an hour: the soon ones go to a heap of their own (near), small and
// hot in the cache, the later ones to another (far), and events due at once
// to a queue in creation order (now), which is already their firing order.
// The next event is the earliest of the three heads.
//
// Schedule is the allocation-free form of AfterFunc for the hot paths of a
// simulation: the event is a Handler (a device, say) and a word it reads
// back when the event fires (what to do, and the epoch it was set in), kept
// in the heap entry itself, so no closure and no timer is allocated per
// event. Such events cannot be stopped: the handler tells a stale one by
// its word. Arm is the stoppable form: the event is an Event the caller
// keeps and reuses, and Disarm takes it out of the heap, so that a stopped
// event is not run and does not count as fired.
package vclock

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Clock is a virtual clock. It is safe for concurrent use.
//
// Time is kept as int64 nanoseconds since the Unix epoch, which compares and
// adds faster than time.Time and keeps a heap entry to five words. That spans
// the years 1678 to 2262: a start outside them is clamped to the nearest end,
// and so are due times and advances that would pass them.
type Clock struct {
	mu    sync.Mutex
	now   int64
	seq   uint64 // creation number of the last timer, for order on ties
	fired int64  // timers run so far
	// near holds timers due within nearWindow when set, far the others.
	near, far heap
	// due holds the events Schedule made with no delay, in creation
	// order from due[head]: each is due at the time it was made, which
	// never goes back, so the queue is in (due, creation) order.
	due  []entry
	head int
}

// nearWindow is the delay below which a timer goes to the near heap.
const nearWindow = int64(time.Minute)

// heap is a 4-ary min-heap of pending timers (see up and down).
type heap struct {
	e  []entry
	id uint8 // which of the clock's heaps it is, for its timers
}

// entry is a pending timer in the heap. Its sort key is kept here, beside
// the handler, so that sifting compares adjacent memory instead of
// following a pointer to each timer it looks at. h is the *timer of an
// AfterFunc, or the Handler of a Schedule with its arg.
type entry struct {
	due int64
	seq uint64
	h   Handler
	arg uint64
}

// Handler receives the events of Schedule: Fire runs when one falls due,
// with the word it was scheduled with, inside Advance. It is sim's, so
// that a Clock is a sim.Scheduler.
type Handler = sim.Handler

// timer is what AfterFunc hands out. It is kept to three words because a
// simulation holds one per device.
type timer struct {
	c  *Clock
	f  func()
	i  int32 // index of the timer's entry in its heap; -1 once it fired or was stopped
	in uint8 // its heap: nearHeap or farHeap
}

// The heaps' ids.
const (
	nearHeap uint8 = iota
	farHeap
)

// heapOf returns the heap of id.
func (c *Clock) heapOf(id uint8) *heap {
	if id == nearHeap {
		return &c.near
	}
	return &c.far
}

// heapFor returns the heap for a timer due after d.
func (c *Clock) heapFor(d time.Duration) *heap {
	if int64(d) < nearWindow {
		return &c.near
	}
	return &c.far
}

var _ sim.Scheduler = (*Clock)(nil)

// Fire runs an AfterFunc timer's function (advanceTo calls it without the
// clock's lock).
func (t *timer) Fire(uint64) {
	f := t.f
	t.f = nil // the timer may be kept long after; its closure need not be
	f()
}

// New returns a clock that reads start until advanced.
func New(start time.Time) *Clock {
	return &Clock{now: unixNano(start), near: heap{id: nearHeap}, far: heap{id: farHeap}}
}

// Now implements sim.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Unix(0, c.now).UTC()
}

// AfterFunc implements sim.Clock. f runs synchronously inside Advance.
func (c *Clock) AfterFunc(d time.Duration, f func()) sim.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	h := c.heapFor(d)
	t := &timer{c: c, f: f, in: h.id}
	h.push(entry{due: addNanos(c.now, max(d, 0)), seq: c.seq, h: t})
	return t
}

// Schedule runs h.Fire(arg) after d, inside Advance, in the same order as
// AfterFunc's timers (due time, then creation). It allocates nothing
// (once the heap has grown) and the event cannot be stopped.
func (c *Clock) Schedule(d time.Duration, h Handler, arg uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	if d <= 0 {
		c.due = append(c.due, entry{due: c.now, seq: c.seq, h: h, arg: arg})
		return
	}
	c.heapFor(d).push(entry{due: addNanos(c.now, d), seq: c.seq, h: h, arg: arg})
}

// Event is a stoppable Schedule event that its owner keeps and reuses, so
// that arming it allocates nothing: Arm puts it in the heap, Disarm takes it
// out. The zero Event is not pending. Its fields belong to the clock.
type Event struct {
	h  Handler
	at int32 // the index of its entry in its heap plus one; 0 while not pending
	in uint8 // its heap: nearHeap or farHeap
}

// Fire runs the event's handler (advanceTo calls it without the clock's lock).
func (ev *Event) Fire(arg uint64) { ev.h.Fire(arg) }

// Arm runs h.Fire(arg) after d, as Schedule does, unless Disarm takes ev
// out first. ev must not be pending.
func (c *Clock) Arm(ev *Event, d time.Duration, h Handler, arg uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.at != 0 {
		panic("vclock: Arm of a pending Event")
	}
	c.seq++
	q := c.heapFor(d) // an event due at once too: the queue of those cannot remove
	ev.h, ev.in = h, q.id
	q.push(entry{due: addNanos(c.now, max(d, 0)), seq: c.seq, h: ev, arg: arg})
}

// Disarm takes ev out if it is pending, so that it neither runs nor counts
// as fired, and reports whether it was.
func (c *Clock) Disarm(ev *Event) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ev.at == 0 {
		return false
	}
	c.heapOf(ev.in).remove(int(ev.at - 1))
	return true
}

// Stop implements sim.Timer.
func (t *timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.i < 0 {
		return false
	}
	c.heapOf(t.in).remove(int(t.i))
	return true
}

// Advance moves the clock forward by d, running every timer that falls due
// on the way at its due time, earliest first (in creation order on ties).
// Timers a callback starts are run too if they fall due within d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := addNanos(c.now, d)
	c.mu.Unlock()
	c.advanceTo(nil, end)
}

// AdvanceTo moves the clock forward to t (never backward).
func (c *Clock) AdvanceTo(end time.Time) { c.advanceTo(nil, unixNano(end)) }

// AdvanceToContext is AdvanceTo that stops early, between two timers, once
// ctx is done, and returns ctx's error then: the clock stays at the last
// timer it ran. However many timers fall due, it looks at ctx every
// checkEvery of them.
func (c *Clock) AdvanceToContext(ctx context.Context, end time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.advanceTo(ctx.Done(), unixNano(end)) {
		return ctx.Err()
	}
	return nil
}

// checkEvery is how many timers AdvanceToContext runs between two looks at
// its context: cheap next to the timers, and a few microseconds apart.
const checkEvery = 256

// advanceTo is AdvanceTo in Unix nanoseconds. It takes the next timer off
// the heap under the lock and runs it without, so that callbacks may use the
// clock, and looks at the heap afresh each time, so that timers callbacks
// start or stop are honoured. It returns false if it stopped early because
// done was closed.
func (c *Clock) advanceTo(done <-chan struct{}, end int64) bool {
	for n := 1; ; n++ {
		if done != nil && n%checkEvery == 0 {
			select {
			case <-done:
				return false
			default:
			}
		}
		c.mu.Lock()
		e, ok := c.pop(end)
		if !ok {
			c.now = max(c.now, end)
			c.mu.Unlock()
			return true
		}
		c.now = max(c.now, e.due)
		c.fired++
		c.mu.Unlock()
		e.h.Fire(e.arg)
	}
}

// pop takes the earliest pending event off its heap or queue, unless there
// is none or it is due after end. Callers hold c.mu.
func (c *Clock) pop(end int64) (entry, bool) {
	var next *entry
	if c.head < len(c.due) {
		next = &c.due[c.head]
	}
	from := &c.near
	if len(c.near.e) > 0 && (next == nil || less(&c.near.e[0], next)) {
		next = &c.near.e[0]
	}
	if len(c.far.e) > 0 && (next == nil || less(&c.far.e[0], next)) {
		next, from = &c.far.e[0], &c.far
	}
	if next == nil || next.due > end {
		return entry{}, false
	}
	e := *next
	if c.head < len(c.due) && next == &c.due[c.head] {
		c.due[c.head] = entry{} // so the queue's spare capacity keeps no handler alive
		c.head++
		if c.head == len(c.due) {
			c.head, c.due = 0, c.due[:0]
			if cap(c.due) > minShrink {
				c.due = nil // a power-up's burst is not kept
			}
		}
		return e, true
	}
	from.remove(0)
	return e, true
}

// Fired returns how many timers have run: the events of a simulation.
func (c *Clock) Fired() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fired
}

// Pending returns how many timers wait to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.near.e) + len(c.far.e) + len(c.due) - c.head
}

// The heap is 4-ary: the children of entry i are 4i+1 to 4i+4. Against a
// binary heap that halves its depth, and the four children sit next to each
// other in memory. Measured with BenchmarkClock, it took a third to a half
// less time per timer than container/heap over timer pointers, and the
// memory a pending timer holds fell from about 57 bytes to 50. Each method
// that moves an entry writes its new index into the timer. Callers hold the
// clock's lock.

// less orders entries by due time, then creation.
func less(a, b *entry) bool {
	return a.due < b.due || a.due == b.due && a.seq < b.seq
}

// push adds e to the heap.
func (q *heap) push(e entry) {
	q.e = append(q.e, e)
	q.up(len(q.e) - 1)
}

// up moves the entry at i towards the root until its parent is not later.
func (q *heap) up(i int) {
	h := q.e
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if !less(&e, &h[p]) {
			break
		}
		h[i] = h[p]
		h[i].placed(i)
		i = p
	}
	h[i] = e
	e.placed(i)
}

// down moves the entry at i towards the leaves until no child is earlier.
func (q *heap) down(i int) {
	h := q.e
	n := len(h)
	e := h[i]
	for {
		first := 4*i + 1
		if first >= n {
			break
		}
		m := first
		for k, end := first+1, min(first+4, n); k < end; k++ {
			if less(&h[k], &h[m]) {
				m = k
			}
		}
		if !less(&h[m], &e) {
			break
		}
		h[i] = h[m]
		h[i].placed(i)
		i = m
	}
	h[i] = e
	e.placed(i)
}

// placed tells an AfterFunc timer or an Event that its entry is now at i
// (-1: no longer in the heap).
func (e *entry) placed(i int) {
	switch t := e.h.(type) {
	case *timer:
		t.i = int32(i)
	case *Event:
		t.at = int32(i + 1)
	}
}

// remove takes the entry at i out of the heap and marks its timer as no
// longer pending.
func (q *heap) remove(i int) {
	h := q.e
	last := len(h) - 1
	removed := h[i]
	if i != last {
		h[i] = h[last]
		h[i].placed(i)
	}
	h[last] = entry{} // so the heap's spare capacity keeps no timer alive
	q.e = h[:last]
	if cap(h) > minShrink && last < cap(h)/2 {
		// A fleet's power-up can leave millions of entries' capacity
		// behind (each device's boot, registration and firmware timers at
		// once, one each later): once half is unused, keep a quarter more
		// than is used. A shrink takes a copy of the heap, and the next
		// needs over a third of what is left gone again, so the copies cost each removal
		// a constant.
		q.e = append(make([]entry, 0, last+last/4), q.e...)
	}
	if i != last {
		if i > 0 && less(&q.e[i], &q.e[(i-1)/4]) {
			q.up(i)
		} else {
			q.down(i)
		}
	}
	removed.placed(-1)
}

// minShrink is the capacity below which the heap never shrinks.
const minShrink = 1024

// unixNano returns t in Unix nanoseconds, clamped to the int64 range rather
// than wrapping as t.UnixNano does outside it, so that AdvanceTo a time
// before 1678 still does not move the clock forward.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// addNanos returns t+d, clamped to the int64 range rather than wrapping.
func addNanos(t int64, d time.Duration) int64 {
	switch {
	case d > 0 && t > math.MaxInt64-int64(d):
		return math.MaxInt64
	case d < 0 && t < math.MinInt64-int64(d):
		return math.MinInt64
	}
	return t + int64(d)
}
