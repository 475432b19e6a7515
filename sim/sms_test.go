package sim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// hookWait bounds the wait for a webhook on the wall clock.
const hookWait = 10 * time.Second

// smsHook is a webhook receiver on loopback that checks each request's
// X-Twilio-Signature with the account's auth token.
type smsHook struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	got   chan smsHookCall
}

type smsHookCall struct {
	method   string
	params   url.Values
	signedOK bool
}

func newSmsHook(t *testing.T, token string) *smsHook {
	h := &smsHook{t: t, token: token, got: make(chan smsHookCall, 64)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		params, _ := url.ParseQuery(string(raw))
		signed := "http://" + r.Host + r.URL.RequestURI()
		var sigParams url.Values
		if r.Method == http.MethodGet {
			params = r.URL.Query()
		} else {
			sigParams = params
		}
		h.got <- smsHookCall{
			method: r.Method, params: params,
			signedOK: r.Header.Get("X-Twilio-Signature") == sim.Signature(token, signed, sigParams),
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// next waits for the next webhook call.
func (h *smsHook) next() smsHookCall {
	h.t.Helper()
	select {
	case c := <-h.got:
		return c
	case <-time.After(hookWait):
		h.t.Fatalf("no webhook within %v", hookWait)
		return smsHookCall{}
	}
}

// statuses waits for n calls and returns them by Status (callbacks go out
// in parallel, so their order is not fixed).
func (h *smsHook) statuses(n int) map[string]smsHookCall {
	h.t.Helper()
	out := map[string]smsHookCall{}
	for range n {
		c := h.next()
		out[c.params.Get("Status")] = c
	}
	return out
}

// none checks that no webhook comes within a short while.
func (h *smsHook) none() {
	h.t.Helper()
	select {
	case c := <-h.got:
		h.t.Fatalf("unexpected webhook %s %v", c.method, c.params)
	case <-time.After(100 * time.Millisecond):
	}
}

// fakeDevice takes and confirms every SMS Command for the SIM with iccid,
// as a registered modem does; taking is off while paused.
type fakeDevice struct {
	ctl    *sim.Control
	iccid  string
	mu     sync.Mutex
	paused bool
	events int
	errs   []error
}

func attachDevice(t *testing.T, ctl *sim.Control, iccid string, paused bool) *fakeDevice {
	d := &fakeDevice{ctl: ctl, iccid: iccid, paused: paused}
	t.Cleanup(ctl.Subscribe(func(e sim.Event) {
		if e.Kind != sim.EventSmsCommand || e.ICCID != iccid {
			return
		}
		d.mu.Lock()
		d.events++
		paused := d.paused
		d.mu.Unlock()
		if paused {
			return
		}
		ctx := context.Background()
		_, err := ctl.SmsCommandForDevice(ctx, iccid, e.Sid)
		if err == nil {
			err = ctl.SmsDelivered(ctx, iccid, e.Sid)
		}
		if err != nil {
			d.mu.Lock()
			d.errs = append(d.errs, err)
			d.mu.Unlock()
		}
	}))
	return d
}

func (d *fakeDevice) set(paused bool) {
	d.mu.Lock()
	d.paused = paused
	d.mu.Unlock()
}

func (d *fakeDevice) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.events
}

func (f *fixture) smsStatus(sid string) string {
	f.t.Helper()
	m, err := f.ctl.SmsCommand(f.main, sid)
	require.NoError(f.t, err)
	return m.Status
}

// An MT command is created queued; a registered device takes it (sent)
// and stores it (delivered), and the callback hears of both.
func TestSmsCommandQueuedSentDelivered(t *testing.T) {
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t)
			s := f.activate(f.register(f.main, 0), "active")
			_, _, err := f.update(f.main, s.Sid, sim.SimParams{UniqueName: ptr("tracker-1")})
			require.NoError(t, err)
			hook := newSmsHook(t, f.main.AuthToken)
			dev := attachDevice(t, f.ctl, s.ICCID, false)

			m, err := f.ctl.CreateSmsCommand(f.ctx, f.main, "tracker-1", "reboot now", hook.srv.URL+"/status?x=1", method)
			require.NoError(t, err)
			assert.Equal(t, sim.CommandQueued, m.Status, "the create answer shows queued")
			assert.Equal(t, sim.DirectionToSim, m.Direction)
			assert.Equal(t, sim.CommandDelivered, f.smsStatus(m.Sid))
			assert.Equal(t, 1, dev.count())
			assert.Empty(t, dev.errs)

			calls := hook.statuses(2)
			require.Contains(t, calls, sim.CommandSent)
			require.Contains(t, calls, sim.CommandDelivered)
			for status, c := range calls {
				assert.Equal(t, method, c.method)
				assert.True(t, c.signedOK, "X-Twilio-Signature of the %s callback", status)
				assert.Equal(t, url.Values{
					"AccountSid": {f.main.Sid}, "ApiVersion": {"v1"}, "CommandSid": {m.Sid},
					"Command": {"reboot now"}, "Payload": {"reboot now"}, "PayloadType": {"text"},
					"SimSid": {s.Sid}, "SimUniqueName": {"tracker-1"}, "Status": {status}, "Direction": {"to_sim"},
				}, withoutQuery(c.params, method))
			}
			// The deliveries are listed as status callbacks of an SMS Command.
			assert.Len(t, f.ctl.WebhookDeliveries(sim.WebhookQuery{Kind: sim.WebhookSmsCommandStatus}), 2)
			// Delivered ends the attempts.
			f.clock.Advance(sim.SmsValidity)
			assert.Equal(t, 1, dev.count())
			assert.Equal(t, sim.CommandDelivered, f.smsStatus(m.Sid))
		})
	}
}

