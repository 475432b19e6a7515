package sim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

var epoch = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// fixture is a control plane on a virtual clock with a NAP allowing
// Vodafone UK and a Fleet using it.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	ctl   *sim.Control
	clock *vclock.Clock
	store *sim.MemStore
	main  *sim.Account
	nap   *sim.NAP
	fleet *sim.Fleet
	vf    sim.Network // Vodafone UK, 234-15
	ee    sim.Network // EE, 234-30
}

const updateDelay = 3 * time.Second

func newFixture(t *testing.T, opts ...sim.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), clock: vclock.New(epoch), store: sim.NewMemStore()}
	opts = append([]sim.Option{sim.WithClock(f.clock), sim.WithCards("test", 20), sim.WithUpdateDelay(updateDelay)}, opts...)
	ctl, err := sim.New(f.ctx, f.store, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { ctl.Close() })
	f.ctl, f.main = ctl, ctl.MainAccount()
	var ok bool
	f.vf, ok = ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	require.True(t, ok)
	f.ee, ok = ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "30"})
	require.True(t, ok)
	f.nap, err = ctl.CreateNAP(f.ctx, f.main, ptr("uk"), []string{f.vf.Sid})
	require.NoError(t, err)
	f.fleet, err = ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), UniqueName: ptr("trackers")})
	require.NoError(t, err)
	return f
}

func ptr[T any](v T) *T { return &v }

// register registers card i to acct.
func (f *fixture) register(acct *sim.Account, i int) *sim.Sim {
	f.t.Helper()
	c := f.ctl.Cards()[i]
	s, err := f.ctl.RegisterSim(f.ctx, acct, c.ICCID, c.RegistrationCode)
	require.NoError(f.t, err)
	return s
}

// update applies p to the Sim and returns the result.
func (f *fixture) update(acct *sim.Account, sid string, p sim.SimParams) (*sim.Sim, bool, error) {
	return f.ctl.UpdateSim(f.ctx, acct, sid, p)
}

// activate moves a new Sim to status with the fixture's Fleet and lets the
// asynchronous update complete.
func (f *fixture) activate(s *sim.Sim, status string) *sim.Sim {
	f.t.Helper()
	_, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Status: &status, Fleet: ptr(f.fleet.Sid)})
	require.NoError(f.t, err)
	require.True(f.t, accepted)
	f.clock.Advance(updateDelay)
	got, err := f.ctl.Sim(f.main, s.Sid)
	require.NoError(f.t, err)
	require.Equal(f.t, status, got.APIStatus().String())
	return got
}

func (f *fixture) sim(sid string) *sim.Sim {
	f.t.Helper()
	s, err := f.ctl.Sim(f.main, sid)
	require.NoError(f.t, err)
	return s
}

func requireCode(t *testing.T, err error, code int, msgAndArgs ...any) {
	t.Helper()
	var e *sim.Error
	require.ErrorAs(t, err, &e, msgAndArgs...)
	require.Equal(t, code, e.Code, append([]any{e.Message}, msgAndArgs...)...)
}

func TestCardsAreSuperSimCardsWithValidLuhn(t *testing.T) {
	cards := sim.GenerateCards("seed", 200)
	seen := map[string]bool{}
	for _, c := range cards {
		require.Len(t, c.ICCID, 19)
		require.True(t, c.ICCID[:7] == "8988307" || c.ICCID[:7] == "8988323", c.ICCID)
		require.True(t, sim.LuhnValid(c.ICCID), c.ICCID)
		require.Len(t, c.IMSI, 15)
		require.Regexp(t, `^[0-9]{10}$`, c.RegistrationCode)
		require.False(t, seen[c.ICCID], "duplicate ICCID %s", c.ICCID)
		seen[c.ICCID] = true
	}
	assert.Equal(t, cards[:10], sim.GenerateCards("seed", 10), "a larger inventory extends a smaller one")
	assert.NotEqual(t, cards[0].ICCID, sim.GenerateCards("other", 1)[0].ICCID)
}

func TestRegisterCreatesNewSimWithoutFleet(t *testing.T) {
	f := newFixture(t)
	s := f.register(f.main, 0)
	assert.Regexp(t, `^HS[0-9a-f]{32}$`, s.Sid)
	assert.Equal(t, sim.StatusNew, s.APIStatus())
	assert.Empty(t, s.FleetSid)
	assert.Equal(t, f.main.Sid, s.AccountSid)
	assert.Equal(t, s.Sid, f.ctl.Cards()[0].SimSid)
}

