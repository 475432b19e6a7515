package api

// Fuzz targets of the REST API: every parser that reads client input (form
// bodies, query strings, paths, page tokens, parameters) is fuzzed, and the
// project's rule is checked on every input: bad input never gives a 5xx, a
// panic, a hang or lost state. Seed corpora live in testdata/fuzz/<FuzzName>.
//
//	go test -run '^$' -fuzz '^FuzzFormRequests$' -fuzztime 60s ./sim/api/

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

const (
	// fuzzHost is the Host of every fuzz request, so that the URLs two
	// Controls render are comparable.
	fuzzHost = "fleetsim.test"
	// fuzzHang is how long one request may take before it counts as a hang.
	fuzzHang = 10 * time.Second
	// fuzzEnvRequests is how many requests one fuzzEnv serves before
	// FuzzFormRequests starts afresh, so that lists and the durability check
	// stay small and an input's outcome depends on little history.
	fuzzEnvRequests = 256
)

// fuzzMethods are the methods FuzzFormRequests picks from (POST twice: it
// is the method that changes state).
var fuzzMethods = [8]string{
	http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodHead,
	http.MethodPut, http.MethodPatch, http.MethodOptions, http.MethodPost,
}

// Bits of FuzzFormRequests' selector byte above the method (bits 0-2).
const (
	selTextPlain = 1 << 3 // Content-Type text/plain instead of a form
	selBadAuth   = 1 << 4 // a wrong auth token
	selHTTPS     = 1 << 5 // X-Forwarded-Proto: https
	selAdvance   = 1 << 6 // advance the virtual clock 5s first
	selSub       = 1 << 7 // act as the subaccount
)

// fuzzEnv is a Control on a virtual clock and a MemStore the test keeps, its
// API handler, and a few resources every input can address through the
// placeholders of vars ({sim}, {fleet}, {nap}, ...).
type fuzzEnv struct {
	store *sim.MemStore
	clock *vclock.Clock
	ctl   *sim.Control
	h     http.Handler
	main  *sim.Account
	sub   *sim.Account
	vars  *strings.Replacer
	n     int // requests served
	// log holds what the API logged at level error, e.g. a recovered panic
	// with its value, to explain a 500.
	log *bytes.Buffer
}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	ctx := context.Background()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	e := &fuzzEnv{store: sim.NewMemStore(), clock: vclock.New(testEpoch), log: new(bytes.Buffer)}
	// A seeded source of SIDs makes an input's run reproducible.
	ctl, err := sim.New(ctx, e.store, sim.WithClock(e.clock), sim.WithCards("fuzz", 5),
		sim.WithRand(rand.NewChaCha8([32]byte{'f', 'u', 'z', 'z'})), sim.WithHTTPClient(fuzzNoNetwork))
	must(err)
	e.ctl, e.main = ctl, ctl.MainAccount()
	e.h = New(ctl, WithLogger(slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelError}))))

	nets := ctl.Catalog().Networks()
	napName, fleetName, simName := "fuzz-nap", "fuzz-fleet", "fuzz-sim"
	nap, err := ctl.CreateNAP(ctx, e.main, &napName, []string{nets[0].Sid})
	must(err)
	fleet, err := ctl.CreateFleet(ctx, e.main, sim.FleetParams{NetworkAccessProfile: &nap.Sid, UniqueName: &fleetName})
	must(err)
	cards := ctl.Cards()
	s, err := ctl.RegisterSim(ctx, e.main, cards[0].ICCID, cards[0].RegistrationCode)
	must(err)
	_, _, err = ctl.UpdateSim(ctx, e.main, s.Sid, sim.SimParams{UniqueName: &simName, Fleet: &fleet.Sid})
	must(err)
	e.sub, err = ctl.CreateSubaccount(ctx, "fuzz subaccount")
	must(err)
	e.vars = strings.NewReplacer(
		"{sim}", s.Sid, "{fleet}", fleet.Sid, "{nap}", nap.Sid, "{net}", nets[0].Sid, "{net2}", nets[1].Sid,
		"{iccid0}", cards[0].ICCID, "{iccid1}", cards[1].ICCID, "{code1}", cards[1].RegistrationCode,
		"{iccid2}", cards[2].ICCID, "{code2}", cards[2].RegistrationCode, "{sub}", e.sub.Sid, "{main}", e.main.Sid,
	)
	return e
}

// close stops e's Control. (Not a tb.Cleanup: FuzzFormRequests makes fresh
// envs inside the fuzz function, where its *testing.F must not be used.)
func (e *fuzzEnv) close(tb testing.TB) {
	tb.Helper()
	if err := e.ctl.Close(); err != nil {
		tb.Fatalf("closing the Control: %v", err)
	}
}

// fuzzNoNetwork answers every callback at once with 204 and sends nothing: fuzz
// inputs stay off the network, and their coverage does not depend on how a
// name resolves or how fast a connection fails.
var fuzzNoNetwork = &http.Client{Transport: fuzzRoundTrip(func(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
})}

type fuzzRoundTrip func(*http.Request) (*http.Response, error)

