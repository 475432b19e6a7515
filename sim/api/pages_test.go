package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// TestUsageBySimPagesBothWays: UsageRecords grouped by SIM, which the
// server pages without computing the other pages, lists the same records
// page by page as in one page, following next_page_url forward and
// previous_page_url back, with SIMs that used data in some hours only.
func TestUsageBySimPagesBothWays(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vf := e.networkSid("234", "15")
	st, nap := e.do(nil, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {vf}})
	require.Equal(t, http.StatusCreated, st, "%v", nap)
	st, fl := e.do(nil, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {nap["sid"].(string)}})
	require.Equal(t, http.StatusCreated, st, "%v", fl)
	const sims = 7
	for i := range sims {
		sid := e.register(nil, i)
		st, body := e.do(nil, http.MethodPost, "/v1/Sims/"+sid, url.Values{"Status": {"active"}, "Fleet": {fl["sid"].(string)}})
		require.Equal(t, http.StatusAccepted, st, "%v", body)
	}
	day := testEpoch.Truncate(24 * time.Hour).Add(24 * time.Hour)
	for h := range 4 {
		e.clock.AdvanceTo(day.Add(time.Duration(h)*time.Hour + time.Minute))
		for i := range sims {
			if (i+h)%3 == 0 {
				continue // no data this hour
			}
			require.NoError(t, e.ctl.RecordUsage(ctx, sim.UsageReport{ICCID: e.card(i).ICCID, PLMN: sim.PLMN{MCC: "234", MNC: "15"}, Download: int64(1000*i + h)}))
		}
	}
	q := url.Values{"Group": {"sim"}, "Granularity": {"hour"},
		"StartTime": {day.Format(time.RFC3339)}, "EndTime": {day.Add(4 * time.Hour).Format(time.RFC3339)}}
	key := func(r any) string {
		m := r.(map[string]any)
		return m["period"].(map[string]any)["start_time"].(string) + " " + m["sim_sid"].(string)
	}
	page := func(target string) ([]string, map[string]any) {
		t.Helper()
		u, err := url.Parse(target)
		require.NoError(t, err)
		st, body := e.do(nil, http.MethodGet, u.Path, u.Query())
		require.Equal(t, http.StatusOK, st, "%v", body)
		var keys []string
		for _, r := range body["usage_records"].([]any) {
			keys = append(keys, key(r))
		}
		return keys, body["meta"].(map[string]any)
	}
	all, _ := page("/v1/UsageRecords?" + q.Encode() + "&PageSize=1000")
	require.Len(t, all, 4*sims-10, "records: one per SIM and hour with data") // (i+h)%3 == 0 ten times
	require.True(t, slicesSorted(all), "records in order of hour, then SIM SID: %v", all)

	var forward [][]string
	next := "/v1/UsageRecords?" + q.Encode() + "&PageSize=3"
	for next != "" {
		keys, meta := page(next)
		forward = append(forward, keys)
		next, _ = meta["next_page_url"].(string)
	}
	require.Equal(t, all, flatten(forward))

	// Back from the last page.
	u, err := url.Parse(strings.TrimPrefix(prevOf(t, e, forward, q), e.srv.URL))
	require.NoError(t, err)
	prev := u.String()
	for i := len(forward) - 2; i >= 0; i-- {
		require.NotEmpty(t, prev, "page %d has no previous page", i+1)
		keys, meta := page(prev)
		require.Equal(t, forward[i], keys, "page %d read backward", i)
		prev, _ = meta["previous_page_url"].(string)
	}
	require.Empty(t, prev, "the first page has a previous page")
}

// prevOf returns the previous_page_url of the last page of forward.
func prevOf(t *testing.T, e *testEnv, forward [][]string, q url.Values) string {
	t.Helper()
	next := "/v1/UsageRecords?" + q.Encode() + "&PageSize=3"
	var meta map[string]any
	for range forward {
		u, err := url.Parse(next)
		require.NoError(t, err)
		var st int
		var body map[string]any
		st, body = e.do(nil, http.MethodGet, u.Path, u.Query())
		require.Equal(t, http.StatusOK, st)
		meta = body["meta"].(map[string]any)
		next, _ = meta["next_page_url"].(string)
	}
	prev, _ := meta["previous_page_url"].(string)
	require.NotEmpty(t, prev)
	return prev
}

func flatten(pages [][]string) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func slicesSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] < s[i-1] {
			return false
		}
	}
	return true
}