func TestRegisterErrors(t *testing.T) {
	f := newFixture(t)
	c := f.ctl.Cards()[1]
	sub, err := f.ctl.CreateSubaccount(f.ctx, "sub")
	require.NoError(t, err)
	_, err = f.ctl.RegisterSim(f.ctx, f.main, "", c.RegistrationCode)
	requireCode(t, err, sim.CodeRegistrationMissing)
	_, err = f.ctl.RegisterSim(f.ctx, f.main, c.ICCID, "")
	requireCode(t, err, sim.CodeRegistrationMissing)
	_, err = f.ctl.RegisterSim(f.ctx, f.main, c.ICCID, "0000000000")
	requireCode(t, err, sim.CodeRegistrationInvalid)
	_, err = f.ctl.RegisterSim(f.ctx, f.main, "8988307000000000000", c.RegistrationCode)
	requireCode(t, err, sim.CodeRegistrationInvalid)
	s := f.register(f.main, 1)
	_, err = f.ctl.RegisterSim(f.ctx, f.main, c.ICCID, c.RegistrationCode)
	requireCode(t, err, sim.CodeAlreadyRegistered)
	assert.Contains(t, err.Error(), s.Sid, "83003 names the registered Sim")
	_, err = f.ctl.RegisterSim(f.ctx, sub, c.ICCID, c.RegistrationCode)
	requireCode(t, err, sim.CodeRegistrationInvalid)
}

// TestStatusTransitions is the seed's status machine: every requested
// change from every status, allowed or refused with 83010.
func TestStatusTransitions(t *testing.T) {
	allowed := map[[2]string]bool{
		{"new", "ready"}: true, {"new", "active"}: true,
		{"ready", "active"}:    true,
		{"active", "inactive"}: true,
		{"inactive", "active"}: true,
	}
	for _, from := range []string{"new", "ready", "active", "inactive"} {
		for _, to := range []string{"ready", "active", "inactive"} {
			if from == to {
				continue
			}
			t.Run(from+"→"+to, func(t *testing.T) {
				f := newFixture(t)
				s := f.register(f.main, 0)
				switch from {
				case "ready", "active":
					s = f.activate(s, from)
				case "inactive":
					s = f.activate(s, "active")
					s = f.activate(s, "inactive")
				}
				got, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Status: ptr(to), Fleet: ptr(f.fleet.Sid)})
				if !allowed[[2]string{from, to}] {
					requireCode(t, err, sim.CodeBadTransition)
					assert.Equal(t, from, f.sim(s.Sid).APIStatus().String(), "a refused update changes nothing")
					return
				}
				require.NoError(t, err)
				assert.True(t, accepted, "status changes are asynchronous")
				assert.Equal(t, sim.StatusScheduled, got.APIStatus())
				f.clock.Advance(updateDelay)
				assert.Equal(t, to, f.sim(s.Sid).APIStatus().String())
			})
		}
	}
	t.Run("unknown status", func(t *testing.T) {
		f := newFixture(t)
		s := f.register(f.main, 0)
		_, _, err := f.update(f.main, s.Sid, sim.SimParams{Status: ptr("scheduled")})
		requireCode(t, err, sim.CodeInvalidParameter)
	})
}

