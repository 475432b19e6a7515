package sim_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// On a virtual clock a pending Sim update is an event of the clock's, not
// a timer: it must still complete in the clock's order among the timers
// due at the same instant, as a timer made when it was accepted would.
func TestSimUpdatesCompleteInTheClocksOrder(t *testing.T) {
	f := newFixture(t)
	var sims []*sim.Sim
	for i := range 3 {
		sims = append(sims, f.register(f.main, i))
	}
	var order []string
	cancel := f.ctl.Subscribe(func(e sim.Event) {
		if e.Kind == sim.EventSim {
			order = append(order, e.Sid)
		}
	})
	defer cancel()
	activate := func(s *sim.Sim) {
		_, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(f.fleet.Sid)})
		require.NoError(t, err)
		require.True(t, accepted)
	}
	activate(sims[0])
	f.clock.AfterFunc(updateDelay, func() { order = append(order, "timer") })
	activate(sims[1])
	activate(sims[2])
	order = order[:0] // the accepted updates' events
	f.clock.Advance(updateDelay)
	assert.Equal(t, []string{sims[0].Sid, "timer", sims[1].Sid, sims[2].Sid}, order)
	for _, s := range sims {
		assert.Equal(t, sim.StatusActive, f.sim(s.Sid).APIStatus())
	}
}

// A control plane that closed completes no update its clock still holds.
func TestClosedControlCompletesNoPendingUpdate(t *testing.T) {
	f := newFixture(t)
	s := f.register(f.main, 0)
	_, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(f.fleet.Sid)})
	require.NoError(t, err)
	require.True(t, accepted)
	var events int
	f.ctl.Subscribe(func(sim.Event) { events++ })
	require.NoError(t, f.ctl.Close())
	f.clock.Advance(updateDelay + time.Second)
	assert.Zero(t, events)
}

// A control plane whose store keeps nothing keeps a Sim's first settings
// update as its SID and Seq only: it must read as the one a store keeps.
func TestFirstSettingsUpdateIsTheSameWhateverTheStore(t *testing.T) {
	read := func(store sim.Store) ([]*sim.Sim, [][]*sim.SettingsUpdate) {
		clock := vclock.New(epoch)
		ctl, err := sim.New(context.Background(), store, sim.WithClock(clock), sim.WithCards("test", 3),
			sim.WithRand(rand.NewChaCha8([32]byte{7})), sim.WithMainAccount("AC"+strings.Repeat("1", 32), strings.Repeat("2", 32)))
		require.NoError(t, err)
		defer ctl.Close()
		var sims []*sim.Sim
		var updates [][]*sim.SettingsUpdate
		for _, c := range ctl.Cards() {
			s, err := ctl.RegisterSim(context.Background(), ctl.MainAccount(), c.ICCID, c.RegistrationCode)
			require.NoError(t, err)
			clock.Advance(time.Second)
			got, err := ctl.Sim(ctl.MainAccount(), s.Sid)
			require.NoError(t, err)
			sims = append(sims, got)
			u, err := ctl.ListSettingsUpdates(ctl.MainAccount(), s.Sid, "")
			require.NoError(t, err)
			updates = append(updates, u)
		}
		return sims, updates
	}
	wantSims, wantUpdates := read(sim.NewMemStore())
	gotSims, gotUpdates := read(sim.DiscardStore{})
	assert.Equal(t, wantSims, gotSims)
	assert.Equal(t, wantUpdates, gotUpdates)
	require.Len(t, gotUpdates[0], 1)
	assert.Equal(t, "base-settings", gotUpdates[0][0].Packages[0].Name)
}
