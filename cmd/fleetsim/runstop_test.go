package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain lets a test run this test binary as the fleetsim command, so
// that real signals reach the real main.
func TestMain(m *testing.M) {
	if os.Getenv("FLEETSIM_TEST_MAIN") == "1" {
		os.Args = append([]string{"fleetsim"}, os.Args[1:]...)
		main()
	}
	os.Exit(m.Run())
}

// TestRunReportToStdout: with --json - (or --junit -) standard output is
// the report alone, so it pipes into jq; the summary goes to stderr.
func TestRunReportToStdout(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "../../scenarios/quickstart.yaml", "--quiet", "--json", "-"}, noEnv, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var rep map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), "stdout is one JSON document: %q", stdout.String())
	assert.Equal(t, true, rep["passed"])
	assert.Contains(t, stderr.String(), "6 passed, 0 failed")

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"run", "../../scenarios/quickstart.yaml", "--quiet", "--junit", "-"}, noEnv, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var suites struct {
		XMLName xml.Name `xml:"testsuites"`
	}
	require.NoError(t, xml.Unmarshal(stdout.Bytes(), &suites), "stdout is one XML document: %q", stdout.String())
	assert.Contains(t, stderr.String(), "6 passed, 0 failed")

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"run", "../../scenarios/quickstart.yaml", "--json", "-", "--junit", "-"}, noEnv, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "only one of them may write to standard output")
}

// TestRunStopsOnSignal sends SIGTERM and SIGINT to a real fleetsim run of
// a long scenario: it stops within a second, writes the summary and the
// reports of what it reached, marked interrupted, and exits 3.
func TestRunStopsOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a large scenario")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			trace, report, junit := filepath.Join(dir, "trace"), filepath.Join(dir, "report.json"), filepath.Join(dir, "report.xml")
			cmd := exec.Command(os.Args[0], "run", "../../scenarios/scale-10k.yaml", "--quiet", "--trace", trace, "--json", report, "--junit", junit)
			cmd.Env = append(os.Environ(), "FLEETSIM_TEST_MAIN=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-done
				}
			}()
			// Wait until the devices talk to their modems: the run is under way.
			deadline := time.Now().Add(60 * time.Second)
			for {
				if fi, err := os.Stat(trace); err == nil && fi.Size() > 64<<10 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run never got going: %s", stderr.String())
				}
				select {
				case err := <-done:
					t.Fatalf("the run ended before the signal: %v\n%s", err, stderr.String())
				case <-time.After(10 * time.Millisecond):
				}
			}
			sent := time.Now()
			require.NoError(t, cmd.Process.Signal(sig))
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("still running 5s after %v", sig)
			}
			took := time.Since(sent)
			t.Logf("stopped %v after %v", took, sig)
			assert.Less(t, took, time.Second, "stopped %v after %v", took, sig)
			assert.Equal(t, exitInterrupted, cmd.ProcessState.ExitCode(), stderr.String())
			assert.Contains(t, stdout.String(), "; run interrupted at ")

			b, err := os.ReadFile(report)
			require.NoError(t, err)
			var rep struct {
				Interrupted  bool `json:"interrupted"`
				Passed       bool `json:"passed"`
				Expectations []struct {
					Skipped bool `json:"skipped"`
				} `json:"expectations"`
			}
			require.NoError(t, json.Unmarshal(b, &rep))
			assert.True(t, rep.Interrupted)
			assert.False(t, rep.Passed)
			skipped := 0
			for _, o := range rep.Expectations {
				if o.Skipped {
					skipped++
				}
			}
			assert.Positive(t, skipped, "the end-of-run expectations were never checked")
			x, err := os.ReadFile(junit)
			require.NoError(t, err)
			assert.Contains(t, string(x), `name="interrupted_at"`)
		})
	}
}