func TestAsyncActivationSequenceAndCallbacks(t *testing.T) {
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			got := make(chan *http.Request, 1)
			bodies := make(chan url.Values, 1)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(raw))
				if r.Method == http.MethodGet {
					form = r.URL.Query()
				}
				got <- r
				bodies <- form
			}))
			defer hook.Close()
			f := newFixture(t)
			s := f.register(f.main, 0)
			_, _, err := f.update(f.main, s.Sid, sim.SimParams{UniqueName: ptr("dev-1")})
			require.NoError(t, err)
			resp, accepted, err := f.update(f.main, s.Sid, sim.SimParams{
				Status: ptr("active"), Fleet: ptr("trackers"), CallbackURL: hook.URL + "/cb?x=1", CallbackMethod: method,
			})
			require.NoError(t, err)
			require.True(t, accepted)
			assert.Equal(t, sim.StatusScheduled, resp.APIStatus())
			assert.Empty(t, resp.FleetSid, "the accepted response shows the old fleet_sid")
			f.clock.Advance(updateDelay - time.Millisecond)
			assert.Equal(t, sim.StatusScheduled, f.sim(s.Sid).APIStatus(), "still scheduled before the delay")
			f.clock.Advance(time.Millisecond)
			done := f.sim(s.Sid)
			assert.Equal(t, sim.StatusActive, done.APIStatus())
			assert.Equal(t, f.fleet.Sid, done.FleetSid)

			select {
			case r := <-got:
				form := <-bodies
				assert.Equal(t, method, r.Method)
				assert.Equal(t, "/cb", r.URL.Path)
				assert.Equal(t, s.Sid, form.Get("SimSid"))
				assert.Equal(t, "dev-1", form.Get("SimUniqueName"))
				assert.Equal(t, "active", form.Get("SimStatus"))
				assert.Equal(t, f.main.Sid, form.Get("AccountSid"))
				assert.NotEmpty(t, r.Header.Get("X-Twilio-Signature"))
			case <-time.After(10 * time.Second):
				t.Fatal("no callback within 10s")
			}
		})
	}
}

func TestActivationWithoutFleetIs83007(t *testing.T) {
	f := newFixture(t)
	s := f.register(f.main, 0)
	_, _, err := f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active")})
	requireCode(t, err, sim.CodeNoFleet)
}

func TestFleetOfNewSimChangesAtOnce(t *testing.T) {
	f := newFixture(t)
	s := f.register(f.main, 0)
	got, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr("trackers")})
	require.NoError(t, err)
	assert.False(t, accepted)
	assert.Equal(t, f.fleet.Sid, got.FleetSid)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr("no-such-fleet")})
	requireCode(t, err, sim.CodeFleetNotFound)
}

func TestFleetChangeOfActiveSimIsAsync(t *testing.T) {
	f := newFixture(t)
	other, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr(f.nap.Sid)})
	require.NoError(t, err)
	s := f.activate(f.register(f.main, 0), "active")
	got, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr(other.Sid)})
	require.NoError(t, err)
	require.True(t, accepted)
	assert.Equal(t, sim.StatusScheduled, got.APIStatus())
	assert.Equal(t, f.fleet.Sid, got.FleetSid, "old fleet_sid until the update completes")

	_, _, err = f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr(f.fleet.Sid)})
	requireCode(t, err, sim.CodeUpdateInProgress)

	f.clock.Advance(updateDelay)
	done := f.sim(s.Sid)
	assert.Equal(t, sim.StatusActive, done.APIStatus())
	assert.Equal(t, other.Sid, done.FleetSid)
}

func TestFleetCannotBeRemovedFromActiveSim(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	_, _, err := f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr("")})
	requireCode(t, err, sim.CodeFleetRequired)
	_, accepted, err := f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr(""), Status: ptr("inactive")})
	require.NoError(t, err, "deactivating in the same request allows removing the Fleet")
	require.True(t, accepted)
	f.clock.Advance(updateDelay)
	done := f.sim(s.Sid)
	assert.Equal(t, sim.StatusInactive, done.APIStatus())
	assert.Empty(t, done.FleetSid)
}

func TestReadyBecomesActiveAfter250KB(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "ready")
	card := f.ctl.Cards()[0]
	report := sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Upload: 100 * 1024, Download: 100 * 1024}
	require.NoError(t, f.ctl.RecordUsage(f.ctx, report))
	assert.Equal(t, sim.StatusReady, f.sim(s.Sid).APIStatus(), "200 KB is not enough")
	report.Upload, report.Download = 50*1024, 0
	require.NoError(t, f.ctl.RecordUsage(f.ctx, report))
	got := f.sim(s.Sid)
	assert.Equal(t, sim.StatusActive, got.APIStatus())
	bps, err := f.ctl.BillingPeriods(f.main, s.Sid)
	require.NoError(t, err)
	require.Len(t, bps, 1)
	assert.Equal(t, sim.PeriodActive, bps[0].Type)
	assert.Equal(t, f.clock.Now(), bps[0].Start)
}

func TestReadyBecomesActiveAfterFiveSMSCommands(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "ready")
	card := f.ctl.Cards()[0]
	for i := range 5 {
		assert.Equal(t, sim.StatusReady, f.sim(s.Sid).APIStatus(), "after %d SMS", i)
		require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], SMS: 1}))
	}
	assert.Equal(t, sim.StatusActive, f.sim(s.Sid).APIStatus())
}

