package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

// runSetupVia plays a scenario as Run does, its SIMs registered through
// the API's HTTP handler or through the functions it calls.
func runSetupVia(t *testing.T, s *spec.Scenario, overHTTP bool) (*report.Report, error) {
	r := &runner{s: s, seed: s.Seed, cat: testCatalog(t), setupOverHTTP: overHTTP}
	r.Ctx, r.Start = context.Background(), s.Start.Time
	defer r.close()
	if err := r.setup(context.Background(), Options{}); err != nil {
		return nil, err
	}
	r.schedule()
	r.advance(context.Background(), nil)
	return r.report(), nil
}

// TestSetupInProcessIsTheAPIsEquivalent checks that registering the SIMs
// by the API handlers' functions gives the report the HTTP path gives
// (SIDs, statuses, Fleets, subaccounts, request counts), byte for byte.
func TestSetupInProcessIsTheAPIsEquivalent(t *testing.T) {
	for _, file := range []string{"sim-start-status.yaml", "subaccount-move.yaml", "sim-lifecycle.yaml", "quickstart.yaml"} {
		t.Run(file, func(t *testing.T) {
			s, err := spec.LoadValid("../scenarios/"+file, testCatalog(t))
			require.NoError(t, err)
			viaHTTP, err := runSetupVia(t, s, true)
			require.NoError(t, err)
			direct, err := runSetupVia(t, s, false)
			require.NoError(t, err)
			a, err := json.Marshal(viaHTTP)
			require.NoError(t, err)
			b, err := json.Marshal(direct)
			require.NoError(t, err)
			assert.JSONEq(t, string(a), string(b))
			assert.Positive(t, direct.APIRequests)
		})
	}
}

// TestAPIErrorReadsAsTheAPIs checks a control-plane refusal in the
// in-process set-up becomes the error the API's answer would give.
func TestAPIErrorReadsAsTheAPIs(t *testing.T) {
	err := apiError("POST", "/v1/Sims/HS1", fmt.Errorf("wrapped: %w", &sim.Error{Code: 20404, Status: 404, Message: "no such Fleet"}))
	var ae *apiclient.Error
	require.True(t, errors.As(err, &ae))
	assert.Equal(t, apiclient.Error{Method: "POST", Path: "/v1/Sims/HS1", Status: 404, Code: 20404, Message: "no such Fleet"}, *ae)
	assert.Equal(t, "POST /v1/Sims/HS1: 404 no such Fleet (code 20404)", err.Error())
	require.True(t, errors.As(apiError("POST", "/v1/Sims", errors.New("disk full")), &ae))
	assert.Equal(t, 500, ae.Status)
}
