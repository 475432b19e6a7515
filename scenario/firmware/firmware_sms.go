package firmware

import (
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/hw"
)

// The firmware's SMS, in 27.005 text mode, the same on every module
// family: AT+CMGF=1 and AT+CNMI=2,1 at start-up; a new SMS is announced
// by +CMTI: <mem>,<index>, read with AT+CMGR=<index>, answered with
// AT+CMGS="000" (the SMS Commands number) and deleted with AT+CMGD; an
// SMS is sent by typing its text at the > prompt of AT+CMGS and Ctrl-Z.

const (
	stepSmsSend   step = stepEscape + 1 + iota // AT+CMGS="000", the group's text
	stepSmsReply                               // AT+CMGS="000", the group's reply
	stepSmsRead                                // AT+CMGR=<index>
	stepSmsDelete                              // AT+CMGD=<index>
)

// smsNumber is where a Super SIM sends SMS Commands.
const smsNumber = "000"

// initCommand is the firmware's start-up line.
func (d *Device) initCommand() string {
	if d.Group.Spec.SMS != nil {
		return "ATE0;+CMEE=1;+CEREG=2;+COPS=3,2;+CMGF=1;+CNMI=2,1"
	}
	return "ATE0;+CMEE=1;+CEREG=2;+COPS=3,2"
}

// smsIndication handles +CMTI and the > prompt of AT+CMGS; it reports
// whether l was one of them.
func (d *Device) smsIndication(l string) bool {
	switch {
	case l == ">" && (d.step == stepSmsSend || d.step == stepSmsReply):
		b := d.promptData()
		d.Group.env.trace(d, hw.DirOut, b)
		_, _ = d.lp.link.Write(b)
		return true
	case strings.HasPrefix(l, "+CMTI:") && d.Group != nil && d.Group.Spec.SMS != nil:
		_, idx, ok := strings.Cut(l, ",")
		n, err := strconv.Atoi(strings.TrimSpace(idx))
		if !ok || err != nil {
			return true
		}
		d.Group.env.inboxMu.Lock() // the map is shared by every device: real modems' answers come from goroutines
		if d.Group.env.unread == nil {
			d.Group.env.unread = make(map[int32][]int)
		}
		d.Group.env.unread[d.Index] = append(d.Group.env.unread[d.Index], n)
		d.Group.env.inboxMu.Unlock()
		if d.step == stepNone {
			d.smsIdle()
		}
		return true
	}
	return false
}

// smsIdle reads the next unread SMS when the firmware has nothing
// outstanding.
func (d *Device) smsIdle() {
	if d.Group == nil || d.Group.Spec.SMS == nil || d.step != stepNone || d.online || d.Drives() < DriveCommands {
		return
	}
	if n, ok := d.nextUnread(false); ok {
		d.send(stepSmsRead, "AT+CMGR="+strconv.Itoa(n))
	}
}

// nextUnread returns the index of the next unread SMS, and drops it when
// pop is set.
func (d *Device) nextUnread(pop bool) (int, bool) {
	d.Group.env.inboxMu.Lock()
	defer d.Group.env.inboxMu.Unlock()
	q := d.Group.env.unread[d.Index]
	if len(q) == 0 {
		return 0, false
	}
	if pop {
		if len(q) == 1 {
			delete(d.Group.env.unread, d.Index)
		} else {
			d.Group.env.unread[d.Index] = q[1:]
		}
	}
	return q[0], true
}

// smsAnswer goes on from the answer of an SMS step; it reports whether s
// was one.
func (d *Device) smsAnswer(s step, info []string, err error) bool {
	switch s {
	case stepSmsSend, stepSmsReply:
		if err == nil {
			d.Group.env.smsSent++
			if s == stepSmsSend {
				d.smsN++
			}
		}
	case stepSmsRead:
		n, _ := d.nextUnread(false)
		if err == nil && len(info) > 1 {
			d.Group.env.smsRead++
			d.Group.env.traceNote(d, "SMS read: %q", info[len(info)-1])
		}
		if err == nil && len(info) > 1 && d.Group.Spec.SMS.Reply != "" {
			// The answer first, then the delete: smsAnswer comes back here
			// for stepSmsReply, and the delete follows from smsIdle's turn.
			d.replyTo = true
		}
		d.send(stepSmsDelete, "AT+CMGD="+strconv.Itoa(n))
	case stepSmsDelete:
		d.nextUnread(true)
		if d.replyTo && d.State.Registered() {
			d.replyTo = false
			d.sendPrompted(stepSmsReply, `AT+CMGS="`+smsNumber+`"`)
		}
	default:
		return false
	}
	return true
}

// SMSLoop sends the group's SMS every interval while the run lasts, each
// device at its own phase.
func (d *Device) SMSLoop(first bool) {
	c := d.Group.Spec.SMS
	wait := c.Every.D()
	if first {
		wait = time.Duration(d.rng.float() * float64(wait))
	}
	d.schedule(max(wait, time.Second), evSMS)
}

// sendSMS sends the group's text to 000 if the device can now.
func (d *Device) sendSMS() {
	if !d.State.Registered() || d.step != stepNone || d.online || d.Drives() < DriveCommands {
		return
	}
	d.sendPrompted(stepSmsSend, `AT+CMGS="`+smsNumber+`"`)
}
