package vclock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim/vclock"
)

// recorder is a Handler that notes the words it fires with and the time.
type recorder struct {
	c    *vclock.Clock
	args []uint64
	at   []time.Duration
}

func (r *recorder) Fire(arg uint64) {
	r.args = append(r.args, arg)
	r.at = append(r.at, r.c.Now().Sub(start))
}

func TestScheduleInterleavesWithAfterFuncInDueThenCreationOrder(t *testing.T) {
	c := vclock.New(start)
	r := &recorder{c: c}
	c.Schedule(2*time.Second, r, 2)
	c.AfterFunc(time.Second, func() { r.Fire(100) })
	c.Schedule(time.Second, r, 1) // same due time as the AfterFunc: after it
	stopped := c.AfterFunc(time.Second, func() { r.Fire(999) })
	c.Schedule(-time.Second, r, 0) // a negative delay is due now
	require.True(t, stopped.Stop())
	require.NoError(t, c.CheckHeap())
	c.Advance(3 * time.Second)
	assert.Equal(t, []uint64{0, 100, 1, 2}, r.args)
	assert.Equal(t, []time.Duration{0, time.Second, time.Second, 2 * time.Second}, r.at)
	assert.Equal(t, int64(4), c.Fired())
	assert.Zero(t, c.Pending())
}

func TestScheduleFromAHandlerFiresWithinTheSameAdvance(t *testing.T) {
	c := vclock.New(start)
	h := &chain{c: c}
	c.Schedule(time.Second, h, 3)
	c.Advance(10 * time.Second)
	assert.Equal(t, []uint64{3, 2, 1, 0}, h.args)
	require.NoError(t, c.CheckHeap())
}

type chain struct {
	c    *vclock.Clock
	args []uint64
}

func (h *chain) Fire(arg uint64) {
	h.args = append(h.args, arg)
	if arg > 0 {
		h.c.Schedule(time.Second, h, arg-1)
	}
}

func TestScheduleAllocatesNothing(t *testing.T) {
	c := vclock.New(start)
	h := &count{}
	for range 64 { // grow the heap first
		c.Schedule(time.Second, h, 0)
	}
	c.Advance(time.Second)
	allocs := testing.AllocsPerRun(100, func() {
		for range 64 {
			c.Schedule(time.Second, h, 1)
		}
		c.Advance(time.Second)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, 64*101+64, h.n)
}

type count struct{ n int }

func (h *count) Fire(uint64) { h.n++ }

func TestTheHeapGivesBackCapacityOnceEmptied(t *testing.T) {
	c := vclock.New(start)
	h := &count{}
	timers := make([]func() bool, 0, 100)
	for i := range 100_000 {
		c.Schedule(time.Duration(i)*time.Millisecond, h, 0)
		if i%1000 == 0 {
			timers = append(timers, c.AfterFunc(time.Hour, func() {}).Stop)
		}
	}
	grown := c.HeapCap()
	c.Advance(100 * time.Second)
	assert.Equal(t, 100_000, h.n)
	// Each of the clock's heaps keeps up to minShrink entries' capacity.
	assert.Less(t, c.HeapCap(), grown/20, "the power-up's capacity is given back")
	require.NoError(t, c.CheckHeap())
	for _, stop := range timers {
		assert.True(t, stop(), "the timers that moved with the shrinking heap can still be stopped")
	}
	assert.Zero(t, c.Pending())
}

// TestHeapKeepsLittleSpare: once a fleet's power-up timers are gone and
// the steady state keeps fewer than half as many, the heap's capacity
// follows down to under twice what it holds.
func TestHeapKeepsLittleSpare(t *testing.T) {
	c := vclock.New(start)
	var stops []func() bool
	for range 100_000 {
		stops = append(stops, c.AfterFunc(time.Hour, func() {}).Stop)
	}
	for _, stop := range stops[:60_000] {
		require.True(t, stop())
	}
	assert.Equal(t, 40_000, c.Pending())
	assert.Less(t, c.HeapCap(), 2*c.Pending())
	require.NoError(t, c.CheckHeap())
}

func TestArmedEventRunsInOrderAndDisarmedOneNeitherRunsNorCounts(t *testing.T) {
	c := vclock.New(start)
	r := &recorder{c: c}
	var soon, late, now, stopped vclock.Event
	c.Arm(&late, 2*time.Hour, r, 3) // the far heap
	c.Arm(&soon, time.Second, r, 2)
	c.Schedule(time.Second, r, 20) // same due time, made after soon: after it
	c.Arm(&now, 0, r, 1)
	c.Arm(&stopped, time.Second, r, 999)
	for range 20 { // entries around it move: it keeps track of its place
		c.Schedule(time.Millisecond, r, 0)
	}
	require.NoError(t, c.CheckHeap())
	assert.True(t, c.Disarm(&stopped))
	assert.False(t, c.Disarm(&stopped), "already out")
	require.NoError(t, c.CheckHeap())
	c.Advance(time.Second)
	assert.Equal(t, []uint64{1}, r.args[:1])
	assert.Equal(t, []uint64{2, 20}, r.args[len(r.args)-2:])
	assert.Equal(t, int64(23), c.Fired(), "the disarmed event is not an event")
	assert.False(t, c.Disarm(&soon), "it fired")
	c.Arm(&soon, time.Second, r, 4) // reused once fired
	assert.True(t, c.Disarm(&late))
	c.Advance(3 * time.Hour)
	assert.Equal(t, uint64(4), r.args[len(r.args)-1])
	assert.Equal(t, int64(24), c.Fired())
	assert.Zero(t, c.Pending())
	require.NoError(t, c.CheckHeap())
}

func TestArmOfAPendingEventPanics(t *testing.T) {
	c := vclock.New(start)
	var ev vclock.Event
	c.Arm(&ev, time.Second, &recorder{c: c}, 0)
	assert.Panics(t, func() { c.Arm(&ev, time.Second, &recorder{c: c}, 0) })
}
