package scenario

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

// RegState is a device's registration as its firmware knows it, from the
// modem's +CEREG indications.
type RegState uint8

// Registration states.
const (
	RegOff           RegState = iota // powered off or booting
	RegNotRegistered                 // +CEREG stat 0 or 4: not trying
	RegSearching                     // +CEREG stat 2
	RegDenied                        // +CEREG stat 3
	RegHome                          // +CEREG stat 1
	RegRoaming                       // +CEREG stat 5
)

// Registered reports whether the device is attached.
func (s RegState) Registered() bool { return s == RegHome || s == RegRoaming }

// deviceKind says what is at the other end of a device's AT layer.
type deviceKind uint8

const (
	kindVirtual  deviceKind = iota // a virtual modem, driven by the firmware here
	kindExternal                   // a virtual modem on a PTY, driven by the user's program (--exec)
	kindReal                       // a real modem on a serial port (--hw), driven by the firmware here
)

// step is what the firmware's outstanding AT command is for.
type step uint8

const (
	stepNone       step = iota
	stepInit            // ATE0;+CMEE=1;+CEREG=2;+COPS=3,2
	stepReadReg         // AT+CEREG?
	stepSelect          // AT+COPS=1,2,"<plmn>"
	stepOperator        // AT+COPS?
	stepReset           // the family's reset (AT+CFUN=1,1, AT+CREBOOT, AT+CFUN=15)
	stepDeregister      // AT+COPS=2
	stepAuto            // AT+COPS=0
	stepActivate        // the family's data context (AT+CGACT=1,1, AT+CNACT=0,1)
	stepActivating      // waiting for the indication that says the context is up
	stepDial            // ATD*99***1#
	stepEscape          // +++ back to command state
)

// device is one simulated device: a virtual modem and the firmware that
// drives it through the AT layer. It is kept small (a fleet has up to a
// million); its firmware is a state machine advanced by the modem's output
// and by timers on the virtual clock, all in the run's goroutine.
type device struct {
	r     *runner
	g     *group
	idx   int32
	modem *modem.Modem
	link  *modem.Link
	rng   rng

	state   RegState
	step    step
	plmn    sim.PLMN // the network registered on
	epoch   uint32   // bumped at each power-up: older timers see they are stale
	fails   uint8    // consecutive failures to register, for the back-off
	blocked bool     // the last data transfer was refused
	pdp     bool     // the PDP context is active, as far as the firmware knows
	inbox   []string // lines from the modem not yet handled
	woken   bool     // a timer to handle the inbox is set
	kind    deviceKind

	poweredAt time.Duration // virtual time of the first power-up, -1 before
	firstReg  time.Duration // virtual time of the first registration, -1 before
	retrying  bool          // a back-off timer is set
}

// output receives the modem's bytes. It runs under the modem's locks: it
// only splits lines into the inbox and wakes the firmware from a timer.
func (d *device) output(b []byte) {
	d.r.trace(d, hw.DirIn, b)
	d.r.inboxMu.Lock()
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			d.inbox = append(d.inbox, string(line))
		}
	}
	wake := len(d.inbox) > 0 && !d.woken
	d.woken = d.woken || wake
	d.r.inboxMu.Unlock()
	if wake {
		d.r.clock.AfterFunc(0, d.handle)
	}
}

func (d *device) handle() {
	d.r.inboxMu.Lock()
	d.woken = false
	lines := d.inbox
	d.inbox = nil
	d.r.inboxMu.Unlock()
	for _, l := range lines {
		d.line(l)
	}
}

// line handles one line from the modem.
func (d *device) line(l string) {
	switch {
	case strings.HasPrefix(l, "+CEREG: ") && d.step == stepReadReg:
		// The read form: <n>,<stat>[,...].
		if _, rest, ok := strings.Cut(l[len("+CEREG: "):], ","); ok {
			d.cereg(rest)
		}
		return
	case strings.HasPrefix(l, "+CEREG: "):
		d.cereg(l[len("+CEREG: "):])
		return
	case d.step == stepActivating && strings.HasPrefix(l, "+APP PDP: "):
		d.step = stepNone
		if l != d.g.fam.ready {
			if d.state.Registered() {
				d.blocked = true // registered, yet refused a data context
			}
			return
		}
		d.pdp = true
		d.send(stepDial, "ATD*99***1#")
		return
	case strings.HasPrefix(l, "+COPS: ") && d.step == stepOperator:
		d.operator(l[len("+COPS: "):])
		return
	case l == "OK" || l == "CONNECT":
		d.final(true, l)
	case l == "ERROR" || l == "NO CARRIER" || strings.HasPrefix(l, "+CME ERROR"):
		d.final(false, l)
	}
}

