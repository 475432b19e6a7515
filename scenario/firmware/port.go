package firmware

import (
	"bytes"
	"context"
	"strings"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// atPort is a device's kind: what is at the other end of its firmware's
// AT layer. A device holds one (a fleet has up to a million: the kinds are
// small values, the virtual one a pointer into the device itself):
//
//   - *linkPort: a virtual modem linked in process, driven by the firmware
//     here on the virtual clock;
//   - hwPort: a real modem on a serial port (--hw), driven by the firmware
//     here through the hw client, in real time;
//   - externalPort: a virtual modem served on a PTY (--exec), driven by the
//     user's program; the firmware here stays out of it.
//
// The firmware sends one command at a time; its answer, the information
// lines and the final result as an error, reaches device.answer, and what
// the modem says between commands reaches device.indication, both in the
// run's goroutine. The final result is nil for OK and CONNECT, a
// *at3gpp.CMEError or *at3gpp.CMSError, or an at3gpp.Result (ERROR, NO
// CARRIER...) that hw's sentinels wrap: the firmware reads them with
// errors.As and errors.Is whichever modem it drives.
//
// The answer comes later, not from Command: a virtual modem answers on the
// run's virtual clock, which runs in the goroutine that calls Command.
type atPort interface {
	// Command sends one command line.
	Command(ctx context.Context, d *Device, line string)
	// Send sends a command line that prompts for data ("> " or "@"), and
	// data at the prompt: the SMS text and Ctrl-Z, a datagram's bytes.
	Send(ctx context.Context, d *Device, line string, data []byte)
	// powerOn powers the module up, or restarts it when it is up.
	powerOn(d *Device)
	// drives says how much of the device the firmware here drives.
	Drives() Drive
	// close releases the modem or the port.
	Close(d *Device)
}

// kind is a device's kind, which says its atPort.
type kind uint8

const (
	kindNone     kind = iota // set-up stopped before the kind was set
	kindLink                 // linkPort, the device's own lp
	kindHW                   // hwPort, its client in Env.hw
	kindExternal             // externalPort
)

// port returns the device's atPort (no allocation: each is pointer-shaped
// or empty).
func (d *Device) port() atPort {
	switch d.kind {
	case kindLink:
		return &d.lp
	case kindHW:
		return hwPort{d.Group.env.hw[d.Index]}
	case kindExternal:
		return externalPort{}
	}
	return nil
}

// drives is Drives of the kind's port.
func (k kind) drives() Drive {
	switch k {
	case kindLink:
		return DriveAll
	case kindHW:
		return DriveCommands
	}
	return DriveNone
}

// Drive is how much of a device the firmware here drives.
type Drive uint8

const (
	DriveNone         Drive = iota // nothing: another program drives it
	DriveRegistration              // registration only
	DriveCommands                  // registration, SMS and IP Commands: a real module, whose data path is its sockets
	DriveAll                       // registration, data sessions, SMS and IP Commands
)

// linkPort is the in-process modem link of a virtual device, kept inside
// the device (a fleet has up to a million): the modem's output is split
// into lines in the inbox, and handle tells the outstanding command's
// information lines and final result from indications, as an AT client
// does.
type linkPort struct {
	link *modem.Link
	// inbox holds the lines from the modem not yet handled; nil while there
	// are none (most devices, most of the time), its buffer then back in
	// Env.spare. Guarded by Env.inboxMu.
	inbox *[]string
	// cmd is the outstanding command line ("" with none): a line that
	// starts with its name ("+CEREG:" for AT+CEREG?) is its information.
	cmd string
}

// Command writes one command line to the modem.
func (p *linkPort) Command(_ context.Context, d *Device, line string) {
	p.cmd = line
	e := d.Group.env
	b := append(append(e.cmdBuf[:0], line...), '\r') // the modem copies what it reads
	e.cmdBuf = b
	e.trace(d, hw.DirOut, b)
	_, _ = p.link.Write(b)
}

// powerOn power-cycles the virtual modem; the firmware talks to it once
// it has booted.
func (p *linkPort) powerOn(d *Device) {
	d.restart()
	d.Modem.PowerCycle()
	d.afterBoot()
}

// Send writes the command line; the modem's prompt comes back as an
// indication, where the firmware writes the data (Device.promptData).
func (p *linkPort) Send(ctx context.Context, d *Device, line string, _ []byte) {
	p.Command(ctx, d, line)
}

func (p *linkPort) Drives() Drive { return DriveAll }

func (p *linkPort) Close(d *Device) {
	_ = p.link.Close()
	d.Modem.Close()
}

// escape leaves data state with +++; the modem's OK after the guard time
// is its answer.
func (p *linkPort) escape(d *Device) {
	p.cmd = escapeLine
	d.Group.env.trace(d, hw.DirOut, escape)
	_, _ = p.link.Write(escape)
}

// Write is what the device's virtual modem writes to it (see
// modem.ConnectWriter): it takes all of b, always.
func (d *Device) Write(b []byte) (int, error) {
	d.output(b)
	return len(b), nil
}

// output receives the modem's bytes. It runs under the modem's locks: it
// only splits lines into the inbox and wakes the firmware from a timer.
func (d *Device) output(b []byte) {
	if d.downloading { // data state: the bytes are the download, counted by download
		return
	}
	d.Group.env.trace(d, hw.DirIn, b)
	p := &d.lp
	d.Group.env.inboxMu.Lock()
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		box := d.Group.env.inboxOf(p)
		*box = append(*box, lineText(line))
	}
	wake := p.inbox != nil && len(*p.inbox) > 0 && !d.woken
	d.woken = d.woken || wake
	d.Group.env.inboxMu.Unlock()
	if wake {
		d.schedule(0, evHandle)
	}
}

