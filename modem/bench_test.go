package modem

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// The benchmarks here measure the modem engine on real pseudo-terminals,
// each beside a baseline measured in the same run: a goroutine that copies
// a PTY master's input straight back, which is the least any program on
// the far side of a PTY can cost. The echo PTYs are opened with OpenPTY,
// as the modems' are, so a ratio isolates the engine. Figures that matter
// are the ratios (x-echo, x-raw); the absolute ones move with the
// machine's load.
//
//	go test -run '^$' -bench 'ATRoundTrip|Fleet' -benchtime 2s ./modem/

// benchTiming keeps the virtual radio's procedures short, so modems are
// booted and settled moments after they start.
var benchTiming = Timing{Boot: time.Millisecond, Scan: time.Millisecond, Attach: time.Millisecond, Data: time.Millisecond}

// benchDeadline bounds every client read, so a lost response fails the
// benchmark instead of hanging it.
const benchDeadline = 2 * time.Minute

// benchCore starts a control plane with n cards.
func benchCore(b *testing.B, n int) (*sim.Control, []sim.Card) {
	b.Helper()
	ctl, err := sim.New(context.Background(), sim.NewMemStore(), sim.WithCards("bench", n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ctl.Close() })
	infos := ctl.Cards()
	cards := make([]sim.Card, len(infos))
	for i, c := range infos {
		cards[i] = c.Card
	}
	return ctl, cards
}

// benchStartFleet starts n generic modems on PTYs.
func benchStartFleet(b *testing.B, ctl *sim.Control, cards []sim.Card) *Fleet {
	b.Helper()
	return benchStartFleetOf(b, ctl, cards, Generic{})
}

