package sim_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// TestRecordUsageInPlace checks that RecordUsage and ChargeData with a
// discarding store, which update a Sim's record in place, leave the Sims, their billing
// periods and the usage records as a store that keeps them does: ready
// SIMs that turn active on data or SMS, ready periods that run out, active
// periods that roll, SIMs made inactive, a Fleet's data limit reached, over more than a year.
func TestRecordUsageInPlace(t *testing.T) {
	ctx := context.Background()
	type side struct {
		clock *vclock.Clock
		ctl   *sim.Control
	}
	mk := func(store sim.Store) side {
		clock := vclock.New(time.Date(2026, 1, 30, 22, 0, 0, 0, time.UTC))
		ctl, err := sim.New(ctx, store, sim.WithClock(clock), sim.WithCards("inplace", 8),
			sim.WithRand(rand.NewChaCha8([32]byte{7})), sim.WithUpdateDelay(time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { ctl.Close() })
		return side{clock, ctl}
	}
	sides := []side{mk(sim.DiscardStore{}), mk(sim.NewMemStore())}
	nw := sides[0].ctl.Catalog().Networks()[0]
	plmn := nw.Identifiers[0]
	statuses := []string{"ready", "active", "ready", "active", "ready", "active", "", ""}
	for _, s := range sides {
		acct := s.ctl.MainAccount()
		nap, err := s.ctl.CreateNAP(ctx, acct, nil, []string{nw.Sid})
		require.NoError(t, err)
		limit := 20 // MB a month
		fleet, err := s.ctl.CreateFleet(ctx, acct, sim.FleetParams{NetworkAccessProfile: &nap.Sid, DataLimit: &limit})
		require.NoError(t, err)
		var sids []string
		for i, c := range s.ctl.Cards()[:7] {
			r, err := s.ctl.RegisterSim(ctx, acct, c.ICCID, c.RegistrationCode)
			require.NoError(t, err)
			sids = append(sids, r.Sid)
			p := sim.SimParams{Fleet: &fleet.Sid}
			if statuses[i] != "" {
				p.Status = &statuses[i]
			}
			_, _, err = s.ctl.UpdateSim(ctx, acct, r.Sid, p)
			require.NoError(t, err)
		}
		s.clock.Advance(time.Second)
		inactive := "inactive"
		_, _, err = s.ctl.UpdateSim(ctx, acct, sids[3], sim.SimParams{Status: &inactive})
		require.NoError(t, err)
		s.clock.Advance(time.Second)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cards := sides[0].ctl.Cards()
	fitted, cut := 0, 0
	for step := range 3000 {
		k := rng.IntN(len(cards))
		if k == 4 && step < 2000 {
			k = 5 // card 4 stays ready until its ready period ran out
		}
		card := cards[k]
		rep := sim.UsageReport{ICCID: card.ICCID, PLMN: plmn, Upload: rng.Int64N(400_000), Download: rng.Int64N(200_000)}
		charge := rng.IntN(2) == 0
		if !charge && rng.IntN(8) == 0 {
			rep.SMS = 1
		}
		d := time.Duration(rng.Int64N(int64(7 * time.Hour)))
		var errs [2]error
		var fits [2]bool
		for k, s := range sides {
			s.clock.Advance(d)
			if charge {
				fits[k], errs[k] = s.ctl.ChargeData(ctx, rep)
			} else {
				errs[k] = s.ctl.RecordUsage(ctx, rep)
			}
		}
		require.Equal(t, errs[1], errs[0], "step %d", step)
		require.Equal(t, fits[1], fits[0], "step %d", step)
		if fits[0] {
			fitted++
		} else if charge {
			cut++
		}
		if step%300 == 0 || step == 2999 {
			compareControls(t, sides[0].ctl, sides[1].ctl)
		}
	}
	if fitted == 0 || cut == 0 {
		t.Errorf("ChargeData fitted %d and cut %d times: the limit is not exercised", fitted, cut)
	}
}

func compareControls(t *testing.T, a, b *sim.Control) {
	t.Helper()
	sa, err := a.ListSims(a.MainAccount(), sim.SimFilter{})
	require.NoError(t, err)
	sb, err := b.ListSims(b.MainAccount(), sim.SimFilter{})
	require.NoError(t, err)
	require.Equal(t, sb, sa)
	for _, s := range sa {
		pa, err := a.BillingPeriods(a.MainAccount(), s.Sid)
		require.NoError(t, err)
		pb, err := b.BillingPeriods(b.MainAccount(), s.Sid)
		require.NoError(t, err)
		require.Equal(t, pb, pa)
		left, errA := a.DataAllowance(s.ICCID)
		right, errB := b.DataAllowance(s.ICCID)
		require.Equal(t, right, left)
		require.Equal(t, errB, errA)
	}
	for _, g := range []string{"hour", "day", "all"} {
		q := sim.UsageQuery{Group: "sim", Granularity: g}
		ua, err := a.UsageRecords(a.MainAccount(), q)
		require.NoError(t, err)
		ub, err := b.UsageRecords(b.MainAccount(), q)
		require.NoError(t, err)
		require.Equal(t, ub, ua, g)
	}
}
