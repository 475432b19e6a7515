package api

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// usageEnv is an env with one active Sim in a Fleet whose NAP allows
// Vodafone UK, and traffic on Vodafone UK and Orange FR on 2026-01-16.
type usageEnv struct {
	*testEnv
	sim, fleet, vf, fr string
}

func newUsageEnv(t *testing.T) *usageEnv {
	e := &usageEnv{testEnv: newEnv(t)}
	e.vf = e.networkSid("234", "15")
	frNet := e.ctl.Catalog().Filter("FR", "", "")[0]
	e.fr = frNet.Sid
	st, nap := e.do(nil, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {e.vf}})
	require.Equal(t, http.StatusCreated, st, "%v", nap)
	st, fl := e.do(nil, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {nap["sid"].(string)}, "UniqueName": {"meters"}})
	require.Equal(t, http.StatusCreated, st, "%v", fl)
	e.fleet = fl["sid"].(string)
	e.sim = e.register(nil, 0)
	st, body := e.do(nil, http.MethodPost, "/v1/Sims/"+e.sim, url.Values{"Status": {"active"}, "Fleet": {"meters"}})
	require.Equal(t, http.StatusAccepted, st, "%v", body)
	e.clock.Advance(sim.DefaultUpdateDelay)
	day := time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)
	for _, u := range []struct {
		at       time.Duration
		plmn     sim.PLMN
		up, down int64
	}{
		{2*time.Hour + 10*time.Minute, sim.PLMN{MCC: "234", MNC: "15"}, 100000, 200000},
		{2*time.Hour + 50*time.Minute, frNet.Identifiers[0], 50000, 0},
		{5 * time.Hour, sim.PLMN{MCC: "234", MNC: "15"}, 0, 150000},
	} {
		e.clock.AdvanceTo(day.Add(u.at))
		require.NoError(t, e.ctl.RecordUsage(context.Background(), sim.UsageReport{ICCID: e.card(0).ICCID, PLMN: u.plmn, Upload: u.up, Download: u.down}))
	}
	e.clock.AdvanceTo(day.Add(36 * time.Hour))
	return e
}

