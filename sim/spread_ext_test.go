package sim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// TestLimitSpread: with a spread propagation, SIMs blocked at the limit
// are unblocked after a raise at different times, every one within the
// maximum and most within the typical delay; the modems are told the
// change with the first event, so each can re-check at its own time.
func TestLimitSpread(t *testing.T) {
	const typical, most, sims = 5 * time.Minute, 15 * time.Minute, 20
	f := newFixture(t, sim.WithLimitPropagation(typical), sim.WithLimitPropagationSpread(most, 7))
	_, err := f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(1)})
	require.NoError(t, err)
	f.clock.Advance(most)
	cards := f.ctl.Cards()[:sims]
	for i, c := range cards {
		f.activate(f.register(f.main, i), "active")
		require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: c.ICCID, PLMN: f.vf.Identifiers[0], Download: sim.MB}))
		require.ErrorIs(t, f.ctl.AuthorizeData(c.ICCID), sim.ErrDataLimitReached)
	}
	var told *sim.LimitChange
	cancel := f.ctl.Subscribe(func(e sim.Event) {
		if e.Kind == sim.EventFleet && e.Limit != nil {
			told = e.Limit
		}
	})
	defer cancel()
	raised := f.clock.Now()
	_, err = f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(2)})
	require.NoError(t, err)
	require.NotNil(t, told, "the modems were not told the new limit")

	unblocked := map[string]time.Duration{}
	for step := time.Duration(0); step <= most; step += time.Second {
		for _, c := range cards {
			if _, done := unblocked[c.ICCID]; !done && f.ctl.AuthorizeData(c.ICCID) == nil {
				unblocked[c.ICCID] = step
				assert.Equal(t, told.EnforcedAt(c.ICCID), raised.Add(step), "the modem's time for %s", c.ICCID)
			}
		}
		f.clock.Advance(time.Second)
	}
	require.Len(t, unblocked, sims, "every SIM is unblocked within %v", most)
	distinct, within := map[time.Duration]bool{}, 0
	for _, d := range unblocked {
		distinct[d] = true
		if d <= typical {
			within++
		}
	}
	assert.Greater(t, len(distinct), sims/2, "the SIMs are unblocked at different times")
	assert.GreaterOrEqual(t, within, sims*3/4, "most SIMs within the typical delay")
}