func TestReadyBecomesActiveAfterThreeMonths(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "ready")
	bps, err := f.ctl.BillingPeriods(f.main, s.Sid)
	require.NoError(t, err)
	require.Len(t, bps, 1)
	ready := bps[0]
	assert.Equal(t, sim.PeriodReady, ready.Type)
	assert.Equal(t, ready.Start.AddDate(0, 3, 0), ready.End)
	f.clock.AdvanceTo(ready.End.Add(-time.Second))
	assert.Equal(t, sim.StatusReady, f.sim(s.Sid).APIStatus())
	f.clock.AdvanceTo(ready.End)
	assert.Equal(t, sim.StatusActive, f.sim(s.Sid).APIStatus())
	bps, err = f.ctl.BillingPeriods(f.main, s.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.PeriodActive, bps[0].Type)
	assert.Equal(t, ready.End, bps[0].Start)
}

func TestBillingPeriodsRollMonthlyWhileActive(t *testing.T) {
	f := newFixture(t)
	s := f.register(f.main, 0)
	bps, err := f.ctl.BillingPeriods(f.main, s.Sid)
	require.NoError(t, err)
	assert.Empty(t, bps, "a new Sim has no billing period")
	s = f.activate(s, "active")
	bps, _ = f.ctl.BillingPeriods(f.main, s.Sid)
	first := bps[0]
	assert.Equal(t, first.Start.AddDate(0, 1, 0), first.End)
	f.clock.AdvanceTo(first.End.Add(time.Hour))
	bps, _ = f.ctl.BillingPeriods(f.main, s.Sid)
	require.Len(t, bps, 1, "only the current period is listed")
	assert.Equal(t, first.End, bps[0].Start)
	assert.NotEqual(t, first.Sid, bps[0].Sid)
	assert.Regexp(t, `^HB[0-9a-f]{32}$`, bps[0].Sid)
}

func TestReactivationReusesUnexpiredBillingPeriod(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	bps, _ := f.ctl.BillingPeriods(f.main, s.Sid)
	period := bps[0]
	f.activate(s, "inactive")
	f.clock.Advance(24 * time.Hour)
	f.activate(s, "active")
	bps, _ = f.ctl.BillingPeriods(f.main, s.Sid)
	assert.Equal(t, period.Sid, bps[0].Sid, "reactivated within the period: same period")

	f.activate(s, "inactive")
	f.clock.AdvanceTo(period.End.Add(48 * time.Hour))
	bps, _ = f.ctl.BillingPeriods(f.main, s.Sid)
	assert.Equal(t, period.Sid, bps[0].Sid, "an inactive Sim keeps its expired period; no new one")
	f.activate(s, "active")
	bps, _ = f.ctl.BillingPeriods(f.main, s.Sid)
	assert.NotEqual(t, period.Sid, bps[0].Sid)
	assert.Equal(t, f.clock.Now(), bps[0].Start, "a new period starts at reactivation")
}

func TestFleetDefaults(t *testing.T) {
	f := newFixture(t)
	fl := f.fleet
	assert.Regexp(t, `^HF[0-9a-f]{32}$`, fl.Sid)
	assert.True(t, fl.DataEnabled)
	assert.Equal(t, 1000, fl.DataLimit)
	assert.Equal(t, "payg", fl.DataMetering)
	assert.True(t, fl.SmsCommandsEnabled)
	assert.Equal(t, "POST", fl.SmsCommandsMethod)
	assert.Equal(t, "POST", fl.IPCommandsMethod)
	assert.Equal(t, f.nap.Sid, fl.NAPSid)
	got, err := f.ctl.Fleet(f.main, "trackers")
	require.NoError(t, err)
	assert.Equal(t, fl.Sid, got.Sid, "unique_name addresses the Fleet")
}

func TestFleetDataLimitRange(t *testing.T) {
	f := newFixture(t)
	for _, limit := range []int{0, -1, 2_000_001} {
		_, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), DataLimit: ptr(limit)})
		requireCode(t, err, sim.CodeInvalidParameter)
		_, err = f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(limit)})
		requireCode(t, err, sim.CodeInvalidParameter)
	}
	for _, limit := range []int{1, 2_000_000} {
		fl, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), DataLimit: ptr(limit)})
		require.NoError(t, err)
		assert.Equal(t, limit, fl.DataLimit)
	}
	_, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{})
	requireCode(t, err, sim.CodeInvalidParameter)
	_, err = f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("nope")})
	requireCode(t, err, sim.CodeInvalidParameter)
}

