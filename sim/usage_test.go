package sim_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// metered is one usage report as the test gave it, with what the control
// plane should remember about it.
type metered struct {
	at       time.Time
	sim      string
	fleet    string // the Sim's Fleet when the usage occurred
	network  sim.Network
	up, down int64
}

// usageWorld is a fixture with two active Sims on two Fleets and traffic on
// three networks in two countries across two days; Sim 1 changes Fleet
// half way through.
type usageWorld struct {
	*fixture
	sims    [2]*sim.Sim
	fleet2  *sim.Fleet
	fr      sim.Network
	day     time.Time // 00:00 of the first day of traffic
	traffic []metered
}

func newUsageWorld(t *testing.T) *usageWorld {
	// Hourly usage kept for the whole of the traffic, as hour queries ask.
	f := newFixture(t, sim.WithUsageRetention(31*24*time.Hour, sim.DefaultUsageDaily))
	w := &usageWorld{fixture: f, day: time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)}
	fr := f.ctl.Catalog().Filter("FR", "", "")
	require.NotEmpty(t, fr)
	w.fr = fr[0]
	var err error
	w.fleet2, err = f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr(f.nap.Sid), UniqueName: ptr("meters")})
	require.NoError(t, err)
	for i := range w.sims {
		w.sims[i] = f.activate(f.register(f.main, i), "active")
	}
	fleetOf := []string{f.fleet.Sid, f.fleet.Sid}
	report := func(at time.Time, i int, nw sim.Network, up, down int64) {
		t.Helper()
		f.clock.AdvanceTo(at)
		require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: f.ctl.Cards()[i].ICCID, PLMN: nw.Identifiers[0], Upload: up, Download: down}))
		w.traffic = append(w.traffic, metered{at: at, sim: w.sims[i].Sid, fleet: fleetOf[i], network: nw, up: up, down: down})
	}
	nets := []sim.Network{f.vf, f.ee, w.fr}
	for h := 0; h < 48; h += 5 {
		at := w.day.Add(time.Duration(h)*time.Hour + 17*time.Minute)
		if h == 25 {
			_, accepted, err := f.update(f.main, w.sims[1].Sid, sim.SimParams{Fleet: ptr(w.fleet2.Sid)})
			require.NoError(t, err)
			require.True(t, accepted)
			f.clock.AdvanceTo(at.Add(-time.Minute))
			fleetOf[1] = w.fleet2.Sid
		}
		report(at, h%2, nets[h%3], int64(100+h), int64(1000*(h+1)))
		report(at.Add(20*time.Minute), (h+1)%2, nets[(h+1)%3], int64(7*h), int64(333*h+1))
	}
	// SMS Commands only: counted toward ready→active, not data usage.
	require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: f.ctl.Cards()[0].ICCID, PLMN: f.vf.Identifiers[0], SMS: 2}))
	return w
}

type dims struct{ sim, fleet, network, country string }

// want is the reference model: the records UsageRecords should return for
// q (Start and End given), computed from the traffic as it was reported.
func (w *usageWorld) want(q sim.UsageQuery) map[string]sim.UsageRecord {
	step := map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour}[q.Granularity]
	out := map[string]sim.UsageRecord{}
	key := func(at time.Time, d dims) string { return fmt.Sprint(at.Format(time.RFC3339), d) }
	filter := dims{q.Sim, q.Fleet, q.Network, q.IsoCountry}
	if q.Group == "" {
		for at := *q.Start; at.Before(*q.End); at = at.Add(step) {
			r := sim.UsageRecord{AccountSid: w.main.Sid, SimSid: q.Sim, FleetSid: q.Fleet, NetworkSid: q.Network, IsoCountry: q.IsoCountry, Start: at, End: *q.End}
			if step > 0 {
				r.End = at.Add(step)
			}
			out[key(at, filter)] = r
			if step == 0 {
				break
			}
		}
	}
	for _, m := range w.traffic {
		hour := m.at.Truncate(time.Hour)
		if hour.Before(*q.Start) || !hour.Before(*q.End) ||
			q.Sim != "" && m.sim != q.Sim || q.Fleet != "" && m.fleet != q.Fleet ||
			q.Network != "" && m.network.Sid != q.Network || q.IsoCountry != "" && m.network.IsoCountry != q.IsoCountry {
			continue
		}
		d := filter
		switch q.Group {
		case "sim":
			d.sim = m.sim
		case "fleet":
			d.fleet = m.fleet
		case "network":
			d.network = m.network.Sid
		case "isoCountry":
			d.country = m.network.IsoCountry
		}
		start, end := *q.Start, *q.End
		if step > 0 {
			start = hour.Truncate(step)
			end = start.Add(step)
		}
		k := key(start, d)
		r, ok := out[k]
		if !ok {
			r = sim.UsageRecord{AccountSid: w.main.Sid, SimSid: d.sim, FleetSid: d.fleet, NetworkSid: d.network, IsoCountry: d.country, Start: start, End: end}
		}
		r.Upload += m.up
		r.Download += m.down
		out[k] = r
	}
	return out
}

