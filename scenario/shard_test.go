package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// runShards runs every shard of n and returns the parts, each written as
// JSON and read back as merge reads it.
func runShards(t *testing.T, file string, n int) []*report.Part {
	t.Helper()
	cat := testCatalog(t)
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	s, err := spec.ParseValidShards(file, src, cat, n)
	require.NoError(t, err)
	var parts []*report.Part
	for i := range n {
		p, err := RunShard(context.Background(), s, src, Shard{Index: i, Of: n}, Options{Catalog: cat})
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, report.WritePart(&buf, p))
		back, err := report.ReadPart(&buf)
		require.NoError(t, err)
		parts = append(parts, back)
	}
	return parts
}

func reportJSON(t *testing.T, rep *report.Report) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, report.WriteJSON(&buf, rep))
	return buf.String()
}

// TestShardsMergeToTheRun runs shipped scenarios (and one that fails)
// whole and in 1, 2, 3 and 7 shards: the merged report is byte-identical
// to the whole run's.
func TestShardsMergeToTheRun(t *testing.T) {
	files := []string{
		"../scenarios/quickstart.yaml",       // attach percentiles, sims, usage
		"../scenarios/data-limit.yaml",       // a Fleet's data limit and blocked SIMs
		"testdata/shard-fail.yaml",           // failing expectations, a during window
		"testdata/shard-pages.yaml",          // lists of several pages
		"../scenarios/download-limit.yaml",   // downloads against the limit
		"../scenarios/sim-lifecycle.yaml",    // SIM status changes in the timeline, api checks
		"../scenarios/nap-roaming.yaml",      // networks by PLMN
		"../scenarios/mixed-modules.yaml",    // module families
		"../scenarios/sim-start-status.yaml", // start statuses settled before the start
	}
	switch {
	case testing.Short():
		files = files[:2]
	case raceEnabled: // ten times slower: the shipped ones run without -race
		files = files[:4]
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			want := reportJSON(t, runFile(t, file, Options{}))
			for _, n := range []int{1, 2, 3, 7} {
				rep, err := Merge(runShards(t, file, n), testCatalog(t))
				require.NoError(t, err, "N=%d", n)
				if got := reportJSON(t, rep); got != want {
					assert.Equal(t, want, got, "%d shards merge to another report", n)
				}
			}
		})
	}
}

// TestShardFailMergesToFailures checks that testdata/shard-fail.yaml fails
// as meant, so that the test above compares failures too.
func TestShardFailMergesToFailures(t *testing.T) {
	rep := runFile(t, "testdata/shard-fail.yaml", Options{})
	assert.False(t, rep.Passed)
	_, failed, _ := rep.Counts()
	assert.GreaterOrEqual(t, failed, 2)
}

// TestMergeRefusesInconsistentParts: parts of other runs, of another N, a
// shard missing or given twice.
func TestMergeRefusesInconsistentParts(t *testing.T) {
	cat := testCatalog(t)
	parts := runShards(t, "../scenarios/quickstart.yaml", 3)
	other := runShards(t, "../scenarios/fleet-move.yaml", 3)
	two := runShards(t, "../scenarios/quickstart.yaml", 2)
	seed := *parts[1]
	seed.Partial.Seed++
	for name, ps := range map[string][]*report.Part{
		"missing":   parts[:2],
		"twice":     {parts[0], parts[1], parts[1]},
		"other N":   {parts[0], parts[1], two[1]},
		"other run": {parts[0], other[1], parts[2]},
		"seed":      {parts[0], &seed, parts[2]},
		"none":      nil,
	} {
		_, err := Merge(ps, cat)
		assert.ErrorIs(t, err, report.ErrParts, name)
	}
	rep, err := Merge([]*report.Part{parts[2], parts[0], parts[1]}, cat)
	require.NoError(t, err, "any order")
	assert.True(t, rep.Passed)
}

// TestShardRefusesWhatItCannotSplit: thresholds, SMS/IP Commands and
// callbacks interleave devices of every shard.
func TestShardRefusesWhatItCannotSplit(t *testing.T) {
	cat := testCatalog(t)
	for _, f := range []string{"outage-recovery", "sms-commands", "ip-commands", "callbacks", "subaccount-move"} {
		file := fmt.Sprintf("../scenarios/%s.yaml", f)
		s, err := spec.LoadValid(file, cat)
		require.NoError(t, err)
		_, err = RunShard(context.Background(), s, []byte("x"), Shard{Index: 0, Of: 2}, Options{Catalog: cat})
		assert.True(t, errors.Is(err, ErrUsage), "%s: %v", f, err)
		assert.ErrorContains(t, err, "cannot run in shards")
	}
}
