package scenario

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

func testCatalog(t testing.TB) *sim.Catalog {
	t.Helper()
	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	return cat
}

func runFile(t testing.TB, file string, opts Options) *report.Report {
	t.Helper()
	cat := testCatalog(t)
	s, err := spec.LoadValid(file, cat)
	require.NoError(t, err)
	opts.Catalog = cat
	rep, err := Run(context.Background(), s, opts)
	require.NoError(t, err)
	return rep
}

// TestShippedScenariosPass runs every scenario in scenarios/ and requires
// each expectation to hold: they are the examples the README points to.
func TestShippedScenariosPass(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			if big := filepath.Base(f) == "scale-10k.yaml" || filepath.Base(f) == "eu-tracker.yaml"; big && (testing.Short() || raceEnabled) {
				t.Skip("large scenario: run by make scenarios, without -race and -short")
			}
			rep := runFile(t, f, Options{})
			var buf bytes.Buffer
			report.WriteSummary(&buf, rep, false)
			assert.True(t, rep.Passed, "%s", buf.String())
			for _, o := range rep.Expectations {
				assert.Positive(t, o.Samples, "%s was never checked", o.Name)
			}
		})
	}
}

// TestSameSeedSameReport runs a scenario twice with one seed and once
// with another: the JSON reports of the first two are byte-identical, the
// third differs.
func TestSameSeedSameReport(t *testing.T) {
	t.Parallel()
	render := func(seed *uint64) []byte {
		rep := runFile(t, "../scenarios/nap-roaming.yaml", Options{Seed: seed})
		var buf bytes.Buffer
		require.NoError(t, report.WriteJSON(&buf, rep))
		return buf.Bytes()
	}
	a, b := render(nil), render(nil)
	assert.Equal(t, string(a), string(b))
	other := uint64(99)
	c := render(&other)
	assert.NotEqual(t, string(a), string(c))
}

const failing = `name: failing
duration: 30m
control:
  naps: [{name: uk, networks: ["23415"]}]
  fleets: [{name: f, nap: uk}]
devices:
  - {name: d, count: 3, fleet: f, location: GB}
expect:
  - name: impossible
    at: 10m
    network: "23430"
    registered: "== 100%"
  - name: threshold
    at: 15m
    registered: "== 0"
    abort: true
  - name: never reached
    at: 20m
    registered: "== 100%"
`

// TestFailuresAndAbort checks a failing expectation is reported with what
// was observed, and a failing threshold stops the run.
func TestFailuresAndAbort(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	s, err := spec.Parse("failing.yaml", []byte(failing))
	require.NoError(t, err)
	s.Defaults()
	require.NoError(t, s.Validate(cat))
	rep, err := Run(context.Background(), s, Options{Catalog: cat})
	require.NoError(t, err)
	require.Len(t, rep.Expectations, 3)
	assert.False(t, rep.Passed)
	assert.True(t, rep.Aborted)
	assert.Equal(t, "15m", rep.AbortedAt)
	assert.False(t, rep.Expectations[0].Pass)
	assert.Equal(t, "registered 0/3 (0.0%)", rep.Expectations[0].Observed)
	assert.Equal(t, "10m", rep.Expectations[0].FailedAt)
	assert.Equal(t, 9, rep.Expectations[0].Line)
	assert.False(t, rep.Expectations[1].Pass)
	assert.True(t, rep.Expectations[2].Skipped)
}

const manualOnNetwork = `name: manual
duration: 30m
control:
  naps: [{name: uk, networks: ["23415", "23430"]}]
  fleets: [{name: f, nap: uk}]
devices:
  - {name: pinned, count: 4, fleet: f, location: GB, selection: {mode: manual, network: "23430"}}
expect:
  - name: on EE
    group: pinned
    at: 10m
    network: "23430"
    registered: "== 100%"
  - name: not on Vodafone
    group: pinned
    at: 10m
    network: "23415"
    registered: "== 0"
`

// TestManualSelectionNetwork checks an expectation filtered by network
// counts the devices of a group in manual selection: the firmware learns
// the network from the selection the modem accepted.
func TestManualSelectionNetwork(t *testing.T) {
	t.Parallel()
	cat := testCatalog(t)
	s, err := spec.Parse("manual.yaml", []byte(manualOnNetwork))
	require.NoError(t, err)
	s.Defaults()
	require.NoError(t, s.Validate(cat))
	rep, err := Run(context.Background(), s, Options{Catalog: cat})
	require.NoError(t, err)
	require.Len(t, rep.Expectations, 2)
	assert.True(t, rep.Expectations[0].Pass, "%s", rep.Expectations[0].Observed)
	assert.True(t, rep.Expectations[1].Pass, "%s", rep.Expectations[1].Observed)
}
