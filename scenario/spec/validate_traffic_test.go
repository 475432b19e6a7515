package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrafficValidateErrors: the new download, propagation spread and api
// check fields are refused with their file:line when they make no sense.
func TestTrafficValidateErrors(t *testing.T) {
	const head = "duration: 1d\ncontrol:\n  naps: [{name: n}]\n  fleets: [{name: f, nap: n}]\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"download and spread", "duration: 1d\nsettings: {limit_propagation: 5m, limit_propagation_max: 4m}\n" +
			"control:\n  naps: [{name: n}]\n  fleets: [{name: f, nap: n}]\n" +
			"devices: [{name: t, count: 1, location: DE, fleet: f, data: {every: 1m, bytes: 1KB, download: 101MB}}]\n" +
			"expect:\n  - {name: u, download_mb: '< 5%'}\n",
			"t.yaml:2:58: settings.limit_propagation_max: must be limit_propagation (5m) .. 15m, got 4m\n" +
				"t.yaml:6:95: devices[0].data.download: must be 0..100MB, got 105906176 bytes\n" +
				"t.yaml:8:28: expect[0].download_mb: want a number of MB such as '<= 50', not a share"},
		{"spread past 15m", "duration: 1d\nsettings: {limit_propagation_max: 16m}\ndevices: [{name: t, count: 1, location: DE, sim_status: new}]\n",
			"t.yaml:2:35: settings.limit_propagation_max: must be limit_propagation (5m) .. 15m, got 16m"},
		{"api checks", head + "devices: [{name: t, count: 1, location: DE, fleet: f}]\nexpect:\n" +
			"  - {name: a, api: {path: /v1/Fleets}}\n" +
			"  - {name: b, api: {path: /v1/Fleets, equals: x}}\n" +
			"  - {name: c, api: {path: /v1/Fleets, field: x}}\n" +
			"  - {name: d, api: {path: /v1/Fleets, field: x, equals: y, absent: true}}\n" +
			"  - {name: e, api: {path: /v1/Fleets, status: 42}}\n" +
			"  - {name: f, api: {path: /v1/Fleets, field: a..b, in: []}}\n" +
			"  - {name: g, api: {path: /v1/Fleets, field: x, number: '>= 5m'}}\n",
			"t.yaml:7:20: expect[0].api: no check: want status, or field with one of equals, in, number or absent\n" +
				"t.yaml:8:47: expect[1].api.field: required with equals: the field to check\n" +
				"t.yaml:9:46: expect[2].api.field: want one of equals, in, number or absent with field\n" +
				"t.yaml:10:68: expect[3].api.absent: only one of equals, in, number and absent, got equals and absent\n" +
				"t.yaml:11:47: expect[4].api.status: want an HTTP status (100..599), got 42\n" +
				"t.yaml:12:46: expect[5].api.field: empty key in \"a..b\": want a dotted path such as sims.0.status\n" +
				"t.yaml:12:56: expect[5].api.in: must list at least one value\n" +
				"t.yaml:13:57: expect[6].api.number: want a number bound such as '>= 5', got \">= 5m\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateText(t, tc.in)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