func (f fuzzRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fuzzReq is one request of a fuzz input.
type fuzzReq struct {
	method, target string
	body           []byte
	acct           *sim.Account // nil: no credentials
	token          string       // overrides acct's auth token if not empty
	contentType    string
	https          bool
}

// fuzzServe sends req to h the way net/http's server would hand it over: the
// request line is parsed by http.ReadRequest, and a target the server would
// refuse before any handler runs reports ok=false. A request that does not
// finish within fuzzHang fails the test.
func fuzzServe(tb testing.TB, h http.Handler, req fuzzReq) (rec *httptest.ResponseRecorder, ok bool) {
	tb.Helper()
	target := req.target
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if strings.ContainsAny(target, " \r\n") {
		return nil, false
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
		req.method + " " + target + " HTTP/1.1\r\nHost: " + fuzzHost + "\r\n\r\n")))
	if err != nil {
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(req.body))
	r.ContentLength = int64(len(req.body))
	r.RemoteAddr = "192.0.2.1:40000"
	ct := req.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded"
	}
	r.Header.Set("Content-Type", ct)
	if req.https {
		r.Header.Set("X-Forwarded-Proto", "https")
	}
	if req.acct != nil {
		tok := req.acct.AuthToken
		if req.token != "" {
			tok = req.token
		}
		r.SetBasicAuth(req.acct.Sid, tok)
	}
	rec = httptest.NewRecorder()
	fuzzWithin(tb, fmt.Sprintf("%s %q %q", req.method, target, fuzzClip(req.body)), func() { h.ServeHTTP(rec, r) })
	return rec, true
}

// fuzzWithin runs fn and fails the test if it does not return within
// fuzzHang: a hang or a deadlock.
func fuzzWithin(tb testing.TB, what string, fn func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(fuzzHang):
		tb.Fatalf("%s: not done within %v (hang or deadlock)", what, fuzzHang)
	}
}

// advance moves e's virtual clock, running the timers that fall due.
func (e *fuzzEnv) advance(tb testing.TB, d time.Duration) {
	tb.Helper()
	fuzzWithin(tb, "advancing the clock "+d.String(), func() { e.clock.Advance(d) })
}

// fuzzCheck asserts the wire rules every answer keeps: no 5xx, a JSON
// body (none for 204), and Twilio's error body on 4xx.
func fuzzCheck(tb testing.TB, req fuzzReq, rec *httptest.ResponseRecorder) {
	tb.Helper()
	body := rec.Body.Bytes()
	where := fmt.Sprintf("%s %q body %q → %d %s", req.method, req.target, fuzzClip(req.body), rec.Code, fuzzClip(body))
	if rec.Code >= 500 || rec.Code < 200 {
		tb.Fatalf("%s: status %d", where, rec.Code)
	}
	if rec.Code == http.StatusNoContent {
		if len(body) != 0 {
			tb.Fatalf("%s: 204 with a body", where)
		}
		return
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("%s: Content-Type %q, want application/json", where, ct)
	}
	if !json.Valid(body) {
		tb.Fatalf("%s: body is not valid JSON", where)
	}
	if rec.Code < 400 {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var e map[string]any
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("%s: error body is not a JSON object: %v", where, err)
	}
	code, ok := e["code"].(json.Number)
	if _, err := code.Int64(); !ok || err != nil {
		tb.Fatalf("%s: code %v is not an integer", where, e["code"])
	}
	if _, ok := e["message"].(string); !ok {
		tb.Fatalf("%s: message %v is not a string", where, e["message"])
	}
	if mi, ok := e["more_info"].(string); !ok || mi != "https://www.twilio.com/docs/errors/"+code.String() {
		tb.Fatalf("%s: more_info %v does not lead to error %s", where, e["more_info"], code)
	}
	if st, ok := e["status"].(json.Number); !ok || st.String() != strconv.Itoa(rec.Code) {
		tb.Fatalf("%s: status %v in the body, %d on the wire", where, e["status"], rec.Code)
	}
}

func fuzzClip(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + fmt.Sprintf("…(%d bytes)", len(b))
	}
	return string(b)
}

// checkDurable opens a second Control on e's store and requires it to show
// exactly what the live one shows: every change the API acknowledged is in
// the store, and nothing the store holds differs from what clients saw.
func (e *fuzzEnv) checkDurable(tb testing.TB) {
	tb.Helper()
	ctl2, err := sim.New(context.Background(), e.store, sim.WithClock(e.clock), sim.WithCards("fuzz", 5))
	if err != nil {
		tb.Fatalf("reloading the store: %v", err)
	}
	defer func() {
		if err := ctl2.Close(); err != nil {
			tb.Fatalf("closing the reloaded Control: %v", err)
		}
	}()
	h2 := New(ctl2)
	live := fuzzSnapshot(tb, e.h, e.ctl.Accounts())
	// The reloaded side answers the very requests the live side was asked,
	// plus those its own lists lead to.
	reloaded := fuzzSnapshot(tb, h2, e.ctl.Accounts())
	for _, k := range slices.Sorted(fuzzKeys(live, reloaded)) {
		if live[k] != reloaded[k] {
			tb.Fatalf("state lost or changed by a reload: %s\n live:     %s\n reloaded: %s", k, live[k], reloaded[k])
		}
	}
	// The network side: every registered card is still known by ICCID.
	for _, s := range ctl2.Cards() {
		if s.SimSid == "" {
			continue
		}
		c1, ok1 := e.ctl.CardByICCID(s.ICCID)
		c2, ok2 := ctl2.CardByICCID(s.ICCID)
		if ok1 != ok2 || c1 != c2 {
			tb.Fatalf("card %s: live %v %+v, reloaded %v %+v", s.ICCID, ok1, c1, ok2, c2)
		}
	}
	for _, a := range e.ctl.Accounts() {
		sims, _ := e.ctl.ListSims(a, sim.SimFilter{})
		for _, s := range sims {
			c1, ok1 := e.ctl.CardByICCID(s.ICCID)
			c2, ok2 := ctl2.CardByICCID(s.ICCID)
			if ok1 != ok2 || c1 != c2 {
				tb.Fatalf("Sim %s ICCID %s: card live %v %+v, reloaded %v %+v", s.Sid, s.ICCID, ok1, c1, ok2, c2)
			}
		}
	}
}

