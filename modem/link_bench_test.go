package modem

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// The benchmarks here measure the in-process AT path a scenario run
// drives: many modems on one virtual clock, each linked (Connect) to a
// firmware that sends one command at a time, reads the answer from the
// bytes the modem writes and is woken by a timer of the clock, as the
// scenario's firmware is. The baseline, measured in the same run, is a
// bare timer event on the same kind of clock: a callback that re-arms
// itself, which is the least an event of a run can cost. x-timer is the
// rate of the AT path over the baseline's.
//
//	go test -run '^$' -bench 'LinkPath' -benchmem ./modem/

// linkBenchDevices is how many modems a link benchmark drives.
const linkBenchDevices = 1000

// linkThink is how long a benchmark firmware waits between commands.
const linkThink = 10 * time.Second

// linkPayload is what a benchmark firmware sends in data state.
var linkPayload = make([]byte, 1024)

// linkScripts are the firmware traffic of the link benchmarks: what a
// device sends, in a loop, after it has set the modem up as the scenario
// firmware does. "<data>" is a transfer: the payload in data state, then
// "+++" after the guard time.
var linkScripts = map[string][]string{
	// poll: what a registered device does most, reading its state.
	"poll": {"AT+CEREG?", "AT+COPS?", "AT+CSQ"},
	// mix: a day's rhythm in short: reads, a transfer with the family's
	// context activation, and a deregistration whose +CEREG indications
	// come unsolicited.
	"mix": {"AT+CEREG?", "AT+COPS?", "<activate>", "ATD*99***1#", "<data>", "AT+COPS=2", "AT+COPS=0", "AT+CEREG?"},
}

// linkActivate is each family's data context activation, as the scenario
// firmware sends it.
var linkActivate = map[string]string{"bg96": "AT+CGACT=1,1", "sim7080": "AT+CNACT=0,1", "sara-r4": "AT+CGACT=1,1"}

// linkFleet is a fleet of linked modems on one virtual clock.
type linkFleet struct {
	clock  *vclock.Clock
	hub    *Hub
	fw     []*linkFirmware
	cmds   int64
	lines  int64
	failed int64
}

// linkFirmware drives one modem through its Link.
type linkFirmware struct {
	f      *linkFleet
	m      *Modem
	l      *Link
	in     []byte // modem output not handled yet
	out    []byte // the command line being written
	woken  bool
	script []string
	next   int
	busy   bool // a command is outstanding
	online bool
	setup  bool // the outstanding command is the set-up
	// Method values made once: a timer's function is not a new closure
	// per event.
	handleFn, tickFn, escapeFn func()
}

// newLinkFleet makes n active SIMs and their modems of profile on a
// virtual clock, powers them up and lets them register.
func newLinkFleet(tb testing.TB, profile string, n int, script []string) *linkFleet {
	tb.Helper()
	clock, ctl := newLinkCore(tb, n)
	return startLinkFleet(tb, clock, ctl, profile, script)
}

// newLinkCore makes a control plane on a virtual clock with n active SIMs
// whose network access profile allows the harness's network.
func newLinkCore(tb testing.TB, n int) (*vclock.Clock, *sim.Control) {
	tb.Helper()
	ctx := context.Background()
	clock := vclock.New(harnessEpoch)
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("link", n), sim.WithClock(clock))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ctl.Close() })
	acct := ctl.MainAccount()
	vf, _ := ctl.Catalog().ByPLMN(plmnVodafoneUK)
	nap, err := ctl.CreateNAP(ctx, acct, nil, []string{vf.Sid})
	if err != nil {
		tb.Fatal(err)
	}
	fleet, err := ctl.CreateFleet(ctx, acct, sim.FleetParams{NetworkAccessProfile: &nap.Sid})
	if err != nil {
		tb.Fatal(err)
	}
	active := "active"
	for _, c := range ctl.Cards() {
		s, err := ctl.RegisterSim(ctx, acct, c.Card.ICCID, c.Card.RegistrationCode)
		if err != nil {
			tb.Fatal(err)
		}
		if _, _, err := ctl.UpdateSim(ctx, acct, s.Sid, sim.SimParams{Status: &active, Fleet: &fleet.Sid}); err != nil {
			tb.Fatal(err)
		}
	}
	clock.Advance(time.Minute) // the updates complete
	return clock, ctl
}

