// Package firmware is the firmware of a scenario's simulated devices: the
// state machines that drive a module through its AT layer (registration
// with retry and back-off, dial-up data sessions, SMS and IP Commands in
// each module family's dialect), and the kinds of device it drives: a
// virtual modem in process, a real modem on a serial port (--hw), or a
// virtual modem handed to the user's program on a PTY (--exec). A run
// holds up to a million devices, so a Device is a compact value; its kind
// is one small value behind the atPort interface. Everything runs on the
// run's clock (Env), in the run's goroutine.
package firmware

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim/vclock"
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

// Env is what the devices of a run share: the run's context and virtual
// clock, their modems' timings, the trace, and the counters the report
// reads. The firmware runs in the run's goroutine; inboxMu guards what
// modems write from others.
type Env struct {
	Ctx     context.Context // the run's: real modems' commands end with it
	Clock   *vclock.Clock
	Start   time.Time // the scenario's start on the virtual clock
	Timing  modem.Timing
	TraceW  io.Writer            // every AT exchange, or nil
	Payload []byte               // the bytes of a data session, written in chunks
	WG      sync.WaitGroup       // real modems' commands and real-time servers
	inboxMu sync.Mutex           // guards the devices' inboxes: modems write them from any goroutine in real time
	unread  map[int32][]int      // indexes of SMS a device was told of (+CMTI) and has not read, guarded by inboxMu
	spare   *[]string            // an empty inbox buffer that handle gave back, for the next output; guarded by inboxMu
	cmdBuf  []byte               // the command line being written to a virtual modem (run's goroutine)
	hw      map[int32]*hw.Client // the clients of the devices on real modems (set-up and the run's goroutine)

	ATCommands int64 // AT commands the firmware sent
	bytesSent  int64 // bytes written in data sessions
	smsSent    int64 // SMS the devices sent (AT+CMGS answered)
	smsRead    int64 // SMS the devices read (AT+CMGR)
	ipSent     int64 // datagrams the devices sent to the IP Commands gateway
	ipRead     int64 // IP Commands the devices read
}

// Elapsed is the virtual time since the start, from any goroutine.
func (e *Env) Elapsed() time.Duration { return e.Clock.Now().Sub(e.Start) }

// Device is one simulated device: a modem (virtual, or real with --hw) and the firmware that
// drives it through the AT layer. It is kept small (a fleet has up to a
// million); its firmware is a state machine advanced by the modem's output
// and by timers on the virtual clock, all in the run's goroutine.
type Device struct {
	Group *Group       // its Env is the run's
	Modem *modem.Modem // the virtual modem; nil for a real one
	lp    linkPort     // the inbox, for a real modem's indications too
	rng   rng

	PoweredAt time.Duration // virtual time of the first power-up, -1 before
	FirstReg  time.Duration // virtual time of the first registration, -1 before

	// The words, then the bytes, so that the struct has no padding
	// inside (a fleet has a million): 120 bytes on 64-bit machines.
	Index int32
	Net   NetCode // the network registered on
	epoch uint32  // bumped at each power-up: older timers see they are stale
	// kind is what is at the other end of the device's AT layer (see
	// port): a byte, not an interface value.
	kind kind
	// state is the registration as the firmware knows it from +CEREG:
	// not registered until the modem says otherwise.
	State    at3gpp.RegState
	step     step
	retrying bool  // a back-off timer is set
	woken    bool  // a timer to handle lp's inbox is set, guarded by Env.inboxMu
	fails    uint8 // consecutive failures to register, for the back-off
	Blocked  bool  // the last data transfer was refused
	pdp      bool  // the PDP context is active, as far as the firmware knows
	// downloading is set while the network sends the group's download: the
	// modem's bytes are data, not lines.
	downloading bool
	online      bool // in data state (after CONNECT, before the escape's OK)
	replyTo     bool // the SMS being deleted is to be answered
	// The IP Commands socket (firmware_ip.go).
	ipUp     bool  // open
	ipFailed bool  // opening failed: not again before the next send
	ipRecv   bool  // data announced and not read
	ipReply  bool  // an IP Command read is to be answered
	ipDue    bool  // the group's datagram is to be sent
	ipStage  uint8 // the open sequence's command outstanding
	ipSock   uint8 // the socket (u-blox numbers it)
	// The group's own SMS and datagrams sent so far ({n} of their text).
	smsN, ipN uint16
}

