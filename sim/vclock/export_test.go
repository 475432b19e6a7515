package vclock

import (
	"errors"
	"fmt"
)

// CheckHeap reports the first way c's heaps and queue are not what they
// should be: an entry earlier than its parent, a timer that has the wrong
// idea of where its entry is, a timer in the wrong heap, or a queue out of
// order or of events not due at once.
func (c *Clock) CheckHeap() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range []*heap{&c.near, &c.far} {
		if err := q.check(); err != nil {
			return fmt.Errorf("heap %d: %w", q.id, err)
		}
	}
	for i := c.head; i < len(c.due); i++ {
		e := &c.due[i]
		if e.due > c.now {
			return fmt.Errorf("queued event %d (seq %d) is due at %d, after now %d", i, e.seq, e.due, c.now)
		}
		if i > c.head && !less(&c.due[i-1], e) {
			return fmt.Errorf("queued event %d (seq %d) is before the one ahead of it", i, e.seq)
		}
	}
	for i := range c.head {
		if c.due[i].h != nil {
			return fmt.Errorf("queue slot %d, already fired, still holds a handler", i)
		}
	}
	return nil
}

func (q *heap) check() error {
	for i := range q.e {
		e := &q.e[i]
		if t, ok := e.h.(*timer); ok && (int(t.i) != i || t.in != q.id) {
			return fmt.Errorf("entry %d (seq %d) belongs to a timer that thinks it is at %d in heap %d", i, e.seq, t.i, t.in)
		}
		if ev, ok := e.h.(*Event); ok && (int(ev.at) != i+1 || ev.in != q.id) {
			return fmt.Errorf("entry %d (seq %d) belongs to an Event that thinks it is at %d in heap %d", i, e.seq, ev.at-1, ev.in)
		}
		if p := (i - 1) / 4; i > 0 && less(e, &q.e[p]) {
			return fmt.Errorf("entry %d (due %d, seq %d) is earlier than its parent %d (due %d, seq %d)",
				i, e.due, e.seq, p, q.e[p].due, q.e[p].seq)
		}
	}
	for i := len(q.e); i < cap(q.e); i++ {
		if q.e[:cap(q.e)][i].h != nil {
			return errors.New("spare capacity still holds a timer")
		}
	}
	return nil
}

// HeapCap is the capacity of c's heaps and queue together.
func (c *Clock) HeapCap() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cap(c.near.e) + cap(c.far.e) + cap(c.due)
}
