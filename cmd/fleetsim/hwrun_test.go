package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/scenario/report"
)

// benchScenario is the README's bench scenario, shipped in scenarios/.
const benchScenario = "../../scenarios/hw-bench.yaml"

// TestRunHWAgainstRemoteServe is the README's bench run with its two switches:
// the scenario's device is a modem on a serial port (--hw; here a
// separately started fleetsim serve's modem, reached through its PTY as a
// USB port would be), and the control-plane actions go over real HTTP with
// credentials to that server (--api) rather than to an embedded simulator.
// The SIM in the modem is registered, put in the Fleet and activated
// through the API; the modem then attaches, and the firmware steps, run
// through the hw AT client, see it. --trace records the exchanges. The
// server runs with its default timings, and the scenario runs twice against
// it: the second run reuses the NAP and Fleet the first one created.
func TestRunHWAgainstRemoteServe(t *testing.T) {
	if testing.Short() {
		t.Skip("two real-time runs of the bench scenario")
	}
	dir := t.TempDir()
	_, env, ctx := serveModems(t, "--modems", "1", "--modem-dir", dir)
	url := env["FLEETSIM_URL"]

	file := benchScenario
	reportFile := filepath.Join(t.TempDir(), "report.json")
	trace := filepath.Join(t.TempDir(), "at.trace")
	runEnv := map[string]string{"TWILIO_ACCOUNT_SID": env["FLEETSIM_ACCOUNT_SID"], "TWILIO_AUTH_TOKEN": env["FLEETSIM_AUTH_TOKEN"]}
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"run", file, "--quiet", "--api", url, "--hw", "bench=" + filepath.Join(dir, "modem-0"),
		"--json", reportFile, "--trace", trace}, func(k string) string { return runEnv[k] }, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	stdout.Reset()
	stderr.Reset()
	again := run(ctx, []string{"run", file, "--quiet", "--api", url, "--hw", "bench=" + filepath.Join(dir, "modem-0")},
		func(k string) string { return runEnv[k] }, &stdout, &stderr)
	require.Equal(t, 0, again, "a second run against the same account reuses its NAP and Fleet\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())

	var rep report.Report
	b, err := os.ReadFile(reportFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.True(t, rep.Passed)
	assert.Positive(t, rep.APIRequests)

	f, err := os.Open(trace)
	require.NoError(t, err)
	defer f.Close()
	recs, err := hw.ReadTrace(f)
	require.NoError(t, err)
	var sent []string
	for _, r := range recs {
		assert.Equal(t, "bench/0", r.Port)
		if r.Dir == hw.DirOut {
			sent = append(sent, strings.TrimSpace(string(r.Data)))
		}
	}
	assert.Contains(t, sent, "ATE0;+CMEE=1;+CEREG=2;+COPS=3,2")
	assert.Contains(t, sent, "AT+CEREG?")

	// Without credentials, or with virtual devices, --api is refused.
	stderr.Reset()
	assert.Equal(t, 2, run(ctx, []string{"run", file, "--api", url}, noEnv, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "credentials")
	stderr.Reset()
	assert.Equal(t, 2, run(ctx, []string{"run", file, "--api", url}, func(k string) string { return runEnv[k] }, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "every device must be a real modem")
	stderr.Reset()
	assert.Equal(t, 2, run(ctx, []string{"run", file, "--hw", "nope=/dev/null"}, noEnv, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `no device group "nope"`)
}

// TestRunHWCommandsAgainstRemoteServe runs scenarios/hw-commands.yaml with
// both its devices bound to a separately started fleetsim serve's BG96 and
// SIM7080, through their PTYs as USB ports: the firmware drives SMS and IP
// Commands through the hw AT client (the "> " prompts of AT+CMGS, AT+QISEND
// and AT+CASEND), and the server calls the Fleet's URLs at the run's
// receiver on loopback, signed with the account's token.
func TestRunHWCommandsAgainstRemoteServe(t *testing.T) {
	if testing.Short() {
		t.Skip("a real-time run of the hw-commands scenario")
	}
	dir := t.TempDir()
	_, env, ctx := serveModems(t, "--modems", "bg96:1,sim7080:1", "--modem-dir", dir)
	url := env["FLEETSIM_URL"]

	reportFile := filepath.Join(t.TempDir(), "report.json")
	trace := filepath.Join(t.TempDir(), "at.trace")
	runEnv := map[string]string{"TWILIO_ACCOUNT_SID": env["FLEETSIM_ACCOUNT_SID"], "TWILIO_AUTH_TOKEN": env["FLEETSIM_AUTH_TOKEN"]}
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"run", "../../scenarios/hw-commands.yaml", "--quiet", "--api", url,
		"--hw", "quectel=" + filepath.Join(dir, "modem-0"), "--hw", "simcom=" + filepath.Join(dir, "modem-1"),
		"--json", reportFile, "--trace", trace}, func(k string) string { return runEnv[k] }, &stdout, &stderr)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())

	var rep report.Report
	b, err := os.ReadFile(reportFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.True(t, rep.Passed)

	f, err := os.Open(trace)
	require.NoError(t, err)
	defer f.Close()
	recs, err := hw.ReadTrace(f)
	require.NoError(t, err)
	sent := map[string][]string{}
	for _, r := range recs {
		if r.Dir == hw.DirOut {
			sent[r.Port] = append(sent[r.Port], strings.TrimSpace(string(r.Data)))
		}
	}
	for port, want := range map[string][]string{
		"quectel/0": {`AT+CMGS="000"`, "ok\x1a", "AT+QISEND=0,3", "ack", "AT+QIRD=0"},
		"simcom/0":  {`AT+CMGS="000"`, "ok\x1a", "AT+CASEND=0,3", "ack", "AT+CARECV=0,1460"},
	} {
		for _, w := range want {
			assert.Contains(t, sent[port], w, "%s sent %q", port, sent[port])
		}
	}
}