// withoutQuery drops the callback URL's own query parameter from a GET's.
func withoutQuery(v url.Values, method string) url.Values {
	if method == http.MethodGet {
		v = cloneValues(v)
		v.Del("x")
	}
	return v
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// A device that is not on the network leaves the command queued; the
// network tries again every SmsRetryInterval and delivers once it is.
func TestSmsCommandStaysQueuedUntilTheDeviceIsReachable(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	dev := attachDevice(t, f.ctl, s.ICCID, true)
	m, err := f.ctl.CreateSmsCommand(f.ctx, f.main, s.Sid, "hello", "", "")
	require.NoError(t, err)
	assert.Equal(t, 1, dev.count(), "the first attempt is at once")
	f.clock.Advance(sim.SmsRetryInterval - time.Nanosecond)
	assert.Equal(t, 1, dev.count())
	assert.Equal(t, sim.CommandQueued, f.smsStatus(m.Sid))
	f.clock.Advance(time.Nanosecond)
	assert.Equal(t, 2, dev.count(), "a retry after SmsRetryInterval")
	f.clock.Advance(10 * sim.SmsRetryInterval)
	assert.Equal(t, 12, dev.count())
	assert.Equal(t, sim.CommandQueued, f.smsStatus(m.Sid))

	dev.set(false)
	f.clock.Advance(sim.SmsRetryInterval)
	assert.Equal(t, sim.CommandDelivered, f.smsStatus(m.Sid))
	f.clock.Advance(time.Hour)
	assert.Equal(t, 13, dev.count(), "no attempts after delivery")
}

// Twilio tries for 24 hours: a command no device took by then fails.
func TestSmsCommandFailsAfter24Hours(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	hook := newSmsHook(t, f.main.AuthToken)
	dev := attachDevice(t, f.ctl, s.ICCID, true)
	m, err := f.ctl.CreateSmsCommand(f.ctx, f.main, s.Sid, "hello", hook.srv.URL+"/cb", "")
	require.NoError(t, err)
	f.clock.Advance(sim.SmsValidity - time.Nanosecond)
	assert.Equal(t, sim.CommandQueued, f.smsStatus(m.Sid))
	hook.none()
	f.clock.Advance(time.Nanosecond)
	assert.Equal(t, sim.CommandFailed, f.smsStatus(m.Sid))
	assert.Equal(t, int(sim.SmsValidity/sim.SmsRetryInterval), dev.count(), "one attempt a minute, none at expiry")
	c := hook.next()
	assert.Equal(t, sim.CommandFailed, c.params.Get("Status"))
	assert.True(t, c.signedOK)
	dev.set(false)
	f.clock.Advance(time.Hour)
	assert.Equal(t, sim.CommandFailed, f.smsStatus(m.Sid), "a failed command stays failed")
}

// A SIM whose Fleet has SMS Commands disabled, or that has no Fleet, can
// never get the SMS: the command fails at its first attempt.
func TestSmsCommandFailsWhenTheSimCannotGetSMS(t *testing.T) {
	f := newFixture(t)
	off, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), SmsCommandsEnabled: ptr(false)})
	require.NoError(t, err)
	s := f.register(f.main, 0)
	_, _, err = f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: &off.Sid})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	noFleet := f.register(f.main, 1)
	hook := newSmsHook(t, f.main.AuthToken)
	dev := attachDevice(t, f.ctl, s.ICCID, false)

	for _, ref := range []string{s.Sid, noFleet.Sid} {
		m, err := f.ctl.CreateSmsCommand(f.ctx, f.main, ref, "hello", hook.srv.URL, "")
		require.NoError(t, err)
		assert.Equal(t, sim.CommandQueued, m.Status)
		assert.Equal(t, sim.CommandFailed, f.smsStatus(m.Sid))
		c := hook.next()
		assert.Equal(t, sim.CommandFailed, c.params.Get("Status"))
		assert.Equal(t, m.Sid, c.params.Get("CommandSid"))
	}
	assert.Zero(t, dev.count(), "the network never tries")
}

