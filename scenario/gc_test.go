package scenario

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

func TestDevicesInProcess(t *testing.T) {
	s := &spec.Scenario{Devices: []spec.Group{{Count: 6}, {Count: 4}}}
	assert.Equal(t, 10, Devices(s, nil))
	got := 0
	for i := range 3 {
		n := Devices(s, &Shard{Index: i, Of: 3})
		assert.Contains(t, []int{3, 4}, n)
		got += n
	}
	assert.Equal(t, 10, got, "the shards' slices add up to the fleet")
	assert.Equal(t, 4, Devices(s, &Shard{Index: 0, Of: 3}), "device 0, 3, 6 and 9")
}

func TestGCPercent(t *testing.T) {
	assert.Equal(t, 100, GCPercent(LargeFleet-1))
	assert.Equal(t, 50, GCPercent(LargeFleet))
}