// TestUsageRecordsEveryFilterGroupAndGranularity checks every combination
// of the filters, Group and Granularity against the traffic reported.
func TestUsageRecordsEveryFilterGroupAndGranularity(t *testing.T) {
	w := newUsageWorld(t)
	start, end := w.day, w.day.Add(48*time.Hour)
	var total int64
	for _, m := range w.traffic {
		total += m.up + m.down
	}
	runs := 0
	for _, simF := range []string{"", w.sims[0].Sid, w.sims[1].Sid} {
		for _, fleetF := range []string{"", w.fleet.Sid, w.fleet2.Sid} {
			for _, netF := range []string{"", w.vf.Sid, w.fr.Sid} {
				for _, isoF := range []string{"", "GB", "FR"} {
					for _, group := range []string{"", "sim", "fleet", "network", "isoCountry"} {
						for _, gran := range []string{"hour", "day", "all"} {
							q := sim.UsageQuery{Sim: simF, Fleet: fleetF, Network: netF, IsoCountry: isoF, Group: group, Granularity: gran, Start: &start, End: &end}
							got, err := w.ctl.UsageRecords(w.main, q)
							require.NoError(t, err, "%+v", q)
							want := w.want(q)
							gotByKey := map[string]sim.UsageRecord{}
							for _, r := range got {
								gotByKey[fmt.Sprint(r.Start.Format(time.RFC3339), dims{r.SimSid, r.FleetSid, r.NetworkSid, r.IsoCountry})] = r
							}
							require.Len(t, got, len(gotByKey), "one record per bucket and dimension: %+v", q)
							require.Equal(t, want, gotByKey, "%+v", q)
							assert.True(t, slices.IsSortedFunc(got, func(a, b sim.UsageRecord) int { return a.Start.Compare(b.Start) }), "oldest bucket first")
							runs++
						}
					}
				}
			}
		}
	}
	assert.Equal(t, 3*3*3*3*5*3, runs)

	// Together the buckets of any Group hold every byte reported once.
	for _, group := range []string{"", "sim", "fleet", "network", "isoCountry"} {
		recs, err := w.ctl.UsageRecords(w.main, sim.UsageQuery{Group: group, Granularity: "hour", Start: &start, End: &end})
		require.NoError(t, err)
		var sum int64
		for _, r := range recs {
			sum += r.Upload + r.Download
		}
		assert.Equal(t, total, sum, "Group=%q", group)
	}
}

// TestUsageRecordsDefaultWindows: EndTime defaults to now and StartTime to
// one month before EndTime (OAI); with hour or day buckets the window ends
// with the bucket now falls in, so the default request is always aligned.
func TestUsageRecordsDefaultWindows(t *testing.T) {
	w := newUsageWorld(t)
	now := w.clock.Now()
	require.NotEqual(t, now, now.Truncate(time.Hour), "now is inside an hour")
	for _, tc := range []struct {
		gran       string
		start, end time.Time
	}{
		{"", now.AddDate(0, -1, 0), now},
		{"all", now.AddDate(0, -1, 0), now},
		{"hour", now.Truncate(time.Hour).Add(time.Hour).AddDate(0, -1, 0), now.Truncate(time.Hour).Add(time.Hour)},
		{"day", now.Truncate(24*time.Hour).AddDate(0, -1, 1), now.Truncate(24 * time.Hour).Add(24 * time.Hour)},
	} {
		recs, err := w.ctl.UsageRecords(w.main, sim.UsageQuery{Granularity: tc.gran})
		require.NoError(t, err, tc.gran)
		require.NotEmpty(t, recs)
		assert.Equal(t, tc.start, recs[0].Start, "Granularity=%q", tc.gran)
		assert.Equal(t, tc.end, recs[len(recs)-1].End, "Granularity=%q", tc.gran)
		want := w.want(sim.UsageQuery{Granularity: cmpOr(tc.gran, "all"), Start: &tc.start, End: &tc.end})
		assert.Len(t, recs, len(want), "Granularity=%q", tc.gran)
	}

	// Only StartTime: EndTime is still now; only EndTime: a month before it.
	from := w.day.Add(24 * time.Hour)
	recs, err := w.ctl.UsageRecords(w.main, sim.UsageQuery{Start: &from})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, now, recs[0].End)
	to := w.day.Add(24 * time.Hour)
	recs, err = w.ctl.UsageRecords(w.main, sim.UsageQuery{End: &to, Granularity: "day"})
	require.NoError(t, err)
	assert.Equal(t, to.AddDate(0, -1, 0), recs[0].Start)
	assert.Equal(t, to, recs[len(recs)-1].End)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestUsageRecordsBilling: data_total_billed is 0.10 USD per 1,000,000
