package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

// TestConformanceAllOperations drives every operation of the reference
// description through the real HTTP server. The validating transport checks
// each response against the description and records the operations that
// answered 2xx; at the end every operationId must have been exercised.
func TestConformanceAllOperations(t *testing.T) {
	spec := mustLoadSpec(t)
	require.Len(t, spec.ops, 31, "operations of the description")
	e := newEnv(t)
	vt, ok := e.client.Transport.(*validatingTransport)
	require.True(t, ok, "the test client must use the validating transport")
	ctx := context.Background()

	// call sends a request as the main account and requires status want.
	call := func(want int, method, path string, form url.Values) map[string]any {
		t.Helper()
		st, body := e.do(nil, method, path, form)
		require.Equal(t, want, st, "%s %s %v: %v", method, path, form, body)
		return body
	}
	items := func(body map[string]any, key string) []map[string]any {
		t.Helper()
		require.Contains(t, body, key)
		raw, _ := body[key].([]any)
		out := make([]map[string]any, 0, len(raw))
		for _, it := range raw {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	sids := func(list []map[string]any) []string {
		out := make([]string, 0, len(list))
		for _, it := range list {
			out = append(out, it["sid"].(string))
		}
		return out
	}

	// Networks catalog: ListNetwork, FetchNetwork.
	vodafone, o2 := e.networkSid("234", "15"), e.networkSid("234", "10")
	nets := items(call(http.StatusOK, http.MethodGet, "/v1/Networks", url.Values{"IsoCountry": {"GB"}, "Mcc": {"234"}, "Mnc": {"15"}}), "networks")
	require.Equal(t, []string{vodafone}, sids(nets))
	assert.Equal(t, "GB", nets[0]["iso_country"])
	net := call(http.StatusOK, http.MethodGet, "/v1/Networks/"+o2, nil)
	assert.Equal(t, o2, net["sid"])
	assert.Equal(t, e.srv.URL+"/v1/Networks/"+o2, net["url"])

	// Network Access Profiles: Create, List, Fetch, Update.
	nap := call(http.StatusCreated, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"UniqueName": {"conf-nap"}, "Networks": {vodafone}})
	napSid := nap["sid"].(string)
	assert.Equal(t, "conf-nap", nap["unique_name"])
	call(http.StatusCreated, http.MethodPost, "/v1/NetworkAccessProfiles", nil) // no name, no networks
	assert.Len(t, items(call(http.StatusOK, http.MethodGet, "/v1/NetworkAccessProfiles", nil), "network_access_profiles"), 2)
	assert.Equal(t, napSid, call(http.StatusOK, http.MethodGet, "/v1/NetworkAccessProfiles/conf-nap", nil)["sid"])
	nap = call(http.StatusOK, http.MethodPost, "/v1/NetworkAccessProfiles/"+napSid, url.Values{"UniqueName": {"conf-nap-2"}})
	assert.Equal(t, "conf-nap-2", nap["unique_name"])
	assert.Equal(t, napSid, call(http.StatusOK, http.MethodGet, "/v1/NetworkAccessProfiles/"+napSid, nil)["sid"])

	// The NAP's Networks: Create, List, Fetch, Delete.
	napNets := "/v1/NetworkAccessProfiles/" + napSid + "/Networks"
	added := call(http.StatusCreated, http.MethodPost, napNets, url.Values{"Network": {o2}})
	assert.Equal(t, o2, added["sid"])
	assert.Equal(t, napSid, added["network_access_profile_sid"])
	assert.Equal(t, []string{vodafone, o2}, sids(items(call(http.StatusOK, http.MethodGet, napNets, nil), "networks")))
	assert.Equal(t, o2, call(http.StatusOK, http.MethodGet, napNets+"/"+o2, nil)["sid"])
	assert.Nil(t, call(http.StatusNoContent, http.MethodDelete, napNets+"/"+o2, nil))
	call(http.StatusCreated, http.MethodPost, napNets, url.Values{"Network": {o2}}) // back, for paging below

	// Fleets: Create, List, Fetch, Update.
	fleet := call(http.StatusCreated, http.MethodPost, "/v1/Fleets", url.Values{
		"NetworkAccessProfile": {napSid}, "UniqueName": {"conf-fleet"}, "DataLimit": {"500"},
		"SmsCommandsUrl": {"https://callbacks.fleetsim.invalid/sms"}, "SmsCommandsMethod": {"GET"},
		"IpCommandsUrl": {"https://callbacks.fleetsim.invalid/ip"},
	})
	fleetSid := fleet["sid"].(string)
	assert.EqualValues(t, 500, fleet["data_limit"])
	assert.Equal(t, "GET", fleet["sms_commands_method"])
	assert.Equal(t, "POST", fleet["ip_commands_method"])
	// The description contradicts itself on two defaults: the Fleet
	// properties say data_limit 250 MB and sms_commands_enabled false, the
	// create parameters (and the seed's Fleet page) 1000 MB and true. The
	// simulator follows the create parameters.
	dflt := call(http.StatusCreated, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {"conf-nap-2"}})
	assert.EqualValues(t, 1000, dflt["data_limit"])
	assert.Equal(t, true, dflt["sms_commands_enabled"])
	assert.Equal(t, true, dflt["data_enabled"])
	assert.Equal(t, "payg", dflt["data_metering"])
	assert.Nil(t, dflt["unique_name"])
	assert.Len(t, items(call(http.StatusOK, http.MethodGet, "/v1/Fleets", url.Values{"NetworkAccessProfile": {napSid}}), "fleets"), 2)
	assert.Equal(t, fleetSid, call(http.StatusOK, http.MethodGet, "/v1/Fleets/conf-fleet", nil)["sid"])
	fleet = call(http.StatusOK, http.MethodPost, "/v1/Fleets/"+fleetSid, url.Values{"DataLimit": {"2000000"}, "UniqueName": {"conf-fleet-2"}})
	assert.EqualValues(t, 2000000, fleet["data_limit"])
	assert.Equal(t, "conf-fleet-2", call(http.StatusOK, http.MethodGet, "/v1/Fleets/"+fleetSid, nil)["unique_name"])

	// Sims: Create, List, Fetch, Update (200 and 202), BillingPeriods, IpAddresses.
	simSid := e.register(nil, 0)
	other := e.register(nil, 1)
	assert.Equal(t, []string{simSid, other}, sids(items(call(http.StatusOK, http.MethodGet, "/v1/Sims", url.Values{"Status": {"new"}}), "sims")))
	assert.Equal(t, []string{other}, sids(items(call(http.StatusOK, http.MethodGet, "/v1/Sims", url.Values{"Iccid": {e.card(1).ICCID}}), "sims")))
	s := call(http.StatusOK, http.MethodGet, "/v1/Sims/"+simSid, nil)
	assert.Equal(t, "new", s["status"])
	assert.Nil(t, s["fleet_sid"])
	assert.Nil(t, s["unique_name"])
	s = call(http.StatusOK, http.MethodPost, "/v1/Sims/"+simSid, url.Values{"UniqueName": {"conf-sim"}, "Fleet": {fleetSid}})
	assert.Equal(t, "conf-sim", s["unique_name"])
	assert.Equal(t, fleetSid, s["fleet_sid"])
	s = call(http.StatusAccepted, http.MethodPost, "/v1/Sims/conf-sim", url.Values{"Status": {"active"}})
	assert.Equal(t, "scheduled", s["status"])
	assert.Empty(t, items(call(http.StatusOK, http.MethodGet, "/v1/Sims/"+simSid+"/BillingPeriods", nil), "billing_periods"))
	e.clock.Advance(sim.DefaultUpdateDelay)
	assert.Equal(t, "active", call(http.StatusOK, http.MethodGet, "/v1/Sims/"+simSid, nil)["status"])
	bps := items(call(http.StatusOK, http.MethodGet, "/v1/Sims/"+simSid+"/BillingPeriods", nil), "billing_periods")
	require.Len(t, bps, 1)
	assert.Equal(t, "active", bps[0]["period_type"])
	assert.Equal(t, simSid, bps[0]["sim_sid"])
	assert.Empty(t, items(call(http.StatusOK, http.MethodGet, "/v1/Sims/"+simSid+"/IpAddresses", nil), "ip_addresses"))
	// The other Sim goes new → ready with a Fleet given in the same request.
	s = call(http.StatusAccepted, http.MethodPost, "/v1/Sims/"+other, url.Values{"Status": {"ready"}, "Fleet": {"conf-fleet-2"}})
	assert.Equal(t, "scheduled", s["status"])
	e.clock.Advance(sim.DefaultUpdateDelay)
	assert.Equal(t, "ready", call(http.StatusOK, http.MethodGet, "/v1/Sims/"+other, nil)["status"])

	// UsageRecords, with traffic reported by the network.
	require.NoError(t, e.ctl.RecordUsage(ctx, sim.UsageReport{ICCID: e.card(0).ICCID, PLMN: sim.PLMN{MCC: "234", MNC: "15"}, Upload: 1000, Download: 2000}))
	recs := items(call(http.StatusOK, http.MethodGet, "/v1/UsageRecords", nil), "usage_records")
	require.Len(t, recs, 1)
	assert.EqualValues(t, 3000, recs[0]["data_total"])
	assert.Equal(t, "USD", recs[0]["billed_unit"])
	day := url.Values{"Granularity": {"day"}, "StartTime": {"2026-01-15T00:00:00Z"}, "EndTime": {"2026-01-16T00:00:00Z"}}
	for _, group := range []string{"sim", "fleet", "network", "isoCountry"} {
		q := url.Values{"Group": {group}}
		for k, v := range day {
			q[k] = v
		}
		recs := items(call(http.StatusOK, http.MethodGet, "/v1/UsageRecords", q), "usage_records")
		require.Len(t, recs, 1, "Group=%s", group)
		assert.EqualValues(t, 3000, recs[0]["data_total"], "Group=%s", group)
	}
	hourly := items(call(http.StatusOK, http.MethodGet, "/v1/UsageRecords", url.Values{
		"Granularity": {"hour"}, "Sim": {"conf-sim"}, "IsoCountry": {"GB"}, "Network": {vodafone}, "Fleet": {fleetSid},
		"StartTime": {"2026-01-15T10:00:00Z"}, "EndTime": {"2026-01-15T14:00:00Z"},
	}), "usage_records")
	assert.Len(t, hourly, 4)
	for _, r := range hourly {
		assert.Equal(t, simSid, r["sim_sid"])
		assert.Equal(t, "GB", r["iso_country"])
	}

	// SMS Commands: Create, List, Fetch.
	sms := call(http.StatusCreated, http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {simSid}, "Payload": {"héllo"}})
	assert.Equal(t, "queued", sms["status"])
	assert.Equal(t, "to_sim", sms["direction"])
	assert.Equal(t, []string{sms["sid"].(string)}, sids(items(call(http.StatusOK, http.MethodGet, "/v1/SmsCommands", url.Values{"Sim": {"conf-sim"}, "Direction": {"to_sim"}}), "sms_commands")))
	assert.Equal(t, "héllo", call(http.StatusOK, http.MethodGet, "/v1/SmsCommands/"+sms["sid"].(string), nil)["payload"])

	// IP Commands: Create, List, Fetch.
	ip := call(http.StatusCreated, http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {simSid}, "Payload": {"aGVsbG8="}, "PayloadType": {"binary"}, "DevicePort": {"6000"}})
	assert.Nil(t, ip["device_ip"])
	assert.EqualValues(t, 6000, ip["device_port"])
	assert.Equal(t, e.card(0).ICCID, ip["sim_iccid"])
	call(http.StatusCreated, http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {"conf-sim"}, "Payload": {"hi"}, "DevicePort": {"1"}})
	assert.Len(t, items(call(http.StatusOK, http.MethodGet, "/v1/IpCommands", url.Values{"SimIccid": {e.card(0).ICCID}, "Status": {"queued"}}), "ip_commands"), 2)
	assert.Equal(t, "binary", call(http.StatusOK, http.MethodGet, "/v1/IpCommands/"+ip["sid"].(string), nil)["payload_type"])

	// eSIM Profiles: Create, List, Fetch, before and after the reservation.
	esim := call(http.StatusCreated, http.MethodPost, "/v1/ESimProfiles", url.Values{"GenerateMatchingId": {"true"}, "Eid": {"89049032000001000000000000000001"}})
	esimSid := esim["sid"].(string)
	assert.Equal(t, "reserving", esim["status"])
	assert.Nil(t, esim["smdp_plus_address"])
	assert.NotNil(t, esim["matching_id"])
	call(http.StatusCreated, http.MethodPost, "/v1/ESimProfiles", url.Values{"Eid": {"89049032000001000000000000000002"}})
	assert.Len(t, items(call(http.StatusOK, http.MethodGet, "/v1/ESimProfiles", url.Values{"Status": {"reserving"}}), "esim_profiles"), 2)
	e.clock.Advance(sim.DefaultUpdateDelay)
	esim = call(http.StatusOK, http.MethodGet, "/v1/ESimProfiles/"+esimSid, nil)
	assert.Equal(t, "available", esim["status"])
	assert.NotNil(t, esim["smdp_plus_address"])
	assert.NotNil(t, esim["sim_sid"])
	assert.NotNil(t, esim["iccid"])
	assert.Len(t, items(call(http.StatusOK, http.MethodGet, "/v1/ESimProfiles", url.Values{"Eid": {"89049032000001000000000000000001"}, "Status": {"available"}}), "esim_profiles"), 1)
	esimSims := items(call(http.StatusOK, http.MethodGet, "/v1/Sims", url.Values{"Iccid": {esim["iccid"].(string)}}), "sims")
	require.Len(t, esimSims, 1)
	assert.Equal(t, esim["sim_sid"], esimSims[0]["sid"])

	// SettingsUpdates: the base settings of every registered card.
	updates := items(call(http.StatusOK, http.MethodGet, "/v1/SettingsUpdates", url.Values{"Sim": {simSid}}), "settings_updates")
	require.Len(t, updates, 1)
	assert.Equal(t, "successful", updates[0]["status"])
	assert.Len(t, items(call(http.StatusOK, http.MethodGet, "/v1/SettingsUpdates", url.Values{"Status": {"successful"}}), "settings_updates"), 2)

	// Paging: walk every list with PageSize 1 forward along next_page_url
	// and back along previous_page_url; the paging URLs are uri-checked by
	// the transport on every page.
	lists := map[string]string{
		"/v1/Sims": "sims", "/v1/Fleets": "fleets", "/v1/NetworkAccessProfiles": "network_access_profiles",
		napNets: "networks", "/v1/Networks?IsoCountry=GB": "networks", "/v1/SmsCommands": "sms_commands",
		"/v1/IpCommands": "ip_commands", "/v1/ESimProfiles": "esim_profiles", "/v1/SettingsUpdates": "settings_updates",
		"/v1/Sims/" + simSid + "/BillingPeriods": "billing_periods", "/v1/Sims/" + simSid + "/IpAddresses": "ip_addresses",
		"/v1/UsageRecords?Group=network&Granularity=day&StartTime=2026-01-15T00:00:00Z&EndTime=2026-01-16T00:00:00Z": "usage_records",
	}
	for path, key := range lists {
		all := items(call(http.StatusOK, http.MethodGet, path, nil), key)
		forward, backward := []any{}, []any{}
		next := withQuery(path, "PageSize=1")
		for pages := 0; next != ""; pages++ {
			require.Less(t, pages, len(all)+2, "%s: paging does not end", path)
			body := call(http.StatusOK, http.MethodGet, next, nil)
			page := body[key].([]any)
			forward = append(forward, page...)
			meta := body["meta"].(map[string]any)
			assert.Equal(t, key, meta["key"], path)
			assert.EqualValues(t, 1, meta["page_size"], path)
			next = relative(t, e, meta["next_page_url"])
			if next == "" && len(page) > 0 {
				// Back from the last page to the first.
				prev := relative(t, e, meta["previous_page_url"])
				backward = append(backward, page...)
				for steps := 0; prev != ""; steps++ {
					require.Less(t, steps, len(all)+2, "%s: paging back does not end", path)
					body := call(http.StatusOK, http.MethodGet, prev, nil)
					backward = append(backward, body[key].([]any)...)
					prev = relative(t, e, body["meta"].(map[string]any)["previous_page_url"])
				}
			}
		}
		want := make([]any, len(all))
		for i, it := range all {
			want[i] = it
		}
		assert.Equal(t, want, forward, "%s: pages forward", path)
		slices.Reverse(backward)
		assert.Equal(t, want, backward, "%s: pages backward", path)
	}

	// Every operation of the description answered 2xx at least once.
	got := vt.exercised()
	var missing []string
	for op, route := range spec.ops {
		if got[op] == 0 {
			missing = append(missing, op+" ("+route+")")
		}
	}
	slices.Sort(missing)
	assert.Empty(t, missing, "operations never exercised with a 2xx")
	for op := range got {
		assert.Contains(t, spec.ops, op)
	}
}