// lineText is line as a string, without a copy for the most common lines:
// the final results.
func lineText(line []byte) string {
	switch string(line) {
	case "OK":
		return "OK"
	case "CONNECT":
		return "CONNECT"
	case "NO CARRIER":
		return "NO CARRIER"
	case "ERROR":
		return "ERROR"
	}
	return string(line)
}

// inboxOf returns p's inbox, the spare buffer or a new one if it had
// none. Callers hold e.inboxMu.
func (e *Env) inboxOf(p *linkPort) *[]string {
	if p.inbox == nil {
		p.inbox, e.spare = e.spare, nil
		if p.inbox == nil {
			p.inbox = new([]string)
		}
	}
	return p.inbox
}

// handle hands the inbox's lines to the firmware: the outstanding
// command's answer once its final result is in, indications as they come.
// Information lines whose final result has not come yet wait in the inbox.
func (d *Device) handle() {
	p := &d.lp
	d.Group.env.inboxMu.Lock()
	d.woken = false
	box := p.inbox
	p.inbox = nil
	d.Group.env.inboxMu.Unlock()
	if box == nil {
		return
	}
	lines := *box
	var info []string // the outstanding command's, compacted in place in lines
	for i, l := range lines {
		switch {
		case p.cmd == "":
			d.indication(l)
		case at3gpp.IsFinal(l):
			p.cmd = ""
			d.answer(info, at3gpp.FinalError(l))
			info = nil
		case isSendResult(p.cmd, l): // AT+QISEND's final result
			p.cmd = ""
			var err error
			if l != "SEND OK" {
				err = at3gpp.ResultError
			}
			d.answer(info, err)
			info = nil
		case isInfo(p.cmd, l):
			if info == nil {
				info = lines[i:i]
			}
			info = append(info, l)
		default:
			d.indication(l)
		}
	}
	if len(info) > 0 { // the final result comes in a later write
		d.Group.env.inboxMu.Lock()
		later := p.inbox
		p.inbox = box
		*box = info[:len(info):len(info)]
		if later != nil {
			*box = append(*box, *later...)
		}
		d.Group.env.inboxMu.Unlock()
		return
	}
	clear(lines) // the lines are handled: the next output may use the buffer
	*box = lines[:0]
	d.Group.env.inboxMu.Lock()
	if d.Group.env.spare == nil {
		d.Group.env.spare = box
	}
	d.Group.env.inboxMu.Unlock()
}