// bytes, as the OAI examples bill 300,000 bytes at 0.03 USD.
func TestUsageRecordsBilling(t *testing.T) {
	for _, tc := range []struct {
		up, down int64
		billed   float64
	}{
		{150000, 150000, 0.03},
		{1000, 1000, 0.0002},
		{0, 0, 0},
		{5, 4, 0}, // below a micro-dollar
		{sim.MB, 0, 0.104857},
	} {
		assert.Equal(t, tc.billed, sim.UsageRecord{Upload: tc.up, Download: tc.down}.Billed(), "%d+%d bytes", tc.up, tc.down)
	}
}

func TestUsageRecordsErrors(t *testing.T) {
	w := newUsageWorld(t)
	day := w.day
	next := day.Add(24 * time.Hour)
	for _, tc := range []struct {
		name string
		q    sim.UsageQuery
		code int
	}{
		{"Network not a Network SID", sim.UsageQuery{Network: "vodafone"}, sim.CodeUsageInvalid},
		{"Network of the wrong kind", sim.UsageQuery{Network: w.fleet.Sid}, sim.CodeUsageInvalid},
		{"IsoCountry not alpha-2", sim.UsageQuery{IsoCountry: "GBR"}, sim.CodeUsageInvalid},
		{"bad Group", sim.UsageQuery{Group: "imsi"}, sim.CodeUsageInvalid},
		{"bad Granularity", sim.UsageQuery{Granularity: "minute"}, sim.CodeUsageInvalid},
		{"empty window", sim.UsageQuery{Start: &day, End: &day}, sim.CodeUsageInvalid},
		{"day needs midnight", sim.UsageQuery{Granularity: "day", Start: ptr(day.Add(time.Hour)), End: &next}, sim.CodeUsageNotDay},
		{"day needs midnight end", sim.UsageQuery{Granularity: "day", Start: &day, End: ptr(next.Add(time.Hour))}, sim.CodeUsageNotDay},
		{"hour needs hour", sim.UsageQuery{Granularity: "hour", Start: &day, End: ptr(next.Add(time.Second))}, sim.CodeUsageNotHour},
		{"Group=sim ≤ 31 days with any Granularity", sim.UsageQuery{Group: "sim", Granularity: "day", Start: ptr(day.AddDate(0, 0, -32)), End: &day}, sim.CodeUsageSimTooLong},
		{"hour ≤ 31 days", sim.UsageQuery{Granularity: "hour", Start: ptr(day.AddDate(0, 0, -32)), End: &day}, sim.CodeUsageTooLong},
		{"day ≤ 3 months", sim.UsageQuery{Granularity: "day", Start: ptr(day.AddDate(0, -3, -1)), End: &day}, sim.CodeUsageTooLong},
		{"all ≤ 18 months", sim.UsageQuery{Start: ptr(day.AddDate(0, -17, 0)), End: ptr(day.AddDate(0, 2, 0))}, sim.CodeUsageTooLong},
		{"StartTime ≤ 18 months ago", sim.UsageQuery{Start: ptr(w.clock.Now().Truncate(24*time.Hour).AddDate(0, -18, -1))}, sim.CodeUsageTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.ctl.UsageRecords(w.main, tc.q)
			requireCode(t, err, tc.code)
		})
	}
	// The limits themselves are allowed.
	for _, q := range []sim.UsageQuery{
		{Group: "sim", Granularity: "hour", Start: ptr(day.AddDate(0, 0, -31)), End: &day},
		{Granularity: "day", Start: ptr(day.AddDate(0, -3, 0)), End: &day},
		{Start: ptr(w.clock.Now().Truncate(24*time.Hour).AddDate(0, -18, 0)), End: ptr(w.clock.Now().Truncate(24 * time.Hour))},
		{IsoCountry: "gb", Network: w.vf.Sid},
	} {
		_, err := w.ctl.UsageRecords(w.main, q)
		assert.NoError(t, err, "%+v", q)
	}
	// Unknown Sims and Fleets have no usage.
	for _, q := range []sim.UsageQuery{{Sim: "nobody"}, {Fleet: "nothing"}, {Sim: "HS00000000000000000000000000000000"}} {
		recs, err := w.ctl.UsageRecords(w.main, q)
		require.NoError(t, err)
		for _, r := range recs {
			assert.Zero(t, r.Upload+r.Download)
		}
	}
}

