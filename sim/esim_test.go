package sim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// callbackReceiver is an HTTP server on loopback that hands over every
// request's parameters.
type callbackReceiver struct {
	srv  *httptest.Server
	hits chan url.Values
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	r := &callbackReceiver{hits: make(chan url.Values, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := req.ParseForm(); err != nil {
			t.Errorf("callback: %v", err)
		}
		r.hits <- req.Form
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next returns the next callback's parameters.
func (r *callbackReceiver) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case v := <-r.hits:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no callback within 5 s")
		return nil
	}
}

const (
	eid1 = "89049032000001000000000000000001"
	eid2 = "89049032000001000000000000000002"
)

// TestESimProfileLifecycle: reserving → available (a Sim is created) →
// downloaded → installed, with a callback at each step, and the profile's
// card attaching like any Super SIM once its Sim is activated.
func TestESimProfileLifecycle(t *testing.T) {
	f := newFixture(t)
	cb := newCallbackReceiver(t)
	p, err := f.ctl.CreateESimProfile(f.ctx, f.main, eid1, false, cb.srv.URL+"/esim", "POST")
	require.NoError(t, err)
	assert.Equal(t, sim.ESimReserving, p.Status)
	assert.Empty(t, p.ICCID)
	_, ok := f.ctl.ESimCard(p.ICCID)
	assert.False(t, ok)
	_, _, err = f.ctl.DownloadESimProfile(f.ctx, eid1, "")
	requireCode(t, err, sim.CodeESimUnavailable, "nothing to download while reserving")

	f.clock.Advance(updateDelay)
	hit := cb.next(t)
	p, err = f.ctl.ESimProfile(f.main, p.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.ESimAvailable, p.Status)
	assert.Equal(t, sim.SmdpPlusAddress, p.SmdpPlusAddress)
	assert.Equal(t, url.Values{
		"AccountSid": {f.main.Sid}, "EsimProfileSid": {p.Sid}, "Status": {"available"},
		"Iccid": {p.ICCID}, "SimSid": {p.SimSid}, "Eid": {eid1},
	}, hit)
	s, err := f.ctl.Sim(f.main, p.SimSid)
	require.NoError(t, err)
	assert.Equal(t, p.ICCID, s.ICCID)
	assert.Equal(t, sim.StatusNew, s.Status)
	card, ok := f.ctl.ESimCard(p.ICCID)
	require.True(t, ok, "an available profile's card is known")
	assert.Equal(t, p.ICCID, card.ICCID)
	assert.NotEmpty(t, card.IMSI)

	// Another eUICC cannot take it; its own eUICC can, once.
	_, _, err = f.ctl.DownloadESimProfile(f.ctx, eid2, "")
	requireCode(t, err, sim.CodeESimUnavailable, "nothing is reserved for eid2")
	_, err = f.ctl.InstallESimProfile(f.ctx, eid1, p.ICCID)
	requireCode(t, err, sim.CodeESimUnavailable, "install needs a download first")
	got, dl, err := f.ctl.DownloadESimProfile(f.ctx, eid1, "")
	require.NoError(t, err)
	assert.Equal(t, card, dl)
	assert.Equal(t, sim.ESimDownloaded, got.Status)
	assert.Equal(t, "downloaded", cb.next(t).Get("Status"))
	_, _, err = f.ctl.DownloadESimProfile(f.ctx, eid1, "")
	requireCode(t, err, sim.CodeESimUnavailable)
	_, err = f.ctl.InstallESimProfile(f.ctx, eid2, p.ICCID)
	requireCode(t, err, sim.CodeESimWrongEID)

	got, err = f.ctl.InstallESimProfile(f.ctx, eid1, p.ICCID)
	require.NoError(t, err)
	assert.Equal(t, sim.ESimInstalled, got.Status)
	hit = cb.next(t)
	assert.Equal(t, "installed", hit.Get("Status"))
	assert.Equal(t, p.ICCID, hit.Get("Iccid"))
	_, err = f.ctl.FailESimProfile(f.ctx, eid1, p.ICCID, "x", "y")
	requireCode(t, err, sim.CodeESimUnavailable, "an installed profile cannot fail")
	list, err := f.ctl.ListESimProfiles(f.main, eid1, "", "installed")
	require.NoError(t, err)
	require.Len(t, list, 1)

	// The profile's Sim is managed like any other: new refuses, active attaches.
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrSimNew)
	f.activate(s, "active")
	nw, err := f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.NoError(t, err)
	assert.Equal(t, f.vf.Sid, nw.Sid)
}

