package scenario

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario/report"
)

func TestSeriesStep(t *testing.T) {
	for _, tc := range []struct {
		sample, total, want time.Duration
	}{
		{time.Minute, 8 * time.Hour, time.Minute},            // 481 points
		{time.Minute, 24 * time.Hour, 2 * time.Minute},       // 721
		{time.Minute, 12 * time.Hour, time.Minute},           // 721
		{time.Second, 7 * 24 * time.Hour, 840 * time.Second}, // a week
		{time.Nanosecond, time.Hour, 5 * time.Second},        // hostile sample periods stay bounded
		{time.Hour, 10 * time.Minute, time.Hour},             // one point and the end
	} {
		got := seriesStep(tc.sample, tc.total)
		assert.Equal(t, tc.want, got, "sample %v over %v", tc.sample, tc.total)
		assert.LessOrEqual(t, int(tc.total/got)+2, maxSeriesPoints+2)
	}
}

// TestSeriesOfARun checks the report's time series of data-limit.yaml:
// one value per point in every array, the SIMs blocked between the limit
// and its raise, the raise on the timeline, each expectation's samples.
func TestSeriesOfARun(t *testing.T) {
	t.Parallel()
	rep := runFile(t, "../scenarios/data-limit.yaml", Options{})
	s := rep.Series
	require.NotNil(t, s)
	assert.Equal(t, "1m", s.Step)
	n := len(s.Times)
	assert.Equal(t, 481, n) // 8h at 1m, both ends
	assert.Equal(t, 0.0, s.Times[0])
	assert.Equal(t, 8*3600.0, s.Times[n-1])
	require.Len(t, s.Groups, 1)
	g := s.Groups[0]
	for _, a := range [][]int32{g.Registered, g.Searching, g.Denied, g.DataBlocked} {
		assert.Len(t, a, n)
	}
	assert.Len(t, g.SentMB, n)
	require.Len(t, g.Networks, 1)
	assert.Len(t, g.Networks[0].Registered, n)
	at := func(sec float64) int {
		for i, v := range s.Times {
			if v >= sec {
				return i
			}
		}
		return n - 1
	}
	assert.Equal(t, int32(0), g.DataBlocked[at(3600)])
	assert.Equal(t, int32(100), g.DataBlocked[at(5*3600)])
	assert.Equal(t, int32(0), g.DataBlocked[at(7*3600)])
	assert.Equal(t, int32(100), g.Registered[at(5*3600)])
	require.Len(t, s.Events, 1)
	assert.Equal(t, report.TimelineEvent{T: 6 * 3600, Kind: "fleet", Text: "Fleet metered: data limit 50 MB", Line: 30}, s.Events[0])
	require.Len(t, s.Expectations, len(rep.Expectations))
	for i, e := range s.Expectations {
		assert.Equal(t, rep.Expectations[i].Samples, len(e.Samples), e.Name)
		assert.Equal(t, rep.Expectations[i].Pass, e.Pass, e.Name)
	}
	assert.Equal(t, 100, s.AttachLatency.Count)
	require.Len(t, s.Usage, 1)
	u := s.Usage[0]
	assert.Equal(t, 5, u.LimitMB)
	assert.Equal(t, 50, u.FinalLimitMB)
	assert.Equal(t, 100, u.EverBlocked)
	assert.Equal(t, 100, u.PerSIM.Count)
	assert.Len(t, u.Longest, topBlocked)
	assert.Greater(t, u.Longest[0].BlockedSeconds, 2*3600.0)
	assert.Nil(t, s.Commands) // no SMS or IP Commands in this scenario
}
