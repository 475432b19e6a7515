package firmware

import (
	"strconv"
	"unsafe"

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

// TestDeviceStaysSmall keeps the per-device struct from growing unnoticed:
// a run holds a million of them.
func TestDeviceStaysSmall(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("sizes are for 64-bit machines")
	}
	assert.LessOrEqual(t, unsafe.Sizeof(Device{}), uintptr(144))
	assert.LessOrEqual(t, unsafe.Sizeof(NetCode(0)), uintptr(4))
}

// TestKindDrivesAsItsPort checks the kind byte says what its port says.
func TestKindDrivesAsItsPort(t *testing.T) {
	for _, k := range []kind{kindLink, kindHW, kindExternal} {
		d := &Device{Group: &Group{env: &Env{}}, kind: k}
		assert.Equal(t, d.port().Drives(), d.Drives(), "kind %d", k)
	}
	assert.Equal(t, DriveNone, (&Device{}).Drives())
}