// send writes one command line to the modem.
func (d *device) send(s step, cmd string) {
	d.step = s
	d.r.atCommands++
	if d.kind == kindReal {
		d.r.sendReal(d, cmd)
		return
	}
	b := make([]byte, 0, 64)
	b = append(append(b, cmd...), '\r')
	d.r.trace(d, hw.DirOut, b)
	_, _ = d.link.Write(b)
}

var escape = []byte("+++")

// powerOn powers the modem up; the firmware talks to it once it has booted.
func (d *device) powerOn() {
	switch d.kind {
	case kindExternal:
		d.modem.PowerCycle()
		return
	case kindReal:
		if d.poweredAt >= 0 { // powered up once already: a module reset
			d.send(stepReset, d.g.fam.reset)
			return
		}
	}
	d.epoch++
	d.state, d.step, d.retrying, d.fails, d.pdp = RegOff, stepNone, false, 0, false
	d.r.inboxMu.Lock()
	d.inbox = d.inbox[:0]
	d.r.inboxMu.Unlock()
	if d.poweredAt < 0 {
		d.poweredAt = d.r.elapsed()
	}
	if d.kind == kindReal { // the module is on already: talk to it now
		d.state = RegSearching
		d.send(stepInit, "ATE0;+CMEE=1;+CEREG=2;+COPS=3,2")
		return
	}
	d.modem.PowerCycle()
	d.afterBoot()
}

// afterBoot initialises the modem once its boot time has passed.
func (d *device) afterBoot() {
	d.later(d.r.timing.Boot+100*time.Millisecond, func() {
		d.state = RegSearching
		d.send(stepInit, "ATE0;+CMEE=1;+CEREG=2;+COPS=3,2")
	})
}

// later runs f after dur unless the device powers up again meanwhile.
func (d *device) later(dur time.Duration, f func()) {
	e := d.epoch
	d.r.clock.AfterFunc(dur, func() {
		if d.epoch == e {
			f()
		}
	})
}

// final handles a final result code of the outstanding command.
func (d *device) final(ok bool, l string) {
	s := d.step
	if s == stepNone {
		if l == "NO CARRIER" { // the network ended the data session
			d.blocked, d.pdp = true, false
		}
		return
	}
	d.step = stepNone
	switch s {
	case stepInit:
		if !ok { // still booting, or unreachable for a moment: try again
			d.later(2*time.Second, func() {
				if d.step == stepNone {
					d.send(stepInit, "ATE0;+CMEE=1;+CEREG=2;+COPS=3,2")
				}
			})
			return
		}
		// Where the modem stands already: an indication comes only on change.
		d.send(stepReadReg, "AT+CEREG?")
	case stepReadReg:
		if d.g.manual() {
			d.send(stepSelect, `AT+COPS=1,2,"`+d.g.spec.Selection.Network+`"`)
		} else if d.state.Registered() && d.plmn == (sim.PLMN{}) {
			d.send(stepOperator, "AT+COPS?")
		}
	case stepSelect, stepAuto:
		if !ok {
			d.failed()
		}
	case stepReset:
		d.epoch++ // the module restarts: what was pending is gone
		d.state, d.pdp = RegOff, false
		d.afterBoot()
	case stepDeregister:
		d.send(stepAuto, "AT+COPS=0")
	case stepActivate:
		if !ok {
			if d.state.Registered() {
				d.blocked = true // registered, yet refused a data context
			}
			return
		}
		if d.g.fam.ready != "" {
			d.step = stepActivating
			return
		}
		d.pdp = true
		d.send(stepDial, "ATD*99***1#")
	case stepDial:
		if !ok { // the network refused the data session
			d.blocked, d.pdp = true, false
			return
		}
		d.transfer()
	case stepEscape:
	}
}