// TestESimProfileMatchingIDAndFailure: a matching-ID profile is downloaded
// with its activation code by any eUICC, which it is then bound to; an
// eUICC reporting a failed install makes it failed with the error, and the
// callback says so.
func TestESimProfileMatchingIDAndFailure(t *testing.T) {
	f := newFixture(t)
	cb := newCallbackReceiver(t)
	p, err := f.ctl.CreateESimProfile(f.ctx, f.main, "", true, cb.srv.URL, "GET")
	require.NoError(t, err)
	require.NotEmpty(t, p.MatchingID)
	f.clock.Advance(updateDelay)
	assert.Equal(t, "available", cb.next(t).Get("Status"))
	p, _ = f.ctl.ESimProfile(f.main, p.Sid)
	assert.Equal(t, "LPA:1$smdp.fleetsim.invalid$"+p.MatchingID, p.ActivationCode)

	_, _, err = f.ctl.DownloadESimProfile(f.ctx, eid2, "not-the-code")
	requireCode(t, err, sim.CodeESimUnavailable)
	got, _, err := f.ctl.DownloadESimProfile(f.ctx, eid2, p.MatchingID)
	require.NoError(t, err)
	assert.Equal(t, eid2, got.EID, "bound to the eUICC that downloaded it")
	assert.Equal(t, eid2, cb.next(t).Get("Eid"))
	_, err = f.ctl.FailESimProfile(f.ctx, eid1, p.ICCID, "installFailed", "no")
	requireCode(t, err, sim.CodeESimWrongEID)

	got, err = f.ctl.FailESimProfile(f.ctx, eid2, p.ICCID, "installFailedDueToInsufficientMemoryForProfile", "the eUICC is full")
	require.NoError(t, err)
	assert.Equal(t, sim.ESimFailed, got.Status)
	assert.Equal(t, "installFailedDueToInsufficientMemoryForProfile", got.ErrorCode)
	hit := cb.next(t)
	assert.Equal(t, "failed", hit.Get("Status"))
	assert.Equal(t, "installFailedDueToInsufficientMemoryForProfile", hit.Get("ErrorCode"))
	assert.Equal(t, "the eUICC is full", hit.Get("ErrorMessage"))
	_, ok := f.ctl.ESimCard(p.ICCID)
	assert.False(t, ok, "a failed profile's card is not handed out")
	_, err = f.ctl.InstallESimProfile(f.ctx, eid2, p.ICCID)
	requireCode(t, err, sim.CodeESimUnavailable)

	// A profile without a callback URL changes status just the same.
	q, err := f.ctl.CreateESimProfile(f.ctx, f.main, eid1, false, "", "")
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	_, _, err = f.ctl.DownloadESimProfile(f.ctx, eid1, "")
	require.NoError(t, err)
	q, _ = f.ctl.ESimProfile(f.main, q.Sid)
	assert.Equal(t, sim.ESimDownloaded, q.Status)
	select {
	case v := <-cb.hits:
		t.Fatalf("unexpected callback %v", v)
	default:
	}
}

// TestESimProfilesSurviveRestart: the statuses and the card are durable.
func TestESimProfilesSurviveRestart(t *testing.T) {
	f := newFixture(t)
	p, err := f.ctl.CreateESimProfile(f.ctx, f.main, eid1, false, "", "")
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	_, card, err := f.ctl.DownloadESimProfile(f.ctx, eid1, "")
	require.NoError(t, err)
	require.NoError(t, f.ctl.Close())

	ctl, err := sim.New(f.ctx, f.store, sim.WithClock(f.clock), sim.WithCards("test", 20))
	require.NoError(t, err)
	defer ctl.Close()
	got, err := ctl.ESimProfile(ctl.MainAccount(), p.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.ESimDownloaded, got.Status)
	c, ok := ctl.ESimCard(card.ICCID)
	require.True(t, ok)
	assert.Equal(t, card, c)
	_, err = ctl.InstallESimProfile(f.ctx, eid1, card.ICCID)
	require.NoError(t, err)
}

// settingsOf returns the Sim's settings updates, newest last.
func (f *fixture) settingsOf(acct *sim.Account, simSid string) []*sim.SettingsUpdate {
	f.t.Helper()
	us, err := f.ctl.ListSettingsUpdates(acct, simSid, "")
	require.NoError(f.t, err)
	return us
}