// An SMS from the device to 000 is a from_sim command, received, and goes
// to the Fleet's sms_commands_url with sms_commands_method.
func TestMobileOriginatedSmsCommand(t *testing.T) {
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t)
			hook := newSmsHook(t, f.main.AuthToken)
			fl, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{
				NetworkAccessProfile: ptr("uk"), SmsCommandsURL: ptr(hook.srv.URL + "/mo"), SmsCommandsMethod: ptr(method),
			})
			require.NoError(t, err)
			s := f.register(f.main, 0)
			_, _, err = f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: &fl.Sid, UniqueName: ptr("dev")})
			require.NoError(t, err)
			f.clock.Advance(updateDelay)

			m, err := f.ctl.SendMobileOriginated(f.ctx, s.ICCID, "000", "temp=21.5")
			require.NoError(t, err)
			assert.Equal(t, sim.CommandReceived, m.Status)
			assert.Equal(t, sim.DirectionFromSim, m.Direction)
			assert.Equal(t, s.Sid, m.SimSid)
			assert.True(t, strings.HasPrefix(m.Sid, "HC"))
			c := hook.next()
			assert.Equal(t, method, c.method)
			assert.True(t, c.signedOK)
			assert.Equal(t, url.Values{
				"AccountSid": {f.main.Sid}, "ApiVersion": {"v1"}, "CommandSid": {m.Sid},
				"Command": {"temp=21.5"}, "Payload": {"temp=21.5"}, "PayloadType": {"text"},
				"SimSid": {s.Sid}, "SimUniqueName": {"dev"}, "Status": {"received"}, "Direction": {"from_sim"},
			}, c.params)

			list, err := f.ctl.ListSmsCommands(f.main, "dev", "", sim.DirectionFromSim)
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, m.Sid, list[0].Sid)
		})
	}
}

