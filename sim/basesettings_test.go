package sim_test

import (
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