// TestDataLimitPropagation: a new limit shows in the API at once, is
// enforced after the propagation delay, blocks SIMs over it and unblocks
// them when it rises.
func TestDataLimitPropagation(t *testing.T) {
	const prop = 5 * time.Minute
	f := newFixture(t, sim.WithLimitPropagation(prop))
	fl, err := f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(2)})
	require.NoError(t, err)
	assert.Equal(t, 2, fl.DataLimit, "the API shows the new limit at once")
	f.clock.Advance(prop)
	s := f.activate(f.register(f.main, 0), "active")
	card := f.ctl.Cards()[0]
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID))
	require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Download: 2 * sim.MB}))
	require.ErrorIs(t, f.ctl.AuthorizeData(card.ICCID), sim.ErrDataLimitReached)

	_, err = f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(10)})
	require.NoError(t, err)
	f.clock.Advance(prop - time.Second)
	require.ErrorIs(t, f.ctl.AuthorizeData(card.ICCID), sim.ErrDataLimitReached, "still blocked while the new limit propagates")
	f.clock.Advance(time.Second)
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID), "unblocked once the higher limit is enforced")

	_, err = f.ctl.UpdateFleet(f.ctx, f.main, f.fleet.Sid, sim.FleetParams{DataLimit: ptr(1)})
	require.NoError(t, err)
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID), "the lower limit is not enforced yet")
	f.clock.Advance(prop)
	require.ErrorIs(t, f.ctl.AuthorizeData(card.ICCID), sim.ErrDataLimitReached)

	// The counter restarts with the next billing period.
	bps, _ := f.ctl.BillingPeriods(f.main, s.Sid)
	f.clock.AdvanceTo(bps[0].End)
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID))
}

func TestLimitPropagationIsAtMost15Minutes(t *testing.T) {
	_, err := sim.New(context.Background(), sim.NewMemStore(), sim.WithLimitPropagation(16*time.Minute))
	require.Error(t, err)
	_, err = sim.New(context.Background(), sim.NewMemStore(), sim.WithLimitPropagation(15*time.Minute))
	require.NoError(t, err)
}

func TestDataDisabledFleet(t *testing.T) {
	f := newFixture(t)
	fl, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), DataEnabled: ptr(false)})
	require.NoError(t, err)
	s := f.register(f.main, 0)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(fl.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	card := f.ctl.Cards()[0]
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.NoError(t, err, "a data-disabled Fleet still attaches")
	require.ErrorIs(t, f.ctl.AuthorizeData(card.ICCID), sim.ErrDataDisabled)
}

func TestAttachDecisions(t *testing.T) {
	f := newFixture(t)
	card := f.ctl.Cards()[0]
	_, err := f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrSimNew, "an unregistered card is never activated")
	s := f.register(f.main, 0)
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrSimNew)
	f.activate(s, "ready")
	nw, err := f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.NoError(t, err)
	assert.Equal(t, f.vf.Sid, nw.Sid)
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.ee.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrNetworkNotAllowed)
	_, err = f.ctl.AuthorizeAttach(card.ICCID, sim.PLMN{MCC: "999", MNC: "99"})
	require.ErrorIs(t, err, sim.ErrNetworkNotAllowed, "a network outside the catalog can never be allowed")
	f.activate(s, "active")
	f.activate(s, "inactive")
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrSimInactive)
}

