package api

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/pgstore"
	"github.com/fleetsim/fleetsim/sim/pgstore/pgtest"
	"github.com/fleetsim/fleetsim/sim/sqlstore"
)

// mixedConns is how many keep-alive connections BenchmarkAPIMixed drives
// the API with, each from its own requester.
const mixedConns = 32

// BenchmarkAPIMixed measures the REST API under mixed reads and writes over
// real HTTP on loopback, 32 connections, each requester alternating a write
// (POST /v1/Sims/{sid}: a new UniqueName for its own SIM) with a read
// (GET of its SIM, or a page of 50 Sims every fourth read). It reports req/s
// and the 99th percentile latency (p99-ms) for each store, the baseline first:
// memory (MemStore: no disk at all), then SQLite in WAL mode with
// synchronous=FULL (fsync at every commit, the default) and =NORMAL, and
// one replica on PostgreSQL (a throwaway cluster with fsync off: the figure
// is the replica protocol's, not the disk's; skipped without PostgreSQL).
//
// Client and server share the process and the machine's cores, so the
// requesters are lean HTTP/1.1 clients (one keep-alive connection each,
// requests written from prepared bytes, responses read with
// http.ReadResponse); memory-nethttp is the baseline again driven by
// net/http's Client, as this benchmark first did, to show what that client
// costs. req/s depends on what else runs on the machine; two figures do
// not: cpu-µs/req, the process's CPU time (user and system, client and
// server together) per request, and allocs/op. writes/commit is the
// committer's mean group size: how many acknowledged writes each
// Store.Commit carried.
func BenchmarkAPIMixed(b *testing.B) {
	stores := []struct {
		name    string
		open    func(b *testing.B) sim.Store
		nethttp bool
	}{
		{"memory", func(*testing.B) sim.Store { return sim.NewMemStore() }, false},
		{"memory-nethttp", func(*testing.B) sim.Store { return sim.NewMemStore() }, true},
		{"sqlite-full", func(b *testing.B) sim.Store { return benchSQLite(b, sqlstore.SyncFull) }, false},
		{"sqlite-normal", func(b *testing.B) sim.Store { return benchSQLite(b, sqlstore.SyncNormal) }, false},
		{"postgres", benchPostgres, false},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) { benchMixed(b, st.open(b), st.nethttp) })
	}
}

func benchSQLite(b *testing.B, sync sqlstore.Sync) sim.Store {
	st, err := sqlstore.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"), sqlstore.WithSync(sync))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func benchPostgres(b *testing.B) sim.Store {
	st, err := pgstore.Open(context.Background(), pgtest.New(b).NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// requester sends one request and reads its whole response, failing
// unless the status is 200.
type requester func(method, path string, form url.Values) error

func benchMixed(b *testing.B, store sim.Store, nethttp bool) {
	ctx := context.Background()
	var commits, writes atomic.Int64
	ctl, err := sim.New(ctx, store, sim.WithCards("bench", mixedConns),
		sim.WithCommitObserver(func(_ time.Duration, n int) { commits.Add(1); writes.Add(int64(n)) }))
	if err != nil {
		b.Fatal(err)
	}
	main := ctl.MainAccount()
	var sids []string
	for _, c := range ctl.Cards() {
		s, err := ctl.RegisterSim(ctx, main, c.ICCID, c.RegistrationCode)
		if err != nil {
			b.Fatal(err)
		}
		sids = append(sids, s.Sid)
	}
	srv := httptest.NewServer(New(ctl))
	b.Cleanup(func() {
		srv.Close()
		if err := ctl.Close(); err != nil {
			b.Error(err)
		}
	})
	reqs := make([]requester, mixedConns)
	for w := range reqs {
		if nethttp {
			reqs[w] = netHTTPRequester(b, srv.URL, main.Sid, main.AuthToken)
		} else {
			reqs[w] = leanRequester(b, srv.Listener.Addr().String(), main.Sid, main.AuthToken)
		}
	}

	lat := make([][]time.Duration, mixedConns)
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime(b)
	commits0, writes0 := commits.Load(), writes.Load()
	for w := range mixedConns {
		n := b.N / mixedConns
		if w < b.N%mixedConns {
			n++
		}
		do := reqs[w]
		// The label sets the client's CPU apart in a profile
		// (-tagignore side=client leaves the server's).
		wg.Go(func() {
			pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("side", "client")))
			l := make([]time.Duration, 0, n)
			for i := range n {
				var err error
				start := time.Now()
				switch {
				case i%2 == 0:
					err = do(http.MethodPost, "/v1/Sims/"+sids[w], url.Values{"UniqueName": {fmt.Sprintf("dev-%d-%d", w, i)}})
				case i%8 == 7:
					err = do(http.MethodGet, "/v1/Sims?PageSize=50", nil)
				default:
					err = do(http.MethodGet, "/v1/Sims/"+sids[w], nil)
				}
				l = append(l, time.Since(start))
				if err != nil {
					b.Error(err)
					return
				}
			}
			lat[w] = l
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
	if n := commits.Load() - commits0; n > 0 {
		b.ReportMetric(float64(writes.Load()-writes0)/float64(n), "writes/commit")
	}
}

// netHTTPRequester sends requests with a net/http Client of its own (one
// connection kept alive).
func netHTTPRequester(b *testing.B, base, user, pass string) requester {
	transport := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, IdleConnTimeout: time.Minute}
	b.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport}
	return func(method, path string, form url.Values) error {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			return err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.SetBasicAuth(user, pass)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil
	}
}

// leanRequester speaks HTTP/1.1 on one keep-alive connection of its own:
// each request is appended to a reused buffer and written at once, its
// response read with http.ReadResponse.
func leanRequester(b *testing.B, addr, user, pass string) requester {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	br := bufio.NewReader(conn)
	head := "Host: " + addr + "\r\nAuthorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)) + "\r\n"
	var buf []byte
	return func(method, path string, form url.Values) error {
		buf = append(buf[:0], method...)
		buf = append(buf, ' ')
		buf = append(buf, path...)
		buf = append(buf, " HTTP/1.1\r\n"...)
		buf = append(buf, head...)
		if form != nil {
			body := form.Encode()
			buf = append(buf, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
			buf = strconv.AppendInt(buf, int64(len(body)), 10)
			buf = append(buf, "\r\n\r\n"...)
			buf = append(buf, body...)
		} else {
			buf = append(buf, "\r\n"...)
		}
		if _, err := conn.Write(buf); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || resp.Close {
			return fmt.Errorf("%s %s: %s (close %v)", method, path, resp.Status, resp.Close)
		}
		return nil
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