// TestUsageAndBillingAcrossAccountMove is the seed's "Moving Inactive SIMs"
// section: usage records stay with the account that incurred them, the
// data-limit counter and the unexpired billing period follow the SIM, and
// the new account sees a billing period only once a new one starts.
func TestUsageAndBillingAcrossAccountMove(t *testing.T) {
	f := newFixture(t, sim.WithLimitPropagation(0))
	subA, err := f.ctl.CreateSubaccount(f.ctx, "A")
	require.NoError(t, err)
	subB, err := f.ctl.CreateSubaccount(f.ctx, "B")
	require.NoError(t, err)
	fleetIn := func(acct *sim.Account, limitMB int) *sim.Fleet {
		nap, err := f.ctl.CreateNAP(f.ctx, acct, nil, []string{f.vf.Sid})
		require.NoError(t, err)
		fl, err := f.ctl.CreateFleet(f.ctx, acct, sim.FleetParams{NetworkAccessProfile: ptr(nap.Sid), DataLimit: ptr(limitMB)})
		require.NoError(t, err)
		return fl
	}
	flA, flB := fleetIn(subA, 100), fleetIn(subB, 15)
	card := f.ctl.Cards()[0]
	s := f.register(subA, 0)
	_, _, err = f.update(subA, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(flA.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	use := func(mb int64) {
		t.Helper()
		require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Download: mb * sim.MB}))
	}
	bps, err := f.ctl.BillingPeriods(subA, s.Sid)
	require.NoError(t, err)
	require.Len(t, bps, 1)
	period := bps[0]
	assert.Equal(t, subA.Sid, period.AccountSid)
	assert.Equal(t, sim.PeriodActive, period.Type)
	assert.Equal(t, period.Start.AddDate(0, 1, 0), period.End, "an active period is one calendar month")

	// Eight days in, 5 MB used; the SIM is deactivated and moved A → B.
	f.clock.Advance(8 * 24 * time.Hour)
	use(5)
	_, _, err = f.update(subA, s.Sid, sim.SimParams{Status: ptr("inactive")})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(subB.Sid), Fleet: ptr("")})
	require.NoError(t, err)
	bps, err = f.ctl.BillingPeriods(subB, s.Sid)
	require.NoError(t, err)
	assert.Empty(t, bps, "the period of the previous account is not shown")

	// Reactivated in B inside the old period: it is reused, so the 5 MB
	// count toward B's 15 MB limit.
	_, _, err = f.update(subB, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(flB.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	use(9)
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID))
	use(1)
	require.ErrorIs(t, f.ctl.AuthorizeData(card.ICCID), sim.ErrDataLimitReached, "5 + 9 + 1 MB reach 15 MB")
	bps, _ = f.ctl.BillingPeriods(subB, s.Sid)
	assert.Empty(t, bps, "the reused period still belongs to A")

	// Usage records stay where the usage occurred; A can still read its own
	// by the SIM's SID though the SIM is now B's.
	for _, tc := range []struct {
		acct *sim.Account
		mb   int64
	}{{subA, 5}, {subB, 10}} {
		for _, q := range []sim.UsageQuery{{}, {Sim: s.Sid}, {Group: "sim"}} {
			recs, err := f.ctl.UsageRecords(tc.acct, q)
			require.NoError(t, err)
			var sum int64
			for _, r := range recs {
				sum += r.Upload + r.Download
				assert.Equal(t, tc.acct.Sid, r.AccountSid)
			}
			assert.Equal(t, tc.mb*sim.MB, sum, "%s %+v", tc.acct.FriendlyName, q)
		}
	}
	recs, err := f.ctl.UsageRecords(subB, sim.UsageQuery{Fleet: flA.Sid})
	assert.NoError(t, err)
	assert.Empty(t, recs, "a Fleet of another account is not found")

	// The old period expires: the next one is B's and the counter restarts.
	f.clock.AdvanceTo(period.End)
	bps, _ = f.ctl.BillingPeriods(subB, s.Sid)
	require.Len(t, bps, 1)
	assert.Equal(t, subB.Sid, bps[0].AccountSid)
	assert.Equal(t, period.End, bps[0].Start)
	assert.Equal(t, period.End.AddDate(0, 1, 0), bps[0].End)
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID))
	bps, _ = f.ctl.BillingPeriods(subA, s.Sid)
	assert.Empty(t, bps, "A no longer sees the SIM")
}

