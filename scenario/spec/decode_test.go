package spec

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/fleetsim/fleetsim/sim"
)

// fullScenario writes every key of the format once.
const fullScenario = `name: roaming
description: trackers roam from DE to FR
seed: 42
start: 2026-03-01T00:00:00Z
duration: 2d
sample: 30s
settings: {limit_propagation: 5m, update_delay: 3s, auth_cache: 24h, scan: 3s, attach: 2s, profile: bg95}
world:
  locations:
    - {name: berlin, country: DE, networks: [26201, E-Plus], signal: 20}
    - {name: paris, country: FR}
control:
  naps:
    - {name: eu, networks: [DE, FR, 23430, SFR]}
  fleets:
    - {name: trackers, nap: eu, data_limit_mb: 50, data_enabled: true, sms_commands_enabled: false}
devices:
  - name: t
    count: 100
    fleet: trackers
    sim_status: ready
    location: berlin
    power_on: {at: 1m, spread: 10m}
    selection: {mode: manual, network: 26202}
    retry: {action: cops, backoff: 30s, max_backoff: 1h, jitter: 20%}
    data: {every: 1h, bytes: 2KB, jitter: 10%}
    power_cycle: {every: 1d}
    pty: false
timeline:
  - {at: 1h, nap: {name: eu, add: [GB], remove: [FR]}}
  - {at: 2h, fleet: {name: trackers, data_limit_mb: 100, nap: eu}}
  - {every: 6h, from: 1h, until: 1d, sims: {group: t, share: 10%, status: inactive, fleet: trackers}}
  - {at: 3h, move: {group: t, share: 50, to: paris}}
  - {at: 4h, outage: {network: 26201, for: 1h}}
  - {at: 5h, power_cycle: {group: t}}
  - {at: 6h, api: {method: POST, path: "/v1/Fleets/{fleet:trackers}", params: {DataLimit: 500}, status: 200}}
expect:
  - {name: registered, group: t, at: 30m, registered: ">= 99%", network: 26202}
  - {name: window, during: {from: 1h, until: 2h}, roaming: 0, searching: "<= 5", denied: == 0, not_registered: < 1%, data_blocked: "!= 3", abort: true}
  - {name: sims, group: t, sim_status: active, sims: ">= 90"}
  - {name: latency, attach_latency: {p: 99.5, max: "<= 5m"}}
  - {name: usage, group: t, usage_mb: "<= 50"}
  - {name: api, api: {path: "/v1/Sims/{sim:t/0}", field: status, equals: active}}
`

// minimalScenario is the least a valid file holds.
const minimalScenario = `duration: 24h
devices:
  - {name: t, count: 10, location: DE, sim_status: new}
`

// aliasScenario shares settings through anchors, aliases and merges.
const aliasScenario = `duration: 24h
x: &unused 1
devices:
  - &base
    name: a
    count: 10
    location: DE
    retry: &retry {backoff: 2m}
    sim_status: new
  - <<: *base
    name: b
  - name: c
    count: 5
    location: FR
    retry: *retry
    sim_status: new
`

func catalogForTest(t testing.TB) *sim.Catalog {
	t.Helper()
	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	return cat
}

func TestParseFull(t *testing.T) {
	s, err := Parse("full.yaml", []byte(fullScenario))
	require.NoError(t, err)
	s.Defaults()
	require.NoError(t, s.Validate(catalogForTest(t)))

	assert.Equal(t, "roaming", s.Name)
	assert.Equal(t, uint64(42), s.Seed)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), s.Start.Time)
	assert.Equal(t, 48*time.Hour, s.Duration.D())
	assert.Equal(t, "bg95", s.Settings.Profile)
	assert.Equal(t, []string{"26201", "E-Plus"}, s.World.Locations[0].Networks)
	assert.Equal(t, 20, s.World.Locations[0].Signal)
	f := s.Control.Fleets[0]
	assert.Equal(t, 50, f.DataLimitMB)
	require.NotNil(t, f.SmsCommandsEnabled)
	assert.False(t, *f.SmsCommandsEnabled)

	g := s.Devices[0]
	assert.Equal(t, 100, g.Count)
	assert.Equal(t, ByteSize(2048), g.Data.Bytes)
	assert.Equal(t, Quantity{Value: 20, Percent: true, Set: true}, g.Retry.Jitter)
	assert.Equal(t, 24*time.Hour, g.PowerCycle.Every.D())

	sims := s.Timeline[2].SIMs
	assert.Equal(t, "t", sims.Group, "inline Targets")
	assert.Equal(t, Quantity{Value: 10, Percent: true, Set: true}, sims.Share)
	assert.Equal(t, "inactive", sims.Status)
	assert.Equal(t, time.Hour, s.Timeline[2].From.D())
	assert.Equal(t, 24*time.Hour, s.Timeline[2].Until.D())
	assert.Equal(t, Quantity{Value: 50, Set: true}, s.Timeline[3].Move.Share)
	assert.Equal(t, map[string]string{"DataLimit": "500"}, s.Timeline[6].API.Params)

	x := s.Expect[1]
	assert.Equal(t, Condition{Op: OpEQ, Bound: Quantity{Set: true}, Text: "0"}, x.Roaming)
	assert.Equal(t, Condition{Op: OpLT, Bound: Quantity{Value: 1, Percent: true, Set: true}, Text: "< 1%"}, x.NotRegistered)
	assert.True(t, x.Abort)
	assert.Equal(t, 99.5, s.Expect[3].AttachLatency.P)
	assert.Equal(t, Condition{Op: OpLE, Duration: 5 * time.Minute, IsDur: true, Text: "<= 5m"}, s.Expect[3].AttachLatency.Max)

	// Positions: of the mapping, and of each key's value.
	assert.Equal(t, Pos{Line: 18, Column: 5}, stripKeys(g.Pos))
	assert.Equal(t, Pos{Line: 19, Column: 12}, g.Pos.At("count"))
	assert.Equal(t, Pos{Line: 24, Column: 16}, stripKeys(g.Selection.Pos))
	assert.Equal(t, Pos{Line: 24, Column: 40}, g.Selection.Pos.At("network"))
	assert.Equal(t, Pos{Line: 10, Column: 53}, s.World.Locations[0].Pos.item("networks", 1))
	assert.Equal(t, Pos{Line: 32, Column: 75}, sims.Pos.At("status"), "keys of inline Targets and of SIMChange on one Pos")
	assert.Equal(t, Pos{Line: 32, Column: 52}, sims.Pos.At("group"))
	assert.Equal(t, Pos{Line: 32, Column: 44}, stripKeys(sims.Pos))
	assert.Equal(t, Pos{Line: 18, Column: 5}, g.Pos.At("nothing"), "a key not written: the mapping")
}

