package vclock

import "fmt"

// CheckHeap reports the first way c's heap is not a valid heap of pending
// timers: an entry earlier than its parent, or a timer that has the wrong
// idea of where its entry is.
func (c *Clock) CheckHeap() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.heap {
		e := &c.heap[i]
		if t, ok := e.h.(*timer); ok && t.i != i {
			return fmt.Errorf("entry %d (seq %d) belongs to a timer that thinks it is at %d", i, e.seq, t.i)
		}
		if p := (i - 1) / 4; i > 0 && less(e, &c.heap[p]) {
			return fmt.Errorf("entry %d (due %d, seq %d) is earlier than its parent %d (due %d, seq %d)",
				i, e.due, e.seq, p, c.heap[p].due, c.heap[p].seq)
		}
	}
	for i := len(c.heap); i < cap(c.heap); i++ {
		if c.heap[:cap(c.heap)][i].h != nil {
			return fmt.Errorf("spare capacity at %d still holds a timer", i)
		}
	}
	return nil
}

// HeapCap is the capacity of c's heap.
func (c *Clock) HeapCap() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cap(c.heap)
}
