package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetsim runs this test binary as the fleetsim command (see TestMain)
// and returns its exit status and output.
func fleetsim(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FLEETSIM_TEST_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}

// wallRE matches the wall-clock figures of a JSON report.
var wallRE = regexp.MustCompile(`(?s),\n  "wall": \{.*?\n  \}`)

// TestShardsThenMerge runs real fleetsim processes: a scenario whole, then
// in three shards and merge. Same JSON report (wall figures aside), same
// exit status, for a passing and a failing scenario.
func TestShardsThenMerge(t *testing.T) {
	for _, tc := range []struct {
		file string
		code int
	}{
		{"../../scenarios/quickstart.yaml", 0},
		{"../../scenario/testdata/shard-fail.yaml", 1},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			whole := filepath.Join(dir, "whole.json")
			code, out := fleetsim(t, "run", tc.file, "--quiet", "--json", whole)
			require.Equal(t, tc.code, code, out)
			var parts []string
			for i := range 3 {
				part := filepath.Join(dir, fmt.Sprintf("part-%d.json", i))
				code, out := fleetsim(t, "run", tc.file, "--quiet", "--shard", fmt.Sprintf("%d/3", i), "--json", part)
				require.Equal(t, 0, code, "a shard exits 0 once its part is written: %s", out)
				parts = append(parts, part)
			}
			merged, junit := filepath.Join(dir, "merged.json"), filepath.Join(dir, "merged.xml")
			code, out = fleetsim(t, append([]string{"merge", "--json", merged, "--junit", junit}, parts...)...)
			assert.Equal(t, tc.code, code, out)
			want, err := os.ReadFile(whole)
			require.NoError(t, err)
			got, err := os.ReadFile(merged)
			require.NoError(t, err)
			assert.Equal(t, string(wallRE.ReplaceAll(want, nil)), string(got))
			assert.FileExists(t, junit)

			// A missing shard, a shard twice: refused, exit 2.
			code, out = fleetsim(t, "merge", parts[0], parts[1])
			assert.Equal(t, 2, code)
			assert.Contains(t, out, "missing shard(s) [2] of 3")
			code, out = fleetsim(t, "merge", parts[0], parts[1], parts[1], parts[2])
			assert.Equal(t, 2, code)
			assert.Contains(t, out, "shard 1/3 given twice")
		})
	}
}

// TestShardFlags: --shard's syntax, what it needs, and scenarios it
// cannot split.
func TestShardFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "3/3", "--json", "p.json"}, "i must be between 0 and N-1 = 2"},
		{[]string{"--shard", "1", "--json", "p.json"}, "want i/N"},
		{[]string{"--shard", "0/0", "--json", "p.json"}, "the number of shards N must be between 1 and"},
		{[]string{"--shard", "0/2"}, "give it --json FILE"},
		{[]string{"--shard", "0/2", "--json", "p.json", "--junit", "r.xml"}, "give it --json FILE"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"run", "../../scenarios/quickstart.yaml", "--quiet"}, tc.args...), noEnv, &stdout, &stderr)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Contains(t, stderr.String(), tc.want, "%v", tc.args)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "../../scenarios/sms-commands.yaml", "--quiet", "--shard", "0/2", "--json", filepath.Join(t.TempDir(), "p.json")}, noEnv, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "cannot run in shards")
}

// TestValidateShards: a fleet over the one-run limit validates when split
// in enough shards; the unsharded limit is unchanged.
func TestValidateShards(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: big
duration: 1h
control:
  naps: [{name: uk, networks: ["23415"]}]
  fleets: [{name: f, nap: uk}]
devices:
  - name: a
    count: 3000000
    fleet: f
    location: GB
`), 0o644))
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"validate", file}, noEnv, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "must be between 1 and 1000000")
	stderr.Reset()
	code = run(context.Background(), []string{"validate", "--shards", "2", file}, noEnv, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "must be between 1 and 2000000")
	code = run(context.Background(), []string{"validate", "--shards", "3", file}, noEnv, &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
}