func stripKeys(p Pos) Pos { return Pos{Line: p.Line, Column: p.Column} }

func TestDefaults(t *testing.T) {
	s, err := Parse("min.yaml", []byte(strings.Replace(minimalScenario, "sim_status: new", "fleet: f", 1)+`control:
  naps: [{name: n}]
  fleets: [{name: f, nap: n}]
timeline:
  - {every: 2h, power_cycle: {group: t}}
  - {at: 1h, api: {path: /v1/Sims}}
settings: {limit_propagation: 0s}
`))
	require.NoError(t, err)
	s.Defaults()
	require.NoError(t, s.Validate(catalogForTest(t)))

	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), s.Start.Time)
	assert.Equal(t, time.Minute, s.Sample.D())
	assert.Equal(t, Settings{LimitPropagation: 0, UpdateDelay: Duration(3 * time.Second), AuthCache: Duration(24 * time.Hour),
		Scan: Duration(3 * time.Second), Attach: Duration(2 * time.Second), Profile: "bg96"}, Settings{
		LimitPropagation: s.Settings.LimitPropagation, UpdateDelay: s.Settings.UpdateDelay, AuthCache: s.Settings.AuthCache,
		Scan: s.Settings.Scan, Attach: s.Settings.Attach, Profile: s.Settings.Profile}, "a zero written stays")
	g := s.Devices[0]
	assert.Equal(t, "active", g.SimStatus)
	assert.Equal(t, "automatic", g.Selection.Mode)
	assert.Equal(t, "cfun", g.Retry.Action)
	assert.Equal(t, time.Minute, g.Retry.Backoff.D())
	assert.Equal(t, 30*time.Minute, g.Retry.MaxBackoff.D())
	assert.Equal(t, Quantity{Value: 10, Percent: true, Set: true}, g.Retry.Jitter)
	f := s.Control.Fleets[0]
	assert.Equal(t, 1000, f.DataLimitMB)
	require.NotNil(t, f.DataEnabled)
	assert.True(t, *f.DataEnabled)
	require.NotNil(t, f.SmsCommandsEnabled)
	assert.True(t, *f.SmsCommandsEnabled)
	assert.Equal(t, 2*time.Hour, s.Timeline[0].From.D(), "from: one period after the start")
	assert.Equal(t, Quantity{Value: 100, Percent: true, Set: true}, s.Timeline[0].PowerCycle.Share)
	assert.Equal(t, "POST", s.Timeline[1].API.Method)
}

