package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// TestTwilioNodeClient runs testdata/node/flow.js, which drives the
// simulator with the official twilio-node library over loopback HTTP. The
// node process cannot advance a virtual clock, so this Control runs on the
// wall clock with a short update delay and flow.js polls for completion.
func TestTwilioNodeClient(t *testing.T) {
	dir := filepath.Join("testdata", "node")
	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "twilio", "package.json")); err != nil {
		missing = "sim/api/testdata/node/node_modules/twilio is missing"
	}
	if missing != "" {
		msg := missing + ": install Node.js >= 20 and run npm ci in sim/api/testdata/node"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	ctl, err := sim.New(context.Background(), sim.NewMemStore(),
		sim.WithUpdateDelay(50*time.Millisecond), sim.WithCards("node", 10))
	require.NoError(t, err)
	srv := httptest.NewServer(New(ctl))
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, ctl.Close())
	})
	acct := ctl.MainAccount()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "flow.js")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	for _, kv := range os.Environ() {
		// The library would rewrite the host for an edge or region, and a
		// caller's FLEETSIM_* would override ours.
		if !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "FLEETSIM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"FLEETSIM_URL="+srv.URL,
		"FLEETSIM_ACCOUNT_SID="+acct.Sid,
		"FLEETSIM_AUTH_TOKEN="+acct.AuthToken,
		"FLEETSIM_DEADLINE_MS=20000",
	)
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("node flow.js did not finish in time:\n%s", out)
	}
	require.NoError(t, err, "node flow.js:\n%s", out)
	t.Logf("node flow.js: %s", strings.TrimSpace(string(out)))

	// What the library did is what the control plane holds.
	sims, err := ctl.ListSims(acct, sim.SimFilter{})
	require.NoError(t, err)
	require.Len(t, sims, 5)
	assert.Equal(t, sim.StatusActive, sims[0].APIStatus())
	assert.NotEmpty(t, sims[0].FleetSid)
	for _, s := range sims[1:] {
		assert.Equal(t, sim.StatusNew, s.APIStatus())
	}
	fleets, err := ctl.ListFleets(acct, "")
	require.NoError(t, err)
	require.Len(t, fleets, 1)
	assert.Equal(t, 250, fleets[0].DataLimit)
}