// startLinkFleet makes a modem of profile for each SIM of ctl, linked to
// a firmware, powers them up, lets them register and sets them up as the
// scenario firmware does.
func startLinkFleet(tb testing.TB, clock *vclock.Clock, ctl *sim.Control, profile string, script []string) *linkFleet {
	tb.Helper()
	p, err := ProfileByName(profile)
	if err != nil {
		tb.Fatal(err)
	}
	f := &linkFleet{clock: clock, hub: NewHub(ctl)}
	world := NewWorld(ctl.Catalog())
	for i, c := range ctl.Cards() {
		fw := &linkFirmware{f: f, script: script}
		fw.handleFn, fw.tickFn, fw.escapeFn = fw.handle, fw.tick, fw.escape
		fw.m = New(Config{
			Card: c.Card, IMEI: IMEI(i), Profile: p, Core: ctl, World: world,
			Clock: clock, Country: "GB", Hub: f.hub,
		})
		fw.l = fw.m.Connect(fw.output)
		fw.m.PowerCycle()
		f.fw = append(f.fw, fw)
	}
	tb.Cleanup(f.close)
	clock.Advance(time.Minute) // boot and register
	for _, fw := range f.fw {
		fw.setup = true
		fw.send("ATE0;+CMEE=1;+CEREG=2;+COPS=3,2")
	}
	clock.Advance(time.Second)
	return f
}

func (f *linkFleet) close() {
	f.hub.Close()
	for _, fw := range f.fw {
		_ = fw.l.Close()
		fw.m.Close()
	}
}

// output receives the modem's bytes, under its locks: it only keeps them
// and wakes the firmware from a timer.
func (fw *linkFirmware) output(b []byte) {
	fw.in = append(fw.in, b...)
	if !fw.woken {
		fw.woken = true
		fw.f.clock.AfterFunc(0, fw.handleFn)
	}
}

