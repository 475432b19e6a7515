// Package storetest is the test suite every sim.Store passes: Run it from
// the store's tests with a way to open one state again and again.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// Run runs the suite. fresh makes a new empty state and returns a func
// that opens a Store on it, as often as called (each time after the last
// Store was closed).
func Run(t *testing.T, fresh func(t *testing.T) (reopen func() sim.Store)) {
	tests := []struct {
		name string
		fn   func(*testing.T, func() sim.Store)
	}{
		{"StateSurvivesRestart", stateSurvivesRestart},
		{"StateRefusesAnotherMainAccount", stateRefusesAnotherMainAccount},
		{"ConcurrentWritesAreAllKept", concurrentWritesAreAllKept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, fresh(t)) })
	}
}

func ptr[T any](v T) *T { return &v }

func open(t *testing.T, reopen func() sim.Store, clock *vclock.Clock, opts ...sim.Option) *sim.Control {
	t.Helper()
	opts = append([]sim.Option{sim.WithClock(clock), sim.WithCards("restart", 50)}, opts...)
	ctl, err := sim.New(context.Background(), reopen(), opts...)
	require.NoError(t, err)
	return ctl
}

// stateSurvivesRestart: everything acknowledged before a restart is
// there after it, including an asynchronous update still scheduled, which
// completes on time.
func stateSurvivesRestart(t *testing.T, reopen func() sim.Store) {
	ctx := context.Background()
	clock := vclock.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ctl := open(t, reopen, clock)
	main := ctl.MainAccount()
	sub, err := ctl.CreateSubaccount(ctx, "sub")
	require.NoError(t, err)
	vf, _ := ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	nap, err := ctl.CreateNAP(ctx, main, ptr("uk"), []string{vf.Sid})
	require.NoError(t, err)
	fleet, err := ctl.CreateFleet(ctx, main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), DataLimit: ptr(42)})
	require.NoError(t, err)
	cards := ctl.Cards()
	s, err := ctl.RegisterSim(ctx, main, cards[0].ICCID, cards[0].RegistrationCode)
	require.NoError(t, err)
	_, accepted, err := ctl.UpdateSim(ctx, main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(fleet.Sid), UniqueName: ptr("dev")})
	require.NoError(t, err)
	require.True(t, accepted)
	require.NoError(t, ctl.Close())

	ctl = open(t, reopen, clock)
	defer ctl.Close()
	assert.Equal(t, main, ctl.MainAccount())
	_, err = ctl.Authenticate(sub.Sid, sub.AuthToken)
	require.NoError(t, err)
	got, err := ctl.Sim(main, "dev")
	require.NoError(t, err)
	assert.Equal(t, sim.StatusScheduled, got.APIStatus())
	clock.Advance(sim.DefaultUpdateDelay)
	got, err = ctl.Sim(main, "dev")
	require.NoError(t, err)
	assert.Equal(t, sim.StatusActive, got.APIStatus(), "the scheduled update completes after the restart")
	gotNAP, err := ctl.NAP(main, "uk")
	require.NoError(t, err)
	assert.Equal(t, nap.Sid, gotNAP.Sid)
	gotFleet, err := ctl.Fleet(main, fleet.Sid)
	require.NoError(t, err)
	assert.Equal(t, 42, gotFleet.DataLimit)
	assert.Equal(t, s.Sid, ctl.Cards()[0].SimSid)

	// New resources keep coming after the old ones in lists.
	s2, err := ctl.RegisterSim(ctx, main, cards[1].ICCID, cards[1].RegistrationCode)
	require.NoError(t, err)
	sims, err := ctl.ListSims(main, sim.SimFilter{})
	require.NoError(t, err)
	require.Len(t, sims, 2)
	assert.Equal(t, []string{s.Sid, s2.Sid}, []string{sims[0].Sid, sims[1].Sid})
}

func stateRefusesAnotherMainAccount(t *testing.T, reopen func() sim.Store) {
	clock := vclock.New(time.Now())
	ctl := open(t, reopen, clock)
	require.NoError(t, ctl.Close())
	st := reopen()
	defer st.Close()
	_, err := sim.New(context.Background(), st, sim.WithMainAccount("AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"))
	require.ErrorContains(t, err, "belongs to main account")
}

// concurrentWritesAreAllKept: writes from many goroutines all land,
// and the reloaded state is the state that was served.
func concurrentWritesAreAllKept(t *testing.T, reopen func() sim.Store) {
	ctx := context.Background()
	clock := vclock.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ctl := open(t, reopen, clock)
	main := ctl.MainAccount()
	vf, _ := ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	_, err := ctl.CreateNAP(ctx, main, ptr("uk"), []string{vf.Sid})
	require.NoError(t, err)
	cards := ctl.Cards()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("fleet-%d", i)
			if _, err := ctl.CreateFleet(ctx, main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), UniqueName: &name}); err != nil {
				errs <- err
			}
			s, err := ctl.RegisterSim(ctx, main, cards[i].ICCID, cards[i].RegistrationCode)
			if err != nil {
				errs <- err
				return
			}
			if _, _, err := ctl.UpdateSim(ctx, main, s.Sid, sim.SimParams{Fleet: &name, UniqueName: ptr("dev")}); err != nil {
				var e *sim.Error
				if !assert.ErrorAs(t, err, &e) || e.Code != sim.CodeSimNameTaken {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	before, err := ctl.ListSims(main, sim.SimFilter{})
	require.NoError(t, err)
	require.Len(t, before, 20)
	named := 0
	for _, s := range before {
		if s.UniqueName == "dev" {
			named++
		}
	}
	assert.Equal(t, 1, named, "exactly one Sim won the unique name")
	require.NoError(t, ctl.Close())

	ctl = open(t, reopen, clock)
	defer ctl.Close()
	after, err := ctl.ListSims(main, sim.SimFilter{})
	require.NoError(t, err)
	assert.Equal(t, before, after)
	fleets, err := ctl.ListFleets(main, "")
	require.NoError(t, err)
	assert.Len(t, fleets, 20)
}
