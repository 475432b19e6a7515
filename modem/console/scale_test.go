package console_test

// The console with 4,000 modems. A PTY per modem (two for a BG96) would
// pass the machine's PTY limit (/proc/sys/kernel/pty/max, 4096 here), so
// these modems run in process, linked to a host that drops their output,
// on a virtual clock.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/console"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

const scaleModems = 4000

// Bounds the fleet view must keep with 4,000 modems, generous enough for
// -race on a shared machine (without it the view takes a few ms).
const (
	// scaleJSONRatio bounds GET /console/api/fleet (counts and a page of
	// 100) against GET /healthz on the same server in the same run: the
	// machine's load scales both, a linear-per-request regression does not.
	scaleJSONRatio = 400
)

// inProcess is a fleet of modems linked in process: console.Modems
// without PTYs.
type inProcess struct {
	modems []*modem.Modem
	world  *modem.World
}

func (f *inProcess) Modems() []*modem.Modem     { return f.modems }
func (f *inProcess) Ports(int) []modem.PortInfo { return nil }
func (f *inProcess) World() *modem.World        { return f.world }
func (f *inProcess) close(links []*modem.Link, hub *modem.Hub) {
	for _, l := range links {
		l.Close()
	}
	hub.Close()
	for _, m := range f.modems {
		m.Close()
	}
}

// scaleEnv serves the console of 4,000 modems of five families, every
// SIM active in one Fleet and every tenth over its data limit.
func scaleEnv(tb testing.TB) (*httptest.Server, *sim.Account) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	clk := vclock.New(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("scale", scaleModems), sim.WithClock(clk))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ctl.Close() })
	main := ctl.MainAccount()
	gb := ctl.Catalog().InCountry("GB")
	sids := make([]string, len(gb))
	for i, nw := range gb {
		sids[i] = nw.Sid
	}
	nap, err := ctl.CreateNAP(ctx, main, nil, sids)
	if err != nil {
		tb.Fatal(err)
	}
	limit, on := 1, true
	fl, err := ctl.CreateFleet(ctx, main, sim.FleetParams{NetworkAccessProfile: &nap.Sid, DataLimit: &limit, DataEnabled: &on})
	if err != nil {
		tb.Fatal(err)
	}
	cards := ctl.Cards()
	active := "active"
	for _, c := range cards {
		s, err := ctl.RegisterSim(ctx, main, c.ICCID, c.RegistrationCode)
		if err != nil {
			tb.Fatal(err)
		}
		if _, _, err := ctl.UpdateSim(ctx, main, s.Sid, sim.SimParams{Status: &active, Fleet: &fl.Sid}); err != nil {
			tb.Fatal(err)
		}
	}
	clk.Advance(sim.DefaultUpdateDelay)
	for i := 0; i < len(cards); i += 10 {
		if err := ctl.RecordUsage(ctx, sim.UsageReport{ICCID: cards[i].ICCID, PLMN: gb[0].Identifiers[0], Download: 2 << 20}); err != nil {
			tb.Fatal(err)
		}
	}

	families := []string{"bg96", "bg95", "sim7080", "sara-r4", "sim7000"}
	world := modem.NewWorld(ctl.Catalog())
	hub := modem.NewHub(ctl)
	fleet := &inProcess{world: world}
	links := make([]*modem.Link, len(cards))
	for i, c := range cards {
		p, err := modem.ProfileByName(families[i%len(families)])
		if err != nil {
			tb.Fatal(err)
		}
		m := modem.New(modem.Config{Card: c.Card, IMEI: modem.IMEI(i), Profile: p, Core: ctl, World: world, Clock: clk, Country: "GB", Hub: hub})
		fleet.modems = append(fleet.modems, m)
		links[i] = m.Connect(func([]byte) {})
		m.PowerCycle()
	}
	tb.Cleanup(func() { fleet.close(links, hub) })
	clk.Advance(time.Minute) // boot, scan, attach

	cons := console.New(ctl, fleet)
	opts := []api.Option{}
	for _, x := range cons.Extensions() {
		opts = append(opts, api.WithExtension(x))
	}
	srv := httptest.NewServer(api.New(ctl, opts...))
	tb.Cleanup(func() { cons.Close(); srv.Close() })
	return srv, main
}

