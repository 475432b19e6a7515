package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

func TestValidateCmd(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	good := write("good.yaml", "duration: 24h\ndevices:\n  - {name: t, count: 10, location: DE, sim_status: new}\n")
	good2 := write("good2.yaml", "duration: 1h\ncontrol:\n  naps: [{name: eu, networks: [DE, 23430]}]\n  fleets: [{name: f, nap: eu}]\n"+
		"devices:\n  - {name: t, count: 1, fleet: f, location: FR}\nexpect:\n  - {name: up, registered: \">= 99%\"}\n")
	bad := write("bad.yaml", "duration: 24h\ndevices:\n  - {name: t, count: 10, location: Mars, powr_on: {at: 1m}}\n")
	invalid := write("invalid.yaml", "duration: 24h\ndevices:\n  - {name: t, count: 0, location: Mars}\n")
	missing := filepath.Join(dir, "missing.yaml")

	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		out, errs string
	}{
		{"all valid", []string{good, good2}, 0, good + ": ok\n" + good2 + ": ok\n", ""},
		{"decoding problems", []string{bad}, 2, "",
			bad + ":3:42: devices[0].powr_on: unknown key, did you mean \"power_on\"?\n"},
		{"several problems, several files", []string{good, invalid, missing}, 2, good + ": ok\n",
			invalid + ":3:22: devices[0].count: must be between 1 and 1000000, got 0\n" +
				invalid + ":3:35: devices[0].location: unknown location \"Mars\": want a name from world.locations or a country code such as DE\n" +
				"open " + missing + ": no such file or directory\n"},
		{"no files", nil, 2, "", "Usage: fleetsim validate FILE...\n"},
		{"bad flag", []string{"--strict", good}, 2, "", "fleetsim validate: unknown flag: --strict\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			code := run(context.Background(), append([]string{"validate"}, tc.args...), noEnv, &out, &errs)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.out, out.String())
			if tc.code == 0 && tc.errs == "" {
				assert.Empty(t, errs.String())
			} else {
				assert.Contains(t, errs.String(), tc.errs)
			}
		})
	}
}

func TestSchemaCmd(t *testing.T) {
	var out, errs bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"schema"}, noEnv, &out, &errs))
	assert.Empty(t, errs.String())
	assert.Equal(t, spec.Schema(), out.Bytes())
	var doc map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	assert.Equal(t, spec.SchemaID, doc["$id"])

	out.Reset()
	errs.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"schema", "extra"}, noEnv, &out, &errs))
	assert.Empty(t, out.String())
	assert.Contains(t, errs.String(), `unexpected argument "extra"`)
}
