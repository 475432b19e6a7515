package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHistograms(t *testing.T) {
	h := LogHistogram([]float64{7, 7.5, 12, 130, 0.3}, "s")
	assert.Equal(t, 5, h.Count)
	assert.Equal(t, []Bucket{{0.2, 0.5, 1}, {0.5, 1, 0}, {1, 2, 0}, {2, 5, 0}, {5, 10, 2}, {10, 20, 1}, {20, 50, 0}, {50, 100, 0}, {100, 200, 1}}, h.Buckets)
	assert.Equal(t, 7.5, h.P50)
	assert.Equal(t, 130.0, h.Max)

	l := LinearHistogram([]float64{0, 4.9, 5, 9.99, 10}, 10, 2, "MB")
	assert.Equal(t, []Bucket{{0, 5, 2}, {5, 10, 3}}, l.Buckets) // the top value lands in the last bucket
	assert.Equal(t, 10.0, NiceCeil(8))
	assert.Equal(t, 2.0, NiceCeil(1.2))
	assert.Equal(t, 50.0, NiceCeil(50))
	assert.Empty(t, LogHistogram(nil, "s").Buckets)
}
