package scenario

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFirmwareSeesTypedErrors: a manual selection of a network outside the
// NAP is refused with +CME ERROR: 111, and the firmware gets it as an
// *at3gpp.CMEError (the trace notes it), not as a line to parse.
func TestFirmwareSeesTypedErrors(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	rep := runFile(t, "../scenarios/forbidden-network.yaml", Options{Trace: &trace})
	require.True(t, rep.Passed)
	out := trace.String()
	assert.Contains(t, out, "+CME ERROR: 111", "the modem's answer is in the trace")
	assert.Contains(t, out, "registration refused: +CME ERROR: 111 (PLMN not allowed)")
}