// cereg handles a +CEREG indication: <stat>[,<tac>,<ci>,<AcT>].
func (d *device) cereg(args string) {
	stat, _, _ := strings.Cut(args, ",")
	n, err := strconv.Atoi(stat)
	if err != nil {
		return
	}
	prev := d.state
	switch n {
	case 1:
		d.state = RegHome
	case 5:
		d.state = RegRoaming
	case 2:
		d.state = RegSearching
	case 3:
		d.state = RegDenied
	default:
		d.state = RegNotRegistered
	}
	if d.state.Registered() {
		d.fails = 0
		if d.firstReg < 0 {
			d.firstReg = d.r.elapsed()
		}
		if !prev.Registered() && d.step == stepNone {
			d.send(stepOperator, "AT+COPS?")
		}
		return
	}
	d.plmn, d.pdp = sim.PLMN{}, false
	if (d.state == RegDenied || d.state == RegNotRegistered) && !d.g.manual() {
		d.failed()
	}
}

// operator handles +COPS: <mode>,<format>,"<oper>",<AcT>.
func (d *device) operator(args string) {
	parts := strings.Split(args, ",")
	if len(parts) < 3 {
		return
	}
	oper := strings.Trim(parts[2], `"`)
	if len(oper) >= 5 {
		d.plmn = sim.PLMN{MCC: oper[:3], MNC: oper[3:]}
	}
}

// failed schedules the retry policy's next attempt.
func (d *device) failed() {
	rt := d.g.spec.Retry
	if rt.Action == "none" || d.retrying {
		return
	}
	wait := rt.Backoff.D() << min(d.fails, 20)
	if wait <= 0 || wait > rt.MaxBackoff.D() {
		wait = rt.MaxBackoff.D()
	}
	if j := rt.Jitter; j.Set && j.Value > 0 {
		wait += time.Duration(d.rng.float() * j.Value / 100 * float64(wait))
	}
	d.fails = min(d.fails+1, 30)
	d.retrying = true
	d.later(wait, func() {
		d.retrying = false
		if d.state.Registered() || d.step != stepNone {
			return
		}
		switch {
		case d.g.manual():
			d.send(stepSelect, `AT+COPS=1,2,"`+d.g.spec.Selection.Network+`"`)
		case rt.Action == "cops":
			d.send(stepDeregister, "AT+COPS=2")
		default:
			d.send(stepReset, d.g.fam.reset)
		}
	})
}

// sendData starts one transfer of the group's data pattern: activate the
// context, dial, write the bytes, escape.
func (d *device) sendData() {
	if !d.state.Registered() || d.step != stepNone || d.kind == kindReal {
		return // a real module's data path is its own (sockets), not a dial-up session here
	}
	if d.pdp { // the context is still up: dial straight away
		d.send(stepDial, "ATD*99***1#")
		return
	}
	d.send(stepActivate, d.g.fam.activate)
}

// transfer writes the payload in data state and escapes after the guard
// time.
func (d *device) transfer() {
	n := int64(d.g.spec.Data.Bytes)
	d.r.traceNote(d, "%d bytes of data", n)
	buf := d.r.payload
	for n > 0 {
		k := min(n, int64(len(buf)))
		_, _ = d.link.Write(buf[:k])
		n -= k
	}
	d.r.bytesSent += int64(d.g.spec.Data.Bytes)
	d.later(time.Second+time.Millisecond, func() {
		if d.step != stepNone || !d.pdp { // busy, or the network ended the session: no escape to make
			return
		}
		d.step = stepEscape // the modem answers OK after the guard time
		d.r.trace(d, hw.DirOut, escape)
		_, _ = d.link.Write(escape)
	})
	// The data went through unless the modem said NO CARRIER meanwhile.
	d.blocked = false
}

// rng is a device's own random stream: what a device does doesn't depend
// on how many others there are.
type rng struct{ rand.PCG }

func newRNG(seed uint64, device int) rng {
	return rng{*rand.NewPCG(seed, uint64(device))}
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.Uint64()>>11) / (1 << 53) }