func (e *usageEnv) records(q url.Values) []map[string]any {
	e.t.Helper()
	st, body := e.do(nil, http.MethodGet, "/v1/UsageRecords", q)
	require.Equal(e.t, http.StatusOK, st, "%v", body)
	var out []map[string]any
	for _, r := range body["usage_records"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// TestUsageRecordsOverHTTP: the figures, dimensions, periods and billed
// amounts of the wire records equal the traffic reported, for the filters
// and groups of the reference, every response checked against the OpenAPI.
func TestUsageRecordsOverHTTP(t *testing.T) {
	e := newUsageEnv(t)
	window := url.Values{"StartTime": {"2026-01-16T00:00:00Z"}, "EndTime": {"2026-01-17T00:00:00Z"}}
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for k, v := range window {
			q[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}

	all := e.records(with())
	require.Len(t, all, 1)
	r := all[0]
	assert.EqualValues(t, 150000, r["data_upload"])
	assert.EqualValues(t, 350000, r["data_download"])
	assert.EqualValues(t, 500000, r["data_total"])
	assert.EqualValues(t, 0.05, r["data_total_billed"], "0.10 USD per 1,000,000 bytes")
	assert.Equal(t, "USD", r["billed_unit"])
	assert.Equal(t, map[string]any{"start_time": "2026-01-16T00:00:00Z", "end_time": "2026-01-17T00:00:00Z"}, r["period"])
	for _, k := range []string{"sim_sid", "fleet_sid", "network_sid", "iso_country"} {
		assert.Nil(t, r[k], k)
	}

	hours := e.records(with("Granularity", "hour"))
	require.Len(t, hours, 24)
	assert.Equal(t, "2026-01-16T02:00:00Z", hours[2]["period"].(map[string]any)["start_time"])
	assert.EqualValues(t, 350000, hours[2]["data_total"])
	assert.EqualValues(t, 150000, hours[5]["data_total"])
	assert.EqualValues(t, 0, hours[0]["data_total"])
	assert.Nil(t, hours[0]["billed_unit"], "nothing billed in an empty hour")

	for _, tc := range []struct {
		q     url.Values
		want  map[string]int64 // dimension value → data_total
		field string
	}{
		{with("Group", "sim"), map[string]int64{e.sim: 500000}, "sim_sid"},
		{with("Group", "fleet", "Granularity", "day"), map[string]int64{e.fleet: 500000}, "fleet_sid"},
		{with("Group", "network", "Granularity", "day"), map[string]int64{e.vf: 450000, e.fr: 50000}, "network_sid"},
		{with("Group", "isoCountry"), map[string]int64{"GB": 450000, "FR": 50000}, "iso_country"},
		{with("Group", "sim", "IsoCountry", "FR"), map[string]int64{e.sim: 50000}, "sim_sid"},
		{with("Sim", e.sim, "Network", e.vf), map[string]int64{e.sim: 450000}, "sim_sid"},
		{with("Fleet", "meters", "IsoCountry", "fr"), map[string]int64{e.fleet: 50000}, "fleet_sid"},
		{with("Network", e.fr, "Group", "isoCountry", "Granularity", "hour"), map[string]int64{"FR": 50000}, "iso_country"},
	} {
		got := map[string]int64{}
		for _, r := range e.records(tc.q) {
			got[r[tc.field].(string)] += int64(r["data_total"].(float64))
		}
		assert.Equal(t, tc.want, got, "%v", tc.q)
	}

	// Defaults: the last month up to now, one record.
	recs := e.records(nil)
	require.Len(t, recs, 1)
	assert.EqualValues(t, 500000, recs[0]["data_total"])
	assert.Equal(t, "2026-01-17T12:00:00Z", recs[0]["period"].(map[string]any)["end_time"])

	// Paging walks the hourly buckets in order.
	st, page := e.do(nil, http.MethodGet, "/v1/UsageRecords", with("Granularity", "hour", "PageSize", "10"))
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, page["usage_records"], 10)
	assert.NotNil(t, page["meta"].(map[string]any)["next_page_url"])
}

func TestUsageRecordsErrorsOverHTTP(t *testing.T) {
	e := newUsageEnv(t)
	for _, tc := range []struct {
		q    string
		code int
	}{
		{"Granularity=week", 83600},
		{"Group=imsi", 83600},
		{"Network=HF00000000000000000000000000000000", 83600},
		{"IsoCountry=GBR", 83600},
		{"StartTime=2026-01-16T00:00:00Z&EndTime=2026-01-15T00:00:00Z", 83600},
		{"Granularity=day&StartTime=2026-01-16T01:00:00Z&EndTime=2026-01-17T00:00:00Z", 83601},
		{"Granularity=hour&StartTime=2026-01-16T00:30:00Z&EndTime=2026-01-17T00:00:00Z", 83602},
		{"Group=sim&StartTime=2025-12-01T00:00:00Z&EndTime=2026-01-16T00:00:00Z", 83603},
		{"Granularity=hour&StartTime=2025-12-01T00:00:00Z&EndTime=2026-01-16T00:00:00Z", 83604},
		{"Granularity=day&StartTime=2025-09-01T00:00:00Z&EndTime=2026-01-16T00:00:00Z", 83604},
		{"StartTime=2024-07-01T00:00:00Z&EndTime=2024-08-01T00:00:00Z", 83605},
	} {
		q, err := url.ParseQuery(tc.q)
		require.NoError(t, err)
		st, body := e.do(nil, http.MethodGet, "/v1/UsageRecords", q)
		assert.Equal(t, http.StatusBadRequest, st, tc.q)
		assert.EqualValues(t, tc.code, body["code"], "%s: %v", tc.q, body)
	}
}

// TestBillingPeriodsAcrossMoveOverHTTP: the seed's example on the wire.
func TestBillingPeriodsAcrossMoveOverHTTP(t *testing.T) {
	e := newUsageEnv(t)
	sub, err := e.ctl.CreateSubaccount(context.Background(), "B")
	require.NoError(t, err)
	periods := func(acct *sim.Account) []any {
		st, body := e.do(acct, http.MethodGet, "/v1/Sims/"+e.sim+"/BillingPeriods", nil)
		require.Equal(t, http.StatusOK, st, "%v", body)
		return body["billing_periods"].([]any)
	}
	bps := periods(nil)
	require.Len(t, bps, 1)
	old := bps[0].(map[string]any)
	assert.Equal(t, "active", old["period_type"])

	st, body := e.do(nil, http.MethodPost, "/v1/Sims/"+e.sim, url.Values{"Status": {"inactive"}})
	require.Equal(t, http.StatusAccepted, st, "%v", body)
	e.clock.Advance(sim.DefaultUpdateDelay)
	st, body = e.do(nil, http.MethodPost, "/v1/Sims/"+e.sim, url.Values{"AccountSid": {sub.Sid}, "Fleet": {""}})
	require.Equal(t, http.StatusOK, st, "%v", body)
	assert.Empty(t, periods(sub), "the previous account's period is not shown")

	st, nap := e.do(sub, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {e.vf}})
	require.Equal(t, http.StatusCreated, st, "%v", nap)
	st, fl := e.do(sub, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {nap["sid"].(string)}})
	require.Equal(t, http.StatusCreated, st, "%v", fl)
	st, body = e.do(sub, http.MethodPost, "/v1/Sims/"+e.sim, url.Values{"Status": {"active"}, "Fleet": {fl["sid"].(string)}})
	require.Equal(t, http.StatusAccepted, st, "%v", body)
	e.clock.Advance(sim.DefaultUpdateDelay)
	assert.Empty(t, periods(sub), "the reused period still belongs to the previous account")

	end, err := time.Parse(time.RFC3339, old["end_time"].(string))
	require.NoError(t, err)
	e.clock.AdvanceTo(end)
	bps = periods(sub)
	require.Len(t, bps, 1)
	next := bps[0].(map[string]any)
	assert.Equal(t, sub.Sid, next["account_sid"])
	assert.Equal(t, old["end_time"], next["start_time"])

	// Usage records stayed with the main account.
	st, body = e.do(sub, http.MethodGet, "/v1/UsageRecords", url.Values{"Sim": {e.sim}, "StartTime": {"2026-01-16T00:00:00Z"}, "EndTime": {"2026-01-17T00:00:00Z"}})
	require.Equal(t, http.StatusOK, st)
	assert.EqualValues(t, 0, body["usage_records"].([]any)[0].(map[string]any)["data_total"])
	assert.EqualValues(t, 500000, e.records(url.Values{"Sim": {e.sim}, "StartTime": {"2026-01-16T00:00:00Z"}, "EndTime": {"2026-01-17T00:00:00Z"}})[0]["data_total"])
}

