package sim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// TestCardKey: a card's key names the card its ICCID does, in every call
// that takes one; the zero key (a card the core does not know) resolves
// the ICCID, as the calls without a key do.
func TestCardKey(t *testing.T) {
	p := newPerfFleet(t, 3, 2)
	a, b, unregistered := p.cards[0], p.cards[1], p.cards[2]
	ka, kb := p.ctl.CardKey(a.ICCID), p.ctl.CardKey(b.ICCID)
	require.NotEqual(t, sim.CardKey{}, ka)
	require.NotEqual(t, ka, kb)
	require.Equal(t, sim.CardKey{}, p.ctl.CardKey("8988307000000000000"), "not a card of the inventory")
	require.Equal(t, p.ctl.CardKey(unregistered.ICCID), p.ctl.CardKey(unregistered.ICCID))

	charge := func(c sim.CardInfo, k sim.CardKey, bytes int64) {
		t.Helper()
		fits, err := p.ctl.ChargeData(p.ctx, sim.UsageReport{ICCID: c.ICCID, PLMN: p.plmn, Upload: bytes, Card: k})
		require.NoError(t, err)
		require.True(t, fits)
	}
	charge(a, ka, 1000)
	charge(a, sim.CardKey{}, 2000)
	charge(b, kb, 500)
	for _, tc := range []struct {
		card sim.CardInfo
		key  sim.CardKey
	}{{a, ka}, {b, kb}, {a, sim.CardKey{}}, {unregistered, p.ctl.CardKey(unregistered.ICCID)}} {
		want, wantErr := p.ctl.DataAllowance(tc.card.ICCID)
		got, err := p.ctl.CardAllowance(tc.key, tc.card.ICCID)
		require.Equal(t, wantErr, err)
		require.Equal(t, want, got)
		require.Equal(t, p.ctl.AuthorizeData(tc.card.ICCID), p.ctl.AuthorizeCardData(tc.key, tc.card.ICCID))
	}
	left, err := p.ctl.DataAllowance(a.ICCID)
	require.NoError(t, err)
	leftB, err := p.ctl.DataAllowance(b.ICCID)
	require.NoError(t, err)
	require.Equal(t, int64(2500), leftB-left, "a's 3000 bytes, by key and by ICCID, and b's 500 went to their own SIMs")
	require.ErrorIs(t, p.ctl.AuthorizeCardData(p.ctl.CardKey(unregistered.ICCID), unregistered.ICCID), sim.ErrSimNew)

	p.clock.Advance(time.Hour)
	recs, err := p.ctl.UsageRecords(p.main, sim.UsageQuery{Group: "sim"})
	require.NoError(t, err)
	var up int64
	for _, r := range recs {
		up += r.Upload
	}
	require.Equal(t, int64(3500), up)
}
