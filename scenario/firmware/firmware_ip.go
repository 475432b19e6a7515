package firmware

import (
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// The firmware's IP Commands, through the module family's own socket
// commands: a UDP socket to the IP Commands gateway (100.64.0.1:6969)
// bound to the group's device port, opened once the data context is up.
// Datagrams the firmware sends on it become IP Commands from the SIM; an
// IP Command to the device port is announced by the family's indication
// and read with its read command, then answered if the group says so.
//
//	bg96, bg95: AT+QIACT=1, AT+QIOPEN=1,0,"UDP","100.64.0.1",6969,<port>,0;
//	            AT+QISEND=0,<len> "> " <bytes> SEND OK; +QIURC: "recv",0 → AT+QIRD=0
//	sim7080:    AT+CNACT=0,1, AT+CACFG="LOCALPORT",0,<port>, AT+CAOPEN=0,0,"UDP","100.64.0.1",6969;
//	            AT+CASEND=0,<len> "> " <bytes> OK; +CADATAIND: 0 → AT+CARECV=0,1460
//	sim7000:    AT+CNACT=1,"super", then the same with AT+CAOPEN=0,"UDP","100.64.0.1",6969
//	sara-r4:    AT+CGACT=1,1, AT+USOCR=17,<port>;
//	            AT+USOST=<s>,"100.64.0.1",6969,<len> "@" <bytes> +USOST: <s>,<len>; +UUSORF: <s>,<len> → AT+USORF=<s>,1024

const (
	stepIPOpen       step = stepSmsDelete + 1 + iota // the family's open sequence, at stage device.ipStage
	stepIPActivating                                 // waiting for the context's indication (SIMCom)
	stepIPSend                                       // the send command, the group's text
	stepIPReply                                      // the send command, the group's reply
	stepIPRead                                       // the read command
)

// gateway is where the firmware sends IP Commands.
const gateway = `"100.64.0.1",6969`

// ipFirmware is a group's socket commands, made once per group.
type ipFirmware struct {
	spec  *spec.DeviceIP
	kind  ipKind
	open  []string // the open sequence; a failed first command (context up already) is not fatal
	ready string   // the indication after the first command's OK that says the context is up
	text  string   // the send command of the text, without the socket (u-blox) or with it
	reply string
}

type ipKind uint8

const (
	ipQuectel ipKind = iota
	ipSimcom
	ipUblox
)

// newIPFirmware returns the socket commands of module for c.
func newIPFirmware(module string, fam *family, c *spec.DeviceIP) *ipFirmware {
	f := &ipFirmware{spec: c}
	port := strconv.Itoa(c.Port)
	switch module {
	case "sim7080", "sim7000":
		f.kind, f.ready = ipSimcom, fam.ready
		open := `AT+CAOPEN=0,0,"UDP",` + gateway
		if module == "sim7000" {
			open = `AT+CAOPEN=0,"UDP",` + gateway
		}
		f.open = []string{fam.activate, `AT+CACFG="LOCALPORT",0,` + port, open}
	case "sara-r4":
		f.kind = ipUblox
		f.open = []string{fam.activate, "AT+USOCR=17," + port}
	default:
		f.open = []string{"AT+QIACT=1", `AT+QIOPEN=1,0,"UDP",` + gateway + "," + port + ",0"}
	}
	f.text, f.reply = f.send(c.Text), f.send(c.Reply)
	return f
}

// send is the command that sends text (for u-blox, after the socket).
func (f *ipFirmware) send(text string) string {
	n := strconv.Itoa(len(text))
	switch f.kind {
	case ipSimcom:
		return "AT+CASEND=0," + n
	case ipUblox:
		return "," + gateway + "," + n
	}
	return "AT+QISEND=0," + n
}

// ipReset forgets the socket: the module restarted or left the network.
func (d *Device) ipReset() {
	d.ipUp, d.ipFailed, d.ipRecv = false, false, false
}

// ipIndication handles the socket's indications and send prompts; it
// reports whether l was one of them.
func (d *Device) ipIndication(l string) bool {
	if d.Group == nil || d.Group.ip == nil {
		return false
	}
	f := d.Group.ip
	switch {
	case (l == ">" || l == "@") && (d.step == stepIPSend || d.step == stepIPReply):
		b := d.promptData()
		d.Group.env.trace(d, hw.DirOut, b)
		_, _ = d.lp.link.Write(b)
	case d.step == stepIPActivating && strings.HasPrefix(l, "+APP PDP: "):
		d.step = stepNone
		if l != f.ready {
			d.ipFailed = true
			return true
		}
		d.ipStage++
		d.send(stepIPOpen, f.open[d.ipStage])
	case strings.HasPrefix(l, `+QIURC: "recv"`), strings.HasPrefix(l, "+CADATAIND:"), strings.HasPrefix(l, "+UUSORF:"):
		d.ipRecv = true
		d.ipIdle()
	case strings.HasPrefix(l, `+QIURC: "closed"`), strings.HasPrefix(l, `+QIURC: "pdpdeact"`),
		strings.HasPrefix(l, "+CASTATE:"), strings.HasPrefix(l, "+UUSOCL:"):
		d.ipUp = false
	default:
		return false
	}
	return true
}

// ipIdle does the socket's next thing when the firmware has nothing
// outstanding: open it, read what came, answer, send.
func (d *Device) ipIdle() {
	if d.Group == nil || d.Group.ip == nil {
		return
	}
	f := d.Group.ip
	if d.step != stepNone || d.online || d.Drives() < DriveCommands || !d.State.Registered() {
		return
	}
	switch {
	case !d.ipUp:
		if !d.ipFailed {
			d.ipStage = 0
			d.send(stepIPOpen, f.open[0])
		}
	case d.ipRecv:
		switch f.kind {
		case ipSimcom:
			d.send(stepIPRead, "AT+CARECV=0,1460")
		case ipUblox:
			d.send(stepIPRead, "AT+USORF="+strconv.Itoa(int(d.ipSock))+",1024")
		default:
			d.send(stepIPRead, "AT+QIRD=0")
		}
	case d.ipReply:
		d.ipReply = false
		d.sendIP(stepIPReply)
	case d.ipDue:
		d.ipDue = false
		d.sendIP(stepIPSend)
	}
}

// datagram is what the send command of step s sends: the group's text,
// numbered, or its reply.
func (d *Device) datagram(s step) string {
	if s == stepIPReply {
		return d.Group.ip.spec.Reply
	}
	return seq(d.Group.ip.spec.Text, d.ipN+1)
}

// sendIP sends the group's datagram of step s.
func (d *Device) sendIP(s step) {
	f := d.Group.ip
	var cmd string
	switch {
	case s == stepIPReply:
		cmd = f.reply
	case strings.Contains(f.spec.Text, spec.SeqPlaceholder):
		cmd = f.send(d.datagram(s))
	default:
		cmd = f.text
	}
	if f.kind == ipUblox {
		cmd = "AT+USOST=" + strconv.Itoa(int(d.ipSock)) + cmd
	}
	d.sendPrompted(s, cmd)
}

// ipAnswer goes on from the answer of a socket step; it reports whether s
// was one.
func (d *Device) ipAnswer(s step, info []string, err error) bool {
	if s < stepIPOpen || s > stepIPRead {
		return false
	}
	f := d.Group.ip
	switch s {
	case stepIPOpen:
		last := int(d.ipStage) == len(f.open)-1
		if err != nil && (last || d.ipStage > 0) {
			d.ipFailed = true
			d.Group.env.traceNote(d, "IP socket refused: %v", err)
			return true
		}
		if f.kind == ipUblox && last {
			for _, l := range info {
				if v, ok := strings.CutPrefix(l, "+USOCR:"); ok {
					n, _ := strconv.Atoi(strings.TrimSpace(v))
					d.ipSock = uint8(n)
				}
			}
		}
		if last {
			d.ipUp = true
			return true
		}
		if d.ipStage == 0 && f.ready != "" && err == nil {
			d.step = stepIPActivating
			return true
		}
		d.ipStage++
		d.send(stepIPOpen, f.open[d.ipStage])
	case stepIPSend, stepIPReply:
		if err == nil {
			d.Group.env.ipSent++
			if s == stepIPSend {
				d.ipN++
			}
		} else {
			d.ipUp = false // the socket is gone: open it again at the next send
			d.Group.env.traceNote(d, "IP send failed: %v", err)
		}
	case stepIPRead:
		data, ok := ipPayload(f.kind, info)
		d.ipRecv = ok && err == nil // read until the socket is empty
		if d.ipRecv {
			d.Group.env.ipRead++
			d.Group.env.traceNote(d, "IP Command read: %q", data)
			d.ipReply = f.spec.Reply != ""
		}
	}
	return true
}

// ipPayload is the datagram of a read command's answer, if one came.
func ipPayload(k ipKind, info []string) (string, bool) {
	if len(info) == 0 {
		return "", false
	}
	switch k {
	case ipSimcom: // +CARECV: <len>,<data>
		_, data, ok := strings.Cut(info[0], ",")
		return data, ok
	case ipUblox: // +USORF: <s>,"<ip>",<port>,<len>,"<data>"
		p := strings.SplitN(info[0], ",", 5)
		if len(p) < 5 || p[3] == "0" {
			return "", false
		}
		return strings.Trim(p[4], `"`), true
	}
	if len(info) < 2 || info[0] == "+QIRD: 0" { // +QIRD: <len>, then the data
		return "", false
	}
	return info[1], true
}

// IPLoop sends the group's datagram every interval while the run lasts,
// each device at its own phase.
func (d *Device) IPLoop(first bool) {
	wait := d.Group.ip.spec.Every.D()
	if first {
		wait = time.Duration(d.rng.float() * float64(wait))
	}
	d.schedule(max(wait, time.Second), evIP)
}

// Validation.