// indication handles a line the modem wrote outside a command's answer.
func (d *Device) indication(l string) {
	switch {
	case strings.HasPrefix(l, "+CEREG:"):
		if reg, err := at3gpp.ParseRegLine(l, false); err == nil {
			d.cereg(reg.Stat)
		}
	case d.smsIndication(l):
	case d.ipIndication(l):
	case d.step == stepActivating && strings.HasPrefix(l, "+APP PDP: "):
		d.step = stepNone
		if l != d.Group.fam.ready {
			if d.State.Registered() {
				d.Blocked = true // registered, yet refused a data context
			}
			return
		}
		d.pdp = true
		d.send(stepDial, "ATD*99***1#")
	case at3gpp.IsFinal(l): // a final result with no command outstanding
		if d.step == stepNone {
			if l == "NO CARRIER" { // the network ended the data session
				d.Blocked, d.pdp, d.online = true, false, false
			}
			return
		}
		d.step = stepNone // waiting for an indication: the modem gave up instead
	}
}

// answer handles the outstanding command's answer: its information lines
// and its final result (nil for OK and CONNECT).
func (d *Device) answer(info []string, err error) {
	s := d.step
	if s == stepNone {
		return
	}
	for _, l := range info {
		switch {
		case s == stepReadReg && strings.HasPrefix(l, "+CEREG:"):
			if reg, err := at3gpp.ParseRegLine(l, true); err == nil {
				d.cereg(reg.Stat)
			}
		case s == stepOperator && strings.HasPrefix(l, "+COPS:"):
			d.operator(l)
		}
	}
	d.step = stepNone
	if !d.smsAnswer(s, info, err) && !d.ipAnswer(s, info, err) {
		d.final(s, err)
	}
	if d.step == stepNone {
		d.smsIdle()
	}
	if d.step == stepNone {
		d.ipIdle()
	}
}

// send sends one command line to the modem.
func (d *Device) send(s step, cmd string) {
	d.step = s
	d.Group.env.ATCommands++
	d.port().Command(d.Group.env.Ctx, d, cmd)
}

// sendPrompted sends a command that prompts for data, the data of step s
// (promptData).
func (d *Device) sendPrompted(s step, cmd string) {
	d.step = s
	d.Group.env.ATCommands++
	d.port().Send(d.Group.env.Ctx, d, cmd, d.promptData())
}

// promptData is what the outstanding command takes at its prompt: the
// group's SMS text or reply and Ctrl-Z, its datagram or reply.
func (d *Device) promptData() []byte {
	switch d.step {
	case stepSmsSend:
		return append([]byte(seq(d.Group.Spec.SMS.Text, d.smsN+1)), 0x1a)
	case stepSmsReply:
		return append([]byte(d.Group.Spec.SMS.Reply), 0x1a)
	case stepIPSend, stepIPReply:
		return []byte(d.datagram(d.step))
	}
	return nil
}

// seq is text with each spec.SeqPlaceholder replaced by n.
func seq(text string, n uint16) string {
	if !strings.Contains(text, spec.SeqPlaceholder) {
		return text
	}
	return strings.ReplaceAll(text, spec.SeqPlaceholder, strconv.Itoa(int(n)))
}

// escape leaves data state; escapeLine is the same as the outstanding
// "command" whose answer is the modem's OK.
var escape = []byte(escapeLine)

const escapeLine = "+++"

// PowerOn powers the module up, or restarts it, as its kind does.
func (d *Device) PowerOn() { d.port().powerOn(d) }

