package sim_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// storedFleet returns the stored JSON of the fixture's Fleet.
func (f *fixture) storedFleet() []byte {
	f.t.Helper()
	var data []byte
	require.NoError(f.t, f.store.Load(f.ctx, func(r sim.Record) error {
		if r.Kind == "fleet" && r.ID == f.fleet.Sid {
			data = r.Data
		}
		return nil
	}))
	require.NotNil(f.t, data)
	return data
}

// TestFleetRecordStaysBoundedUnderLimitUpdates: 4,000 data limit updates
// inside one propagation window (every 50 ms for 200 s of a 5-minute
// window) leave a stored Fleet record of a few hundred bytes, with or
// without a spread; before the bound it held every update (≈ 250 KB here).
func TestFleetRecordStaysBoundedUnderLimitUpdates(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sim.Option
	}{
		{"no spread", []sim.Option{sim.WithLimitPropagation(5 * time.Minute)}},
		{"spread", []sim.Option{sim.WithLimitPropagation(5 * time.Minute), sim.WithLimitPropagationSpread(15*time.Minute, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts...)
			largest := 0
			for i := range 4000 {
				_, err := f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(1 + i%2000)})
				require.NoError(t, err)
				if i%100 == 0 {
					largest = max(largest, len(f.storedFleet()))
				}
				f.clock.Advance(50 * time.Millisecond)
			}
			fl, err := f.ctl.Fleet(f.main, f.fleet.Sid)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(fl.Limits), sim.MaxPropagatingLimits+1)
			assert.Less(t, largest, 2048, "stored Fleet record bytes")
			t.Logf("largest stored Fleet record: %d bytes, %d limit changes", largest, len(fl.Limits))
		})
	}
}

// TestLimitBurstEnforcesItsFirstChangesAndItsLast: 20 changes a second
// apart, propagating 5 minutes each: the first 7 are enforced each at its
// own time, the last at its time, the ones between never; the modems hear
// of each enforced one, once.
func TestLimitBurstEnforcesItsFirstChangesAndItsLast(t *testing.T) {
	const prop = 5 * time.Minute
	f := newFixture(t, sim.WithLimitPropagation(prop))
	iccid := f.ctl.Cards()[0].ICCID
	var told []time.Time
	cancel := f.ctl.Subscribe(func(e sim.Event) {
		if e.Kind == sim.EventFleet && e.Limit == nil {
			told = append(told, f.clock.Now())
		}
	})
	defer cancel()
	start := f.clock.Now()
	for i := range 20 {
		_, err := f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(101 + i)})
		require.NoError(t, err)
		f.clock.Advance(time.Second)
	}
	f.clock.AdvanceTo(start.Add(prop))
	var seen []int
	for range 20 {
		fl, err := f.ctl.Fleet(f.main, f.fleet.Sid)
		require.NoError(t, err)
		seen = append(seen, fl.EnforcedLimitMB(iccid, f.clock.Now()))
		f.clock.Advance(time.Second)
	}
	assert.Equal(t, []int{101, 102, 103, 104, 105, 106, 107, 107, 107, 107, 107, 107, 107, 107, 107, 107, 107, 107, 107, 120}, seen)
	var want []time.Time
	for _, s := range []int{0, 1, 2, 3, 4, 5, 6, 19} {
		want = append(want, start.Add(prop+time.Duration(s)*time.Second))
	}
	assert.Equal(t, want, told, "one Fleet event as each enforced change reaches the SIMs")
}

// TestFleetRecordOfEveryLimitChangeLoadsTrimmed: a Fleet stored before the
// bound, with every change of a burst, loads with the bound's changes: the
// one in force now and the first and last still propagating; the SIMs
// enforce the same limit now and after the burst, and the modems hear of
// the changes still to come.
func TestFleetRecordOfEveryLimitChangeLoadsTrimmed(t *testing.T) {
	const prop = 5 * time.Minute
	f := newFixture(t, sim.WithLimitPropagation(prop))
	var old sim.Fleet
	require.NoError(t, json.Unmarshal(f.storedFleet(), &old))
	now := f.clock.Now()
	old.Limits = nil
	for i := range 500 { // one every second: 200 enforced, 300 propagating
		old.Limits = append(old.Limits, sim.LimitChange{MB: 1 + i, At: now.Add(time.Duration(i-199) * time.Second)})
	}
	old.DataLimit = 500
	data, err := json.Marshal(old)
	require.NoError(t, err)
	require.NoError(t, f.store.Commit(f.ctx, []sim.Record{{Kind: "fleet", ID: old.Sid, Data: data}}))

	ctl, err := sim.New(context.Background(), f.store, sim.WithClock(f.clock), sim.WithCards("test", 20), sim.WithLimitPropagation(prop))
	require.NoError(t, err)
	defer ctl.Close()
	var told int
	defer ctl.Subscribe(func(e sim.Event) {
		if e.Kind == sim.EventFleet {
			told++
		}
	})()
	fl, err := ctl.Fleet(ctl.MainAccount(), old.Sid)
	require.NoError(t, err)
	require.Len(t, fl.Limits, sim.MaxPropagatingLimits+1)
	iccid := ctl.Cards()[0].ICCID
	assert.Equal(t, 200, fl.EnforcedLimitMB(iccid, now), "the change in force")
	assert.Equal(t, []int{200, 201, 202, 203, 204, 205, 206, 207, 500}, mbs(fl.Limits))
	f.clock.Advance(300 * time.Second)
	assert.Equal(t, 500, fl.EnforcedLimitMB(iccid, f.clock.Now()), "the last change")
	assert.Equal(t, sim.MaxPropagatingLimits, told, "the modems hear of each change still propagating")
}

func mbs(ls []sim.LimitChange) []int {
	out := make([]int, len(ls))
	for i, l := range ls {
		out[i] = l.MB
	}
	return out
}