// handle reads the complete lines the modem wrote: a final result ends
// the outstanding command; anything else is information or an indication.
func (fw *linkFirmware) handle() {
	fw.woken = false
	off := 0 // what answered writes may add to fw.in as it runs
	for {
		i := bytes.IndexByte(fw.in[off:], '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSpace(fw.in[off : off+i])
		off += i + 1
		if len(line) == 0 {
			continue
		}
		fw.f.lines++
		if fw.busy && linkFinal(line) {
			fw.busy = false
			fw.f.cmds++
			fw.answered(line)
		}
	}
	fw.in = fw.in[:copy(fw.in, fw.in[off:])]
}

// linkFinal reports whether line is a final result code.
func linkFinal(line []byte) bool {
	switch string(line) {
	case "OK", "CONNECT", "ERROR", "NO CARRIER":
		return true
	}
	return bytes.HasPrefix(line, []byte("+CME ERROR:"))
}

func (fw *linkFirmware) answered(final []byte) {
	switch string(final) {
	case "OK":
	case "CONNECT":
		fw.online = true
		_, _ = fw.l.Write(linkPayload)
		fw.f.clock.AfterFunc(escapeGuard+time.Millisecond, fw.escapeFn)
		return
	default:
		fw.f.failed++
	}
	if fw.setup { // start arms the first command
		fw.setup = false
		return
	}
	fw.f.clock.AfterFunc(linkThink, fw.tickFn)
}

func (fw *linkFirmware) escape() {
	fw.online = false
	fw.send("+++")
}

func (fw *linkFirmware) send(line string) {
	fw.busy = true
	if line == "+++" {
		_, _ = fw.l.Write([]byte("+++"))
		return
	}
	fw.out = append(append(fw.out[:0], line...), '\r')
	_, _ = fw.l.Write(fw.out)
}

// tick sends the script's next command.
func (fw *linkFirmware) tick() {
	line := fw.script[fw.next]
	fw.next = (fw.next + 1) % len(fw.script)
	switch line {
	case "<activate>":
		line = linkActivate[fw.m.cfg.Profile.Name()]
		if line == "" {
			line = "AT+CGACT=1,1"
		}
	case "<data>":
		fw.tick() // the transfer follows the dial's CONNECT
		return
	}
	fw.send(line)
}

// start arms each firmware's first command, spread over the think time.
func (f *linkFleet) start() {
	for i, fw := range f.fw {
		fw.next = 0
		f.clock.AfterFunc(linkThink*time.Duration(i)/time.Duration(len(f.fw)), fw.tickFn)
	}
}

// runEvents advances the clock until at least n timer events have fired
// and returns how many did and how long that took.
// It panics when the fleet falls silent.
func runEvents(c *vclock.Clock, n int64) (int64, time.Duration) {
	start, t0 := c.Fired(), time.Now()
	for c.Fired()-start < n {
		if c.Pending() == 0 {
			panic("link benchmark: no timer left: every firmware is stuck")
		}
		c.Advance(100 * time.Millisecond)
	}
	return c.Fired() - start, time.Since(t0)
}

// timerBaseline is the rate of bare timer events on a virtual clock with
// as many re-arming timers as the fleet has devices.
func timerBaseline(n int, events int64) float64 {
	c := vclock.New(harnessEpoch)
	fns := make([]func(), n)
	for i := range fns {
		fns[i] = func() { c.AfterFunc(linkThink, fns[i]) }
		c.AfterFunc(linkThink*time.Duration(i)/time.Duration(n), fns[i])
	}
	fired, wall := runEvents(c, events)
	return float64(fired) / wall.Seconds()
}

// BenchmarkLinkPath is the rate of timer events of linked modems driven
// by their firmware, per family and traffic, beside bare timer events.
func BenchmarkLinkPath(b *testing.B) {
	for _, profile := range []string{"bg96", "sim7080", "sara-r4"} {
		for _, traffic := range []string{"poll", "mix"} {
			b.Run(profile+"/"+traffic, func(b *testing.B) {
				f := newLinkFleet(b, profile, linkBenchDevices, linkScripts[traffic])
				f.start()
				runEvents(f.clock, 20_000) // warm up: buffers at their size
				base := timerBaseline(linkBenchDevices, 200_000)
				cmds0, failed0 := f.cmds, f.failed
				b.ReportAllocs()
				b.ResetTimer()
				fired, wall := runEvents(f.clock, int64(b.N))
				b.StopTimer()
				if f.failed > failed0 {
					b.Errorf("%d commands failed", f.failed-failed0)
				}
				rate := float64(fired) / wall.Seconds()
				b.ReportMetric(rate, "events/s")
				b.ReportMetric(float64(f.cmds-cmds0)/wall.Seconds(), "cmds/s")
				b.ReportMetric(base, "timer-events/s")
				b.ReportMetric(rate/base, "x-timer")
			})
		}
	}
}

// idleModemBytes is the live heap per idle linked modem (registered,
// set up, waiting) with its link and the benchmark firmware's few words:
// the heap of a fleet of n over that of the control plane alone. What
// attaching adds to the control plane counts too.
func idleModemBytes(tb testing.TB, profile string, n int) float64 {
	clock, ctl := newLinkCore(tb, n)
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	f := startLinkFleet(tb, clock, ctl, profile, linkScripts["poll"])
	for _, fw := range f.fw {
		fw.in = nil // the firmware's buffer is not the modem's
	}
	after := heap()
	runtime.KeepAlive(f)
	f.close()
	return float64(after-before) / float64(n)
}

// BenchmarkIdleModem reports the live heap per idle linked modem.
func BenchmarkIdleModem(b *testing.B) {
	for _, profile := range []string{"bg96", "sim7080", "sara-r4"} {
		b.Run(profile, func(b *testing.B) {
			for b.Loop() {
				b.ReportMetric(idleModemBytes(b, profile, 5000), "B/modem")
			}
		})
	}
}