func fuzzKeys(ms ...map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		seen := map[string]bool{}
		for _, m := range ms {
			for k := range m {
				if !seen[k] {
					seen[k] = true
					if !yield(k) {
						return
					}
				}
			}
		}
	}
}

// fuzzSnapshot reads, as every account, the lists and resources the API shows:
// "account path" → "status body".
func fuzzSnapshot(tb testing.TB, h http.Handler, accounts []*sim.Account) map[string]string {
	tb.Helper()
	out := map[string]string{}
	get := func(a *sim.Account, path string) []byte {
		req := fuzzReq{method: http.MethodGet, target: path, acct: a}
		rec, ok := fuzzServe(tb, h, req)
		if !ok {
			tb.Fatalf("fuzzSnapshot request %q does not parse", path)
		}
		fuzzCheck(tb, req, rec)
		out[a.Sid+" "+path] = strconv.Itoa(rec.Code) + " " + rec.Body.String()
		return rec.Body.Bytes()
	}
	type item struct {
		Sid        string  `json:"sid"`
		UniqueName *string `json:"unique_name"`
	}
	list := func(a *sim.Account, path, key string) []item {
		var page map[string]json.RawMessage
		_ = json.Unmarshal(get(a, path+"?PageSize=1000"), &page)
		var items []item
		_ = json.Unmarshal(page[key], &items)
		return items
	}
	for _, a := range accounts {
		if a.IsMain() {
			get(a, "/_fleetsim/v1/Accounts")
			get(a, "/_fleetsim/v1/cards")
		}
		for _, s := range list(a, "/v1/Sims", "sims") {
			get(a, "/v1/Sims/"+url.PathEscape(s.Sid))
			get(a, "/v1/Sims/"+url.PathEscape(s.Sid)+"/BillingPeriods")
			if s.UniqueName != nil {
				get(a, "/v1/Sims/"+url.PathEscape(*s.UniqueName))
			}
		}
		for _, f := range list(a, "/v1/Fleets", "fleets") {
			get(a, "/v1/Fleets/"+url.PathEscape(f.Sid))
			if f.UniqueName != nil {
				get(a, "/v1/Fleets/"+url.PathEscape(*f.UniqueName))
			}
		}
		for _, n := range list(a, "/v1/NetworkAccessProfiles", "network_access_profiles") {
			get(a, "/v1/NetworkAccessProfiles/"+url.PathEscape(n.Sid))
			get(a, "/v1/NetworkAccessProfiles/"+url.PathEscape(n.Sid)+"/Networks?PageSize=1000")
			if n.UniqueName != nil {
				get(a, "/v1/NetworkAccessProfiles/"+url.PathEscape(*n.UniqueName))
			}
		}
		for _, p := range []string{"/v1/SmsCommands", "/v1/IpCommands", "/v1/ESimProfiles", "/v1/SettingsUpdates"} {
			get(a, p+"?PageSize=1000")
		}
	}
	return out
}

