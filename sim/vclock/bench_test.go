package vclock_test

import (
	"container/heap"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// benchTimers is how many timers each benchmark operation handles: one per
// device of a 100,000-device fleet.
const benchTimers = 100_000

// BenchmarkClock reports ns/timer for scheduling and firing, scheduling and
// stopping, and re-arming benchTimers timers, beside the cost of a
// container/heap push and pop of as many ints measured in the same run
// (x-baseline), because shared machines are noisy.
func BenchmarkClock(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	delays := make([]time.Duration, benchTimers)
	for i := range delays {
		delays[i] = time.Duration(rng.Int64N(int64(24 * time.Hour)))
	}
	order := rng.Perm(benchTimers)

	// baseline is ns/timer of baseline-heap-ints in this run.
	var baseline float64
	report := func(b *testing.B, timers int) float64 {
		perTimer := float64(b.Elapsed().Nanoseconds()) / float64(timers)
		b.ReportMetric(perTimer, "ns/timer")
		if baseline > 0 {
			b.ReportMetric(perTimer/baseline, "x-baseline")
		}
		return perTimer
	}

	b.Run("baseline-heap-ints", func(b *testing.B) {
		for b.Loop() {
			var h intHeap
			for _, d := range delays {
				heap.Push(&h, int64(d))
			}
			for h.Len() > 0 {
				heap.Pop(&h)
			}
		}
		baseline = report(b, b.N*benchTimers)
	})

	b.Run("schedule-fire", func(b *testing.B) {
		fired := 0
		f := func() { fired++ }
		for b.Loop() {
			c := vclock.New(start)
			for _, d := range delays {
				c.AfterFunc(d, f)
			}
			c.Advance(24 * time.Hour)
		}
		if fired != b.N*benchTimers {
			b.Fatalf("%d timers fired, want %d", fired, b.N*benchTimers)
		}
		report(b, b.N*benchTimers)
	})

	b.Run("schedule-stop", func(b *testing.B) {
		timers := make([]sim.Timer, benchTimers)
		for b.Loop() {
			c := vclock.New(start)
			for i, d := range delays {
				timers[i] = c.AfterFunc(d, func() {})
			}
			for _, i := range order {
				timers[i].Stop()
			}
		}
		report(b, b.N*benchTimers)
	})

	// rearm is the steady state of a fleet simulation: every device has a
	// timer pending and arms the next when it fires.
	b.Run("rearm", func(b *testing.B) {
		c := vclock.New(start)
		fired := 0
		for i := range benchTimers {
			var f func()
			f = func() {
				fired++
				c.AfterFunc(time.Hour+delays[i]%time.Hour, f)
			}
			c.AfterFunc(delays[i]%time.Hour, f)
		}
		for b.Loop() {
			c.Advance(time.Hour)
		}
		report(b, fired)
	})
}

// intHeap is a container/heap of int64s, the least a heap of timers can cost.
type intHeap []int64

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
