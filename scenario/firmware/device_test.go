package firmware

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeviceStreamsAreIndependent checks a device's random stream does not
// depend on how many devices there are.
func TestDeviceStreamsAreIndependent(t *testing.T) {
	a, b := newRNG(42, 7), newRNG(42, 7)
	for range 10 {
		require.Equal(t, a.Uint64(), b.Uint64())
	}
	c, d := newRNG(42, 8), newRNG(42, 7)
	assert.NotEqual(t, d.Uint64(), c.Uint64())
}
