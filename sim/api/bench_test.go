package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// benchSims is how many SIMs the benchmark account has registered.
const benchSims = 200

// BenchmarkAPI measures the REST API over real HTTP on loopback: one
// keep-alive client, as many parallel requesters as GOMAXPROCS. Every
// sub-benchmark reports req/s; those after the baseline also report
// x-baseline, their ns/op over that of baseline-healthz measured in the same
// run (GET /healthz: no authentication, no state), so that figures from
// different machines and runs compare.
func BenchmarkAPI(b *testing.B) {
	ctx := context.Background()
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("bench", benchSims))
	if err != nil {
		b.Fatal(err)
	}
	main := ctl.MainAccount()
	nets := ctl.Catalog().Networks()
	nap, err := ctl.CreateNAP(ctx, main, nil, []string{nets[0].Sid})
	if err != nil {
		b.Fatal(err)
	}
	fleet, err := ctl.CreateFleet(ctx, main, sim.FleetParams{NetworkAccessProfile: &nap.Sid})
	if err != nil {
		b.Fatal(err)
	}
	var simSid string
	for i, c := range ctl.Cards() {
		s, err := ctl.RegisterSim(ctx, main, c.ICCID, c.RegistrationCode)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			simSid = s.Sid
			if _, _, err := ctl.UpdateSim(ctx, main, s.Sid, sim.SimParams{Fleet: &fleet.Sid}); err != nil {
				b.Fatal(err)
			}
		}
	}

	srv := httptest.NewServer(New(ctl)) // listens on 127.0.0.1
	transport := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		MaxIdleConns:        4 * runtime.GOMAXPROCS(0),
		MaxIdleConnsPerHost: 4 * runtime.GOMAXPROCS(0),
		IdleConnTimeout:     time.Minute,
	}
	client := &http.Client{Transport: transport}
	b.Cleanup(func() {
		transport.CloseIdleConnections()
		srv.Close()
		if err := ctl.Close(); err != nil {
			b.Error(err)
		}
	})

	// baseline is ns/op of baseline-healthz in this run.
	var baseline float64
	run := func(name, path string, auth bool) func(*testing.B) {
		return func(b *testing.B) {
			// Fail before timing if the request does not answer 200.
			if err := benchGet(client, srv.URL+path, main, auth); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := benchGet(client, srv.URL+path, main, auth); err != nil {
						b.Error(err)
						return
					}
				}
			})
			nsop := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			if name == "baseline-healthz" {
				baseline = nsop // the last, full-length run wins
			} else if baseline > 0 {
				b.ReportMetric(nsop/baseline, "x-baseline")
			}
		}
	}
	benchmarks := []struct {
		name, path string
		auth       bool
	}{
		{"baseline-healthz", "/healthz", false}, // first: the others compare to it
		{"fetch-sim", "/v1/Sims/" + simSid, true},
		{"fetch-fleet", "/v1/Fleets/" + fleet.Sid, true},
		{"list-sims-50", "/v1/Sims?PageSize=50", true},
		{"list-networks-50", "/v1/Networks?PageSize=50", true},
	}
	for _, bm := range benchmarks {
		if !b.Run(bm.name, run(bm.name, bm.path, bm.auth)) {
			break
		}
		if baseline == 0 {
			// -bench left the baseline out: measure it anyway, unreported,
			// so that x-baseline is there.
			baseline = benchBaseline(b, client, srv.URL+"/healthz", time.Second)
		}
	}
}

// benchBaseline measures ns/op of GET url as RunParallel would, with
// GOMAXPROCS requesters for d. (testing.Benchmark cannot run inside a
// benchmark.)
func benchBaseline(b *testing.B, client *http.Client, url string, d time.Duration) float64 {
	var ops atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Since(start) < d {
				if err := benchGet(client, url, nil, false); err != nil {
					b.Error(err)
					return
				}
				ops.Add(1)
			}
		})
	}
	wg.Wait()
	if ops.Load() == 0 {
		return 0
	}
	return float64(time.Since(start).Nanoseconds()) / float64(ops.Load())
}

// benchGet sends one GET and reads the whole answer, so that the keep-alive
// connection is reused.
func benchGet(client *http.Client, url string, acct *sim.Account, auth bool) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if auth {
		req.SetBasicAuth(acct.Sid, acct.AuthToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