// withQuery adds a query to a path that may have one.
func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// relative turns a paging URL of the test server into a path and query for
// testEnv.do; null gives "".
func relative(t *testing.T, e *testEnv, v any) string {
	t.Helper()
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	require.True(t, ok, "paging URL %v", v)
	require.True(t, strings.HasPrefix(s, e.srv.URL+"/"), "paging URL %s does not lead back to the server", s)
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u.RequestURI()
}

// TestConformanceErrors sends bad requests; the validating transport checks
// every error body is Twilio's error JSON, this test checks status and code.
func TestConformanceErrors(t *testing.T) {
	mustLoadSpec(t)
	e := newEnv(t)
	owner := e.main

	// Fixtures: a NAP, a Fleet, a new Sim with a unique name and a second Sim.
	_, body := e.do(nil, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {e.networkSid("234", "15")}})
	napSid := body["sid"].(string)
	_, body = e.do(nil, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {napSid}})
	fleetSid := body["sid"].(string)
	simSid := e.register(nil, 0)
	second := e.register(nil, 1)
	st, body := e.do(nil, http.MethodPost, "/v1/Sims/"+simSid, url.Values{"UniqueName": {"taken"}})
	require.Equal(t, http.StatusOK, st, "%v", body)
	card := e.card(2)
	missingSid := "HS" + strings.Repeat("0", 32)

	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	type creds struct{ user, pass string }
	good := &creds{owner.Sid, owner.AuthToken}
	cases := []struct {
		name   string
		method string
		path   string // with query for GET
		body   string // form body for POST
		creds  *creds // nil: none
		status int
		code   int
	}{
		{"wrong auth token", "GET", "/v1/Sims", "", &creds{owner.Sid, "wrong" + owner.AuthToken}, 401, 20003},
		{"unknown account", "GET", "/v1/Fleets", "", &creds{"AC" + strings.Repeat("0", 32), owner.AuthToken}, 401, 20003},
		{"no credentials", "GET", "/v1/Sims", "", nil, 401, 20003},
		{"unknown path", "GET", "/v1/Nope", "", good, 404, 20404},
		{"unknown Sim", "GET", "/v1/Sims/" + missingSid, "", good, 404, 20404},
		{"unknown NAP Network", "DELETE", "/v1/NetworkAccessProfiles/" + napSid + "/Networks/" + e.networkSid("234", "10"), "", good, 404, 20404},
		{"wrong method on list", "DELETE", "/v1/Sims", "", good, 405, 20004},
		{"wrong method on instance", "PUT", "/v1/Fleets/" + fleetSid, form("DataLimit", "5"), good, 405, 20004},
		{"PageSize too large", "GET", "/v1/Sims?PageSize=1001", "", good, 400, 20007},
		{"PageSize not a number", "GET", "/v1/Fleets?PageSize=abc", "", good, 400, 20422},
		{"PageSize zero", "GET", "/v1/Networks?PageSize=0", "", good, 400, 20422},
		{"bad PageToken", "GET", "/v1/Sims?PageToken=garbage", "", good, 400, 21481},
		{"DataLimit zero", "POST", "/v1/Fleets", form("NetworkAccessProfile", napSid, "DataLimit", "0"), good, 400, 20422},
		{"DataLimit above 2TB", "POST", "/v1/Fleets", form("NetworkAccessProfile", napSid, "DataLimit", "2000001"), good, 400, 20422},
		{"DataLimit not a number", "POST", "/v1/Fleets/" + fleetSid, form("DataLimit", "x"), good, 400, 20422},
		{"DataLimit zero on update", "POST", "/v1/Fleets/" + fleetSid, form("DataLimit", "0"), good, 400, 20422},
		{"registration without Iccid", "POST", "/v1/Sims", form("RegistrationCode", card.RegistrationCode), good, 400, 83001},
		{"registration without code", "POST", "/v1/Sims", form("Iccid", card.ICCID), good, 400, 83001},
		{"registration with wrong code", "POST", "/v1/Sims", form("Iccid", card.ICCID, "RegistrationCode", wrongCode(card.RegistrationCode)), good, 400, 83002},
		{"registration of unknown ICCID", "POST", "/v1/Sims", form("Iccid", "89883070000000000000", "RegistrationCode", card.RegistrationCode), good, 400, 83002},
		{"duplicate registration", "POST", "/v1/Sims", form("Iccid", e.card(0).ICCID, "RegistrationCode", e.card(0).RegistrationCode), good, 409, 83003},
		{"transition new → inactive", "POST", "/v1/Sims/" + simSid, form("Status", "inactive"), good, 409, 83010},
		{"activation without Fleet", "POST", "/v1/Sims/" + simSid, form("Status", "active"), good, 400, 83007},
		{"unknown Fleet", "POST", "/v1/Sims/" + simSid, form("Fleet", "HF"+strings.Repeat("0", 32)), good, 404, 83006},
		{"unknown Fleet by name", "POST", "/v1/Sims/" + second, form("Fleet", "no-such-fleet", "Status", "active"), good, 404, 83006},
		{"unique name taken", "POST", "/v1/Sims/" + second, form("UniqueName", "taken"), good, 409, 83011},
		{"body over 1 MiB", "POST", "/v1/Fleets/" + fleetSid, "UniqueName=" + strings.Repeat("a", MaxBodyBytes), good, 413, 20422},
		{"malformed percent-encoding", "POST", "/v1/Fleets/" + fleetSid, "UniqueName=%zz", good, 400, 20422},
		{"unknown Status filter", "GET", "/v1/Sims?Status=bogus", "", good, 400, 20422},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, e.srv.URL+tc.path, body)
			require.NoError(t, err)
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.creds != nil {
				req.SetBasicAuth(tc.creds.user, tc.creds.pass)
			}
			// A client whose transport reports to this subtest.
			c := &http.Client{Transport: &validatingTransport{t: t, base: http.DefaultTransport}}
			resp, err := c.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", raw)
			var out struct {
				Code   int `json:"code"`
				Status int `json:"status"`
			}
			require.NoError(t, json.Unmarshal(raw, &out), "body: %s", raw)
			assert.Equal(t, tc.code, out.Code, "body: %s", raw)
			if tc.status == http.StatusUnauthorized {
				assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
			}
			if tc.status == http.StatusMethodNotAllowed {
				assert.NotEmpty(t, resp.Header.Get("Allow"))
			}
		})
	}

	// None of the failed requests changed anything.
	s, err := e.ctl.Sim(owner, simSid)
	require.NoError(t, err)
	assert.Equal(t, sim.StatusNew, s.Status)
	assert.Equal(t, "taken", s.UniqueName)
	assert.Empty(t, s.FleetSid)
	f, err := e.ctl.Fleet(owner, fleetSid)
	require.NoError(t, err)
	assert.Equal(t, sim.DefaultDataLimit, f.DataLimit)
	assert.Empty(t, f.UniqueName)
	_, err = e.ctl.SimByICCID(card.ICCID)
	assert.Error(t, err, "card 2 must not be registered")
}

// wrongCode returns a well-formed registration code other than code.
func wrongCode(code string) string {
	b := []byte(code)
	if b[0] == '9' {
		b[0] = '0'
	} else {
		b[0]++
	}
	return string(b)
}
