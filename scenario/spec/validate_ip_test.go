package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeviceIPValidateErrors(t *testing.T) {
	const head = "duration: 1d\ncontrol:\n  naps: [{name: eu, networks: [DE]}]\n  fleets: [{name: f, nap: eu}]\ndevices:\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"generic has no sockets", head + "  - {name: a, count: 1, module: generic, location: DE, fleet: f, ip: {reply: ok, port: 5683}}\n",
			"t.yaml:6:33: devices[0].ip: module generic has no socket commands: want one of bg96, bg95, sim7080, sim7000, sara-r4"},
		{"every and text", head + "  - {name: a, count: 1, module: bg96, location: DE, fleet: f, ip: {every: 10s, port: 1}}\n" +
			"  - {name: b, count: 1, module: sim7080, location: DE, fleet: f, ip: {text: x, port: 1}}\n" +
			"  - {name: c, count: 1, module: sara-r4, location: DE, fleet: f, ip: {port: 1}}\n",
			"t.yaml:6:75: devices[0].ip.every: must be at least 1m, got 10s\n" +
				"t.yaml:6:75: devices[0].ip.text: required with every: what the datagram says\n" +
				"t.yaml:7:77: devices[1].ip.every: required with text: how often the datagram is sent\n" +
				"t.yaml:8:70: devices[2].ip: nothing to do: want every and text, or reply"},
		{"port and payload", head + "  - {name: a, count: 1, module: bg96, location: DE, sim_status: new, ip: {reply: \"a\\\"b\", port: 70000}}\n",
			"t.yaml:6:74: devices[0].ip: the group has no Fleet: its SIMs cannot send IP Commands\n" +
				"t.yaml:6:82: devices[0].ip.reply: only printable characters other than '\"', got '\"'\n" +
				"t.yaml:6:96: devices[0].ip.port: must be between 1 and 65535, got 70000"},
		{"port required", head + "  - {name: a, count: 1, module: bg96, location: DE, fleet: f, ip: {reply: ok}}\n",
			"t.yaml:6:67: devices[0].ip.port: required key is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateText(t, tc.in)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
