package scenario

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/report"
)

// runText runs a scenario given as YAML text.
func runText(t testing.TB, text string, opts Options) *report.Report {
	t.Helper()
	file := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o600))
	return runFile(t, file, opts)
}

// registeredLine is a +CEREG that says registered (stat 1 or 5), as an
// indication or an answer to AT+CEREG?.
var registeredLine = regexp.MustCompile(`\+CEREG: (\d,)?[15]\b`)

// TestInactiveFromStartNeverAttaches: a SIM set inactive at set-up goes
// through active (the API allows no new→inactive), but before the start:
// its modem, which powers up at once, never hears a registered +CEREG.
func TestInactiveFromStartNeverAttaches(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	rep := runText(t, `
name: inactive
duration: 20m
settings: {update_delay: 1m}
control:
  naps: [{name: uk, networks: [GB]}]
  fleets: [{name: f, nap: uk}]
devices:
  - {name: shelf, count: 5, fleet: f, location: GB, sim_status: inactive, retry: {backoff: 5s}}
  - {name: trial, count: 5, fleet: f, location: GB, sim_status: ready}
expect:
  - {name: inactive at the start, group: shelf, at: 0s, sim_status: inactive, sims: "== 100%"}
  - {name: ready at the start, group: trial, at: 0s, sim_status: ready, sims: "== 100%"}
  - {name: ready SIMs attach, group: trial, at: 1m, registered: "== 100%"}
`, Options{Trace: &trace})
	var buf bytes.Buffer
	report.WriteSummary(&buf, rep, false)
	assert.True(t, rep.Passed, "%s", buf.String())
	for _, l := range bytes.Split(trace.Bytes(), []byte("\n")) {
		if bytes.Contains(l, []byte("[shelf/")) {
			assert.False(t, registeredLine.Match(l), "a device with an inactive SIM registered: %s", l)
		}
	}
	assert.Contains(t, trace.String(), "[shelf/0] > AT+CEREG?", "the inactive group's devices did power up")
}

// TestStartStatusKeepsTheStart: the set-up stretch is before the start;
// the first device still powers up at the scenario's start time.
func TestStartStatusKeepsTheStart(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	runText(t, `
name: start
start: 2026-03-01T00:00:00Z
duration: 1m
control:
  naps: [{name: uk, networks: [GB]}]
  fleets: [{name: f, nap: uk}]
devices:
  - {name: shelf, count: 1, fleet: f, location: GB, sim_status: inactive}
`, Options{Trace: &trace, Catalog: testCatalog(t)})
	first, _, _ := bytes.Cut(trace.Bytes(), []byte(" "))
	assert.Equal(t, "2026-03-01T00:00:02.000000000Z", string(first), "the modem boots 2s after the start")
}