// restart forgets what the firmware knew of the module: it starts over
// from a module that has just powered up.
func (d *Device) restart() {
	d.epoch++
	d.State, d.step, d.retrying, d.fails, d.pdp, d.online = at3gpp.RegNotRegistered, stepNone, false, 0, false, false
	d.ipReset()
	d.Group.env.inboxMu.Lock()
	if d.lp.inbox != nil {
		*d.lp.inbox = (*d.lp.inbox)[:0]
	}
	d.lp.cmd = ""
	d.Group.env.inboxMu.Unlock()
	if d.PoweredAt < 0 {
		d.PoweredAt = d.Group.env.Elapsed()
	}
}

// afterBoot initialises the modem once its boot time has passed.
func (d *Device) afterBoot() {
	d.later(d.Group.env.Timing.Boot+100*time.Millisecond, evBooted)
}

// event is what a device's event on the clock is for. A fleet has an
// event or two pending per device, so they are words, not closures: the
// device is the clock's Handler (see Fire), the word the event and, for
// those that later sets, the epoch it was set in.
type event uint8

const (
	evHandle    event = iota + 1 // the inbox has lines to handle
	evBooted                     // the module has booted: initialise it
	evInitAgain                  // the initialisation failed: again
	evRetry                      // the retry policy's back-off is over
	evEscape                     // the guard time after a transfer is over: escape
	evData                       // the data pattern's next transfer
	evSMS                        // the SMS pattern's next message
	evIP                         // the IP Commands pattern's next datagram
	evCycle                      // the next power cycle
	evStart                      // the group's power-up: PowerOn and the loops
)

// schedule sets event ev after dur.
func (d *Device) schedule(dur time.Duration, ev event) {
	d.Group.env.Clock.Schedule(dur, d, uint64(ev))
}

// later sets event ev after dur unless the device powers up again
// meanwhile.
func (d *Device) later(dur time.Duration, ev event) {
	d.Group.env.Clock.Schedule(dur, d, uint64(ev)|uint64(d.epoch)<<8)
}

// Fire handles one of the device's events (vclock.Handler): the run's
// clock calls it, in the run's goroutine.
func (d *Device) Fire(arg uint64) {
	ev := event(arg)
	if ev >= evBooted && ev <= evEscape && uint32(arg>>8) != d.epoch {
		return // set before the device powered up again
	}
	switch ev {
	case evHandle:
		d.handle()
	case evBooted:
		d.State = at3gpp.RegSearching
		d.send(stepInit, d.initCommand())
	case evInitAgain:
		if d.step == stepNone {
			d.send(stepInit, d.initCommand())
		}
	case evRetry:
		d.retry()
	case evEscape:
		if d.step != stepNone || !d.pdp { // busy, or the network ended the session: no escape to make
			d.online = d.online && d.pdp
			return
		}
		d.step = stepEscape // the modem answers OK after the guard time
		d.lp.escape(d)
	case evData:
		d.sendData()
		d.DataLoop(false)
	case evSMS:
		d.sendSMS()
		d.SMSLoop(false)
	case evIP:
		d.ipDue, d.ipFailed = true, false
		d.ipIdle()
		d.IPLoop(false)
	case evCycle:
		d.PowerOn()
		d.CycleLoop()
	case evStart:
		d.start()
	}
}

// Start powers the device up after at, as its group's power_on says, and
// starts its group's patterns then.
func (d *Device) Start(at time.Duration) { d.schedule(at, evStart) }

func (d *Device) start() {
	s := d.Group.Spec
	d.PowerOn()
	if s.Data != nil {
		d.DataLoop(true)
	}
	if s.SMS != nil && s.SMS.Every != nil {
		d.SMSLoop(true)
	}
	if s.IP != nil && s.IP.Every != nil {
		d.IPLoop(true)
	}
	if s.PowerCycle != nil {
		d.CycleLoop()
	}
}

