package scenario

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim/vclock"
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

// scaleRhythm is scenarios/scale-10k.yaml scaled to n devices over dur
// (same groups and rhythm: an hour's power-up spread, a reading an hour),
// without the timeline entries and expectations that fall after dur. The
// checked-in testdata/scale files are the same scenario at 100k and 1M
// devices × 2 h and 10k × a week, for fleetsim run.
func scaleRhythm(tb testing.TB, n int, dur time.Duration) *spec.Scenario {
	s, err := spec.Load("testdata/scale/scale-100k-2h.yaml")
	require.NoError(tb, err)
	total := 0
	for i := range s.Devices {
		total += s.Devices[i].Count
	}
	for i := range s.Devices {
		s.Devices[i].Count = s.Devices[i].Count * n / total
	}
	s.Duration = spec.Duration(dur)
	s.Defaults()
	require.NoError(tb, s.Validate(testCatalog(tb)))
	return s
}

// fleetSizes are BenchmarkScale's fleets: 10k and 100k devices, and 1M
// with BENCH_1M=1 (minutes, and about 2 GB).
func fleetSizes() []int {
	sizes := []int{10_000, 100_000}
	if os.Getenv("BENCH_1M") != "" {
		sizes = append(sizes, 1_000_000)
	}
	return sizes
}

// BenchmarkScale runs the scale-10k rhythm at 10k and 100k devices (1M
// with BENCH_1M=1) through 2 virtual hours, and 10k devices through a
// virtual week, as fleetsim run does, and reports:
//   - setup-devices/s: SIMs registered through the API, modems and
//     firmware built, per second of set-up;
//   - events/s: clock events (device, modem and control-plane timers) per
//     second of simulation, and x-baseline, events per CPU-second over
//     those of bare timers on the same virtual clock, one per device
//     re-arming itself, measured in the same run (the machine is shared:
//     ratios travel better than absolute figures);
//   - peak-RSS-B/device: the process's peak RSS during the run over the
//     fleet (the peak is reset before each, where Linux allows);
//   - the same per CPU-second of the process (the collector's included),
//     which the other users of a shared machine disturb less;
//   - end-heap-B/device: the live heap after a collection at the end of
//     the simulation, before the report, over the fleet: what the run
//     holds once every device has lived through it (peak RSS is about
//     twice the largest live heap with GOGC=100, plus the runtime's own);
//   - s/run: the wall time of set-up, simulation and report.
//
// Each run collects garbage as fleetsim run would for its fleet
// (GCPercent), unless GOGC is set.
func BenchmarkScale(b *testing.B) {
	type run struct {
		n    int
		dur  time.Duration
		file string // the scenario, if not scaleRhythm's
	}
	var runs []run
	for _, n := range fleetSizes() {
		runs = append(runs, run{n: n, dur: 2 * time.Hour})
	}
	runs = append(runs, run{n: 10_000, dur: 7 * 24 * time.Hour, file: "testdata/scale/scale-10k-week.yaml"})
	for _, rn := range runs {
		name := fmt.Sprintf("devices=%d/%s", rn.n, spec.FormatDuration(rn.dur))
		b.Run(name, func(b *testing.B) {
			baseline := bareTimerEventsPerSecond(rn.n)
			if os.Getenv("GOGC") == "" {
				// The collector's target fleetsim run sets for the fleet.
				defer debug.SetGCPercent(debug.SetGCPercent(GCPercent(rn.n)))
			}
			if !resetPeakRSS() && rn.n != runs[0].n {
				b.Log("cannot reset the peak RSS: peak-RSS-B/device is the largest fleet's so far")
			}
			for b.Loop() {
				s := scaleRhythm(b, rn.n, rn.dur)
				if rn.file != "" {
					var err error
					s, err = spec.LoadValid(rn.file, testCatalog(b))
					require.NoError(b, err)
				}
				t0, c0 := time.Now(), cpuTime()
				r := &runner{s: s, seed: s.Seed, cat: testCatalog(b)}
				r.Ctx, r.Start = context.Background(), s.Start.Time
				require.NoError(b, r.setup(context.Background(), Options{}))
				setup, setupCPU := time.Since(t0), cpuTime()-c0
				r.schedule()
				t1, c1 := time.Now(), cpuTime()
				r.advance(context.Background(), nil)
				sim, simCPU := time.Since(t1), cpuTime()-c1
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				endHeap := float64(ms.HeapAlloc) / float64(rn.n)
				rep := r.report()
				r.close()
				if !rep.Passed {
					b.Fatalf("the run failed: %+v", rep.Expectations)
				}
				b.ReportMetric(float64(rn.n)/setup.Seconds(), "setup-devices/s")
				b.ReportMetric(float64(rn.n)/setupCPU.Seconds(), "setup-devices/cpu-s")
				b.ReportMetric(float64(rep.Events)/sim.Seconds(), "events/s")
				eps := float64(rep.Events) / simCPU.Seconds()
				b.ReportMetric(eps, "events/cpu-s")
				b.ReportMetric(eps/baseline, "x-baseline")
				b.ReportMetric(float64(rep.Events), "events")
				b.ReportMetric(endHeap, "end-heap-B/device")
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
			b.ReportMetric(peakRSS()/float64(rn.n), "peak-RSS-B/device")
		})
	}
}

// bareTimerEventsPerSecond is the baseline of BenchmarkScale: n handlers on
// a virtual clock, each re-arming itself at a pseudo-random interval of
// up to an hour, as the devices' timers do, with nothing else to do; in
// events per CPU-second, as the runs' x-baseline compares.
func bareTimerEventsPerSecond(n int) float64 {
	c := vclock.New(time.Unix(0, 0))
	h := &bareTimer{c: c, x: 1}
	for i := range n {
		c.Schedule(time.Duration(i)*time.Hour/time.Duration(n), h, 0)
	}
	c0 := cpuTime()
	c.Advance(4 * time.Hour)
	return float64(c.Fired()) / (cpuTime() - c0).Seconds()
}

type bareTimer struct {
	c *vclock.Clock
	x uint64
}

func (t *bareTimer) Fire(uint64) {
	t.x ^= t.x << 13 // xorshift: the next interval
	t.x ^= t.x >> 7
	t.x ^= t.x << 17
	t.c.Schedule(time.Duration(t.x%uint64(time.Hour)), t, 0)
}

// cpuTime is the CPU time the process has used (user and system, every
// thread: the garbage collector's too). On a shared machine, work per
// CPU-second moves less than work per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS returns the process's memory to the system and restarts
// its peak RSS from the current RSS (Linux ≥ 4.0: clear_refs 5), so that
// the next peakRSS is a sub-benchmark's own. It reports whether it could.
func resetPeakRSS() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the process's peak resident set size in bytes: since
// resetPeakRSS where the system allows (VmHWM), else since its start.
func peakRSS() float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
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

// BenchmarkIdleDevice reports the heap bytes per registered idle device
// (modem, firmware and its SIM's control-plane state together), beside
// the 1 KB aim.
func BenchmarkIdleDevice(b *testing.B) {
	for b.Loop() {
		per := measureIdle(b, 20_000)
		b.ReportMetric(per, "B/device")
		b.ReportMetric(per/1024, "x-1KB-aim")
		b.ReportMetric(per*1e6/(1<<30), "GiB-per-1M-devices")
	}
}