// isInfo reports whether line is an information line of the command line
// cmd: "+CEREG: ..." of "AT+CEREG?". Only extended commands have them here.
func isInfo(cmd, line string) bool {
	if len(cmd) < 3 || !strings.EqualFold(cmd[:2], "AT") || cmd[2] != '+' {
		return false
	}
	name := cmd[2:]
	if i := strings.IndexAny(name, "=?;"); i >= 0 {
		name = name[:i]
	}
	if strings.EqualFold(name, "+CMGR") { // +CMGR: <header>, then the message's text
		return !strings.HasPrefix(line, "+CMTI:")
	}
	if strings.EqualFold(name, "+QIRD") { // +QIRD: <len>, then the data
		return !strings.HasPrefix(line, "+QIURC:")
	}
	return len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(line[:len(name)], name)
}

// isSendResult reports whether line is the final result of the Quectel
// send command cmd: SEND OK or SEND FAIL.
func isSendResult(cmd, line string) bool {
	return len(line) > 4 && line[0] == 'S' && (line == "SEND OK" || line == "SEND FAIL") && strings.HasPrefix(cmd, "AT+QISEND")
}

// hwPort is a real modem on a serial port, through the hw client: its
// commands run in goroutines the runner waits for. Its indications reach
// the firmware through the device's linkPort inbox (Device.Deliver). The
// firmware drives its registration, SMS and IP Commands, not the dial-up
// data pattern: a module's data path is its own sockets.
type hwPort struct{ c *hw.Client }

// powerOn starts the firmware on the module, which is on already; once
// it has, a module reset.
func (p hwPort) powerOn(d *Device) {
	if d.PoweredAt >= 0 {
		d.send(stepReset, d.Group.fam.reset)
		return
	}
	d.restart()
	d.State = at3gpp.RegSearching
	d.send(stepInit, d.initCommand())
}

func (p hwPort) Drives() Drive { return DriveCommands }

func (p hwPort) Close(*Device) { _ = p.c.Close() }

// Command runs one command on the modem; the answer comes back to the
// run's goroutine through its clock.
func (p hwPort) Command(ctx context.Context, d *Device, line string) {
	r := d.Group.env
	r.WG.Add(1)
	go func() {
		defer r.WG.Done()
		info, err := p.c.Command(ctx, line)
		r.Clock.AfterFunc(0, func() { d.answer(info, err) })
	}()
}

// Send runs a prompting command on the modem: the client writes data at
// the prompt itself.
func (p hwPort) Send(ctx context.Context, d *Device, line string, data []byte) {
	r := d.Group.env
	r.WG.Add(1)
	go func() {
		defer r.WG.Done()
		info, err := p.c.Send(ctx, line, data)
		r.Clock.AfterFunc(0, func() { d.answer(info, err) })
	}()
}

// externalPort is a virtual modem the user's program drives over a PTY
// (--exec): the firmware here sends it nothing, and the runner reads
// its state from the modem.
type externalPort struct{}

// Command is never called: the firmware does not Drive the device.
func (externalPort) Command(context.Context, *Device, string) {}

// Send is never called either.
func (externalPort) Send(context.Context, *Device, string, []byte) {}

// powerOn power-cycles the modem; the user's program sees it boot.
func (externalPort) powerOn(d *Device) { d.Modem.PowerCycle() }

func (externalPort) Drives() Drive { return DriveNone }

func (externalPort) Close(d *Device) { d.Modem.Close() }

// New returns device index of group g, before its kind is set (Virtual,
// Real, or External after Virtual). seed seeds its random stream.
func New(env *Env, g *Group, index int, seed uint64) Device {
	g.env = env
	return Device{Group: g, Index: int32(index), rng: newRNG(seed, index), PoweredAt: -1, FirstReg: -1}
}

// Virtual makes d a virtual device: the firmware here drives m in process.
func (d *Device) Virtual(m *modem.Modem) {
	d.Modem = m
	d.lp.link = m.ConnectWriter(d) // d itself: no function value to keep per device
	d.kind = kindLink
}

// Real makes d a real modem's, driven by the firmware here through c. Its
// indications reach the firmware once c hands them to Deliver.
func (d *Device) Real(c *hw.Client) {
	if d.Group.env.hw == nil {
		d.Group.env.hw = make(map[int32]*hw.Client)
	}
	d.Group.env.hw[d.Index] = c
	d.kind = kindHW
}

// External hands a virtual device's modem to a program of the user's
// (served on a PTY): the firmware here lets go of it.
func (d *Device) External() {
	_ = d.lp.link.Close()
	d.lp.link = nil
	d.kind = kindExternal
}
