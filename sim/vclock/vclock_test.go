package vclock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

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
