package spec

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommandValidateErrors(t *testing.T) {
	const head = "duration: 1d\ncontrol:\n  naps: [{name: eu, networks: [DE]}]\n  fleets: [{name: f, nap: eu}]\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"group sms", head + "devices:\n  - {name: a, count: 1, location: DE, fleet: f, sms: {every: 10s}}\n  - {name: b, count: 1, location: DE, sim_status: new, sms: {text: \"x\"}}\n  - {name: c, count: 1, location: DE, fleet: f, sms: {}}\n",
			"t.yaml:6:62: devices[0].sms.every: must be at least 1m, got 10s\n" +
				"t.yaml:6:62: devices[0].sms.text: required with every: what the SMS says\n" +
				"t.yaml:7:61: devices[1].sms: the group has no Fleet: its SIMs cannot send SMS\n" +
				"t.yaml:7:68: devices[1].sms.every: required with text: how often the SMS is sent\n" +
				"t.yaml:8:54: devices[2].sms: nothing to do: want every and text, or reply"},
		{"timeline", head + "devices:\n  - {name: a, count: 1, location: DE, fleet: f}\ntimeline:\n" +
			"  - {at: 1h, sms: {group: x, text: \"\"}}\n  - {at: 1h, ip: {group: a, text: hi, port: 0}}\n  - {at: 1h, sms: {group: a, text: \"a\\u001ab\"}, ip: {group: a, text: x, port: 1}}\n",
			"t.yaml:8:27: timeline[0].sms.group: unknown group \"x\"; devices defines \"a\"\n" +
				"t.yaml:8:36: timeline[0].sms.text: must not be empty\n" +
				"t.yaml:9:45: timeline[1].ip.port: must be between 1 and 65535, got 0\n" +
				"t.yaml:10:36: timeline[2].sms.text: only printable characters (text mode ends a message with Ctrl-Z), got '\\x1a'\n" +
				"t.yaml:10:53: timeline[2].ip: a second action (with sms): an event has exactly one; write one event each"},
		{"expectations", head + "devices:\n  - {name: a, count: 1, location: DE, fleet: f}\nexpect:\n" +
			"  - {name: x, ip_commands: {status: delivered, count: 1}}\n" +
			"  - {name: y, sms_commands: {direction: from_sim, status: delivered, count: 1m}}\n" +
			"  - {name: z, sms_commands: {count: 1, latency: {p: 0, max: 5}}}\n  - {name: w, sms_commands: {status: sent}}\n",
			"t.yaml:8:37: expect[0].ip_commands.status: IP Commands are never delivered (UDP has no receipt): want sent for those to the SIM\n" +
				"t.yaml:9:59: expect[1].sms_commands.status: no from_sim Command is delivered: to_sim ones are queued, sent, delivered or failed; from_sim ones received\n" +
				"t.yaml:9:77: expect[1].sms_commands.count: want a count or a share such as '== 100%', not a duration\n" +
				"t.yaml:10:29: expect[2].sms_commands.status: required: the status of the Commands to count\n" +
				"t.yaml:10:53: expect[2].sms_commands.latency.p: must be more than 0 and at most 100, got 0\n" +
				"t.yaml:10:61: expect[2].sms_commands.latency.max: want a duration bound such as '<= 1m', got \"5\"\n" +
				"t.yaml:11:29: expect[3].sms_commands: no check: want count or latency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateText(t, tc.in)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// TestSeqPlaceholderLength: a group's sms.text and ip.text must fit once
// {n} is a number of up to 5 digits; a reply, where {n} stays as written,
// is measured as written.
func TestSeqPlaceholderLength(t *testing.T) {
	const head = "duration: 1d\ncontrol:\n  naps: [{name: eu, networks: [DE]}]\n  fleets: [{name: f, nap: eu}]\ndevices:\n"
	sms := strings.Repeat("x", 156) + "{n}"
	ip := strings.Repeat("x", 508) + "{n}"
	in := head + "  - {name: a, count: 1, location: DE, fleet: f, module: bg96,\n" +
		"     sms: {every: 1h, text: \"" + sms + "\", reply: \"" + sms + "\"},\n" +
		"     ip: {every: 1h, port: 6969, text: \"" + ip + "\", reply: \"" + ip + "\"}}\n"
	err := validateText(t, in)
	require.Error(t, err)
	assert.Equal(t, "t.yaml:7:29: devices[0].sms.text: at most 160 characters (one SMS; {n} counts as 5), got 161\n"+
		"t.yaml:8:40: devices[0].ip.text: at most 512 bytes ({n} counts as 5), got 513", err.Error())
	ok := head + "  - {name: a, count: 1, location: DE, fleet: f, sms: {every: 1h, text: \"" + strings.Repeat("x", 155) + "{n}\"}}\n"
	require.NoError(t, validateText(t, ok))
}
