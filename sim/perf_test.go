package sim_test

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// perfFleet is a control plane with n registered SIMs on a virtual clock,
// as a scenario run builds it: a discarding store, a seeded source.
type perfFleet struct {
	ctx   context.Context
	clock *vclock.Clock
	ctl   *sim.Control
	main  *sim.Account
	plmn  sim.PLMN
	cards []sim.CardInfo
}

// newPerfFleet builds a control plane with an inventory of n cards, and
// registers, assigns and activates the first active of them.
func newPerfFleet(tb testing.TB, n, active int) *perfFleet {
	tb.Helper()
	p := &perfFleet{ctx: context.Background(), clock: vclock.New(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))}
	ctl, err := sim.New(p.ctx, sim.DiscardStore{}, sim.WithClock(p.clock), sim.WithCards("perf", n),
		sim.WithRand(rand.NewChaCha8([32]byte{1})), sim.WithUpdateDelay(time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ctl.Close() })
	p.ctl, p.main, p.cards = ctl, ctl.MainAccount(), ctl.Cards()
	nw := ctl.Catalog().Networks()[0]
	p.plmn = nw.Identifiers[0]
	nap, err := ctl.CreateNAP(p.ctx, p.main, nil, []string{nw.Sid})
	if err != nil {
		tb.Fatal(err)
	}
	fleet, err := ctl.CreateFleet(p.ctx, p.main, sim.FleetParams{NetworkAccessProfile: &nap.Sid})
	if err != nil {
		tb.Fatal(err)
	}
	status := "active"
	for _, c := range p.cards[:active] {
		s, err := ctl.RegisterSim(p.ctx, p.main, c.ICCID, c.RegistrationCode)
		if err != nil {
			tb.Fatal(err)
		}
		if _, _, err := ctl.UpdateSim(p.ctx, p.main, s.Sid, sim.SimParams{Status: &status, Fleet: &fleet.Sid}); err != nil {
			tb.Fatal(err)
		}
	}
	p.clock.Advance(time.Second) // the updates complete
	return p
}

// meter reports traffic for the first n SIMs.
func (p *perfFleet) meter(tb testing.TB, n int) {
	for _, c := range p.cards[:n] {
		if err := p.ctl.RecordUsage(p.ctx, sim.UsageReport{ICCID: c.ICCID, PLMN: p.plmn, Upload: 300, Download: 700}); err != nil {
			tb.Fatal(err)
		}
	}
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var heapProfile = flag.String("heapprofile", "", "BenchmarkControlPerSIM writes the heap profile of its last fleet, still live, to this file, every allocation sampled")

// BenchmarkControlPerSIM measures the live heap the control plane keeps
// per SIM: B/SIM for the card inventory alone (the baseline: what a SIM
// costs before anyone registers it), for registered active SIMs, and for
// active SIMs that used data in the current hour. x-inventory is the
// active figure over the inventory's.
func BenchmarkControlPerSIM(b *testing.B) {
	const n = 20_000
	if *heapProfile != "" {
		// Record every allocation, so that the profile says where each byte goes.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	var inventory float64
	for _, tc := range []struct {
		name          string
		active, meter int
	}{{"inventory", 0, 0}, {"active", n, 0}, {"active-metered", n, n}} {
		b.Run(tc.name, func(b *testing.B) {
			var per float64
			for b.Loop() {
				before := liveHeap()
				p := newPerfFleet(b, n, tc.active)
				p.meter(b, tc.meter)
				p.cards = nil // the benchmark's own copy
				per = float64(liveHeap()-before) / n
				if *heapProfile != "" {
					writeHeapProfile(b, *heapProfile)
				}
				runtime.KeepAlive(p)
				p.ctl.Close()
			}
			b.ReportMetric(per, "B/SIM")
			if tc.name == "inventory" {
				inventory = per
			} else if inventory > 0 {
				b.ReportMetric(per/inventory, "x-inventory")
			}
		})
	}
}

// TestUsageFlatOverVirtualTime: SIMs metering every virtual minute for a
// virtual week keep the control plane's heap flat: the live heap after
// day 7 is within 1.5 times that after day 1.
func TestUsageFlatOverVirtualTime(t *testing.T) {
	if testing.Short() {
		t.Skip("meters a virtual week")
	}
	const sims = 200
	p := newPerfFleet(t, sims, sims)
	base := liveHeap()
	var day1 uint64
	for day := 1; day <= 7; day++ {
		for range 24 * 60 {
			p.meter(t, sims)
			p.clock.Advance(time.Minute)
		}
		h := liveHeap() - min(base, liveHeap())
		t.Logf("day %d: %d B over the set-up, %.0f B/SIM", day, h, float64(h)/sims)
		if day == 1 {
			day1 = h
		}
	}
	last := liveHeap() - min(base, liveHeap())
	ratio := float64(last) / float64(day1)
	t.Logf("heap day 7 / day 1: %.2f", ratio)
	if ratio > 1.5 {
		t.Errorf("the heap grew %.2f times from day 1 to day 7", ratio)
	}
}

func writeHeapProfile(tb testing.TB, name string) {
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkChargeHour is a fleet's data sessions of an hour as the
// control plane sees them: every SIM of 10,000 is authorised for data and
// charged a kilobyte, then the virtual clock moves on an hour. The cards
// are named by ICCID, or by the key a modem keeps (sim.CardKey).
// ns/charge is the time of one SIM's two calls.
func BenchmarkChargeHour(b *testing.B) {
	const n = 10_000
	for _, keyed := range []bool{false, true} {
		name := "iccid"
		if keyed {
			name = "key"
		}
		b.Run(name, func(b *testing.B) {
			p := newPerfFleet(b, n, n)
			keys := make([]sim.CardKey, n)
			if keyed {
				for i, c := range p.cards {
					keys[i] = p.ctl.CardKey(c.ICCID)
				}
			}
			for b.Loop() {
				for i, c := range p.cards {
					if err := p.ctl.AuthorizeCardData(keys[i], c.ICCID); err != nil {
						b.Fatal(err)
					}
					r := sim.UsageReport{ICCID: c.ICCID, PLMN: p.plmn, Upload: 300, Download: 700, Card: keys[i]}
					if fits, err := p.ctl.ChargeData(p.ctx, r); !fits || err != nil {
						b.Fatal(fits, err)
					}
				}
				p.clock.Advance(time.Hour)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/charge")
		})
	}
}
