package sim

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestUsageRollUpFast checks that the roll-up that reads only the buckets
// it changes leaves a SIM's buckets as the roll-up of all of them does,
// over random use: several owners and networks, hours added out of order
// and long after, short retentions that turn days into months.
func TestUsageRollUpFast(t *testing.T) {
	for seed := range uint64(16) {
		rng := rand.New(rand.NewPCG(seed, 1))
		hourly := time.Duration(1+rng.IntN(30)) * time.Hour
		daily := hourly + time.Duration(rng.IntN(20*24))*time.Hour
		fast, all := newUsageStore(hourly, daily), newUsageStore(hourly, daily)
		now := time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)
		for step := range 2000 {
			now = now.Add(time.Duration(rng.IntN(5*3600)) * time.Second)
			if rng.IntN(50) == 0 {
				now = now.Add(time.Duration(rng.IntN(40*24)) * time.Hour)
			}
			sim := int32(rng.IntN(3))
			at := int32(now.Unix() / 3600)
			if rng.IntN(10) == 0 {
				at -= int32(rng.IntN(24 * 40))
			}
			attr, net := uint32(rng.IntN(2)), uint16(rng.IntN(2))
			up, down, sms := int64(rng.IntN(1000)), int64(rng.IntN(1000)), rng.IntN(3)
			for int(sim) >= len(all.bySim) {
				all.bySim = append(all.bySim, simUsage{})
			}
			all.bySim[sim].rolled = -1 // always the roll-up of every bucket
			bf := fast.add(sim, at, attr, net, up, down, sms, now)
			ba := all.add(sim, at, attr, net, up, down, sms, now)
			if bf != ba {
				t.Fatalf("seed %d step %d: add returned %+v, want %+v", seed, step, bf, ba)
			}
			got, want := fast.of(sim), all.of(sim)
			if len(got) != len(want) {
				t.Fatalf("seed %d step %d: %d buckets, want %d", seed, step, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("seed %d step %d: bucket %d is %+v, want %+v", seed, step, i, got[i], want[i])
				}
			}
		}
	}
}