// TestNAPAllowListEdits: adding and removing networks changes what every
// Fleet using the NAP may attach to.
func TestNAPAllowListEdits(t *testing.T) {
	f := newFixture(t)
	second, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr(f.nap.Sid)})
	require.NoError(t, err)
	a := f.activate(f.register(f.main, 0), "active")
	b := f.register(f.main, 1)
	_, _, err = f.update(f.main, b.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(second.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	_ = a
	cards := f.ctl.Cards()
	for _, c := range cards[:2] {
		_, err := f.ctl.AuthorizeAttach(c.ICCID, f.ee.Identifiers[0])
		require.ErrorIs(t, err, sim.ErrNetworkNotAllowed)
	}
	e, err := f.ctl.AddNAPNetwork(f.ctx, f.main, "uk", f.ee.Sid)
	require.NoError(t, err)
	assert.Equal(t, f.ee.Sid, e.Sid)
	_, err = f.ctl.AddNAPNetwork(f.ctx, f.main, "uk", f.ee.Sid)
	requireCode(t, err, sim.CodeConflict)
	_, err = f.ctl.AddNAPNetwork(f.ctx, f.main, "uk", "HW00000000000000000000000000000000")
	requireCode(t, err, sim.CodeInvalidParameter)
	for _, c := range cards[:2] {
		_, err := f.ctl.AuthorizeAttach(c.ICCID, f.ee.Identifiers[0])
		require.NoError(t, err, "both Fleets share the NAP")
	}
	entries, err := f.ctl.NAPNetworks(f.main, f.nap.Sid)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, []string{f.vf.Sid, f.ee.Sid}, []string{entries[0].Sid, entries[1].Sid})

	require.NoError(t, f.ctl.RemoveNAPNetwork(f.ctx, f.main, f.nap.Sid, f.vf.Sid))
	requireCode(t, f.ctl.RemoveNAPNetwork(f.ctx, f.main, f.nap.Sid, f.vf.Sid), sim.CodeNotFound)
	_, err = f.ctl.AuthorizeAttach(cards[0].ICCID, f.vf.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrNetworkNotAllowed)

	// Switching a Fleet to another NAP takes effect for its SIMs.
	other, err := f.ctl.CreateNAP(f.ctx, f.main, ptr("vf-only"), []string{f.vf.Sid})
	require.NoError(t, err)
	_, err = f.ctl.UpdateFleet(f.ctx, f.main, second.Sid, sim.FleetParams{NetworkAccessProfile: ptr("vf-only")})
	require.NoError(t, err)
	_, err = f.ctl.AuthorizeAttach(cards[1].ICCID, f.vf.Identifiers[0])
	require.NoError(t, err)
	fleets, err := f.ctl.ListFleets(f.main, other.Sid)
	require.NoError(t, err)
	require.Len(t, fleets, 1)
}

func TestUniqueNames(t *testing.T) {
	f := newFixture(t)
	a, b := f.register(f.main, 0), f.register(f.main, 1)
	_, _, err := f.update(f.main, a.Sid, sim.SimParams{UniqueName: ptr("dev")})
	require.NoError(t, err)
	_, _, err = f.update(f.main, b.Sid, sim.SimParams{UniqueName: ptr("dev")})
	requireCode(t, err, sim.CodeSimNameTaken)
	got, err := f.ctl.Sim(f.main, "dev")
	require.NoError(t, err)
	assert.Equal(t, a.Sid, got.Sid)
	_, _, err = f.update(f.main, a.Sid, sim.SimParams{UniqueName: ptr("HS0123456789abcdef0123456789abcdef")})
	requireCode(t, err, sim.CodeInvalidParameter)

	_, err = f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), UniqueName: ptr("trackers")})
	requireCode(t, err, sim.CodeConflict)
	_, err = f.ctl.CreateNAP(f.ctx, f.main, ptr("uk"), nil)
	requireCode(t, err, sim.CodeConflict)

	sub, err := f.ctl.CreateSubaccount(f.ctx, "")
	require.NoError(t, err)
	_, err = f.ctl.CreateNAP(f.ctx, sub, ptr("uk"), nil)
	require.NoError(t, err, "unique names are per account")
}

func TestSubaccountIsolation(t *testing.T) {
	f := newFixture(t)
	sub, err := f.ctl.CreateSubaccount(f.ctx, "customer A")
	require.NoError(t, err)
	s := f.register(sub, 0)
	sims, err := f.ctl.ListSims(f.main, sim.SimFilter{})
	require.NoError(t, err)
	assert.Empty(t, sims, "lists show the requesting account's resources only")
	_, err = f.ctl.Fleet(sub, f.fleet.Sid)
	requireCode(t, err, sim.CodeNotFound)
	_, err = f.ctl.Sim(sub, f.register(f.main, 1).Sid)
	requireCode(t, err, sim.CodeNotFound, "a subaccount cannot see its parent's Sims")
	got, err := f.ctl.Sim(f.main, s.Sid)
	require.NoError(t, err, "the main account may act on its subaccounts' Sims")
	assert.Equal(t, sub.Sid, got.AccountSid)
	_, err = f.ctl.Authenticate(sub.Sid, sub.AuthToken)
	require.NoError(t, err)
	_, err = f.ctl.Authenticate(sub.Sid, f.main.AuthToken)
	requireCode(t, err, sim.CodeUnauthorized)
}