// FuzzFormRequests sends arbitrary requests, authenticated and form-encoded
// like a Twilio client's, to a Control with a NAP, a Fleet and a registered
// Sim. Placeholders such as {sim} in the path, query and body are replaced by
// real SIDs, so that mutations of the seeds reach real resources.
func FuzzFormRequests(f *testing.F) {
	const (
		get, post, del, head, put, patch, options = 0, 1, 2, 3, 4, 5, 6
	)
	add := func(sel byte, path, body, query string) { f.Add(sel, path, []byte(body), query) }

	// Sims.
	add(get, "/v1/Sims", "", "")
	add(get, "/v1/Sims", "", "Status=active&Fleet={fleet}&Iccid={iccid0}")
	add(get, "/v1/Sims", "", "Status=scheduled&PageSize=1")
	add(get, "/v1/Sims", "", "Status=bogus")
	add(get, "/v1/Sims", "", "Fleet=nope&PageSize=0")
	add(get, "/v1/Sims/{sim}", "", "")
	add(get, "/v1/Sims/fuzz-sim", "", "")
	add(get|selSub, "/v1/Sims/{sim}", "", "")
	add(get, "/v1/Sims/HS00000000000000000000000000000000", "", "")
	add(get, "/v1/Sims/{sim}/BillingPeriods", "", "PageSize=5")
	add(get, "/v1/Sims/{sim}/IpAddresses", "", "")
	add(post, "/v1/Sims", "Iccid={iccid1}&RegistrationCode={code1}", "")
	add(post|selSub, "/v1/Sims", "Iccid={iccid2}&RegistrationCode={code2}", "")
	add(post, "/v1/Sims", "Iccid={iccid0}&RegistrationCode=0000000000", "")
	add(post, "/v1/Sims", "Iccid=", "")
	add(post, "/v1/Sims/{sim}", "Status=ready", "")
	add(post|selAdvance, "/v1/Sims/{sim}", "Status=active&Fleet={fleet}&CallbackMethod=get", "")
	add(post|selAdvance, "/v1/Sims/fuzz-sim", "Status=inactive", "")
	add(post, "/v1/Sims/{sim}", "Status=scheduled", "")
	add(post, "/v1/Sims/{sim}", "Fleet=", "")
	add(post, "/v1/Sims/{sim}", "Fleet=fuzz-fleet&UniqueName=renamed", "")
	add(post, "/v1/Sims/{sim}", "UniqueName=%FF%FE", "")
	add(post, "/v1/Sims/{sim}", "UniqueName="+strings.Repeat("n", 65), "")
	add(post, "/v1/Sims/{sim}", "UniqueName=HS0123456789abcdef0123456789abcdef", "")
	add(post, "/v1/Sims/{sim}", "UniqueName=%E6%97%A5%E6%9C%AC%E8%AA%9E%00", "")
	add(post, "/v1/Sims/{sim}", "AccountSid={sub}&Fleet=", "")
	add(post, "/v1/Sims/{sim}", "AccountSid=", "")
	add(post, "/v1/Sims/{sim}", "CallbackUrl=http://callback.invalid/x&CallbackMethod=PUT", "")
	add(post, "/v1/Sims/{sim}", "CallbackUrl=%zz", "")
	// Fleets.
	add(get, "/v1/Fleets", "", "NetworkAccessProfile={nap}")
	add(get, "/v1/Fleets", "", "NetworkAccessProfile=fuzz-nap&PageSize=1&Page=1")
	add(get, "/v1/Fleets/{fleet}", "", "")
	add(get, "/v1/Fleets/fuzz-fleet", "", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=1", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=2000000&UniqueName=big", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=2000001", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=0", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=-5", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=99999999999999999999999", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=+%2042%0A", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=1e3", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=0x10", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataEnabled=TRUE&SmsCommandsEnabled=False", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataEnabled=yes", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&IpCommandsUrl=ftp://x&IpCommandsMethod=get", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&SmsCommandsUrl=https://cb.invalid/sms&SmsCommandsMethod=DELETE", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile=&UniqueName=x", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile=fuzz-nap&UniqueName=fuzz-fleet", "")
	add(post, "/v1/Fleets/{fleet}", "DataLimit=500&NetworkAccessProfile=fuzz-nap", "")
	add(post, "/v1/Fleets/fuzz-fleet", "NetworkAccessProfile=nope", "")
	add(post, "/v1/Fleets/{fleet}", "UniqueName=", "")
	// Network Access Profiles and their Networks.
	add(get, "/v1/NetworkAccessProfiles", "", "")
	add(get, "/v1/NetworkAccessProfiles/fuzz-nap", "", "")
	add(post, "/v1/NetworkAccessProfiles", "UniqueName=second&Networks={net}&Networks={net2}&Networks={net}", "")
	add(post, "/v1/NetworkAccessProfiles", "UniqueName=fuzz-nap", "")
	add(post, "/v1/NetworkAccessProfiles", "Networks=HW0000", "")
	add(post, "/v1/NetworkAccessProfiles/{nap}", "UniqueName=renamed-nap", "")
	add(get, "/v1/NetworkAccessProfiles/{nap}/Networks", "", "PageSize=1")
	add(get, "/v1/NetworkAccessProfiles/{nap}/Networks/{net}", "", "")
	add(post, "/v1/NetworkAccessProfiles/{nap}/Networks", "Network={net2}", "")
	add(post, "/v1/NetworkAccessProfiles/{nap}/Networks", "Network={net}", "")
	add(post, "/v1/NetworkAccessProfiles/fuzz-nap/Networks", "Network=", "")
	add(del, "/v1/NetworkAccessProfiles/{nap}/Networks/{net}", "", "")
	add(del, "/v1/NetworkAccessProfiles/{nap}/Networks/{net2}", "", "")
	// The Networks catalog.
	add(get, "/v1/Networks", "", "PageSize=50")
	add(get, "/v1/Networks", "", "IsoCountry=us&PageSize=2&Page=1&PageToken=PA2")
	add(get, "/v1/Networks", "", "Mcc=310&Mnc=410")
	add(get, "/v1/Networks/{net}", "", "")
	add(get, "/v1/Networks/HW00000000000000000000000000000000", "", "")
	// Usage.
	add(get, "/v1/UsageRecords", "", "")
	add(get, "/v1/UsageRecords", "", "StartTime=2026-01-01T00:00:00Z&EndTime=2026-01-15T00:00:00Z&Granularity=day&Group=sim")
	add(get, "/v1/UsageRecords", "", "StartTime=2026-01-14T00:00:00Z&EndTime=2026-01-15T00:00:00Z&Granularity=hour&Group=network")
	add(get, "/v1/UsageRecords", "", "StartTime=2026-01-14&EndTime=2026-01-15&Granularity=all&Group=isoCountry&IsoCountry=US")
	add(get, "/v1/UsageRecords", "", "StartTime=2026-01-14T10:30:00%2B05:30&Granularity=hour")
	add(get, "/v1/UsageRecords", "", "StartTime=2026-01-14T10:00:00.123456789-0800&Sim={sim}&Fleet={fleet}")
	add(get, "/v1/UsageRecords", "", "StartTime=0000-01-01T00:00:00Z&EndTime=9999-12-31T23:59:59Z")
	add(get, "/v1/UsageRecords", "", "StartTime=9999-12-31T23:59:59Z")
	add(get, "/v1/UsageRecords", "", "EndTime=2024-02-30T00:00:00Z")
	add(get, "/v1/UsageRecords", "", "StartTime=yesterday&Granularity=minute&Group=bogus")
	// Commands, eSIM profiles, settings updates.
	add(post, "/v1/SmsCommands", "Sim={sim}&Payload=hello", "")
	add(post, "/v1/SmsCommands", "Sim=fuzz-sim&Payload="+strings.Repeat("%E2%82%AC", 161), "")
	add(get, "/v1/SmsCommands", "", "Sim={sim}&Status=queued&Direction=to_sim")
	add(post, "/v1/IpCommands", "Sim={sim}&Payload=aGk=&PayloadType=binary&DevicePort=6000", "")
	add(post, "/v1/IpCommands", "Sim={sim}&Payload=hi&DevicePort=99999999999999999999", "")
	add(post, "/v1/IpCommands", "Sim={sim}&Payload=%25zz&PayloadType=binary&DevicePort=1", "")
	add(get, "/v1/IpCommands", "", "SimIccid={iccid0}")
	add(post|selAdvance, "/v1/ESimProfiles", "GenerateMatchingId=true&CallbackUrl=https://cb.invalid/", "")
	add(post, "/v1/ESimProfiles", "Eid=89049032000000000000000000000000&GenerateMatchingId=maybe", "")
	add(get, "/v1/ESimProfiles", "", "Status=available")
	add(get, "/v1/SettingsUpdates", "", "Sim={iccid0}&Status=successful")
	// The simulator's own endpoints and the 2010 Accounts API.
	add(get, "/_fleetsim/v1/cards", "", "")
	add(get|selSub, "/_fleetsim/v1/cards", "", "")
	add(get, "/_fleetsim/v1/Accounts", "", "")
	add(post, "/_fleetsim/v1/Accounts", "FriendlyName=another", "")
	add(post, "/_fleetsim/v1/Accounts", "FriendlyName="+strings.Repeat("x", 65), "")
	add(post, "/2010-04-01/Accounts.json", "FriendlyName=via-2010", "")
	add(get, "/2010-04-01/Accounts/{sub}.json", "", "")
	add(get, "/healthz", "", "")
	// Paging.
	add(get, "/v1/Fleets", "", "PageSize=1000")
	add(get, "/v1/Fleets", "", "PageSize=1001")
	add(get, "/v1/Fleets", "", "PageSize=-1&Page=-1")
	add(get, "/v1/Sims", "", "PageToken=PA0")
	add(get, "/v1/Sims", "", "PageToken=PB99999999999999999999")
	add(get, "/v1/Sims", "", "PageToken=PAx&Page=abc")
	add(get, "/v1/Networks", "", "PageSize=2&Page=9223372036854775807")
	add(get, "/v1/Networks", "", "PageSize=1000&Page=9223372036854775")
	add(get, "/v1/Networks", "", "PageSize=3&PageToken=PB9223372036854775807")
	// Garbage, methods, authentication.
	add(post, "/v1/Fleets", "%zz", "")
	add(post, "/v1/Fleets", "a=%&b", "%zz=1")
	add(post, "/v1/Sims/{sim}", "\x00\x01\x02\xff=\xfe", "")
	add(post, "/v1/Sims/{sim}", "Status=active;Fleet=x", "")
	add(post, "/v1/Fleets", "NetworkAccessProfile={nap}&DataLimit=1", "DataLimit=2")
	add(post|selTextPlain, "/v1/Fleets", "NetworkAccessProfile={nap}", "")
	add(post, "/v1/Fleets", strings.Repeat("a", MaxBodyBytes+1), "")
	add(get|selBadAuth, "/v1/Sims", "", "")
	add(get|selHTTPS, "/v1/Sims", "", "PageSize=1")
	add(put, "/v1/Sims", "", "")
	add(patch, "/v1/Fleets/{fleet}", "DataLimit=5", "")
	add(options, "/v1/NetworkAccessProfiles", "", "")
	add(head, "/v1/Sims/{sim}", "", "")
	add(del, "/v1/Sims/{sim}", "", "")
	add(get, "/v1/Sims/%00", "", "")
	add(get, "/v1/Sims/%zz", "", "")
	add(get, "/v1//Sims", "", "")
	add(post, "/v1/Sims/../Fleets", "NetworkAccessProfile={nap}", "")
	add(get, "/v1/Sims/{sim}/", "", "")
	add(get, "/v1/Sims/日本語", "", "")
	add(get, "/v1/Fleets/%2Fx", "", "")
	add(get, "/nope", "", "")

	e := newFuzzEnv(f)
	f.Cleanup(func() { e.close(f) })
	f.Fuzz(func(t *testing.T, sel byte, path string, body []byte, query string) {
		if e.n >= fuzzEnvRequests {
			e.close(t)
			e = newFuzzEnv(t)
		}
		e.n++
		if sel&selAdvance != 0 {
			e.advance(t, 5*time.Second)
		}
		target := e.vars.Replace(path)
		if query != "" {
			target += "?" + e.vars.Replace(query)
		}
		req := fuzzReq{
			method: fuzzMethods[sel&7], target: target, body: []byte(e.vars.Replace(string(body))),
			acct: e.main, https: sel&selHTTPS != 0,
		}
		if sel&selSub != 0 {
			req.acct = e.sub
		}
		if sel&selBadAuth != 0 {
			req.token = "0123456789abcdef0123456789abcdef"
		}
		if sel&selTextPlain != 0 {
			req.contentType = "text/plain"
		}
		e.log.Reset()
		rec, ok := fuzzServe(t, e.h, req)
		if !ok {
			return // net/http refuses the request line before any handler runs
		}
		if e.log.Len() > 0 {
			t.Logf("API log: %s", e.log)
		}
		fuzzCheck(t, req, rec)
		if req.method != http.MethodGet && req.method != http.MethodHead || sel&selAdvance != 0 {
			e.checkDurable(t)
		}
	})
}

// FuzzDurability runs a script of requests on a fresh Control and, after
// every step that may change state, requires a Control reloaded from the
// store to show what the live one shows. A script is one request a line:
//
//	METHOD[@sub] TARGET [BODY]
//
// where METHOD is GET, POST or DELETE, @sub acts as the subaccount, and
// "ADVANCE <duration>" moves the virtual clock, firing due timers.
func FuzzDurability(f *testing.F) {
	f.Add("POST /v1/Sims Iccid={iccid1}&RegistrationCode={code1}\n" +
		"POST /v1/Sims/{iccid1} Fleet=fuzz-fleet\n" +
		"GET /v1/Sims?Iccid={iccid1}\n" +
		"POST /v1/Sims/{sim} Status=active\n" +
		"ADVANCE 4s\n" +
		"POST /v1/Sims/{sim} Status=inactive&CallbackUrl=https://cb.invalid/\n" +
		"ADVANCE 4s\n" +
		"POST /v1/Sims/{sim} AccountSid={sub}&Fleet=\n" +
		"GET@sub /v1/Sims\n")
	f.Add("POST /v1/Sims/{sim} Status=ready\n" +
		"POST /v1/Sims/{sim} Status=ready\n" +
		"ADVANCE 3s\n" +
		"ADVANCE 2200h\n" +
		"GET /v1/Sims/{sim}/BillingPeriods\n")
	f.Add("POST /v1/NetworkAccessProfiles UniqueName=n2&Networks={net}&Networks={net2}\n" +
		"POST /v1/NetworkAccessProfiles/n2/Networks Network={net2}\n" +
		"DELETE /v1/NetworkAccessProfiles/n2/Networks/{net}\n" +
		"POST /v1/NetworkAccessProfiles/{nap}/Networks Network={net2}\n" +
		"POST /v1/Fleets/{fleet} NetworkAccessProfile=n2&DataLimit=5&UniqueName=f2\n" +
		"POST /v1/Fleets/{fleet} DataLimit=7\n" +
		"ADVANCE 10m\n" +
		"POST /v1/Fleets NetworkAccessProfile={nap}&UniqueName=fuzz-fleet\n")
	f.Add("POST /v1/Sims/{sim} UniqueName=a\n" +
		"POST /v1/Sims Iccid={iccid1}&RegistrationCode={code1}\n" +
		"POST /v1/Sims/{iccid1} UniqueName=a\n" +
		"POST /v1/Sims/{sim} UniqueName=b\n" +
		"POST /v1/Sims/{sim} UniqueName=%FF\n" +
		"POST /v1/Fleets/{fleet} UniqueName=%E2%82\n" +
		"POST /v1/NetworkAccessProfiles/{nap} UniqueName=%C0%AF\n")
	f.Add("POST /v1/ESimProfiles GenerateMatchingId=true\n" +
		"ADVANCE 3s\n" +
		"POST /v1/ESimProfiles Eid=89049032000000000000000000000001\n" +
		"ADVANCE 1s\n" +
		"GET /v1/ESimProfiles\n")
	f.Add("POST /v1/SmsCommands Sim={sim}&Payload=hi\n" +
		"POST /v1/IpCommands Sim=fuzz-sim&Payload=hi&DevicePort=5000\n" +
		"POST /_fleetsim/v1/Accounts FriendlyName=third\n" +
		"POST@sub /v1/NetworkAccessProfiles UniqueName=fuzz-nap\n" +
		"POST@sub /v1/Sims Iccid={iccid2}&RegistrationCode={code2}\n" +
		"POST /v1/Sims/{iccid2} Status=active\n")
	f.Add("POST /v1/Sims/{sim} Status=active\n" +
		"POST /v1/Sims/{sim} Fleet=\n" +
		"POST /v1/Sims/{sim} Status=inactive\n" +
		"ADVANCE 1s\n" +
		"POST /v1/Sims/{sim} Status=active&Fleet={fleet}\n" +
		"ADVANCE 1h\n")

	f.Fuzz(func(t *testing.T, script string) {
		e := newFuzzEnv(t)
		defer e.close(t)
		lines := strings.Split(script, "\n")
		if len(lines) > 24 {
			lines = lines[:24]
		}
		for _, line := range lines {
			verb, rest, _ := strings.Cut(e.vars.Replace(line), " ")
			if verb == "ADVANCE" {
				d, err := time.ParseDuration(rest)
				if err != nil || d < 0 || d > 2*366*24*time.Hour {
					continue
				}
				e.advance(t, d)
				e.checkDurable(t)
				continue
			}
			req := fuzzReq{acct: e.main}
			if m, ok := strings.CutSuffix(verb, "@sub"); ok {
				verb, req.acct = m, e.sub
			}
			if verb != http.MethodGet && verb != http.MethodPost && verb != http.MethodDelete {
				continue
			}
			req.method = verb
			target, body, _ := strings.Cut(rest, " ")
			req.target, req.body = target, []byte(body)
			e.log.Reset()
			rec, ok := fuzzServe(t, e.h, req)
			if !ok {
				continue
			}
			if e.log.Len() > 0 {
				t.Logf("API log: %s", e.log)
			}
			fuzzCheck(t, req, rec)
			if verb != http.MethodGet {
				e.checkDurable(t)
			}
		}
	})
}

// fuzzPageItems is the fixed list FuzzPageToken pages through: positions with
// gaps, as SIDs' sequence numbers have.
var fuzzPageItems = func() []int {
	out := make([]int, 23)
	for i := range out {
		out[i] = i
	}
	return out
}()

func fuzzPageSeq(_ int, v int) int64 { return int64(3*v + 5) }

type fuzzPageBody struct {
	Items []int `json:"items"`
	Meta  meta  `json:"meta"`
}

// fuzzGetPage answers target with writePage over fuzzPageItems.
func fuzzGetPage(t *testing.T, target string) (*httptest.ResponseRecorder, fuzzPageBody) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	rec := httptest.NewRecorder()
	writePage(rec, r, "items", fuzzPageItems, fuzzPageSeq, func(v int) any { return v })
	var b fuzzPageBody
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatalf("%s: %v: %s", target, err, rec.Body)
		}
	}
	return rec, b
}

