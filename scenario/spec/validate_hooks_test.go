package spec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidateAccountsAndCallbacks(t *testing.T) {
	const head = "duration: 1d\ncontrol:\n  accounts: [{name: tenant}, {name: main}]\n" +
		"  naps: [{name: uk, networks: [GB]}, {name: t-uk, account: tenant, networks: [GB]}]\n"
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"owners", head + "  fleets: [{name: f, nap: t-uk}, {name: g, nap: uk, account: tenat, callback_method: GET}, {name: h, nap: uk}]\n" +
			"devices: [{name: d, count: 1, location: GB, fleet: h, account: tenant}]\n" +
			"timeline:\n  - {at: 1h, sims: {group: d, account: tenant, fleet: h, callback_method: GET}}\n",
			[]string{
				`t.yaml:3:37: control.accounts[1].name: main names the main account`,
				`t.yaml:5:27: control.fleets[0].nap: NAP "t-uk" belongs to account tenant, the Fleet to main`,
				`t.yaml:5:62: control.fleets[1].account: unknown account "tenat", did you mean "tenant"?`,
				`t.yaml:5:86: control.fleets[1].callback_method: only with callbacks: true`,
				`t.yaml:6:52: devices[0].fleet: Fleet "h" belongs to account main, the group's SIMs to tenant`,
				`t.yaml:8:55: timeline[0].sims.fleet: Fleet "h" belongs to account main: SIMs moving to tenant need one of its Fleets`,
				`timeline[0].sims.callback_method: only with callback`,
			}},
		{"checks", head + "devices: [{name: d, count: 1, location: GB}]\n" +
			"timeline:\n  - {at: 1h, api: {path: /v1/SmsCommands, params: {CallbackUrl: \"{callback:nope}\"}}}\n" +
			"expect:\n  - {name: a, callbacks: {kind: sim_update}}\n" +
			"  - {name: b, callbacks: {kind: sms_command_status, count: '>= 50%', params: [{name: X}, {name: Y, equals: z, in: [z]}]}}\n" +
			"  - {name: c, account: tenant, registered: 1}\n" +
			"  - {name: e, callbacks: {kind: fleet_sms, count: 1}}\n" +
			"  - {name: f, api: {path: '/v1/Sims?x={account:nobody}', field: sid, equals: x}}\n",
			[]string{
				`timeline[0].api.params.CallbackUrl: placeholder {callback:nope}: want a kind of callback`,
				`expect[0].callbacks: nothing to check: want count, params, signed or order`,
				`expect[1].callbacks.count: want a number of callbacks such as '== 10', not a share`,
				`expect[1].callbacks.params[0]: no value: want equals or in`,
				`expect[1].callbacks.params[1].in: equals and in exclude each other`,
				`expect[2].account: only with sims, usage_mb, upload_mb, download_mb or api`,
				`expect[3].callbacks.kind`,
				`expect[4].api.path: unknown account "nobody"`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseValid("t.yaml", []byte(tc.in), catalogForTest(t))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