func TestMoveSimBetweenAccounts(t *testing.T) {
	f := newFixture(t)
	subA, _ := f.ctl.CreateSubaccount(f.ctx, "A")
	subB, _ := f.ctl.CreateSubaccount(f.ctx, "B")
	s := f.register(f.main, 0)

	// main → A, then A → B and B → main, all with the main account's credentials.
	for _, to := range []*sim.Account{subA, subB, f.main} {
		got, accepted, err := f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(to.Sid)})
		require.NoError(t, err)
		assert.False(t, accepted, "a move is synchronous")
		assert.Equal(t, to.Sid, got.AccountSid)
	}
	_, _, err := f.update(subA, s.Sid, sim.SimParams{AccountSid: ptr(subA.Sid)})
	requireCode(t, err, sim.CodeNotFound)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr("AC00000000000000000000000000000000")})
	requireCode(t, err, sim.CodeInvalidParameter)

	// A Sim with a Fleet needs a Fleet of the new account, or none.
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{Fleet: ptr(f.fleet.Sid)})
	require.NoError(t, err)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(subA.Sid)})
	requireCode(t, err, sim.CodeInvalidParameter)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(subA.Sid), Fleet: ptr(f.fleet.Sid)})
	requireCode(t, err, sim.CodeFleetNotFound, "the Fleet must belong to the new account")
	got, _, err := f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(subA.Sid), Fleet: ptr("")})
	require.NoError(t, err)
	assert.Empty(t, got.FleetSid)

	// An active Sim cannot move.
	s2 := f.activate(f.register(f.main, 1), "active")
	_, _, err = f.update(f.main, s2.Sid, sim.SimParams{AccountSid: ptr(subA.Sid), Fleet: ptr("")})
	requireCode(t, err, sim.CodeBadTransition)
}

// TestMovedSimKeepsDataCounterAndBillingPeriod is the seed's example: usage
// before an inactive SIM moves counts toward the limit on the new account,
// whose BillingPeriods list stays empty until the old period expires.
func TestMovedSimKeepsDataCounterAndBillingPeriod(t *testing.T) {
	f := newFixture(t, sim.WithLimitPropagation(0))
	sub, _ := f.ctl.CreateSubaccount(f.ctx, "B")
	s := f.activate(f.register(f.main, 0), "active")
	card := f.ctl.Cards()[0]
	require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Download: 5 * sim.MB}))
	bps, _ := f.ctl.BillingPeriods(f.main, s.Sid)
	period := bps[0]
	f.activate(s, "inactive")
	_, _, err := f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(sub.Sid), Fleet: ptr("")})
	require.NoError(t, err)

	nap, err := f.ctl.CreateNAP(f.ctx, sub, nil, []string{f.vf.Sid})
	require.NoError(t, err)
	fl, err := f.ctl.CreateFleet(f.ctx, sub, sim.FleetParams{NetworkAccessProfile: ptr(nap.Sid), DataLimit: ptr(6)})
	require.NoError(t, err)
	_, _, err = f.update(sub, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(fl.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)

	bps, err = f.ctl.BillingPeriods(sub, s.Sid)
	require.NoError(t, err)
	assert.Empty(t, bps, "the period of the previous account is not shown")
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID))
	require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Download: sim.MB}))
	require.ErrorIs(t, f.ctl.AuthorizeData(card.ICCID), sim.ErrDataLimitReached, "5 MB from the old account + 1 MB reach the 6 MB limit")

	recs, err := f.ctl.UsageRecords(sub, sim.UsageQuery{})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, int64(sim.MB), recs[0].Upload+recs[0].Download, "usage records do not transfer")

	f.clock.AdvanceTo(period.End)
	bps, _ = f.ctl.BillingPeriods(sub, s.Sid)
	require.Len(t, bps, 1, "the next period belongs to the new account")
	assert.Equal(t, sub.Sid, bps[0].AccountSid)
	require.NoError(t, f.ctl.AuthorizeData(card.ICCID), "the counter restarts with the new period")
}