// FuzzPageToken pages through a fixed list with arbitrary PageSize, Page
// and PageToken values: parseToken and writePage never panic, answer 200 or
// Twilio's 400, and the tokens in next_page_url and previous_page_url lead
// to the items right after and right before the page.
func FuzzPageToken(f *testing.F) {
	for _, s := range [][3]string{
		{"", "", ""}, {"5", "", ""}, {"5", "1", "PA17"}, {"5", "2", "PA20"}, {"5", "1", "PB8"},
		{"1", "0", "PA0"}, {"1000", "", "PB0"}, {"1001", "", ""}, {"0", "", ""}, {"-3", "", ""},
		{"2", "9223372036854775807", ""}, {"2", "9223372036854775807", "PA5"}, {"1000", "9223372036854775", ""}, {"3", "4611686018427387904", ""},
		{"4", "", "PA-1"}, {"4", "", "PA+7"}, {"4", "", "PB9223372036854775807"}, {"4", "", "PA9223372036854775808"},
		{"4", "", "PC5"}, {"4", "", "PA"}, {"4", "", "pa5"}, {"4", "", "PA0x10"}, {"4", "", "PA 5"},
		{"4", "-1", "PB5"}, {" 4", "01", "PA005"}, {"7", "3", "PB1000"}, {"2", "", "PA\x00"}, {"2", "", "PA٣"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, pageSize, page, token string) {
		if after, pos, ok := parseToken(token); ok {
			prefix := "PB"
			if after {
				prefix = "PA"
			}
			if pos < 0 || !strings.HasPrefix(token, prefix) {
				t.Fatalf("parseToken(%q) = %v, %d", token, after, pos)
			}
			if a2, p2, ok2 := parseToken(prefix + strconv.FormatInt(pos, 10)); !ok2 || a2 != after || p2 != pos {
				t.Fatalf("token %q does not round-trip through its canonical form", token)
			}
		}

		q := url.Values{}
		for k, v := range map[string]string{"PageSize": pageSize, "Page": page, "PageToken": token} {
			if v != "" {
				q.Set(k, v)
			}
		}
		target := "http://" + fuzzHost + "/v1/Items?" + q.Encode()
		rec, b := fuzzGetPage(t, target)
		fuzzCheck(t, fuzzReq{method: http.MethodGet, target: target}, rec)
		if rec.Code != http.StatusOK {
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("%s: status %d", target, rec.Code)
			}
			return
		}
		size := b.Meta.PageSize
		if size < 1 || size > MaxPageSize || len(b.Items) > size {
			t.Fatalf("%s: %d items on a page of %d", target, len(b.Items), size)
		}
		for i := 1; i < len(b.Items); i++ {
			if b.Items[i] != b.Items[i-1]+1 {
				t.Fatalf("%s: items %v are not contiguous", target, b.Items)
			}
		}
		if b.Meta.NextPageURL != nil {
			// Only an empty page before every item (a PB token at the
			// start) has a next page: the first items.
			last := -1
			if len(b.Items) > 0 {
				last = b.Items[len(b.Items)-1]
			}
			nu, err := url.Parse(*b.Meta.NextPageURL)
			if err != nil {
				t.Fatalf("%s: next_page_url %q: %v", target, *b.Meta.NextPageURL, err)
			}
			if tok := nu.Query().Get("PageToken"); last >= 0 && tok != "PA"+strconv.FormatInt(fuzzPageSeq(0, last), 10) {
				t.Fatalf("%s: next token %q after item %d", target, tok, last)
			}
			rec2, b2 := fuzzGetPage(t, *b.Meta.NextPageURL)
			if rec2.Code != http.StatusOK || len(b2.Items) == 0 || b2.Items[0] != last+1 {
				t.Fatalf("%s: next page %s gives %d %v, want it to start at %d", target, *b.Meta.NextPageURL, rec2.Code, b2.Items, last+1)
			}
		} else if len(b.Items) > 0 && b.Items[len(b.Items)-1] != fuzzPageItems[len(fuzzPageItems)-1] {
			t.Fatalf("%s: page %v is not the last but has no next page", target, b.Items)
		}
		if b.Meta.PreviousPageURL != nil && len(b.Items) > 0 {
			first := b.Items[0]
			pu, err := url.Parse(*b.Meta.PreviousPageURL)
			if err != nil {
				t.Fatalf("%s: previous_page_url %q: %v", target, *b.Meta.PreviousPageURL, err)
			}
			if tok := pu.Query().Get("PageToken"); tok != "PB"+strconv.FormatInt(fuzzPageSeq(0, first), 10) {
				t.Fatalf("%s: previous token %q before item %d", target, tok, first)
			}
			rec2, b2 := fuzzGetPage(t, *b.Meta.PreviousPageURL)
			want := fuzzPageItems[max(0, first-size):first]
			if rec2.Code != http.StatusOK || !slices.Equal(b2.Items, want) {
				t.Fatalf("%s: previous page %s gives %d %v, want %v", target, *b.Meta.PreviousPageURL, rec2.Code, b2.Items, want)
			}
		}
		// Following next_page_url from the first page visits every item once.
		var all []int
		next := b.Meta.FirstPageURL
		for range len(fuzzPageItems) + 2 {
			rec, b := fuzzGetPage(t, next)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d", next, rec.Code)
			}
			all = append(all, b.Items...)
			if b.Meta.NextPageURL == nil {
				break
			}
			next = *b.Meta.NextPageURL
		}
		if !slices.Equal(all, fuzzPageItems) {
			t.Fatalf("%s: walking the pages of %d gives %v", target, size, all)
		}
	})
}