// TestSettingsUpdateLifecycle: scheduled until the SIM attaches,
// in-progress while it stays on the network, successful after the stage
// duration on the control plane's clock.
func TestSettingsUpdateLifecycle(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	card := f.ctl.Cards()[0]
	base := f.settingsOf(f.main, s.Sid)
	require.Len(t, base, 1, "the base settings from manufacture")
	assert.Equal(t, sim.SettingsSuccessful, base[0].Status)

	_, err := f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, s.Sid, nil)
	requireCode(t, err, sim.CodeInvalidParameter)
	_, err = f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, "nobody", []sim.SettingsPackage{{Name: "x", Version: "1"}})
	requireCode(t, err, sim.CodeNotFound)
	u, err := f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, s.Sid, []sim.SettingsPackage{{Name: "multi-imsi", Version: "2.1.0"}})
	require.NoError(t, err)
	assert.Regexp(t, `^OB[0-9a-f]{32}$`, u.Sid)
	assert.Equal(t, sim.SettingsScheduled, u.Status)
	assert.Equal(t, card.ICCID, u.ICCID)
	assert.Equal(t, "https://twilio.com/docs/iot/supersim/settings-packages/multi-imsi", u.Packages[0].MoreInfo)
	assert.True(t, u.DateCompleted.IsZero())

	// A refused attach (EE is not in the NAP) starts nothing.
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.ee.Identifiers[0])
	require.ErrorIs(t, err, sim.ErrNetworkNotAllowed)
	scheduled, err := f.ctl.ListSettingsUpdates(f.main, "", "scheduled")
	require.NoError(t, err)
	require.Len(t, scheduled, 1)

	f.clock.Advance(time.Minute)
	attachedAt := f.clock.Now()
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.NoError(t, err)
	got := f.settingsOf(f.main, s.Sid)[1]
	assert.Equal(t, sim.SettingsInProgress, got.Status)
	assert.Equal(t, attachedAt, got.DateUpdated)
	// Re-checks while attached do not restart it.
	f.clock.Advance(sim.SettingsStageDuration - time.Second)
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.NoError(t, err)
	assert.Equal(t, sim.SettingsInProgress, f.settingsOf(f.main, s.Sid)[1].Status)

	f.clock.Advance(time.Second)
	got = f.settingsOf(f.main, s.Sid)[1]
	assert.Equal(t, sim.SettingsSuccessful, got.Status)
	assert.Equal(t, attachedAt.Add(sim.SettingsStageDuration), got.DateCompleted)
	ok, err := f.ctl.ListSettingsUpdates(f.main, s.Sid, "successful")
	require.NoError(t, err)
	assert.Len(t, ok, 2)
	inProgress, err := f.ctl.ListSettingsUpdates(f.main, s.Sid, "in-progress")
	require.NoError(t, err)
	assert.Empty(t, inProgress)

	// Durable: a restarted control plane shows the same.
	require.NoError(t, f.ctl.Close())
	ctl, err := sim.New(f.ctx, f.store, sim.WithClock(f.clock), sim.WithCards("test", 20))
	require.NoError(t, err)
	defer ctl.Close()
	us, err := ctl.ListSettingsUpdates(ctl.MainAccount(), s.Sid, "")
	require.NoError(t, err)
	require.Len(t, us, 2)
	assert.Equal(t, got, us[1])
}

// TestSettingsUpdateFailsAfterInterruptedAttempts: a SIM the core refuses
// while an update is in progress interrupts it; it is retried on the next
// attach, and failed for good after MaxSettingsAttempts attempts.
func TestSettingsUpdateFailsAfterInterruptedAttempts(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	card := f.ctl.Cards()[0]
	u, err := f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, s.Sid, []sim.SettingsPackage{{Name: "uplmn", Version: "3"}})
	require.NoError(t, err)
	status := func() string {
		us, err := f.ctl.ListSettingsUpdates(f.main, s.Sid, "")
		require.NoError(t, err)
		return us[len(us)-1].Status
	}
	for attempt := 1; attempt <= sim.MaxSettingsAttempts; attempt++ {
		_, err := f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
		require.NoError(t, err)
		require.Equal(t, sim.SettingsInProgress, status(), "attempt %d", attempt)
		f.activate(s, "inactive")
		_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
		require.ErrorIs(t, err, sim.ErrSimInactive)
		if attempt < sim.MaxSettingsAttempts {
			require.Equal(t, sim.SettingsScheduled, status(), "retried after attempt %d", attempt)
		}
		f.activate(s, "active")
	}
	assert.Equal(t, sim.SettingsFailed, status())
	_, err = f.ctl.AuthorizeAttach(card.ICCID, f.vf.Identifiers[0])
	require.NoError(t, err)
	f.clock.Advance(time.Hour)
	assert.Equal(t, sim.SettingsFailed, status(), "no longer retried")
	failed, err := f.ctl.ListSettingsUpdates(f.main, "", "failed")
	require.NoError(t, err)
	require.Len(t, failed, 1)
	assert.Equal(t, u.Sid, failed[0].Sid)
	assert.True(t, failed[0].DateCompleted.IsZero(), "date_completed is for successful updates")
}

// TestSettingsUpdatesFollowTheSim is the seed: the whole history moves with
// the SIM to its new account and leaves the old one's results.
func TestSettingsUpdatesFollowTheSim(t *testing.T) {
	f := newFixture(t)
	sub, err := f.ctl.CreateSubaccount(f.ctx, "B")
	require.NoError(t, err)
	s := f.register(f.main, 0)
	_, err = f.ctl.ScheduleSettingsUpdate(f.ctx, f.main, s.Sid, []sim.SettingsPackage{{Name: "multi-imsi", Version: "2"}})
	require.NoError(t, err)
	require.Len(t, f.settingsOf(f.main, s.Sid), 2)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{AccountSid: ptr(sub.Sid)})
	require.NoError(t, err)
	all, err := f.ctl.ListSettingsUpdates(f.main, "", "")
	require.NoError(t, err)
	assert.Empty(t, all)
	moved, err := f.ctl.ListSettingsUpdates(sub, "", "")
	require.NoError(t, err)
	require.Len(t, moved, 2)
	assert.Equal(t, sim.SettingsScheduled, moved[1].Status)
	_, err = f.ctl.ListSettingsUpdates(sub, "", "done")
	requireCode(t, err, sim.CodeInvalidParameter)
}