// The network takes SMS to 000 only, from a SIM that may use SMS Commands.
func TestMobileOriginatedRefusals(t *testing.T) {
	f := newFixture(t)
	off, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{NetworkAccessProfile: ptr("uk"), SmsCommandsEnabled: ptr(false)})
	require.NoError(t, err)
	on := f.activate(f.register(f.main, 0), "active")
	disabled := f.register(f.main, 1)
	_, _, err = f.update(f.main, disabled.Sid, sim.SimParams{Status: ptr("active"), Fleet: &off.Sid})
	require.NoError(t, err)
	f.clock.Advance(updateDelay)
	fresh := f.register(f.main, 2)

	for _, tc := range []struct {
		name, iccid, to, payload string
		want                     error
	}{
		{"another number", on.ICCID, "+447700900123", "hi", sim.ErrSmsDestination},
		{"a short code", on.ICCID, "0000", "hi", sim.ErrSmsDestination},
		{"SMS Commands disabled", disabled.ICCID, "000", "hi", sim.ErrSmsCommandsDisabled},
		{"a new SIM", fresh.ICCID, "000", "hi", sim.ErrSimNew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.ctl.SendMobileOriginated(f.ctx, tc.iccid, tc.to, tc.payload)
			assert.ErrorIs(t, err, tc.want)
		})
	}
	_, err = f.ctl.SendMobileOriginated(f.ctx, on.ICCID, "000", strings.Repeat("x", sim.MaxSmsPayload+1))
	requireCode(t, err, sim.CodeInvalidParameter)
	_, err = f.ctl.SendMobileOriginated(f.ctx, on.ICCID, "+000", strings.Repeat("x", sim.MaxSmsPayload))
	require.NoError(t, err, "+000 is 000 in international form")
	list, err := f.ctl.ListSmsCommands(f.main, "", "", "")
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

// Only the SIM's own modem can take a command, and only in order.
func TestSmsCommandDeviceSideErrors(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	other := f.activate(f.register(f.main, 1), "active")
	dev := attachDevice(t, f.ctl, s.ICCID, true)
	m, err := f.ctl.CreateSmsCommand(f.ctx, f.main, s.Sid, "hello", "", "")
	require.NoError(t, err)
	require.Equal(t, 1, dev.count())

	_, err = f.ctl.SmsCommandForDevice(f.ctx, other.ICCID, m.Sid)
	requireCode(t, err, sim.CodeNotFound)
	requireCode(t, f.ctl.SmsDelivered(f.ctx, s.ICCID, m.Sid), sim.CodeConflict, "delivered before sent")
	got, err := f.ctl.SmsCommandForDevice(f.ctx, s.ICCID, m.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.CommandSent, got.Status)
	assert.Equal(t, "hello", got.Payload)
	got, err = f.ctl.SmsCommandForDevice(f.ctx, s.ICCID, m.Sid)
	require.NoError(t, err, "a device may take a sent command again")
	assert.Equal(t, sim.CommandSent, got.Status)
	require.NoError(t, f.ctl.SmsDelivered(f.ctx, s.ICCID, m.Sid))
	_, err = f.ctl.SmsCommandForDevice(f.ctx, s.ICCID, m.Sid)
	requireCode(t, err, sim.CodeConflict)
	_, err = f.ctl.SmsCommandForDevice(f.ctx, s.ICCID, "HC00000000000000000000000000000000")
	requireCode(t, err, sim.CodeNotFound)

	// An MO command is not for the device to take.
	mo, err := f.ctl.SendMobileOriginated(f.ctx, s.ICCID, "000", "up")
	require.NoError(t, err)
	_, err = f.ctl.SmsCommandForDevice(f.ctx, s.ICCID, mo.Sid)
	requireCode(t, err, sim.CodeNotFound)
}

// A sent command the device never confirmed is retried, and fails at 24 h.
func TestSentSmsCommandIsRetriedThenFails(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")
	dev := attachDevice(t, f.ctl, s.ICCID, true)
	m, err := f.ctl.CreateSmsCommand(f.ctx, f.main, s.Sid, "hello", "", "")
	require.NoError(t, err)
	_, err = f.ctl.SmsCommandForDevice(f.ctx, s.ICCID, m.Sid)
	require.NoError(t, err)
	f.clock.Advance(sim.SmsRetryInterval)
	assert.Equal(t, 2, dev.count())
	assert.Equal(t, sim.CommandSent, f.smsStatus(m.Sid))
	f.clock.Advance(sim.SmsValidity)
	assert.Equal(t, sim.CommandFailed, f.smsStatus(m.Sid))
}