// benchStartFleetOf starts n modems of profile on PTYs.
func benchStartFleetOf(b *testing.B, ctl *sim.Control, cards []sim.Card, profile Profile) *Fleet {
	b.Helper()
	f, err := StartFleet(context.Background(), FleetConfig{
		Cards: cards, Core: ctl, World: NewWorld(ctl.Catalog()), Profile: profile,
		Country: "GB", Timing: benchTiming,
	})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// benchNeedFDs raises RLIMIT_NOFILE to at least n, or skips.
func benchNeedFDs(b *testing.B, n uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("reading RLIMIT_NOFILE: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	want := lim
	want.Cur = n
	if want.Max < n {
		want.Max = n // only a privileged process may raise the hard limit
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		b.Skipf("need %d file descriptors, RLIMIT_NOFILE is %d (hard %d) and raising it failed: %v", n, lim.Cur, lim.Max, err)
	}
}

// benchNeedPTYs skips unless the kernel has n pseudo-terminals to spare.
func benchNeedPTYs(b *testing.B, n int) {
	b.Helper()
	read := func(name string) int {
		raw, err := os.ReadFile("/proc/sys/kernel/pty/" + name)
		if err != nil {
			b.Skipf("reading the kernel PTY limits: %v", err)
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err != nil {
			b.Skipf("reading the kernel PTY limits: %s: %v", name, err)
		}
		return v
	}
	max, nr := read("max"), read("nr")
	if max-nr < n {
		b.Skipf("need %d pseudo-terminals, the kernel has %d free (kernel.pty.max %d, %d in use)", n, max-nr, max, nr)
	}
}

// benchEcho is the baseline: PTYs whose master side sends back what it reads.
type benchEcho struct {
	ptys []*PTY
	wg   sync.WaitGroup
}

func startBenchEcho(b *testing.B, n int) *benchEcho {
	b.Helper()
	e := &benchEcho{}
	for range n {
		p, err := OpenPTY()
		if err != nil {
			e.Close()
			b.Fatal(err)
		}
		e.ptys = append(e.ptys, p)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			buf := make([]byte, 4096)
			for {
				n, err := p.Read(buf)
				if n > 0 {
					if _, werr := p.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
	return e
}

func (e *benchEcho) Close() {
	for _, p := range e.ptys {
		p.Close()
	}
	e.wg.Wait()
}

// benchPort is a host's end of one port: the PTY slave, opened as a
// program opens a module's UART.
type benchPort struct {
	f   *os.File
	buf []byte
}

func openBenchPort(path string) (*benchPort, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	if err := f.SetReadDeadline(time.Now().Add(benchDeadline)); err != nil {
		f.Close()
		return nil, err
	}
	return &benchPort{f: f, buf: make([]byte, 512)}, nil
}

func (p *benchPort) send(cmd []byte) error {
	_, err := p.f.Write(cmd)
	return err
}

// await reads until what arrived ends with want.
func (p *benchPort) await(want []byte) error {
	n := 0
	for {
		if n == len(p.buf) {
			return fmt.Errorf("%s: no %q in %q", p.f.Name(), want, p.buf[:n])
		}
		m, err := p.f.Read(p.buf[n:])
		n += m
		if bytes.HasSuffix(p.buf[:n], want) {
			return nil
		}
		if bytes.HasSuffix(p.buf[:n], []byte("ERROR\r\n")) {
			return fmt.Errorf("%s: %q", p.f.Name(), p.buf[:n])
		}
		if err != nil {
			return fmt.Errorf("%s: waiting for %q after %q: %w", p.f.Name(), want, p.buf[:n], err)
		}
	}
}

func (p *benchPort) roundTrip(cmd, want []byte) error {
	if err := p.send(cmd); err != nil {
		return err
	}
	return p.await(want)
}

// quiet turns a modem's echo off, as host drivers do first.
func (p *benchPort) quiet() error {
	return p.roundTrip([]byte("ATE0\r"), []byte("\r\nOK\r\n"))
}

func openBenchPorts(b *testing.B, paths []string) []*benchPort {
	b.Helper()
	ports := make([]*benchPort, 0, len(paths))
	for _, path := range paths {
		p, err := openBenchPort(path)
		if err != nil {
			closeBenchPorts(ports)
			b.Fatal(err)
		}
		ports = append(ports, p)
	}
	return ports
}

func closeBenchPorts(ports []*benchPort) {
	for _, p := range ports {
		p.f.Close()
	}
}

// benchPercentile returns the p-th percentile (0..1) of sorted durations.
func benchPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func benchMicros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// benchRoundTrips runs b.N sequential request/response exchanges on port,
// reports their median and p99 latency, and returns ns/op.
func benchRoundTrips(b *testing.B, port *benchPort, cmd, want []byte) float64 {
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if err := port.roundTrip(cmd, want); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(benchMicros(benchPercentile(lat, 0.5)), "median-µs")
	b.ReportMetric(benchMicros(benchPercentile(lat, 0.99)), "p99-µs")
	return float64(b.Elapsed()) / float64(b.N)
}

// startBenchOK is the baseline of BenchmarkATRoundTrip: a PTY whose master
// answers every CR-ended line with "\r\nOK\r\n" and nothing else, the least
// a program on the far side of a PTY can do to answer a command.
func startBenchOK(b *testing.B) (*PTY, func()) {
	b.Helper()
	p, err := OpenPTY()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		ok := []byte("\r\nOK\r\n")
		for {
			n, err := p.Read(buf)
			for range bytes.Count(buf[:n], []byte("\r")) {
				if _, werr := p.Write(ok); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return p, func() { p.Close(); <-done }
}

// benchFamilies are the module profiles BenchmarkATRoundTrip measures.
var benchFamilies = []string{"bg96", "bg95", "sim7080", "sim7000", "sara-r4"}

// BenchmarkATRoundTrip is the latency of one "AT+CSQ" → final result
// exchange seen by a host on the PTY slave, for each module family, beside
// family=echo measured first in the same run: a PTY whose master answers
// each line with "\r\nOK\r\n" (startBenchOK). x-echo is a family's ns/op
// over the echo's; it is reported only when family=echo ran too.
//
//	go test -run '^$' -bench ATRoundTrip -benchtime 2000x ./modem/
func BenchmarkATRoundTrip(b *testing.B) {
	benchNeedPTYs(b, 1+len(benchFamilies))
	cmd, final := []byte("AT+CSQ\r"), []byte("\r\nOK\r\n")
	var echoNS float64

	b.Run("family=echo", func(b *testing.B) {
		p, stop := startBenchOK(b)
		defer stop()
		port, err := openBenchPort(p.Path())
		if err != nil {
			b.Fatal(err)
		}
		defer port.f.Close()
		echoNS = benchRoundTrips(b, port, cmd, final)
	})

	for _, name := range benchFamilies {
		b.Run("family="+name, func(b *testing.B) {
			profile, err := ProfileByName(name)
			if err != nil {
				b.Fatal(err)
			}
			ctl, cards := benchCore(b, 1)
			f := benchStartFleetOf(b, ctl, cards, profile)
			defer f.Close()
			benchWaitSettled() // boot indications and registration are over
			port, err := openBenchPort(f.PTYPath(0))
			if err != nil {
				b.Fatal(err)
			}
			defer port.f.Close()
			if err := port.quiet(); err != nil {
				b.Fatal(err)
			}
			if err := port.roundTrip(cmd, final); err != nil {
				b.Fatal(err)
			}
			ns := benchRoundTrips(b, port, cmd, final)
			if echoNS > 0 {
				b.ReportMetric(ns/echoNS, "x-echo")
			}
		})
	}
}

// benchFleetClients is how many goroutines drive a fleet's ports; each owns an
// equal share of them.
var benchFleetClients = 4 * runtime.GOMAXPROCS(0)

// benchDriveFleet sends b.N commands over ports from a bounded set of client
// goroutines. Each client keeps one command in flight on each of its ports:
// it writes the command to all of them, then collects the responses in
// turn. It returns the aggregate rate in commands per second.
func benchDriveFleet(b *testing.B, ports []*benchPort, cmd, want []byte) float64 {
	clients := min(benchFleetClients, len(ports))
	quota := make([]int, len(ports))
	for i := range quota {
		quota[i] = b.N / len(ports)
		if i < b.N%len(ports) {
			quota[i]++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []int
			for i := c; i < len(ports); i += clients {
				mine = append(mine, i)
			}
			left := make([]int, len(mine))
			for j, i := range mine {
				left[j] = quota[i]
			}
			for {
				active := 0
				for j, i := range mine {
					if left[j] > 0 {
						if err := ports[i].send(cmd); err != nil {
							errs <- err
							return
						}
						active++
					}
				}
				if active == 0 {
					return
				}
				for j, i := range mine {
					if left[j] > 0 {
						if err := ports[i].await(want); err != nil {
							errs <- err
							return
						}
						left[j]--
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "cmds/s")
	return rate
}

// benchHeapAndStack is the memory the runtime holds for live objects and stacks.
func benchHeapAndStack() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// benchWaitSettled gives freshly started modems time to boot and finish
// network selection (benchTiming makes that a few milliseconds).
func benchWaitSettled() { time.Sleep(200 * time.Millisecond) }

const benchFleet = 1000

// BenchmarkFleet1000 is the aggregate throughput of 1000 modems, each on
// its own PTY, answering "AT+CSQ" to host programs that keep one command
// in flight per port, beside the same client loop against 1000 raw-echo
// PTYs measured first in the same run. x-raw is the modem fleet's cmds/s
// over the echo's (1 would be as fast as the PTYs themselves);
// bytes/modem is what a started, settled modem holds in heap and stacks.
func BenchmarkFleet1000(b *testing.B) {
	benchNeedPTYs(b, benchFleet)
	benchNeedFDs(b, 3*benchFleet+256) // master, the simulator's slave and the host's slave per PTY
	cmd := []byte("AT+CSQ\r")
	var rawRate float64

	b.Run("raw-echo", func(b *testing.B) {
		e := startBenchEcho(b, benchFleet)
		defer e.Close()
		paths := make([]string, len(e.ptys))
		for i, p := range e.ptys {
			paths[i] = p.Path()
		}
		ports := openBenchPorts(b, paths)
		defer closeBenchPorts(ports)
		rawRate = benchDriveFleet(b, ports, cmd, cmd)
	})

	b.Run("modem", func(b *testing.B) {
		ctl, cards := benchCore(b, benchFleet)
		before := benchHeapAndStack()
		f := benchStartFleet(b, ctl, cards)
		defer f.Close()
		benchWaitSettled()
		perModem := float64(benchHeapAndStack()-before) / benchFleet
		paths := make([]string, benchFleet)
		for i := range paths {
			paths[i] = f.PTYPath(i)
		}
		ports := openBenchPorts(b, paths)
		defer closeBenchPorts(ports)
		for _, p := range ports {
			if err := p.quiet(); err != nil {
				b.Fatal(err)
			}
		}
		rate := benchDriveFleet(b, ports, cmd, []byte("\r\nOK\r\n"))
		b.ReportMetric(perModem, "bytes/modem")
		if rawRate > 0 {
			b.ReportMetric(rate/rawRate, "x-raw")
		}
	})
}

const benchBigFleet = 4000

// BenchmarkFleetStart4000 is how long starting 4000 modems on PTYs takes,
// and what each holds once started and settled. Every iteration starts a
// fleet and closes it.
func BenchmarkFleetStart4000(b *testing.B) {
	benchNeedPTYs(b, benchBigFleet)
	benchNeedFDs(b, 2*benchBigFleet+256)
	ctl, cards := benchCore(b, benchBigFleet)
	var startTotal time.Duration
	var bytesTotal float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		before := benchHeapAndStack()
		b.StartTimer()
		t0 := time.Now()
		f := benchStartFleet(b, ctl, cards)
		startTotal += time.Since(t0)
		b.StopTimer()
		benchWaitSettled()
		bytesTotal += float64(benchHeapAndStack()-before) / benchBigFleet
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if n := len(f.Modems()); n != benchBigFleet {
			b.Fatalf("fleet started %d modems", n)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(startTotal)/float64(time.Millisecond)/float64(b.N), "start-ms")
	b.ReportMetric(bytesTotal/float64(b.N), "bytes/modem")
}
