package scenario

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

func TestValidSignature(t *testing.T) {
	// The vector of twilio-go's request validator test.
	u := "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}
	const sig = "vOEb5UThFn24KEfnOFLQY2AE5FY="
	for _, tc := range []struct {
		name, token, url string
		params           url.Values
		sig              string
		want             bool
	}{
		{"as signed", "12345", u, params, sig, true},
		{"with the default port", "12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params, sig, true},
		{"another token", "12346", u, params, sig, false},
		{"another URL", "12345", "https://mycompany.com/myapp.php?foo=1", params, sig, false},
		{"a parameter changed", "12345", u, url.Values{"Digits": {"1235"}}, sig, false},
		{"no signature", "12345", u, params, "", false},
		{"no token", "", u, params, sig, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, validSignature(tc.token, tc.url, tc.params, tc.sig))
		})
	}
}

// TestReceiverOnLoopback posts callbacks to the real-time receiver over
// HTTP: signed ones are recorded as signed, forged ones as not, GET
// parameters come from the query.
func TestReceiverOnLoopback(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	rc := &receiver{elapsed: func() time.Duration { return time.Minute }, token: func(string) string { return token }}
	require.NoError(t, rc.listen())
	defer rc.close()
	post := func(kind string, p url.Values, sig string) int {
		req, err := http.NewRequest(http.MethodPost, rc.url(kind), strings.NewReader(p.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	p := url.Values{"SimSid": {"HS1"}, "SimStatus": {"active"}}
	assert.Equal(t, 200, post("sim_update", p, sim.Signature(token, rc.url("sim_update"), p)))
	assert.Equal(t, 200, post("sim_update", p, sim.Signature("forged", rc.url("sim_update"), p)))
	assert.Equal(t, 404, post("nothing", p, ""))
	get := rc.url("sms_command_status") + "?Status=sent"
	resp, err := http.Get(get)
	require.NoError(t, err)
	resp.Body.Close()

	got := rc.of("sim_update")
	require.Len(t, got, 2)
	assert.True(t, got[0].signed)
	assert.False(t, got[1].signed)
	assert.Equal(t, "active", got[0].params.Get("SimStatus"))
	assert.Equal(t, time.Minute, got[0].at)
	sms := rc.of("sms_command_status")
	require.Len(t, sms, 1)
	assert.Equal(t, "sent", sms[0].params.Get("Status"))
	assert.False(t, sms[0].signed)
}

func TestInOrder(t *testing.T) {
	cb := func(sid, status string) received {
		return received{params: url.Values{"CommandSid": {sid}, "Status": {status}}}
	}
	o := &spec.OrderCheck{By: "CommandSid", Param: "Status", Values: []string{"sent", "delivered"}}
	good, groups := inOrder([]received{cb("a", "sent"), cb("b", "delivered"), cb("a", "delivered"), cb("b", "sent"), cb("c", "sent")}, o)
	assert.Equal(t, 1, good, "b arrived out of order, c was never delivered")
	assert.Equal(t, 3, groups)
}

// TestCallbacksReplay runs the callbacks scenario twice: the callbacks
// arrive on the virtual clock, so the reports are byte-identical.
func TestCallbacksReplay(t *testing.T) {
	t.Parallel()
	render := func() []byte {
		rep := runFile(t, "../scenarios/callbacks.yaml", Options{})
		require.True(t, rep.Passed)
		var buf bytes.Buffer
		require.NoError(t, report.WriteJSON(&buf, rep))
		return buf.Bytes()
	}
	assert.Equal(t, string(render()), string(render()))
}

// TestCallbackChecksFail shows the checks can fail: a wrong count, a
// parameter value and an order the control plane does not follow.
func TestCallbackChecksFail(t *testing.T) {
	t.Parallel()
	const in = `duration: 1h
settings: {update_delay: 30s}
control:
  accounts: [{name: tenant}]
  naps: [{name: uk, networks: [GB]}]
  fleets: [{name: f, nap: uk}]
devices: [{name: d, count: 3, fleet: f, location: GB, sim_status: new}]
timeline:
  - {at: 1m, sims: {group: d, status: active, callback: receiver}}
expect:
  - {name: count, callbacks: {kind: sim_update, count: "== 4"}}
  - {name: account, callbacks: {kind: sim_update, params: [{name: AccountSid, equals: "{account:tenant}"}]}}
  - {name: order, callbacks: {kind: sim_update, order: {by: SimSid, param: SimStatus, values: [scheduled, active]}}}
  - {name: good, group: d, callbacks: {kind: sim_update, count: "== 3", signed: true}}
`
	cat := testCatalog(t)
	s, err := spec.ParseValid("t.yaml", []byte(in), cat)
	require.NoError(t, err)
	rep, err := Run(context.Background(), s, Options{Catalog: cat})
	require.NoError(t, err)
	got := map[string]report.Outcome{}
	for _, o := range rep.Expectations {
		got[o.Name] = o
	}
	assert.False(t, got["count"].Pass, got["count"].Observed)
	assert.Equal(t, "sim_update callbacks 3; AccountSid ok 0/3 (one has \""+rcMain(t, rep)+"\")", got["account"].Observed)
	assert.False(t, got["account"].Pass)
	assert.False(t, got["order"].Pass, got["order"].Observed)
	assert.True(t, got["good"].Pass, got["good"].Observed)
}

func rcMain(t *testing.T, rep *report.Report) string {
	t.Helper()
	for _, o := range rep.Expectations {
		if o.Name == "account" {
			_, after, ok := strings.Cut(o.Observed, `one has "`)
			require.True(t, ok)
			return strings.TrimSuffix(after, `")`)
		}
	}
	return ""
}

// TestSeqPlaceholder: a group's sms.text and ip.text number each message
// of a device ({n}: 1, 2, 3...), on a SIMCom module (SMS and AT+CASEND with
// the numbered length) and a u-blox one (AT+USOST); replies are not
// numbered. The Fleet's callbacks show each device's messages in order.
func TestSeqPlaceholder(t *testing.T) {
	t.Parallel()
	const in = `duration: 5h
control:
  naps: [{name: eu, networks: [DE]}]
  fleets: [{name: f, nap: eu, callbacks: true}]
devices:
  - {name: simcom, count: 2, module: sim7080, fleet: f, location: DE,
     sms: {every: 1h, text: "s {n}"}, ip: {every: 1h, text: "t {n}", port: 6969}}
  - {name: ublox, count: 2, module: sara-r4, fleet: f, location: DE,
     ip: {every: 1h, text: "t {n}", port: 6969}}
expect:
  - {name: sms, group: simcom, callbacks: {kind: fleet_sms_command,
     order: {by: SimSid, param: Payload, values: ["s 1", "s 2", "s 3", "s 4", "s 5"]}}}
  - {name: ip simcom, group: simcom, callbacks: {kind: fleet_ip_command,
     order: {by: SimSid, param: Payload, values: [dCAx, dCAy, dCAz, dCA0, dCA1]}}}
  - {name: ip ublox, group: ublox, callbacks: {kind: fleet_ip_command,
     order: {by: SimSid, param: Payload, values: [dCAx, dCAy, dCAz, dCA0, dCA1]}}}
  - {name: literal, callbacks: {kind: fleet_sms_command, where: {Payload: "s {n}"}, count: "== 0"}}
`
	cat := testCatalog(t)
	s, err := spec.ParseValid("t.yaml", []byte(in), cat)
	require.NoError(t, err)
	rep, err := Run(context.Background(), s, Options{Catalog: cat})
	require.NoError(t, err)
	for _, o := range rep.Expectations {
		assert.True(t, o.Pass, "%s: %s", o.Name, o.Observed)
	}
}

// TestReceiverUnreachable: with --api to a control plane on another host,
// a scenario that points it at the loopback receiver is refused, naming
// each place; a control plane on this machine may call it.
func TestReceiverUnreachable(t *testing.T) {
	cat := testCatalog(t)
	s, err := spec.LoadValid("../scenarios/hw-commands.yaml", cat)
	require.NoError(t, err)
	_, err = Run(context.Background(), s, Options{Catalog: cat, API: "https://supersim.twilio.com",
		HW: map[string]string{"quectel": "/dev/null", "simcom": "/dev/null"}})
	require.ErrorIs(t, err, ErrUsage)
	var one *spec.Error
	require.ErrorAs(t, err, &one)
	at := s.Control.Fleets[0].Pos.At("callbacks")
	assert.Equal(t, fmt.Sprintf("../scenarios/hw-commands.yaml:%d:%d: control.fleets[0].callbacks: the callback receiver is on loopback, "+
		"where the control plane at supersim.twilio.com cannot reach it", at.Line, at.Column), one.Error())
	assert.Greater(t, at.Line, 1)
	for _, api := range []string{"http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2"} {
		assert.NoError(t, receiverUnreachable(s, api), api)
	}
}