// fetchHealth times GET /healthz: the baseline of a request that reads no state.
func fetchHealth(tb testing.TB, srv *httptest.Server) time.Duration {
	tb.Helper()
	start := time.Now()
	resp, err := srv.Client().Get(srv.URL + "/healthz")
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start)
}

func fetchFleet(tb testing.TB, srv *httptest.Server, a *sim.Account, query string) (fleetJSON, time.Duration) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/console/api/fleet"+query, nil)
	req.SetBasicAuth(a.Sid, a.AuthToken)
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var f fleetJSON
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		tb.Fatal(err)
	}
	return f, time.Since(start)
}

// TestConsoleScale: with 4,000 modems the fleet view's JSON (every count,
// one page) is right and costs at most scaleJSONRatio times a bare request
// to the same server, measured in the same run; the browser renders the
// first page and pages to the last. Absolute figures are the benchmark's
// (BenchmarkConsoleFleet4000), never a wall-clock bound here.
func TestConsoleScale(t *testing.T) {
	if testing.Short() {
		t.Skip("4,000 modems: not in -short")
	}
	srv, main := scaleEnv(t)

	f, _ := fetchFleet(t, srv, main, "")
	if f.Total != scaleModems || len(f.Rows) != 100 || f.Blocked != scaleModems/10 {
		t.Fatalf("fleet view: %d modems, %d rows, %d blocked; want %d, 100, %d", f.Total, len(f.Rows), f.Blocked, scaleModems, scaleModems/10)
	}
	if f.ByFamily["sim7000"] != scaleModems/5 || f.ByReg["roaming"] != scaleModems {
		t.Errorf("counts: %v %v", f.ByFamily, f.ByReg)
	}
	var took, base []time.Duration
	for range 15 {
		base = append(base, fetchHealth(t, srv))
		_, d := fetchFleet(t, srv, main, "?offset=3900")
		took = append(took, d)
	}
	slices.Sort(took)
	slices.Sort(base)
	median, baseline := took[len(took)/2], max(base[len(base)/2], time.Microsecond)
	ratio := float64(median) / float64(baseline)
	t.Logf("GET /console/api/fleet with %d modems: median %v (max %v), %.0f× GET /healthz's %v (bound %d×)", scaleModems, median, took[len(took)-1], ratio, baseline, scaleJSONRatio)
	if ratio > scaleJSONRatio {
		t.Errorf("the fleet view takes %.0f× a bare request, over %d×", ratio, scaleJSONRatio)
	}

	// First paint in the browser, then the last page.
	ctx := browser(t, main)
	start := time.Now()
	run(t, ctx, "loading the console", chromedp.Navigate(srv.URL+"/console/"))
	until(t, ctx, "the first page of the fleet", `document.body.dataset.loaded === "true" && document.querySelectorAll("#modems tbody tr").length === 100`)
	t.Logf("the console's first page of %d modems rendered %v after navigation", scaleModems, time.Since(start))
	for range 39 {
		run(t, ctx, "next page", chromedp.Click(chromedp.CSS(`#modems-pager [data-dir="1"]`)))
	}
	until(t, ctx, "the last page", `document.querySelector("#modems tbody tr").dataset.modem === "3900" &&
		document.querySelector("#modems-pager span").textContent === "3901–4000 of 4000"`)
}

// BenchmarkConsoleFleet4000 is GET /console/api/fleet over loopback with
// 4,000 modems.
func BenchmarkConsoleFleet4000(b *testing.B) {
	srv, main := scaleEnv(b)
	b.ResetTimer()
	for b.Loop() {
		fetchFleet(b, srv, main, "")
	}
}
