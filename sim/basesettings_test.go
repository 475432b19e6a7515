package sim_test

import (
	"context"
	"time"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// pageAll reads l one item at a time forward, and checks that reading it
// backward from past its end gives the same items.
func pageAll[T any](t *testing.T, l sim.List[T]) []T {
	t.Helper()
	var fwd []T
	var last int64 = -1
	for {
		items, ps := l.After(last, 1)
		if len(items) == 0 {
			break
		}
		fwd, last = append(fwd, items[0]), ps[0]
	}
	var back []T
	pos := last + 1
	for {
		items, ps := l.Before(pos, 2)
		if len(items) == 0 {
			break
		}
		back, pos = append(append([]T(nil), items...), back...), ps[0]
	}
	require.Equal(t, fwd, back, "forward and backward paging differ")
	return fwd
}

// TestBaseSettingsKeptInTheSim: every Sim's first settings update is made
// on read from the Sim, listed in creation order among the over-the-air
// updates, paged both ways, and the same after a restart, which also
// keeps later resources' positions past it.
func TestBaseSettingsKeptInTheSim(t *testing.T) {
	f := newFixture(t)
	a := f.register(f.main, 0)
	_, err := f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, a.Sid, []sim.SettingsPackage{{Name: "multi-imsi", Version: "2"}})
	require.NoError(t, err)
	b := f.register(f.main, 1)
	c := f.register(f.main, 2)
	_, err = f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, c.Sid, []sim.SettingsPackage{{Name: "uplmn", Version: "3"}})
	require.NoError(t, err)

	list := func(ctl *sim.Control, simRef, status string) []*sim.SettingsUpdate {
		l, err := ctl.SettingsUpdatePages(ctl.MainAccount(), simRef, status)
		require.NoError(t, err)
		return pageAll(t, l)
	}
	all := list(f.ctl, "", "")
	var names []string
	for i, u := range all {
		names = append(names, u.SimSid+" "+u.Packages[0].Name)
		if i > 0 {
			require.Less(t, all[i-1].Seq, u.Seq)
		}
	}
	assert.Equal(t, []string{a.Sid + " base-settings", a.Sid + " multi-imsi", b.Sid + " base-settings", c.Sid + " base-settings", c.Sid + " uplmn"}, names)
	base := all[2]
	assert.Regexp(t, `^OB[0-9a-f]{32}$`, base.Sid)
	assert.Equal(t, sim.SettingsSuccessful, base.Status)
	assert.Equal(t, b.ICCID, base.ICCID)
	assert.Equal(t, b.DateCreated, base.DateCompleted)
	assert.Equal(t, b.Seq+1, base.Seq)
	assert.Len(t, list(f.ctl, "", sim.SettingsScheduled), 2)
	assert.Len(t, list(f.ctl, "", sim.SettingsSuccessful), 3)
	assert.Equal(t, all[3:], list(f.ctl, c.Sid, ""))

	require.NoError(t, f.ctl.Close())
	ctl, err := sim.New(f.ctx, f.store, sim.WithClock(f.clock), sim.WithCards("test", 20))
	require.NoError(t, err)
	defer ctl.Close()
	assert.Equal(t, all, list(ctl, "", ""))
	card := ctl.Cards()[3]
	d, err := ctl.RegisterSim(f.ctx, ctl.MainAccount(), card.ICCID, card.RegistrationCode)
	require.NoError(t, err)
	assert.Greater(t, d.Seq, all[len(all)-1].Seq)
	assert.Len(t, list(ctl, "", ""), len(all)+1)
}

// reversedStore loads its records in the reverse of MemStore's order:
// usage before the Sims it counts, Sims before their settings updates.
type reversedStore struct{ *sim.MemStore }

func (s reversedStore) Load(ctx context.Context, fn func(sim.Record) error) error {
	var recs []sim.Record
	if err := s.MemStore.Load(ctx, func(r sim.Record) error { recs = append(recs, r); return nil }); err != nil {
		return err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if err := fn(recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestSimStateReloads: the compact Sim records load back to the same
// Sims, billing periods, settings updates and usage, whatever order the
// store gives the records in.
func TestSimStateReloads(t *testing.T) {
	f := newFixture(t)
	var sids []string
	for i := range 6 {
		s := f.register(f.main, i)
		sids = append(sids, s.Sid)
		switch i % 3 {
		case 0:
			f.activate(s, "active")
		case 1:
			f.activate(s, "ready")
		}
	}
	_, _, err := f.update(f.main, sids[2], sim.SimParams{UniqueName: ptr("named")})
	require.NoError(t, err)
	_, err = f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, sids[0], []sim.SettingsPackage{{Name: "uplmn", Version: "3"}})
	require.NoError(t, err)
	cards := f.ctl.Cards()
	for i := range 6 {
		if i%3 != 2 {
			require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: cards[i].ICCID, PLMN: f.vf.Identifiers[0], Upload: int64(1000 * (i + 1)), Download: 10}))
		}
	}
	f.clock.Advance(40 * 24 * time.Hour) // the active periods roll, the ready ones not yet
	_, _, err = f.update(f.main, sids[3], sim.SimParams{Status: ptr("inactive")})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)

	type state struct {
		Sims     []*sim.Sim
		Periods  [][]*sim.BillingPeriod
		Settings []*sim.SettingsUpdate
		Usage    []sim.UsageRecord
		Cards    []sim.CardInfo
	}
	read := func(ctl *sim.Control) state {
		var st state
		var err error
		acct := ctl.MainAccount()
		st.Sims, err = ctl.ListSims(acct, sim.SimFilter{})
		require.NoError(t, err)
		for _, s := range st.Sims {
			p, err := ctl.BillingPeriods(acct, s.Sid)
			require.NoError(t, err)
			st.Periods = append(st.Periods, p)
		}
		st.Settings, err = ctl.ListSettingsUpdates(acct, "", "")
		require.NoError(t, err)
		start := f.clock.Now().Add(-45 * 24 * time.Hour).Truncate(24 * time.Hour)
		end := start.Add(30 * 24 * time.Hour)
		st.Usage, err = ctl.UsageRecords(acct, sim.UsageQuery{Group: "sim", Start: &start, End: &end})
		require.NoError(t, err)
		st.Cards = ctl.Cards()
		return st
	}
	want := read(f.ctl)
	require.Len(t, want.Sims, 6)
	require.Len(t, want.Settings, 7)
	require.Len(t, want.Usage, 4)
	assert.Equal(t, "named", want.Sims[2].UniqueName)
	assert.Equal(t, sim.PeriodActive, want.Periods[0][0].Type)
	require.NoError(t, f.ctl.Close())

	for _, store := range []sim.Store{f.store, reversedStore{f.store}} {
		ctl, err := sim.New(f.ctx, store, sim.WithClock(f.clock), sim.WithCards("test", 20))
		require.NoError(t, err)
		assert.Equal(t, want, read(ctl), "%T", store)
		s, err := ctl.Sim(ctl.MainAccount(), "named")
		require.NoError(t, err)
		assert.Equal(t, sids[2], s.Sid)
		require.NoError(t, ctl.Close())
	}
}