// final goes on from the outcome of the command of step s.
func (d *Device) final(s step, err error) {
	ok := err == nil
	switch s {
	case stepInit:
		if !ok { // still booting, or unreachable for a moment: try again
			d.later(2*time.Second, evInitAgain)
			return
		}
		// Where the modem stands already: an indication comes only on change.
		d.send(stepReadReg, "AT+CEREG?")
	case stepReadReg:
		if d.Group.manual() {
			d.send(stepSelect, d.Group.selectCmd)
		} else if d.State.Registered() && d.Net == 0 {
			d.send(stepOperator, "AT+COPS?")
		}
	case stepSelect, stepAuto:
		if n := d.Group.Spec.Selection.Network; ok && s == stepSelect && len(n) >= 5 {
			// AT+COPS=1 answers OK once registered on the network asked for;
			// its +CEREG came while the command was outstanding.
			d.Net = ParseNetCode(n)
		}
		if !ok {
			var cme *at3gpp.CMEError // why: no network, PLMN not allowed (#11)...
			if errors.As(err, &cme) && d.Group.env.TraceW != nil {
				d.Group.env.traceNote(d, "registration refused: %v", cme)
			}
			d.failed()
		}
	case stepReset:
		d.epoch++ // the module restarts: what was pending is gone
		d.State, d.pdp, d.online = at3gpp.RegNotRegistered, false, false
		d.ipReset()
		d.afterBoot()
	case stepDeregister:
		d.send(stepAuto, "AT+COPS=0")
	case stepActivate:
		if !ok {
			if d.State.Registered() {
				d.Blocked = true // registered, yet refused a data context
			}
			return
		}
		if d.Group.fam.ready != "" {
			d.step = stepActivating
			return
		}
		d.pdp = true
		d.send(stepDial, "ATD*99***1#")
	case stepDial:
		if !ok { // the network refused the data session
			d.Blocked, d.pdp = true, false
			return
		}
		d.online = true
		d.transfer()
	case stepEscape:
		d.online = false
	}
}

// cereg takes the registration state the modem reported.
func (d *Device) cereg(st at3gpp.RegState) {
	prev := d.State
	d.State = st
	if d.State.Registered() {
		d.fails = 0
		if d.FirstReg < 0 {
			d.FirstReg = d.Group.env.Elapsed()
		}
		if !prev.Registered() && d.step == stepNone {
			d.send(stepOperator, "AT+COPS?")
		}
		return
	}
	d.Net, d.pdp = 0, false
	d.ipReset()
	if d.State != at3gpp.RegSearching && !d.Group.manual() { // denied, or not trying
		d.failed()
	}
}

// operator takes the network from +COPS: <mode>,<format>,"<oper>",<AcT>
// (the firmware set <format> 2, numeric).
func (d *Device) operator(l string) {
	v, _ := strings.CutPrefix(l, "+COPS:")
	if o, err := at3gpp.ParseCOPS(strings.TrimSpace(v)); err == nil && len(o.Oper) >= 5 {
		d.Net = ParseNetCode(o.Oper)
	}
}

// failed schedules the retry policy's next attempt.
func (d *Device) failed() {
	rt := d.Group.Spec.Retry
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
	d.later(wait, evRetry)
}

// retry makes the retry policy's attempt once its back-off is over.
func (d *Device) retry() {
	d.retrying = false
	if d.State.Registered() || d.step != stepNone {
		return
	}
	switch {
	case d.Group.manual():
		d.send(stepSelect, d.Group.selectCmd)
	case d.Group.Spec.Retry.Action == "cops":
		d.send(stepDeregister, "AT+COPS=2")
	default:
		d.send(stepReset, d.Group.fam.reset)
	}
}

// sendData starts one transfer of the group's data pattern: activate the
// context, dial, write the bytes, escape.
func (d *Device) sendData() {
	if !d.State.Registered() || d.step != stepNone || d.Drives() != DriveAll {
		return // a real module's data path is its own (sockets), not a dial-up session here
	}
	if d.pdp { // the context is still up: dial straight away
		d.send(stepDial, "ATD*99***1#")
		return
	}
	d.send(stepActivate, d.Group.fam.activate)
}