func TestUsageRecords(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	card := f.ctl.Cards()[0]
	f.clock.AdvanceTo(time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC))
	for h := range 3 {
		f.clock.Advance(time.Hour)
		require.NoError(t, f.ctl.RecordUsage(f.ctx, sim.UsageReport{ICCID: card.ICCID, PLMN: f.vf.Identifiers[0], Upload: 100, Download: int64(1000 * (h + 1))}))
	}
	day := time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)
	next := day.Add(24 * time.Hour)
	all, err := f.ctl.UsageRecords(f.main, sim.UsageQuery{Start: &day, End: &next})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, int64(300), all[0].Upload)
	assert.Equal(t, int64(6000), all[0].Download)
	assert.Empty(t, all[0].SimSid, "sim_sid is only set when filtered or grouped by sim")

	hours, err := f.ctl.UsageRecords(f.main, sim.UsageQuery{Start: &day, End: &next, Granularity: "hour"})
	require.NoError(t, err)
	assert.Len(t, hours, 24, "ungrouped lists have every bucket")
	assert.Equal(t, int64(1100), hours[1].Upload+hours[1].Download)

	bySim, err := f.ctl.UsageRecords(f.main, sim.UsageQuery{Start: &day, End: &next, Granularity: "day", Group: "sim"})
	require.NoError(t, err)
	require.Len(t, bySim, 1)
	assert.Equal(t, s.Sid, bySim[0].SimSid)
	byCountry, err := f.ctl.UsageRecords(f.main, sim.UsageQuery{Start: &day, End: &next, Group: "isoCountry"})
	require.NoError(t, err)
	assert.Equal(t, "GB", byCountry[0].IsoCountry)
	byNet, err := f.ctl.UsageRecords(f.main, sim.UsageQuery{Start: &day, End: &next, Network: f.ee.Sid})
	require.NoError(t, err)
	assert.Zero(t, byNet[0].Upload+byNet[0].Download)
	assert.Equal(t, f.ee.Sid, byNet[0].NetworkSid)

	notHour := day.Add(time.Minute)
	for _, tc := range []struct {
		name string
		q    sim.UsageQuery
		code int
	}{
		{"hour alignment", sim.UsageQuery{Start: &notHour, End: &next, Granularity: "hour"}, sim.CodeUsageNotHour},
		{"day alignment", sim.UsageQuery{Start: ptr(day.Add(time.Hour)), End: &next, Granularity: "day"}, sim.CodeUsageNotDay},
		{"hour ≤ 31 days", sim.UsageQuery{Start: ptr(day.AddDate(0, 0, -40)), End: &next, Granularity: "hour"}, sim.CodeUsageTooLong},
		{"day ≤ 3 months", sim.UsageQuery{Start: ptr(day.AddDate(0, -4, 0)), End: &next, Granularity: "day"}, sim.CodeUsageTooLong},
		{"sim group ≤ 31 days", sim.UsageQuery{Start: ptr(day.AddDate(0, 0, -40)), End: &next, Group: "sim"}, sim.CodeUsageSimTooLong},
		{"not older than 18 months", sim.UsageQuery{Start: ptr(day.AddDate(0, -19, 0)), End: ptr(day.AddDate(0, -18, 0))}, sim.CodeUsageTooOld},
		{"start before end", sim.UsageQuery{Start: &next, End: &day}, sim.CodeUsageInvalid},
		{"bad granularity", sim.UsageQuery{Granularity: "week"}, sim.CodeUsageInvalid},
		{"bad group", sim.UsageQuery{Group: "imsi"}, sim.CodeUsageInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ctl.UsageRecords(f.main, tc.q)
			requireCode(t, err, tc.code)
		})
	}
}

func TestEventsFollowCommittedChanges(t *testing.T) {
	f := newFixture(t)
	events := make(chan sim.Event, 10)
	cancel := f.ctl.Subscribe(func(e sim.Event) { events <- e })
	defer cancel()
	s := f.register(f.main, 0)
	_, _, err := f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(f.fleet.Sid)})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	var kinds []sim.EventKind
	for len(events) > 0 {
		kinds = append(kinds, (<-events).Kind)
	}
	assert.Equal(t, []sim.EventKind{sim.EventSim, sim.EventSim}, kinds, "accepted, then completed")
}
