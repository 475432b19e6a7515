package scenario

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

// scaleScenario is a fleet of n idle-ish devices through a virtual day: they
// power up over an hour and send 1 KB every hour.
func scaleScenario(n int, data bool) string {
	s := fmt.Sprintf(`name: scale
seed: 1
duration: 24h
control:
  naps: [{name: eu, networks: ["26201", "26202", "20801", "23415"]}]
  fleets: [{name: f, nap: eu}]
devices:
  - name: de
    count: %d
    fleet: f
    location: DE
    power_on: {spread: 1h}
`, n)
	if data {
		s += "    data: {every: 1h, bytes: 1KB, jitter: 20%}\n"
	}
	return s + `expect:
  - name: attached
    registered: ">= 99%"
`
}

// BenchmarkScenarioDay runs n devices through one virtual day, as
// fleetsim run does, and reports the wall time, events per second and the
// process's peak RSS. Its baseline, measured in the same run, is the
// set-up alone (the API calls, cards and modems, no time passing): the
// day's x-setup is how many set-ups the day costs.
func BenchmarkScenarioDay(b *testing.B) {
	cat := testCatalog(b)
	for _, n := range []int{10_000, 100_000} {
		var setup time.Duration
		for _, mode := range []string{"setup-only", "day"} {
			b.Run(fmt.Sprintf("devices=%d/%s", n, mode), func(b *testing.B) {
				s, err := spec.Parse("scale.yaml", []byte(scaleScenario(n, true)))
				require.NoError(b, err)
				s.Defaults()
				require.NoError(b, s.Validate(cat))
				if mode == "setup-only" {
					s.Duration = spec.Duration(time.Second)
					s.Expect = nil
				}
				var events int64
				for b.Loop() {
					rep, err := Run(context.Background(), s, Options{Catalog: cat})
					require.NoError(b, err)
					events = rep.Events
					if mode == "day" && !rep.Passed {
						b.Fatalf("the run failed: %+v", rep.Expectations)
					}
				}
				per := b.Elapsed() / time.Duration(b.N)
				b.ReportMetric(per.Seconds(), "s/run")
				b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MB")
				if mode == "setup-only" {
					setup = per
					return
				}
				b.ReportMetric(float64(events)/per.Seconds(), "events/s")
				if setup > 0 {
					b.ReportMetric(float64(per)/float64(setup), "x-setup")
				}
			})
		}
	}
}

// peakRSS is the process's peak resident set size in bytes.
func peakRSS() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) * 1024
}

// measureIdle is the heap a registered, idle device costs: the whole run
// (control plane Sim, card, modem, firmware, timers) for n+1 devices, less
// that of a run with one, over n.
func measureIdle(t testing.TB, n int) float64 {
	cat := testCatalog(t)
	heap := func(count int) uint64 {
		s, err := spec.Parse("idle.yaml", []byte(scaleScenario(count, false)))
		require.NoError(t, err)
		s.Defaults()
		s.Duration = spec.Duration(2 * time.Hour)
		s.Expect = nil
		require.NoError(t, s.Validate(cat))
		r := &runner{s: s, seed: 1, cat: cat}
		r.Ctx, r.Start = context.Background(), s.Start.Time
		require.NoError(t, r.setup(context.Background(), Options{}))
		r.schedule()
		r.advance(context.Background(), nil)
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		runtime.KeepAlive(r)
		defer r.close()
		return ms.HeapAlloc
	}
	base := heap(1)
	full := heap(n + 1)
	return float64(full-base) / float64(n)
}

// BenchmarkIdleDevice reports the heap bytes per registered idle device,
// beside the 2 KB aim.
func BenchmarkIdleDevice(b *testing.B) {
	for b.Loop() {
		per := measureIdle(b, 20_000)
		b.ReportMetric(per, "B/device")
		b.ReportMetric(per/2048, "x-2KB-aim")
		b.ReportMetric(per*1e6/(1<<30), "GiB-per-1M-devices")
	}
}
