package scenario

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
	Command(ctx context.Context, d *device, line string)
	// powerOn powers the module up, or restarts it when it is up.
	powerOn(d *device)
	// drives says how much of the device the firmware here drives.
	drives() drive
	// close releases the modem or the port.
	close(d *device)
}

// drive is how much of a device the firmware here drives.
type drive uint8

const (
	driveNone         drive = iota // nothing: another program drives it
	driveRegistration              // registration only: a real module's data path is its own
	driveAll                       // registration, data sessions, SMS and IP Commands
)

// linkPort is the in-process modem link of a virtual device, kept inside
// the device (a fleet has up to a million): the modem's output is split
// into lines in the inbox, and handle tells the outstanding command's
// information lines and final result from indications, as an AT client
// does.
type linkPort struct {
	link  *modem.Link
	inbox []string // lines from the modem not yet handled, guarded by runner.inboxMu
	// cmd is the outstanding command line ("" with none): a line that
	// starts with its name ("+CEREG:" for AT+CEREG?) is its information.
	cmd string
}

// Command writes one command line to the modem.
func (p *linkPort) Command(_ context.Context, d *device, line string) {
	p.cmd = line
	b := make([]byte, 0, 64)
	b = append(append(b, line...), '\r')
	d.r.trace(d, hw.DirOut, b)
	_, _ = p.link.Write(b)
}

// powerOn power-cycles the virtual modem; the firmware talks to it once
// it has booted.
func (p *linkPort) powerOn(d *device) {
	d.restart()
	d.modem.PowerCycle()
	d.afterBoot()
}

func (p *linkPort) drives() drive { return driveAll }

func (p *linkPort) close(d *device) {
	_ = p.link.Close()
	d.modem.Close()
}

// escape leaves data state with +++; the modem's OK after the guard time
// is its answer.
func (p *linkPort) escape(d *device) {
	p.cmd = escapeLine
	d.r.trace(d, hw.DirOut, escape)
	_, _ = p.link.Write(escape)
}

// output receives the modem's bytes. It runs under the modem's locks: it
// only splits lines into the inbox and wakes the firmware from a timer.
func (d *device) output(b []byte) {
	if d.downloading { // data state: the bytes are the download, counted by download
		return
	}
	d.r.trace(d, hw.DirIn, b)
	p := &d.lp
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
			p.inbox = append(p.inbox, string(line))
		}
	}
	wake := len(p.inbox) > 0 && !d.woken
	d.woken = d.woken || wake
	d.r.inboxMu.Unlock()
	if wake {
		d.r.clock.AfterFunc(0, d.handle)
	}
}

// handle hands the inbox's lines to the firmware: the outstanding
// command's answer once its final result is in, indications as they come.
// Information lines whose final result has not come yet wait in the inbox.
func (d *device) handle() {
	p := &d.lp
	d.r.inboxMu.Lock()
	d.woken = false
	lines := p.inbox
	p.inbox = nil
	d.r.inboxMu.Unlock()
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
		d.r.inboxMu.Lock()
		p.inbox = append(info[:len(info):len(info)], p.inbox...)
		d.r.inboxMu.Unlock()
	}
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
// the firmware through the device's linkPort inbox (runner.deliver).
type hwPort struct{ c *hw.Client }

// powerOn starts the firmware on the module, which is on already; once
// it has, a module reset.
func (p hwPort) powerOn(d *device) {
	if d.poweredAt >= 0 {
		d.send(stepReset, d.g.fam.reset)
		return
	}
	d.restart()
	d.state = at3gpp.RegSearching
	d.send(stepInit, d.initCommand())
}

func (p hwPort) drives() drive { return driveRegistration }

func (p hwPort) close(*device) { _ = p.c.Close() }

// Command runs one command on the modem; the answer comes back to the
// run's goroutine through its clock.
func (p hwPort) Command(ctx context.Context, d *device, line string) {
	r := d.r
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		info, err := p.c.Command(ctx, line)
		r.clock.AfterFunc(0, func() { d.answer(info, err) })
	}()
}

// externalPort is a virtual modem the user's program drives over a PTY
// (realtime.go): the firmware here sends it nothing, and the runner reads
// its state from the modem (runner.pollExternal).
type externalPort struct{}

// Command is never called: the firmware does not drive the device.
func (externalPort) Command(context.Context, *device, string) {}

// powerOn power-cycles the modem; the user's program sees it boot.
func (externalPort) powerOn(d *device) { d.modem.PowerCycle() }

func (externalPort) drives() drive { return driveNone }

func (externalPort) close(d *device) { d.modem.Close() }
