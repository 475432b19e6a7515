package sim_test

import (
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// An MT IP Command no modem takes fails (the SIM is not attached); one a
// modem takes is sent once, with the device address, and never delivered.
func TestIPCommandLifecycle(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 0), "active")

	m, err := f.ctl.CreateIPCommand(f.ctx, f.main, sim.IPCommandParams{Sim: s.Sid, Payload: "aGk=", PayloadType: "binary", DevicePort: 6969})
	require.NoError(t, err)
	assert.Equal(t, sim.CommandQueued, m.Status)
	got, err := f.ctl.IPCommand(f.main, m.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.CommandQueued, got.Status, "sent asynchronously")
	f.clock.Advance(sim.IPSendWindow)
	got, err = f.ctl.IPCommand(f.main, m.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.CommandFailed, got.Status, "no modem took it")

	var port int
	var payload []byte
	cancel := f.ctl.Subscribe(func(e sim.Event) {
		if e.Kind != sim.EventIPCommand {
			return
		}
		port, payload, err = f.ctl.IPCommandPayload(e.Sid)
		require.NoError(t, err)
		require.NoError(t, f.ctl.IPCommandDone(f.ctx, e.Sid, "100.65.0.1", true))
		require.NoError(t, f.ctl.IPCommandDone(f.ctx, e.Sid, "", false), "a second report changes nothing")
	})
	defer cancel()
	m, err = f.ctl.CreateIPCommand(f.ctx, f.main, sim.IPCommandParams{Sim: s.Sid, Payload: "aGk=", PayloadType: "binary", DevicePort: 7000})
	require.NoError(t, err)
	assert.Equal(t, 7000, port)
	assert.Equal(t, "hi", string(payload))
	got, err = f.ctl.IPCommand(f.main, m.Sid)
	require.NoError(t, err)
	assert.Equal(t, sim.CommandSent, got.Status)
	assert.Equal(t, "100.65.0.1", got.DeviceIP)
}

// A datagram to the gateway is a received from_sim IP Command, binary,
// truncated to 1300 bytes.
func TestReceiveIPCommand(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 1), "active")
	big := make([]byte, sim.MaxIPPayload+50)
	m, err := f.ctl.ReceiveIPCommand(f.ctx, s.ICCID, "100.65.0.2", 6969, big)
	require.NoError(t, err)
	assert.Equal(t, sim.CommandReceived, m.Status)
	assert.Equal(t, sim.DirectionFromSim, m.Direction)
	assert.Equal(t, "binary", m.PayloadType)
	b, err := base64.StdEncoding.DecodeString(m.Payload)
	require.NoError(t, err)
	assert.Len(t, b, sim.MaxIPPayload)
	list, err := f.ctl.ListIPCommands(f.main, s.Sid, "", sim.CommandReceived, sim.DirectionFromSim)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

// A datagram from the device reaches its Fleet's ip_commands_url with
// ip_commands_method (GET: in the query string), signed with the account's
// auth token, carrying the IP Command's fields.
func TestMobileOriginatedIPCommandWebhook(t *testing.T) {
	for _, method := range []string{"POST", "GET"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t)
			hook := newSmsHook(t, f.main.AuthToken)
			fl, err := f.ctl.CreateFleet(f.ctx, f.main, sim.FleetParams{
				NetworkAccessProfile: ptr("uk"), IPCommandsURL: ptr(hook.srv.URL + "/ip?tenant=1"), IPCommandsMethod: ptr(method),
			})
			require.NoError(t, err)
			s := f.register(f.main, 0)
			_, _, err = f.update(f.main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: &fl.Sid, UniqueName: ptr("meter")})
			require.NoError(t, err)
			f.clock.Advance(updateDelay)

			m, err := f.ctl.ReceiveIPCommand(f.ctx, s.ICCID, "100.65.0.2", 5683, []byte("temp=21.5"))
			require.NoError(t, err)
			c := hook.next()
			assert.Equal(t, method, c.method)
			assert.True(t, c.signedOK, "signed over the URL as configured, its own query included")
			if method == "GET" {
				assert.Equal(t, "1", c.params.Get("tenant"), "the configured query is kept")
				c.params.Del("tenant")
			}
			assert.Equal(t, url.Values{
				"AccountSid": {f.main.Sid}, "ApiVersion": {"v1"}, "IpCommandSid": {m.Sid},
				"SimSid": {s.Sid}, "SimIccid": {s.ICCID}, "SimUniqueName": {"meter"},
				"Status": {"received"}, "Direction": {"from_sim"},
				"DeviceIp": {"100.65.0.2"}, "DevicePort": {"5683"},
				"PayloadType": {"binary"}, "Payload": {base64.StdEncoding.EncodeToString([]byte("temp=21.5"))},
			}, c.params)
			select {
			case extra := <-hook.got:
				t.Fatalf("one datagram, one webhook; got another: %v", extra.params)
			default:
			}
		})
	}
}

// The session address is listed while the data session lasts, and is the
// same every session.
func TestSessionAddress(t *testing.T) {
	f := newFixture(t)
	s := f.activate(f.register(f.main, 2), "active")
	ips, err := f.ctl.SimIPAddresses(f.main, s.Sid)
	require.NoError(t, err)
	assert.Empty(t, ips)
	addr, err := f.ctl.AssignAddress(s.ICCID)
	require.NoError(t, err)
	assert.Equal(t, "100.65.0.3", addr.String())
	ips, err = f.ctl.SimIPAddresses(f.main, s.Sid)
	require.NoError(t, err)
	assert.Equal(t, []string{addr.String()}, ips)
	f.ctl.ReleaseAddress(s.ICCID)
	ips, err = f.ctl.SimIPAddresses(f.main, s.Sid)
	require.NoError(t, err)
	assert.Empty(t, ips)
	again, err := f.ctl.AssignAddress(s.ICCID)
	require.NoError(t, err)
	assert.Equal(t, addr, again)
	_, err = f.ctl.AssignAddress("0000")
	assert.Error(t, err)
}