// TestESimProfileFailureOverHTTP: a failed profile shows its error.
func TestESimProfileFailureOverHTTP(t *testing.T) {
	e := newEnv(t)
	st, p := e.do(nil, http.MethodPost, "/v1/ESimProfiles", url.Values{"Eid": {"89049032000001000000000000000009"}})
	require.Equal(t, http.StatusCreated, st, "%v", p)
	assert.Nil(t, p["error_code"])
	e.clock.Advance(sim.DefaultUpdateDelay)
	ctx := context.Background()
	_, card, err := e.ctl.DownloadESimProfile(ctx, "89049032000001000000000000000009", "")
	require.NoError(t, err)
	_, p = e.do(nil, http.MethodGet, "/v1/ESimProfiles/"+p["sid"].(string), nil)
	assert.Equal(t, "downloaded", p["status"])
	_, err = e.ctl.FailESimProfile(ctx, "89049032000001000000000000000009", card.ICCID, "installFailed", "the eUICC refused the profile")
	require.NoError(t, err)
	st, p = e.do(nil, http.MethodGet, "/v1/ESimProfiles/"+p["sid"].(string), nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, "failed", p["status"])
	assert.Equal(t, "installFailed", p["error_code"])
	assert.Equal(t, "the eUICC refused the profile", p["error_message"])
	st, list := e.do(nil, http.MethodGet, "/v1/ESimProfiles", url.Values{"Status": {"failed"}})
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, list["esim_profiles"], 1)
}

// TestSettingsUpdatesOverHTTP: scheduled → in-progress on attach →
// successful with date_completed after the stage duration.
func TestSettingsUpdatesOverHTTP(t *testing.T) {
	e := newUsageEnv(t)
	u, err := e.ctl.ScheduleSettingsUpdate(context.Background(), e.main, e.sim, []sim.SettingsPackage{{Name: "multi-imsi", Version: "2.0.0"}})
	require.NoError(t, err)
	get := func(status string) []any {
		t.Helper()
		q := url.Values{"Sim": {e.sim}}
		if status != "" {
			q.Set("Status", status)
		}
		st, body := e.do(nil, http.MethodGet, "/v1/SettingsUpdates", q)
		require.Equal(t, http.StatusOK, st, "%v", body)
		return body["settings_updates"].([]any)
	}
	require.Len(t, get("scheduled"), 1)
	_, err = e.ctl.AuthorizeAttach(e.card(0).ICCID, sim.PLMN{MCC: "234", MNC: "15"})
	require.NoError(t, err)
	ip := get("in-progress")
	require.Len(t, ip, 1)
	assert.Nil(t, ip[0].(map[string]any)["date_completed"])
	e.clock.Advance(sim.SettingsStageDuration)
	done := get("successful")
	require.Len(t, done, 2)
	last := done[1].(map[string]any)
	assert.Equal(t, u.Sid, last["sid"])
	assert.Equal(t, e.clock.Now().Format(time.RFC3339), last["date_completed"])
	assert.Equal(t, []any{map[string]any{"name": "multi-imsi", "version": "2.0.0", "more_info": "https://twilio.com/docs/iot/supersim/settings-packages/multi-imsi"}}, last["packages"])
	st, body := e.do(nil, http.MethodGet, "/v1/SettingsUpdates", url.Values{"Status": {"done"}})
	assert.Equal(t, http.StatusBadRequest, st, "%v", body)
}