func TestAliases(t *testing.T) {
	_, err := Parse("alias.yaml", []byte(aliasScenario))
	require.Error(t, err, "x is not a key of the format")
	assert.EqualError(t, err, `alias.yaml:2:1: x: unknown key; valid keys are name, description, seed, start, duration, sample, settings, world, control, devices, timeline, expect`)

	s, err := Parse("alias.yaml", []byte(strings.Replace(aliasScenario, "x: &unused 1\n", "", 1)))
	require.NoError(t, err)
	require.Len(t, s.Devices, 3)
	assert.Equal(t, []string{"a", "b", "c"}, []string{s.Devices[0].Name, s.Devices[1].Name, s.Devices[2].Name})
	assert.Equal(t, 10, s.Devices[1].Count, "merged from *base")
	assert.Equal(t, "DE", s.Devices[1].Location)
	assert.Equal(t, 2*time.Minute, s.Devices[1].Retry.Backoff.D())
	assert.Equal(t, 2*time.Minute, s.Devices[2].Retry.Backoff.D(), "alias")
	assert.Equal(t, 5, s.Devices[2].Count)
	s.Defaults()
	require.NoError(t, s.Validate(catalogForTest(t)))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown key, suggestion", minimalScenario + "  - {name: u, count: 1, location: FR, powr_on: {at: 1m}}\n",
			`t.yaml:4:39: devices[1].powr_on: unknown key, did you mean "power_on"?`},
		{"unknown key, list", "duration: 1h\ndevices: []\nsettings: {colour: red}\n",
			`t.yaml:3:12: settings.colour: unknown key; valid keys are limit_propagation, limit_propagation_max, update_delay, auth_cache, scan, attach, profile`},
		{"want a list", "duration: 1h\ndevices: {name: t}\n",
			`t.yaml:2:10: devices: want a list, got a mapping`},
		{"want an integer", "duration: 1h\ndevices:\n  - {name: t, count: ten, location: DE}\n",
			`t.yaml:3:22: devices[0].count: want an integer, got "ten"`},
		{"want an integer, float", "duration: 1h\ndevices:\n  - {name: t, count: 1.5, location: DE}\n",
			`t.yaml:3:22: devices[0].count: want an integer, got 1.5`},
		{"integer out of range", "duration: 1h\nseed: 99999999999999999999\ndevices: []\n",
			`t.yaml:2:7: seed: integer 99999999999999999999 is out of range`},
		{"want a mapping", "duration: 1h\ndevices:\n  - [t, 10]\n",
			`t.yaml:3:5: devices[0]: want a mapping, got a list`},
		{"want true or false", "duration: 1h\ndevices:\n  - {name: t, count: 1, location: DE, pty: yes}\n",
			`t.yaml:3:44: devices[0].pty: want true or false, got "yes"`},
		{"null", "duration:\ndevices: []\n",
			`t.yaml:1:10: duration: want a duration such as 90s, 1h30m or 2d, got nothing`},
		{"bad duration", "duration: 24 hours\ndevices: []\n",
			`t.yaml:1:11: duration: invalid duration "24 hours": want e.g. 90s, 1h30m or 2d`},
		{"duration as a number", "duration: 3600\ndevices: []\n",
			`t.yaml:1:11: duration: want a duration such as 90s, 1h30m or 2d, got 3600`},
		{"bad condition", "duration: 1h\ndevices: []\nexpect:\n  - {name: x, registered: about 99%}\n",
			`t.yaml:4:27: expect[0].registered: invalid condition "about 99%": want an operator (>=, <=, >, <, ==, !=) and a count, share or duration, e.g. '>= 99%'`},
		{"bad time", "start: yesterday\nduration: 1h\ndevices: []\n",
			`t.yaml:1:8: start: invalid time "yesterday": want RFC 3339 such as 2026-01-01T00:00:00Z`},
		{"enum", "duration: 1h\ndevices: []\nsettings: {profile: BG96}\n",
			`t.yaml:3:21: settings.profile: want one of bg96, bg95, generic, sim7080, sim7000, sara-r4, got "BG96"; did you mean "bg96"?`},
		{"duplicate key", "duration: 1h\ndevices: []\nduration: 2h\n",
			`t.yaml:3:1: duration: duplicate key (first at line 1)`},
		{"missing required", "devices:\n  - {name: t}\n",
			"t.yaml:1:1: duration: required key is missing\n" +
				"t.yaml:2:5: devices[0].count: required key is missing\n" +
				"t.yaml:2:5: devices[0].location: required key is missing"},
		{"inline Targets", "duration: 1h\ndevices: []\ntimeline:\n  - {at: 1m, move: {to: DE, shar: 5}}\n  - {at: 1m, sims: {group: g, size: 1}}\n",
			"t.yaml:4:20: timeline[0].move.group: required key is missing\n" +
				"t.yaml:4:29: timeline[0].move.shar: unknown key, did you mean \"share\"?\n" +
				"t.yaml:5:31: timeline[1].sims.size: unknown key; valid keys are group, share, status, fleet, account, callback, callback_method"},
		{"several at once, in order", "devices:\n  - name: t\n    count: many\n    location: [DE]\n    selection: {mode: auto}\nsample: 1 min\nduration: 1h\nduration: 1h\n",
			"t.yaml:3:12: devices[0].count: want an integer, got \"many\"\n" +
				"t.yaml:4:15: devices[0].location: want a string, got a list\n" +
				"t.yaml:5:23: devices[0].selection.mode: want one of automatic, manual, got \"auto\"\n" +
				"t.yaml:6:9: sample: invalid duration \"1 min\": want e.g. 90s, 1h30m or 2d\n" +
				"t.yaml:8:1: duration: duplicate key (first at line 7)"},
		{"problem in an anchor, reported once", "duration: 1h\ndevices:\n  - &g {name: t, count: x, location: DE}\n  - *g\n  - *g\n",
			`t.yaml:3:25: devices[0].count: want an integer, got "x"`},
		{"merge of a scalar", "duration: 1h\ndevices:\n  - {<<: 5, name: t, count: 1, location: DE}\n",
			`t.yaml:3:10: devices[0]: want a mapping or a list of mappings to merge (<<), got 5`},
		{"key not a scalar", "duration: 1h\ndevices: []\n[a]: 1\n",
			`t.yaml:3:1: want a key, got a list`},
		{"empty", "", `t.yaml:1:1: file is empty: want a scenario with at least duration and devices`},
		{"comments only", "# nothing\n\n", `t.yaml:1:1: file is empty: want a scenario with at least duration and devices`},
		{"null document", "~\n", `t.yaml:1:1: file is empty: want a scenario with at least duration and devices`},
		{"not a mapping", "- duration: 1h\n", `t.yaml:1:1: want a mapping, got a list`},
		{"two documents", "duration: 1h\ndevices: []\n---\nduration: 2h\n",
			`t.yaml:4:1: a second YAML document: a scenario file holds exactly one`},
		{"syntax", "duration: 1h\ndevices: [\n", `t.yaml:3: invalid YAML: did not find expected node content`},
		{"syntax, scanner", "duration: 1h\ndevices: a: b\n", `t.yaml:2: invalid YAML: mapping values are not allowed in this context`},
		{"unknown anchor", "duration: 1h\ndevices: *nope\n", `t.yaml:2:10: invalid YAML: unknown anchor 'nope' referenced`},
		{"binary", "\x7fELF\x02\x01\x01\x00", `t.yaml:1:1: control character U+007F is not allowed`},
		{"not UTF-8", "duration: 1h\nname: caf\xe9\n", `t.yaml:2:10: file is not UTF-8 text`},
		{"too large", strings.Repeat("#", maxFileSize+1), `t.yaml: file is larger than 8 MiB`},
		{"too many values", "devices: [" + strings.Repeat("a,", maxNodes) + "]\n",
			`t.yaml: file holds too many values (about 1000008, at most 500000 allowed)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("t.yaml", []byte(tc.in))
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Equal(t, tc.want, err.Error())
			var list ErrorList
			require.ErrorAs(t, err, &list)
			var one *Error
			require.ErrorAs(t, err, &one, "errors.As finds the single errors")
			assert.Equal(t, "t.yaml", one.File)
		})
	}
}

func TestValidateErrors(t *testing.T) {
	const head = "duration: 1d\ncontrol:\n  naps: [{name: eu, networks: [DE]}]\n  fleets: [{name: trackers, nap: eu}]\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown references", head + "devices:\n  - {name: t, count: 1, location: Berlin, fleet: trackrs}\n" +
			"timeline:\n  - {at: 1h, nap: {name: us, add: [26201]}}\n  - {at: 1h, move: {group: u, to: XX}}\nexpect:\n  - {name: e, group: t2, registered: 1}\n",
			"t.yaml:6:35: devices[0].location: unknown location \"Berlin\": want a name from world.locations or a country code such as DE\n" +
				"t.yaml:6:50: devices[0].fleet: unknown fleet \"trackrs\", did you mean \"trackers\"?\n" +
				"t.yaml:8:26: timeline[0].nap.name: unknown NAP \"us\"; control.naps defines \"eu\"\n" +
				"t.yaml:9:28: timeline[1].move.group: unknown group \"u\"; devices defines \"t\"\n" +
				"t.yaml:9:35: timeline[1].move.to: the Networks catalog has no networks in country XX\n" +
				"t.yaml:11:22: expect[0].group: unknown group \"t2\"; devices defines \"t\""},
		{"networks", "duration: 1d\ncontrol:\n  naps: [{name: eu, networks: [26299, Vodafone, EE, KT, Vodafon, ZZ]}]\n" +
			"devices: [{name: t, count: 1, location: DE, selection: {mode: manual, network: DE}, sim_status: new}]\n",
			"t.yaml:3:32: control.naps[0].networks[0]: unknown network: no network of the catalog has PLMN 26299\n" +
				"t.yaml:3:39: control.naps[0].networks[1]: ambiguous network name \"Vodafone\": 21 networks have it (AL 27602, CZ 23003, DE 26202/26204/26209, EG 60202, ES 21401/21406, GB 23415/23427/23491, GH 62002, GR 20205, and 13 more); write a PLMN instead\n" +
				"t.yaml:3:57: control.naps[0].networks[4]: unknown network \"Vodafon\", did you mean \"Vodafone\"?\n" +
				"t.yaml:3:66: control.naps[0].networks[5]: unknown network \"ZZ\": the catalog has no networks in country ZZ, nor a network of that name\n" +
				"t.yaml:4:80: devices[0].selection.network: unknown network \"DE\": a country is not allowed here; want a PLMN such as 26201 or a network name of the catalog"},
		{"ranges", "duration: 401d\nsample: 0s\nsettings: {limit_propagation: 16m, auth_cache: 169h}\n" +
			"world:\n  locations: [{name: x, country: de, signal: 32}]\n" +
			"control:\n  naps: [{name: n}]\n  fleets: [{name: f, nap: n, data_limit_mb: 2000001}]\n" +
			"devices:\n  - {name: a, count: 0, location: DE, retry: {backoff: 2h, max_backoff: 1h, jitter: 5}, sim_status: new}\n  - {name: b, count: 1000000, location: DE, sim_status: new}\n  - {name: c, count: 1, location: DE, sim_status: new}\n",
			"t.yaml:1:11: duration: must be at most 400 days (9600h), got 9624h\n" +
				"t.yaml:2:9: sample: must be more than 0\n" +
				"t.yaml:3:31: settings.limit_propagation: must be at most 15m, got 16m\n" +
				"t.yaml:3:48: settings.auth_cache: must be at most 168h, got 169h\n" +
				"t.yaml:5:34: world.locations[0].country: want an ISO 3166-1 alpha-2 code in upper case such as DE, got \"de\"\n" +
				"t.yaml:5:46: world.locations[0].signal: must be between 1 and 31 (the +CSQ scale), got 32\n" +
				"t.yaml:8:45: control.fleets[0].data_limit_mb: must be between 1 and 2000000 MB, got 2000001\n" +
				"t.yaml:10:22: devices[0].count: must be between 1 and 1000000, got 0\n" +
				"t.yaml:10:73: devices[0].retry.max_backoff: must be at least backoff (2h), got 1h\n" +
				"t.yaml:10:85: devices[0].retry.jitter: want a share such as 10%, got 5"},
		{"too many devices", "duration: 1d\ndevices:\n  - {name: b, count: 1000000, location: DE, sim_status: new}\n  - {name: c, count: 1, location: DE, sim_status: new}\n",
			"t.yaml:3:3: devices: 1000001 devices in all: at most 1000000"},
		{"duplicate names", "duration: 1d\ndevices:\n  - {name: a, count: 1, location: DE, sim_status: new}\n  - {name: a, count: 1, location: DE, sim_status: new}\n" +
			"expect:\n  - {name: x, registered: 1}\n  - {name: '', registered: 1}\n  - {name: x, registered: 1}\n",
			"t.yaml:4:12: devices[1].name: group \"a\" is already defined at line 3\n" +
				"t.yaml:7:12: expect[1].name: must not be empty\n" +
				"t.yaml:8:12: expect[2].name: expectation \"x\" is already defined at line 6"},
		{"events", "duration: 1d\ndevices: [{name: t, count: 5, location: DE, sim_status: new}]\ntimeline:\n" +
			"  - {power_cycle: {group: t}}\n" +
			"  - {at: 1h, every: 1h, power_cycle: {group: t}}\n" +
			"  - {at: 2d, outage: {network: 26201}}\n" +
			"  - {at: 1h, from: 1h, power_cycle: {group: t}}\n" +
			"  - {every: 0s, power_cycle: {group: t}}\n" +
			"  - {every: 2d, power_cycle: {group: t}}\n" +
			"  - {every: 1h, from: 5h, until: 2h, power_cycle: {group: t}}\n" +
			"  - {at: 1h}\n" +
			"  - {at: 1h, power_cycle: {group: t}, outage: {network: 26201}}\n" +
			"  - {at: 1h, api: {path: v1/Sims}}\n" +
			"  - {at: 1h, api: {path: '/v1/{fleet:f}/{sim:t/5}/{bad:x}', status: 999}}\n",
			"t.yaml:4:5: timeline[0]: no time: want at or every\n" +
				"t.yaml:5:21: timeline[1].every: at and every exclude each other\n" +
				"t.yaml:6:10: timeline[2].at: 48h is after the end of the run (24h)\n" +
				"t.yaml:7:20: timeline[3].from: only with every\n" +
				"t.yaml:8:13: timeline[4].every: must be more than 0\n" +
				"t.yaml:9:13: timeline[5].every: 48h is longer than the run (24h): the event never happens\n" +
				"t.yaml:10:34: timeline[6].until: 2h is before from (5h)\n" +
				"t.yaml:11:5: timeline[7]: no action: want one of nap, fleet, sims, move, outage, power_cycle, api, sms, ip\n" +
				"t.yaml:12:47: timeline[8].outage: a second action (with power_cycle): an event has exactly one; write one event each\n" +
				"t.yaml:13:26: timeline[9].api.path: want a path such as /v1/Fleets, got \"v1/Sims\"\n" +
				"t.yaml:14:26: timeline[10].api.path: unknown fleet \"f\": control.fleets defines none\n" +
				"t.yaml:14:26: timeline[10].api.path: placeholder {sim:t/5}: group \"t\" has 5 devices, numbered from 0\n" +
				"t.yaml:14:26: timeline[10].api.path: unknown placeholder {bad:x}: want {fleet:NAME}, {nap:NAME}, {sim:GROUP/INDEX}, {account:NAME} or {callback:KIND}\n" +
				"t.yaml:14:69: timeline[10].api.status: want an HTTP status (100..599), got 999"},
		{"expectations", "duration: 1d\ndevices: [{name: t, count: 5, location: DE, sim_status: new}]\nexpect:\n" +
			"  - {name: a}\n" +
			"  - {name: b, at: 1h, during: {until: 2h}, registered: 1}\n" +
			"  - {name: c, during: {from: 2h, until: 2h}, registered: 1m}\n" +
			"  - {name: d, during: {until: 25h}, sims: 1}\n" +
			"  - {name: e, sim_status: active, usage_mb: 10%}\n" +
			"  - {name: f, attach_latency: {p: 0, max: 5}}\n" +
			"  - {name: g, attach_latency: {p: 100.5, max: <= 5m}, network: Vodafone}\n",
			"t.yaml:4:5: expect[0]: no check: want at least one of registered, roaming, searching, denied, not_registered, data_blocked, sims, attach_latency, usage_mb, upload_mb, download_mb, api, sms_commands, ip_commands or callbacks\n" +
				"t.yaml:5:31: expect[1].during: at and during exclude each other\n" +
				"t.yaml:6:41: expect[2].during.until: must be after from (2h), got 2h\n" +
				"t.yaml:6:58: expect[2].registered: want a count or a share such as '>= 99%', not a duration\n" +
				"t.yaml:7:31: expect[3].during.until: 25h is after the end of the run (24h)\n" +
				"t.yaml:7:43: expect[3].sim_status: required with sims: the status of the SIMs to count\n" +
				"t.yaml:8:27: expect[4].sims: required with sim_status: how many SIMs, e.g. '== 0'\n" +
				"t.yaml:8:45: expect[4].usage_mb: want a number of MB such as '<= 50', not a share\n" +
				"t.yaml:9:35: expect[5].attach_latency.p: must be more than 0 and at most 100, got 0\n" +
				"t.yaml:9:43: expect[5].attach_latency.max: want a duration bound such as '<= 5m', got \"5\"\n" +
				"t.yaml:10:35: expect[6].attach_latency.p: must be more than 0 and at most 100, got 100.5\n" +
				"t.yaml:10:64: expect[6].network: ambiguous network name \"Vodafone\": 21 networks have it (AL 27602, CZ 23003, DE 26202/26204/26209, EG 60202, ES 21401/21406, GB 23415/23427/23491, GH 62002, GR 20205, and 13 more); write a PLMN instead"},
		{"changes", "duration: 1d\ncontrol:\n  naps: [{name: n}]\n  fleets: [{name: f, nap: n}]\ndevices: [{name: t, count: 5, location: DE, sim_status: new}]\ntimeline:\n" +
			"  - {at: 1h, nap: {name: n}}\n" +
			"  - {at: 1h, fleet: {name: f}}\n" +
			"  - {at: 1h, fleet: {name: f, nap: m, data_limit_mb: 0}}\n" +
			"  - {at: 1h, sims: {group: t}}\n" +
			"  - {at: 1h, sims: {group: t, fleet: g}}\n",
			"t.yaml:7:19: timeline[0].nap: nothing to change: want add or remove\n" +
				"t.yaml:8:21: timeline[1].fleet: nothing to change: want data_limit_mb or nap\n" +
				"t.yaml:9:36: timeline[2].fleet.nap: unknown NAP \"m\"; control.naps defines \"n\"\n" +
				"t.yaml:9:54: timeline[2].fleet.data_limit_mb: must be between 1 and 2000000 MB, got 0\n" +
				"t.yaml:10:20: timeline[3].sims: nothing to change: want status, fleet or account\n" +
				"t.yaml:11:38: timeline[4].sims.fleet: unknown fleet \"g\"; control.fleets defines \"f\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateText(t, tc.in)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestSelection(t *testing.T) {
	for _, tc := range []struct{ sel, want string }{
		{"{mode: manual, network: 26201}", ""},
		{"{mode: manual, network: E-Plus}", ""},
		{"{mode: manual}", "t.yaml:2:63: devices[0].selection.network: required with mode manual"},
		{"{network: 26201}", "t.yaml:2:66: devices[0].selection.network: only with mode manual: automatic selection picks the network itself"},
	} {
		s, err := Parse("t.yaml", []byte("duration: 1d\ndevices: [{name: t, count: 5, location: DE, selection: "+tc.sel+", sim_status: new}]\n"))
		require.NoError(t, err)
		s.Defaults()
		err = s.Validate(catalogForTest(t))
		if tc.want == "" {
			assert.NoError(t, err, tc.sel)
		} else {
			assert.EqualError(t, err, tc.want, tc.sel)
		}
	}
}

func TestResolveNetworks(t *testing.T) {
	cat := catalogForTest(t)
	sids := func(nets []sim.Network) []string {
		var out []string
		for _, n := range nets {
			out = append(out, n.FriendlyName+"/"+n.IsoCountry)
		}
		return out
	}
	nets, err := ResolveNetworks(cat, "26201", false)
	require.NoError(t, err)
	assert.Equal(t, []string{"T-Mobile(Telekom)/DE"}, sids(nets))
	nets, err = ResolveNetworks(cat, "405750", false)
	require.NoError(t, err, "6 digits: 3-digit MNC")
	assert.Len(t, nets, 1)
	nets, err = ResolveNetworks(cat, "DE", true)
	require.NoError(t, err)
	assert.Equal(t, []string{"E-Plus/DE", "Lycamobile/DE", "O2/DE", "T-Mobile(Telekom)/DE", "Vodafone/DE"}, sids(nets))
	nets, err = ResolveNetworks(cat, "EE", false)
	require.NoError(t, err, "the British EE, not Estonia")
	assert.Equal(t, []string{"EE/GB"}, sids(nets))
	nets, err = ResolveNetworks(cat, "KT", true)
	require.NoError(t, err, "no country KT: the name")
	assert.Equal(t, []string{"KT/KR"}, sids(nets))

	_, err = ResolveNetworks(cat, "Vodafone", true)
	assert.ErrorIs(t, err, ErrAmbiguousNetwork)
	for _, ref := range []string{"", "26299", "DE", "Nope Mobile", "2620"} {
		_, err = ResolveNetworks(cat, ref, false)
		assert.ErrorIs(t, err, ErrUnknownNetwork, ref)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(fullScenario), 0o600))
	s, err := LoadValid(good, catalogForTest(t))
	require.NoError(t, err)
	assert.Equal(t, "roaming", s.Name)
	assert.Equal(t, good, s.File)

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("duration: 1h\ndevices: [{name: t, count: 1, location: Mars, sim_status: new}]\n"), 0o600))
	s, err = Load(bad)
	require.NoError(t, err, "Load does not validate")
	assert.Equal(t, "Mars", s.Devices[0].Location)
	_, err = LoadValid(bad, catalogForTest(t))
	assert.EqualError(t, err, bad+`:2:41: devices[0].location: unknown location "Mars": want a name from world.locations or a country code such as DE`)

	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, bytes.Repeat([]byte("#"), maxFileSize+10), 0o600))
	_, err = Load(big)
	assert.EqualError(t, err, big+": file is larger than 8 MiB")
}

// TestBillionLaughs: aliases that expand to an enormous document are
// refused, quickly and without exhausting memory.
func TestBillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString("duration: 1h\nworld:\n  locations:\n    - &l0 {name: x, country: DE, networks: &n0 [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("DE")
	}
	b.WriteString("]}\n")
	for range 1000 {
		b.WriteString("    - *l0\n")
	}
	b.WriteString("devices: []\n")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse("laughs.yaml", []byte(b.String()))
	runtime.ReadMemStats(&after)
	// Refused before the expansion: the decoder's whole allocation stays
	// within what the 500,000 values it may hold need (bytes, not seconds:
	// the same on a loaded machine).
	t.Logf("%d MB allocated", (after.TotalAlloc-before.TotalAlloc)>>20)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<20), "bytes allocated")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "laughs.yaml:4:44: world.locations[")
	assert.Contains(t, err.Error(), "document too large: more than 500000 values once aliases are expanded")

	// The classic form: nested lists of aliases, under a key of the format.
	b.Reset()
	b.WriteString("duration: 1h\ndevices: []\nexpect:\n  - name: &a0 x\n")
	for i := 1; i < 10; i++ {
		b.WriteString("  - name: &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	runtime.ReadMemStats(&before)
	_, err = Parse("laughs.yaml", []byte(b.String()))
	runtime.ReadMemStats(&after)
	t.Logf("%d MB allocated", (after.TotalAlloc-before.TotalAlloc)>>20)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<20), "bytes allocated")
	require.Error(t, err, "a list where a name is wanted is not expanded")
	assert.Contains(t, err.Error(), "expect[1].name: want a string, got a list")

	// Merges that merge merges.
	b.Reset()
	b.WriteString("duration: 1h\ndevices:\n  - &m0 {name: x, count: 1, location: DE}\n")
	for i := 1; i < 10; i++ {
		b.WriteString("  - &m" + string(rune('0'+i)) + " {<<: [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*m" + string(rune('0'+i-1)))
		}
		b.WriteString("]}\n")
	}
	runtime.ReadMemStats(&before)
	_, err = Parse("laughs.yaml", []byte(b.String()))
	runtime.ReadMemStats(&after)
	t.Logf("%d MB allocated", (after.TotalAlloc-before.TotalAlloc)>>20)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(512<<20), "bytes allocated")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document too large")
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f", Line: 1, Column: 2, Path: "a.b", Msg: "m"}, "f:1:2: a.b: m"},
		{Error{File: "f", Line: 1, Msg: "m"}, "f:1: m"},
		{Error{File: "f", Msg: "m"}, "f: m"},
	} {
		assert.Equal(t, tc.want, tc.e.Error())
	}
	l := ErrorList{{File: "f", Line: 3, Msg: "b"}, {File: "f", Line: 1, Column: 5, Msg: "a"}, {File: "f", Line: 1, Column: 5, Msg: "a2"}}
	l.sort()
	assert.Equal(t, "f:1:5: a\nf:1:5: a2\nf:3: b", l.Error())
	assert.NoError(t, ErrorList(nil).err())
}

// yamlToJSON converts a YAML document as a JSON Schema validator sees it.
func yamlToJSON(t *testing.T, in string) any {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal([]byte(in), &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	require.NoError(t, err)
	return doc
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	require.NoError(t, err, "the schema is JSON")
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource(SchemaID, doc))
	sch, err := c.Compile(SchemaID) // checks it against the 2020-12 meta-schema
	require.NoError(t, err)
	return sch
}

func TestSchema(t *testing.T) {
	sch := compileSchema(t)
	assert.Equal(t, Schema(), Schema(), "deterministic")

	var raw map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &raw))
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", raw["$schema"])
	assert.Equal(t, SchemaID, raw["$id"])
	assert.NotEmpty(t, raw["title"])

	for name, doc := range map[string]string{
		"full": fullScenario, "minimal": minimalScenario,
		"aliases": strings.Replace(aliasScenario, "x: &unused 1\n", "", 1),
	} {
		_, err := Parse(name, []byte(doc))
		require.NoError(t, err, name)
		assert.NoError(t, sch.Validate(yamlToJSON(t, doc)), name)
	}

	// What the decoder refuses in form, the schema refuses too.
	for _, doc := range []string{
		minimalScenario + "colour: red\n",
		minimalScenario + "timeline: [{at: 1m, sims: {group: t, size: 1}}]\n",
		"devices: []\n",
		"duration: 1h\ndevices: [{name: t, count: ten, location: DE}]\n",
		"duration: 1h\ndevices: []\nsettings: {profile: BG96}\n",
		"duration: 24 hours\ndevices: []\n",
		"duration: 3600\ndevices: []\n",
		"duration: 1h\ndevices: []\nexpect: [{name: x, registered: about 99%}]\n",
		"duration: 1h\ndevices: [{name: t, count: 1, location: DE, data: {every: 1h, bytes: 2 kilo}}]\n",
	} {
		_, err := Parse("t.yaml", []byte(doc))
		assert.Error(t, err, doc)
		assert.Error(t, sch.Validate(yamlToJSON(t, doc)), doc)
	}
}

// TestSchemaHasEveryField walks the format's types on its own (not with
// structFields) and finds every key in the schema.
func TestSchemaHasEveryField(t *testing.T) {
	var raw map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &raw))
	defs := raw["$defs"].(map[string]any)

	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, schema map[string]any, where string)
	keys := func(st reflect.Type) map[string]reflect.Type {
		out := map[string]reflect.Type{}
		var add func(st reflect.Type)
		add = func(st reflect.Type) {
			for i := range st.NumField() {
				f := st.Field(i)
				tag := f.Tag.Get("yaml")
				switch {
				case tag == "-" || !f.IsExported():
				case tag == ",inline":
					add(f.Type)
				default:
					out[strings.Split(tag, ",")[0]] = f.Type
				}
			}
		}
		add(st)
		return out
	}
	walk = func(st reflect.Type, schema map[string]any, where string) {
		if seen[st] {
			return
		}
		seen[st] = true
		props, _ := schema["properties"].(map[string]any)
		require.NotNil(t, props, where)
		assert.Equal(t, false, schema["additionalProperties"], where)
		ks := keys(st)
		assert.Len(t, props, len(ks), where)
		for k, ft := range ks {
			p, ok := props[k].(map[string]any)
			if !assert.True(t, ok, "%s.%s missing from the schema", where, k) {
				continue
			}
			assert.NotEmpty(t, p["description"], "%s.%s", where, k)
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(reflect.TypeFor[scalar]()) {
				def, ok := defs[ft.Name()].(map[string]any)
				require.True(t, ok, "$defs/%s", ft.Name())
				walk(ft, def, ft.Name())
			}
		}
	}
	walk(reflect.TypeFor[Scenario](), raw, "Scenario")
	assert.Greater(t, len(seen), 20)
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0}, {"0s", 0}, {"90s", 90 * time.Second}, {"1h30m", 90 * time.Minute}, {"2d", 48 * time.Hour},
		{"1d12h", 36 * time.Hour}, {"1.5d", 36 * time.Hour}, {"1d1m", 24*time.Hour + time.Minute},
		{"250ms", 250 * time.Millisecond}, {"1µs", time.Microsecond}, {"36500d", 36500 * 24 * time.Hour},
	} {
		var d Duration
		require.NoError(t, d.parse(tc.in), tc.in)
		assert.Equal(t, tc.want, d.D(), tc.in)
	}
	for _, in := range []string{"", " ", "1", "-1h", "+1h", "h", "d", "1d-1h", "1h1d", "2 d", " 5m", "1e3s", ".5h", "1dd", "36501d", "99999999999h", "5 min"} {
		var d Duration
		assert.Error(t, d.parse(in), "%q", in)
	}
	assert.Equal(t, "36h", Duration(36*time.Hour).String())
	assert.Equal(t, "1h30m", Duration(90*time.Minute).String())
}

func TestQuantity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Quantity
	}{
		{"2500", Quantity{Value: 2500, Set: true}}, {"50%", Quantity{Value: 50, Percent: true, Set: true}},
		{" 12.5 % ", Quantity{Value: 12.5, Percent: true, Set: true}}, {"0", Quantity{Set: true}}, {"100%", Quantity{Value: 100, Percent: true, Set: true}},
	} {
		var q Quantity
		require.NoError(t, q.parse(tc.in), tc.in)
		assert.Equal(t, tc.want, q, tc.in)
	}
	for _, in := range []string{"", "%", "-1", "101%", "1e3", "0x10", "inf", "NaN", "5 pieces", "50%%"} {
		var q Quantity
		assert.Error(t, q.parse(in), "%q", in)
	}
	assert.Equal(t, 10, Quantity{}.Of(10), "not set: all")
	assert.Equal(t, 5, Quantity{Value: 50, Percent: true, Set: true}.Of(10))
	assert.Equal(t, 3, Quantity{Value: 3, Set: true}.Of(10))
	assert.Equal(t, 10, Quantity{Value: 1e30, Set: true}.Of(10), "a huge count is all")
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
	}{
		{"512", 512}, {"2KB", 2048}, {"1.5MB", 1536 * 1024}, {"1GiB", 1 << 30}, {"10 B", 10}, {"2kb", 2048},
	} {
		var b ByteSize
		require.NoError(t, b.parse(tc.in), tc.in)
		assert.Equal(t, tc.want, b, tc.in)
	}
	for _, in := range []string{"", "KB", "-1", "2 kilo", "1e3", "2TB", "2000GB"} {
		var b ByteSize
		assert.Error(t, b.parse(in), "%q", in)
	}
}

func TestCondition(t *testing.T) {
	q := func(v float64, pct bool) Quantity { return Quantity{Value: v, Percent: pct, Set: true} }
	for _, tc := range []struct {
		in   string
		want Condition
	}{
		{">= 99%", Condition{Op: OpGE, Bound: q(99, true), Text: ">= 99%"}},
		{"<=5m", Condition{Op: OpLE, Duration: 5 * time.Minute, IsDur: true, Text: "<=5m"}},
		{"0", Condition{Op: OpEQ, Bound: q(0, false), Text: "0"}},
		{"== 0", Condition{Op: OpEQ, Bound: q(0, false), Text: "== 0"}},
		{"= 3", Condition{Op: OpEQ, Bound: q(3, false), Text: "= 3"}},
		{"!= 2.5", Condition{Op: OpNE, Bound: q(2.5, false), Text: "!= 2.5"}},
		{"> 1d", Condition{Op: OpGT, Duration: 24 * time.Hour, IsDur: true, Text: "> 1d"}},
		{" < 10 % ", Condition{Op: OpLT, Bound: q(10, true), Text: "< 10 %"}},
	} {
		var c Condition
		require.NoError(t, c.parse(tc.in), tc.in)
		assert.Equal(t, tc.want, c, tc.in)
		assert.True(t, c.Set())
	}
	for _, in := range []string{"", ">=", "=> 5", ">= = 5", "about 5", ">= -1", "<= 5 min", "== 101%", ">>1"} {
		var c Condition
		assert.Error(t, c.parse(in), "%q", in)
	}
	var c Condition
	require.NoError(t, c.parse(">= 90%"))
	assert.True(t, c.Holds(9, 10))
	assert.False(t, c.Holds(8, 10))
}

func TestDecodeNumbersAsScalars(t *testing.T) {
	s, err := Parse("t.yaml", []byte("duration: 1h\ndevices:\n  - {name: 7, count: 1e2, location: DE, data: {every: 1h, bytes: 0x10}}\n"+
		"timeline:\n  - {at: 1m, move: {group: 7, share: 5, to: DE}}\nexpect:\n  - {name: n, roaming: 0, attach_latency: {p: 50, max: <= 1m}}\n"))
	require.NoError(t, err)
	assert.Equal(t, "7", s.Devices[0].Name, "a number where text is wanted: as written")
	assert.Equal(t, 100, s.Devices[0].Count)
	assert.Equal(t, ByteSize(16), s.Devices[0].Data.Bytes)
	assert.Equal(t, Quantity{Value: 5, Set: true}, s.Timeline[0].Move.Share)

	_, err = Parse("t.yaml", []byte("duration: 1h\ndevices:\n  - {name: t, count: 1, location: DE, data: {every: 1h, bytes: 1.5}}\n"))
	assert.EqualError(t, err, "t.yaml:3:64: devices[0].data.bytes: want a size in bytes such as 512, 2KB or 1.5MB, got 1.5")
}

func TestErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("duration: 1h\ndevices:\n")
	for range 150 {
		b.WriteString("  - {name: t, count: x, location: DE}\n")
	}
	_, err := Parse("t.yaml", []byte(b.String()))
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, maxErrors+1)
	assert.Equal(t, "t.yaml:102:22: too many problems: 50 more not shown", list[maxErrors].Error())
}

func TestErrorsIs(t *testing.T) {
	s, err := Parse("t.yaml", []byte(minimalScenario+"control: {naps: [{name: n, networks: [Vodafone]}]}\n"))
	require.NoError(t, err)
	s.Defaults()
	err = s.Validate(catalogForTest(t))
	assert.ErrorIs(t, err, ErrAmbiguousNetwork, "the cause of an *Error is kept")
	assert.NotErrorIs(t, err, ErrUnknownNetwork)
}

// TestManyProblemsStayFast: a file full of unknown names is judged in
// linear time (suggestions are looked for only while problems are shown).
func TestManyProblemsStayFast(t *testing.T) {
	var b strings.Builder
	b.WriteString("duration: 1h\ncontrol:\n  naps: [{name: n, networks: [")
	for i := range 20000 {
		b.WriteString("n" + strconv.Itoa(i) + ",")
	}
	b.WriteString("]}]\ndevices:\n")
	for i := range 2000 {
		b.WriteString("  - {name: g" + strconv.Itoa(i) + ", count: 1, location: l" + strconv.Itoa(i) + ", sim_status: new}\n")
	}
	cat := catalogForTest(t)
	// The baseline, in the same run: decoding the same file, which is
	// linear. Judging it must cost a small multiple of that, not the
	// problems times the names (a ratio, not seconds: the machine's load
	// scales both).
	start := time.Now()
	_, err := Parse("t.yaml", []byte(b.String()))
	require.NoError(t, err)
	decode := time.Since(start)
	start = time.Now()
	s, err := Parse("t.yaml", []byte(b.String()))
	require.NoError(t, err)
	s.Defaults()
	err = s.Validate(cat)
	judged := time.Since(start)
	t.Logf("decode %v, decode and validate %v (%.1f×)", decode, judged, float64(judged)/float64(decode))
	assert.Less(t, float64(judged)/float64(decode), 20.0, "validation against decoding")
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, maxErrors+1)
	assert.Equal(t, "t.yaml:3:417: control.naps[0].networks[99]: unknown network \"n99\": want a PLMN such as 26201, a country code such as DE or a network name of the catalog", list[maxErrors-1].Error())
	assert.Equal(t, "t.yaml:3:417: too many problems: 21900 more not shown", list[maxErrors].Error())
}

// TestParseValidReportsEverything checks that a file with values the
// decoder refuses still gets its references and ranges checked, every
// problem in one list, in file order.
func TestParseValidReportsEverything(t *testing.T) {
	src := "name: t\nduration: 1h\ndevices:\n  - {name: a, count: 0, location: XX, fleet: nope}\nexpect:\n  - {name: e, group: b, registered: \">= 1O%\"}\n"
	_, err := ParseValid("bad.yaml", []byte(src), nil)
	require.Error(t, err)
	assert.Equal(t, `bad.yaml:4:22: devices[0].count: must be between 1 and 1000000, got 0
bad.yaml:4:35: devices[0].location: the Networks catalog has no networks in country XX
bad.yaml:4:46: devices[0].fleet: unknown fleet "nope": control.fleets defines none
bad.yaml:6:22: expect[0].group: unknown group "b"; devices defines "a"
bad.yaml:6:37: expect[0].registered: invalid condition ">= 1O%": want an operator (>=, <=, >, <, ==, !=) and a count, share or duration, e.g. '>= 99%'`, err.Error())
}

// TestSchemaAuthCacheFromAttach checks the schema says what the engine
// does (TestNAPRemovalAuthCache in modem): the cached authorisation counts
// from the attach, not from the NAP change.
func TestSchemaAuthCacheFromAttach(t *testing.T) {
	var raw struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(Schema(), &raw))
	desc := raw.Defs["Settings"].Properties["auth_cache"].Description
	assert.Contains(t, desc, "counted from the attach")
	assert.NotContains(t, desc, "after its NAP stops allowing it")
}

// TestValidateBounds: intervals that would make a run eat memory or make
// no progress are refused with their file:line, and so is a run whose
// estimated events pass MaxEvents, at its largest cost; a group that
// cannot leave status new without a Fleet is refused before the API does.
func TestValidateBounds(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"floors", "duration: 1d\nsample: 1ns\ncontrol: {naps: [{name: n}], fleets: [{name: f, nap: n}]}\ndevices:\n" +
			"  - {name: t, count: 5, location: DE, fleet: f, power_cycle: {every: 1ns}, data: {every: 1ns, bytes: 1KB}, retry: {backoff: 1ns}}\n" +
			"timeline:\n  - {every: 1ns, power_cycle: {group: t}}\n  - {every: 9s, power_cycle: {group: t}}\n",
			"t.yaml:2:9: sample: must be at least 1s, got 1ns\n" +
				"t.yaml:5:70: devices[0].power_cycle.every: must be at least 10s, got 1ns\n" +
				"t.yaml:5:90: devices[0].data.every: must be at least 1s, got 1ns\n" +
				"t.yaml:5:125: devices[0].retry.backoff: must be at least 1s, got 1ns\n" +
				"t.yaml:7:13: timeline[0].every: must be at least 1s, got 1ns"},
		{"budget", "duration: 30d\ncontrol: {naps: [{name: n}], fleets: [{name: f, nap: n}]}\ndevices:\n" +
			"  - {name: t, count: 100000, location: DE, fleet: f, data: {every: 1m, bytes: 1KB}}\n",
			"t.yaml:4:68: devices[0].data.every: the run would simulate about 2.59e+10 events, more than the 1e+09 a run may (100% of them from here): use longer intervals, fewer devices or a shorter duration"},
		{"no fleet", "duration: 1d\ndevices:\n  - {name: t, count: 5, location: DE}\n  - {name: r, count: 5, location: DE, sim_status: ready}\n" +
			"  - {name: n, count: 5, location: DE, sim_status: new}\n",
			"t.yaml:3:5: devices[0].fleet: required with sim_status active: a Sim cannot leave status new without a Fleet (error 83007)\n" +
				"t.yaml:4:51: devices[1].fleet: required with sim_status ready: a Sim cannot leave status new without a Fleet (error 83007)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateText(t, tc.in)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

// validateText parses, defaults and validates a scenario given as text and
// returns the first error on the way: a decoding error, or every problem
// validation finds.
func validateText(t *testing.T, in string) error {
	t.Helper()
	s, err := Parse("t.yaml", []byte(in))
	if err != nil {
		return err
	}
	s.Defaults()
	return s.Validate(catalogForTest(t))
}