// FuzzParams decodes one arbitrary value with each typed reader of params.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"", "0", "42", " 42 ", "+7", "-0", "007", "1e3", "0x10", "9223372036854775807", "9223372036854775808",
		"-9223372036854775809", "١٢", "\t5\n", "true", "TRUE", "False", "yes", "1", "falſe", "\u212Arue",
		"2026-01-15T12:00:00Z", "2026-01-15T12:00:00.123456789+05:30", "2026-01-15T12:00:00-0800",
		"2026-01-15", "2026-02-30", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-15T24:00:00Z",
		"2026-01-15T12:00:00+24:00", "2026-1-5", "\x00", "%zz",
	} {
		f.Add(s, int64(1768478400), uint32(0))
	}
	f.Fuzz(func(t *testing.T, v string, unix int64, nanos uint32) {
		p := &params{v: url.Values{"X": {v}}}
		if p.opt("Y") != nil || p.optInt("Y") != nil || p.optBool("Y") != nil || p.optTime("Y") != nil || p.err != nil {
			t.Fatal("an absent parameter must read as nil without an error")
		}
		if got := p.opt("X"); got == nil || *got != v {
			t.Fatalf("opt(%q) = %v", v, got)
		}

		n := p.optInt("X")
		want, err := strconv.Atoi(strings.TrimSpace(v))
		if (n != nil) != (err == nil) || n != nil && *n != want || (p.err != nil) != (err != nil) {
			t.Fatalf("optInt(%q) = %v, err %v; strconv.Atoi after TrimSpace: %d, %v", v, n, p.err, want, err)
		}
		fuzzCheckParamErr(t, p.err)

		p = &params{v: url.Values{"X": {v}}}
		b := p.optBool("X")
		isTrue, isFalse := fuzzASCIIFold(v, "true"), fuzzASCIIFold(v, "false")
		if (b != nil) != (isTrue || isFalse) || b != nil && *b != isTrue || (p.err != nil) != (b == nil) {
			t.Fatalf("optBool(%q) = %v, err %v", v, b, p.err)
		}
		fuzzCheckParamErr(t, p.err)

		p = &params{v: url.Values{"X": {v}}}
		tm := p.optTime("X")
		if (tm != nil) == (p.err != nil) {
			t.Fatalf("optTime(%q) = %v, err %v", v, tm, p.err)
		}
		fuzzCheckParamErr(t, p.err)
		if tm != nil {
			back := (&params{v: url.Values{"X": {tm.Format(time.RFC3339Nano)}}}).optTime("X")
			if back == nil || !back.Equal(*tm) {
				t.Fatalf("optTime(%q) = %v does not round-trip: %v", v, tm, back)
			}
		}

		// Every RFC 3339 time of years 0000-9999 is accepted as is, and a
		// date as its UTC midnight.
		const span = 315569520000 // seconds from 0000-01-01 to 10000-01-01
		sec := unix % span
		if sec < 0 {
			sec += span
		}
		at := time.Unix(sec-62167219200, int64(nanos%1e9)).UTC()
		for _, s := range []string{at.Format(time.RFC3339Nano), at.Format(time.RFC3339)} {
			got := (&params{v: url.Values{"X": {s}}}).optTime("X")
			if wantT, _ := time.Parse(time.RFC3339Nano, s); got == nil || !got.Equal(wantT) {
				t.Fatalf("optTime(%q) = %v, want %v", s, got, wantT)
			}
		}
		day := at.Format("2006-01-02")
		if got := (&params{v: url.Values{"X": {day}}}).optTime("X"); got == nil || got.Format(time.RFC3339Nano) != day+"T00:00:00Z" {
			t.Fatalf("optTime(%q) = %v", day, got)
		}

		// The first problem is the one reported.
		p = &params{v: url.Values{"A": {"x"}, "B": {"y"}}}
		p.optInt("A")
		p.optBool("B")
		if p.err == nil || !strings.HasPrefix(p.err.(*sim.Error).Message, "A ") {
			t.Fatalf("first problem lost: %v", p.err)
		}
	})
}

func fuzzASCIIFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func fuzzCheckParamErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	e, ok := err.(*sim.Error)
	if !ok || e.Status != http.StatusBadRequest || e.Code != sim.CodeInvalidParameter || !strings.HasPrefix(e.Message, "X ") {
		t.Fatalf("parameter error %#v", err)
	}
}
