package api

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// BenchmarkWholeFleetPages walks whole-fleet lists 1,000 items a page,
// following next_page_url, as a scenario's usage expectation does:
// ns/page at 10k and 100k SIMs, and beside each list's 10k figure
// x-10k, the 100k ns/page over it. A ratio near 1 means that a page costs
// the same whatever the fleet, so that the whole walk is linear in it;
// near 10 it is quadratic. The handler is called directly (no socket) and
// only its time counts, so the figures are the server's work; ns/op is
// the whole walk, client decoding included.
func BenchmarkWholeFleetPages(b *testing.B) {
	lists := []struct{ name, path string }{
		{"usage-by-sim", "/v1/UsageRecords?Group=sim&Granularity=all&StartTime=2026-03-02T00:00:00Z&EndTime=2026-03-03T00:00:00Z&PageSize=1000"},
		{"sims", "/v1/Sims?PageSize=1000"},
	}
	at10k := map[string]float64{}
	for _, n := range benchFleetSizes {
		srv, main := benchFleet(b, n)
		for _, l := range lists {
			b.Run(l.name+"-"+strconv.Itoa(n/1000)+"k", func(b *testing.B) {
				pages, served := 0, time.Duration(0)
				for b.Loop() {
					p, d := walkPages(b, srv, main, l.path, n)
					pages, served = pages+p, served+d
				}
				ns := float64(served.Nanoseconds()) / float64(pages)
				b.ReportMetric(ns, "ns/page")
				if n == 10_000 {
					at10k[l.name] = ns
				} else if at10k[l.name] > 0 {
					b.ReportMetric(ns/at10k[l.name], "x-10k")
				}
			})
		}
	}
}

var benchFleetSizes = []int{10_000, 100_000}

// walkPages reads every page of a list and returns how many there were
// and the time the server took to answer them; the list must hold want
// items.
func walkPages(b *testing.B, srv http.Handler, acct *sim.Account, path string, want int) (int, time.Duration) {
	pages, items, served := 0, 0, time.Duration(0)
	for next := "http://fleetsim.local" + path; next != ""; pages++ {
		req := httptest.NewRequest(http.MethodGet, next, nil)
		req.SetBasicAuth(acct.Sid, acct.AuthToken)
		rec := httptest.NewRecorder()
		t0 := time.Now()
		srv.ServeHTTP(rec, req)
		served += time.Since(t0)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", next, rec.Code, rec.Body)
		}
		var page struct {
			Meta struct {
				Key         string  `json:"key"`
				NextPageURL *string `json:"next_page_url"`
			} `json:"meta"`
		}
		body := rec.Body.Bytes()
		if err := json.Unmarshal(body, &page); err != nil {
			b.Fatal(err)
		}
		var list map[string]json.RawMessage
		_ = json.Unmarshal(body, &list)
		var its []json.RawMessage
		_ = json.Unmarshal(list[page.Meta.Key], &its)
		items += len(its)
		next = ""
		if page.Meta.NextPageURL != nil {
			next = *page.Meta.NextPageURL
		}
	}
	if items != want {
		b.Fatalf("%s: %d items, want %d", path, items, want)
	}
	return pages, served
}

// benchFleet is a control plane with n active SIMs that each used data
// once, on a virtual clock, behind the API.
func benchFleet(b *testing.B, n int) (http.Handler, *sim.Account) {
	ctx := context.Background()
	clock := vclock.New(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	ctl, err := sim.New(ctx, sim.DiscardStore{}, sim.WithClock(clock), sim.WithCards("pages", n),
		sim.WithRand(rand.NewChaCha8([32]byte{2})), sim.WithUpdateDelay(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ctl.Close() })
	main := ctl.MainAccount()
	nw := ctl.Catalog().Networks()[0]
	nap, err := ctl.CreateNAP(ctx, main, nil, []string{nw.Sid})
	if err != nil {
		b.Fatal(err)
	}
	fleet, err := ctl.CreateFleet(ctx, main, sim.FleetParams{NetworkAccessProfile: &nap.Sid})
	if err != nil {
		b.Fatal(err)
	}
	active := "active"
	cards := ctl.Cards()
	for _, c := range cards {
		s, err := ctl.RegisterSim(ctx, main, c.ICCID, c.RegistrationCode)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ctl.UpdateSim(ctx, main, s.Sid, sim.SimParams{Status: &active, Fleet: &fleet.Sid}); err != nil {
			b.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	for _, c := range cards {
		if err := ctl.RecordUsage(ctx, sim.UsageReport{ICCID: c.ICCID, PLMN: nw.Identifiers[0], Upload: 100, Download: 900}); err != nil {
			b.Fatal(err)
		}
	}
	return New(ctl), main
}
