package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/console"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

// envWait bounds every wait of these tests.
const envWait = 20 * time.Second

// env is `fleetsim serve` in miniature: a control plane, a fleet of modems
// on PTYs and the API with the modem controls and the console, on a
// loopback port. The main account has three SIMs in Fleet "trackers" with
// a 1 MB limit, the first of them over it; a subaccount has one SIM in a
// Fleet of its own; the last modem's card is not registered.
type env struct {
	ctl      *sim.Control
	fleet    *modem.Fleet
	srv      *httptest.Server
	main     *sim.Account
	sub      *sim.Account
	sims     []*sim.Sim // by modem; nil for the unregistered card
	families []string   // by modem
	cons     *console.Server
}

// envFamilies: modem i's module family.
var envFamilies = []string{"bg96", "bg96", "sim7080", "sara-r4", "bg96"}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("console", len(envFamilies)), sim.WithUpdateDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	e := &env{ctl: ctl, main: ctl.MainAccount(), families: envFamilies}
	if e.sub, err = ctl.CreateSubaccount(ctx, "Tenant B"); err != nil {
		t.Fatal(err)
	}
	gb := ctl.Catalog().InCountry("GB")
	sids := make([]string, len(gb))
	for i, nw := range gb {
		sids[i] = nw.Sid
	}
	fleetOf := func(a *sim.Account, name string) *sim.Fleet {
		nap, err := ctl.CreateNAP(ctx, a, nil, sids)
		if err != nil {
			t.Fatal(err)
		}
		limit, on := 1, true
		f, err := ctl.CreateFleet(ctx, a, sim.FleetParams{NetworkAccessProfile: &nap.Sid, UniqueName: &name, DataLimit: &limit, DataEnabled: &on})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	trackers, tenant := fleetOf(e.main, "trackers"), fleetOf(e.sub, "tenant-b")
	cards := ctl.Cards()
	e.sims = make([]*sim.Sim, len(cards))
	for i, c := range cards[:4] {
		a, f := e.main, trackers
		if i == 3 {
			a, f = e.sub, tenant
		}
		s, err := ctl.RegisterSim(ctx, a, c.ICCID, c.RegistrationCode)
		if err != nil {
			t.Fatal(err)
		}
		e.sims[i] = activate(t, ctl, a, s.Sid, f.Sid)
	}
	vf, _ := ctl.Catalog().ByPLMN(gb[0].Identifiers[0])
	if err := ctl.RecordUsage(ctx, sim.UsageReport{ICCID: cards[0].ICCID, PLMN: vf.Identifiers[0], Download: 2 << 20}); err != nil {
		t.Fatal(err)
	}

	profiles := make([]modem.Profile, len(envFamilies))
	for i, name := range envFamilies {
		if profiles[i], err = modem.ProfileByName(name); err != nil {
			t.Fatal(err)
		}
	}
	simCards := make([]sim.Card, len(cards))
	for i, c := range cards {
		simCards[i] = c.Card
	}
	timing := modem.DefaultTiming
	timing.Boot, timing.Scan, timing.Attach, timing.Data = 20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond, 10*time.Millisecond
	e.fleet, err = modem.StartFleet(ctx, modem.FleetConfig{
		Cards: simCards, Core: ctl, World: modem.NewWorld(ctl.Catalog()), Profiles: profiles, Country: "GB", Timing: timing,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.fleet.Close() })

	// Wired as cmd/fleetsim wires serve.
	controls := e.fleet.Handler("/_fleetsim/v1/")
	opts := []api.Option{
		api.WithExtension(api.Extension{Pattern: "/_fleetsim/v1/modems/", Handler: controls}),
		api.WithExtension(api.Extension{Pattern: "/_fleetsim/v1/networks/", Handler: controls}),
	}
	e.cons = console.New(ctl, e.fleet)
	for _, x := range e.cons.Extensions() {
		opts = append(opts, api.WithExtension(x))
	}
	e.srv = httptest.NewUnstartedServer(api.New(ctl, opts...))
	e.srv.Config.RegisterOnShutdown(func() { e.cons.Close() })
	e.srv.Start()
	t.Cleanup(func() { e.cons.Close(); e.srv.Close() })
	return e
}

// activate moves a Sim to active in a Fleet and waits for the update.
func activate(t *testing.T, ctl *sim.Control, a *sim.Account, sid, fleet string) *sim.Sim {
	t.Helper()
	active := "active"
	if _, _, err := ctl.UpdateSim(context.Background(), a, sid, sim.SimParams{Status: &active, Fleet: &fleet}); err != nil {
		t.Fatal(err)
	}
	var s *sim.Sim
	eventually(t, "the Sim to become active", func() bool {
		var err error
		s, err = ctl.Sim(a, sid)
		return err == nil && s.Pending == nil && s.Status == sim.StatusActive
	})
	return s
}

// eventually waits for cond, checking it each time the clock ticks a
// millisecond, for at most envWait.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(envWait)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", envWait, what)
		}
		<-tick.C
	}
}

// settled waits until the registered modems are roaming on a network and
// the unregistered one has been denied.
func (e *env) settled(t *testing.T) {
	t.Helper()
	eventually(t, "the modems to register", func() bool {
		for i, m := range e.fleet.Modems() {
			st := m.Status()
			if want := map[bool]string{true: "roaming", false: "denied"}[e.sims[i] != nil]; st.RegName != want {
				return false
			}
		}
		return true
	})
}

// get fetches a console URL as account a and decodes its JSON.
func (e *env) get(t *testing.T, a *sim.Account, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.SetBasicAuth(a.Sid, a.AuthToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

func (e *env) post(t *testing.T, a *sim.Account, path string, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(a.Sid, a.AuthToken)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// openHost opens modem i's main PTY as a host does, and reads (and drops)
// what the modem writes until the test ends.
func (e *env) openHost(t *testing.T, i int) *os.File {
	t.Helper()
	f, err := os.OpenFile(e.fleet.PTYPath(i), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { f.Close(); <-done })
	return f
}