// TestBillingPeriodAfterLongInactivity: when the old period has expired
// before the SIM is reactivated on its new account, a new period starts at
// the reactivation and belongs to the new account.
func TestBillingPeriodAfterLongInactivity(t *testing.T) {
	f := newFixture(t)
	sub, err := f.ctl.CreateSubaccount(f.ctx, "B")
	require.NoError(t, err)
	s := f.activate(f.register(f.main, 0), "active")
	bps, _ := f.ctl.BillingPeriods(f.main, s.Sid)
	old := bps[0]
	f.activate(s, "inactive")
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(sub.Sid), Fleet: ptr("")})
	require.NoError(t, err)
	f.clock.AdvanceTo(old.End.Add(40 * 24 * time.Hour))
	bps, _ = f.ctl.BillingPeriods(sub, s.Sid)
	assert.Empty(t, bps, "an inactive SIM gets no new period")

	nap, err := f.ctl.CreateNAP(f.ctx, sub, nil, []string{f.vf.Sid})
	require.NoError(t, err)
	fl, err := f.ctl.CreateFleet(f.ctx, sub, sim.FleetParams{NetworkAccessProfile: ptr(nap.Sid)})
	require.NoError(t, err)
	_, _, err = f.update(sub, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(fl.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	bps, err = f.ctl.BillingPeriods(sub, s.Sid)
	require.NoError(t, err)
	require.Len(t, bps, 1)
	assert.Equal(t, sub.Sid, bps[0].AccountSid)
	assert.Equal(t, f.clock.Now(), bps[0].Start)
	assert.NotEqual(t, old.Sid, bps[0].Sid)
}

// TestDataAllowance: the core says how many bytes a SIM may still move
// before the limit the network enforces now, so a session can be cut where
// the limit is reached; a new limit counts only once it has propagated.
func TestDataAllowance(t *testing.T) {
	const prop = 5 * time.Minute
	f := newFixture(t, sim.WithLimitPropagation(prop))
	_, err := f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(1)})
	require.NoError(t, err)
	f.clock.Advance(prop)
	f.activate(f.register(f.main, 0), "active")
	card := f.ctl.Cards()[0]
	left, err := f.ctl.DataAllowance(card.ICCID)
	require.NoError(t, err)
	assert.Equal(t, int64(sim.MB), left)

	require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Upload: 400_000, Download: 400_000}))
	left, err = f.ctl.DataAllowance(card.ICCID)
	require.NoError(t, err)
	assert.Equal(t, int64(sim.MB-800_000), left)

	// A higher limit is not enforced while it propagates.
	_, err = f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(2)})
	require.NoError(t, err)
	left, err = f.ctl.DataAllowance(card.ICCID)
	require.NoError(t, err)
	assert.Equal(t, int64(sim.MB-800_000), left, "the new limit still propagates")
	f.clock.Advance(prop)
	left, err = f.ctl.DataAllowance(card.ICCID)
	require.NoError(t, err)
	assert.Equal(t, int64(2*sim.MB-800_000), left)

	require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Upload: left}))
	left, err = f.ctl.DataAllowance(card.ICCID)
	require.ErrorIs(t, err, sim.ErrDataLimitReached)
	assert.Zero(t, left)
}