// transfer writes the payload in data state and escapes after the guard
// time.
func (d *Device) transfer() {
	n := int64(d.Group.Spec.Data.Bytes)
	if d.Group.env.TraceW != nil { // the arguments would be boxed even for no trace
		d.Group.env.traceNote(d, "%d bytes of data", n)
	}
	buf := d.Group.env.Payload
	for n > 0 {
		k := min(n, int64(len(buf)))
		_, _ = d.lp.link.Write(buf[:k])
		n -= k
	}
	d.Group.env.bytesSent += int64(d.Group.Spec.Data.Bytes)
	d.Group.Sent += int64(d.Group.Spec.Data.Bytes)
	if !d.download() {
		return // the network cut the session
	}
	d.later(time.Second+time.Millisecond, evEscape)
	// The data went through unless the modem said NO CARRIER meanwhile.
	d.Blocked = false
}

// rng is a device's own random stream: what a device does doesn't depend
// on how many others there are.
type rng struct{ rand.PCG }

func newRNG(seed uint64, device int) rng {
	return rng{*rand.NewPCG(seed, uint64(device))}
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Group is a group of devices of the scenario as the firmware drives them:
// its module family's commands, and what its devices sent and received.
type Group struct {
	Spec *spec.Group
	env  *Env // the run's, set by New: a device reaches it through its group
	fam  *family
	ip   *ipFirmware // nil without ip
	// selectCmd selects the network of a manual selection, built once.
	selectCmd string
	First     int // index of its first device
	Count     int
	Sent      int64 // bytes its devices wrote
	received  int64 // bytes its devices received (download)
}

// SetModule readies the group's firmware for its module family: how it
// restarts the module, brings data up and uses sockets.
func (g *Group) SetModule() error {
	fam, err := familyOf(g.Spec.Module)
	if err != nil {
		return err
	}
	g.fam = fam
	if g.manual() {
		g.selectCmd = `AT+COPS=1,2,"` + g.Spec.Selection.Network + `"`
	}
	if c := g.Spec.IP; c != nil {
		g.ip = newIPFirmware(g.Spec.Module, fam, c)
	}
	return nil
}

// Profile is the modem profile of the group's module.
func (g *Group) Profile() modem.Profile { return g.fam.profile }

func (g *Group) manual() bool { return g.Spec.Selection.Mode == "manual" }

// DataLoop sends the group's data pattern while the run lasts.
func (d *Device) DataLoop(first bool) {
	t := d.Group.Spec.Data
	wait := t.Every.D()
	if first { // the first transfer comes at a random point of the first interval
		wait = time.Duration(d.rng.float() * float64(wait))
	}
	if t.Jitter.Set && t.Jitter.Value > 0 {
		wait += time.Duration((d.rng.float()*2 - 1) * t.Jitter.Value / 100 * float64(t.Every))
	}
	d.schedule(max(wait, time.Second), evData)
}

// CycleLoop power-cycles the device every power_cycle.every while the run
// lasts.
func (d *Device) CycleLoop() {
	d.schedule(d.Group.Spec.PowerCycle.Every.D(), evCycle)
}

// download receives the group's download over the data session after the
// upload: the network sends it through the modem, which meters it. The
// bytes reach the firmware in data state and are only counted; a download
// the network cuts (the data limit) ends the session, whose NO CARRIER
// came with the data. It reports whether the session is still up.
func (d *Device) download() bool {
	n := int64(d.Group.Spec.Data.Download)
	if n <= 0 || d.Modem == nil {
		return true
	}
	d.downloading = true
	got, err := d.Modem.Download(d.Group.env.Ctx, n)
	d.downloading = false
	if d.Group.env.TraceW != nil {
		d.Group.env.traceNote(d, "%d bytes of data received", got)
	}
	d.Group.received += got
	if err != nil {
		d.Blocked, d.pdp = true, false
		return false
	}
	return true
}

// Rand returns the next number in [0, 1) of the device's random stream.
func (d *Device) Rand() float64 { return d.rng.float() }

// Drives says how much of the device the firmware here drives, by its kind.
func (d *Device) Drives() Drive { return d.kind.drives() }

// Close releases the device's modem or port; a device whose set-up
// stopped before its kind was set holds none.
func (d *Device) Close() {
	if d.kind != kindNone {
		d.port().Close(d)
	}
}
