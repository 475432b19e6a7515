package modem

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"unsafe"
)

// Port is one serial port a module offers its host. A module on USB has
// several (a Quectel BG96: the modem port a dialer runs PPP on, and an AT
// port a host polls while the modem port carries data); all of them drive
// the one module. The first port of a profile is its main port.
type Port struct {
	// Name names the port in fleetsim: "modem" for the main port; an extra
	// port is exposed as modem-<i>-<Name>.
	Name string
	// URC marks the port indications go to until the host chooses another
	// (Quectel's AT+QURCCFG="urcport").
	URC bool
}

// MainPort is the name of every profile's first port.
const MainPort = "modem"

// The SIMCom and u-blox profiles are served on their main UART alone, as
// firmware meets them. Their USB ports (a SIM7080G's AT and modem ports;
// SIMCom routes indications with AT+CATR, to every port by default) are
// left for their profiles to declare.
func (SIMCom) Ports() []Port { return Generic{}.Ports() }
func (Ublox) Ports() []Port  { return Generic{}.Ports() }

// port is one of a modem's ports as it is served: its own session (line
// reader, prompt, data state), its own writer, and the settings a module
// keeps per port. Guarded by Modem.mu.
type port struct {
	st   portState
	sess *session // the host connection being served, if any
	out  *writer  // its output
	held *[]byte  // indications that came while the port carried data; nil for none
	i    uint8    // its index in the modem's ports (and Env.portNames)
	used bool     // the host has written to the port since it was connected
}

// nameOf is the name of the modem's port p.
func (m *Modem) nameOf(p *port) string { return m.env.portNames[p.i] }

// maxHeld bounds the indications held for a port in data state; past it
// the newest are lost, as a module's URC cache overflows.
const maxHeld = 4096

// portNames are the names of the ports a profile declares, the main port
// first, and the one indications go to.
func portNames(p Profile) ([]string, string) {
	spec := p.Ports()
	if len(spec) == 0 {
		spec = Generic{}.Ports()
	}
	names := make([]string, len(spec))
	urc := spec[0].Name
	for i, s := range spec {
		names[i] = s.Name
		if s.URC {
			urc = s.Name
		}
	}
	return names, urc
}

// newPorts makes the modem's ports: the main port, and the others now
// where the profile sets power-up defaults of its own; without, an extra
// port is made when a host first connects to it (makePort), its settings
// at their defaults as a power-up leaves them. Most modems of a fleet are
// driven on their main port alone.
func (m *Modem) newPorts() {
	m.ports = make([]*port, len(m.env.portNames))
	for i := range m.env.portNames {
		if i == 0 || m.env.defaults != nil {
			m.ports[i] = &port{i: uint8(i)}
			m.ports[i].st.defaults()
		}
	}
}

// Ports returns the names of the modem's ports, the main port first.
func (m *Modem) Ports() []string { return slices.Clone(m.env.portNames) }

// makePort returns the port called name, made now if it was not yet, or
// nil where the modem has none.
func (m *Modem) makePort(name string) *port {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.Index(m.env.portNames, name)
	if i < 0 {
		return nil
	}
	if m.ports[i] == nil {
		p := &port{i: uint8(i)}
		p.st.defaults()
		m.ports[i] = p
	}
	return m.ports[i]
}

// urcPort is the port indications go to: the one the host chose (or the
// profile's default) once a host has written to it; before that the main
// port, so that firmware on the main port alone hears every indication
// (on a real module they would be lost on a port nobody opened). Nil while
// no host is connected. Callers hold m.mu.
func (m *Modem) urcPort() *port {
	// The port called urcName, if it is made (a host has connected to it):
	// found by index, as port names are unique.
	var chosen *port
	if i := m.urcIndex(); i >= 0 {
		chosen = m.ports[i]
	}
	if chosen != nil && chosen.sess != nil && chosen.used {
		return chosen
	}
	if main := m.ports[0]; main.sess != nil {
		return main
	}
	if chosen != nil && chosen.sess != nil {
		return chosen
	}
	return nil
}

// repoint makes m.st's port settings those of the port a command runs for,
// or of the indication port when none runs. Callers hold m.mu.
func (m *Modem) repoint() {
	u := m.urcPort()
	switch {
	case m.cur != 0:
		m.st.portState = &m.running().st
	case u != nil:
		m.st.portState = &u.st
	default:
		m.st.portState = &m.ports[0].st
	}
}

// running is the port a command runs for, or nil while none runs.
// Callers hold m.mu.
func (m *Modem) running() *port {
	if m.cur == 0 {
		return nil
	}
	return m.ports[m.cur-1]
}

// enter starts running something for port p (a command, its prompt's
// input): the module has one command processor, so its ports take turns,
// and what the command writes goes to p. leave ends it.
func (m *Modem) enter(p *port) {
	m.exec.Lock()
	m.mu.Lock()
	m.cur = p.i + 1
	m.repoint()
	m.mu.Unlock()
}

func (m *Modem) leave() {
	m.mu.Lock()
	m.cur = 0
	m.repoint()
	m.mu.Unlock()
	m.exec.Unlock()
}

// toPort writes framed output to p, or holds it while p carries data: a
// port in data state never gets text inside its data stream. Callers hold
// m.mu.
func (m *Modem) toPort(p *port, s string) {
	if p == nil || p.out == nil || s == "" {
		return
	}
	if p.st.dataMode {
		if p.held == nil {
			p.held = new([]byte)
		}
		if n := maxHeld - len(*p.held); n > 0 {
			*p.held = append(*p.held, s[:min(n, len(s))]...)
		}
		return
	}
	m.tapOut(p, s)
	// s's bytes as they are, not a copy: send only reads them, during
	// the call (it queues a copy), and so does what it writes to (an
	// io.Writer, or Connect's function, neither keeps nor changes them).
	p.out.send(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// endData takes p out of data state with result code res (OK after the
// "+++" escape, NO CARRIER when the session is lost); the indications held
// meanwhile follow. Callers hold m.mu.
func (m *Modem) endData(p *port, res resultCode) {
	if !p.st.dataMode {
		return
	}
	p.st.dataMode = false
	m.toPort(p, p.st.result(res))
	if held := p.held; held != nil {
		p.held = nil
		if len(*held) > 0 {
			m.toPort(p, string(*held))
		}
	}
}

// endAllData ends the data state of every port with result code res.
// Callers hold m.mu.
func (m *Modem) endAllData(res resultCode) {
	for _, p := range m.ports {
		if p != nil {
			m.endData(p, res)
		}
	}
}

// contextDown ends the data state of a port carrying context cid with
// NO CARRIER. Callers hold m.mu.
func (m *Modem) contextDown(cid int) {
	for _, p := range m.ports {
		if p != nil && p.st.dataMode && int(p.st.dataCID) == cid {
			m.endData(p, resNoCarrier)
		}
	}
}

// ServePort answers AT commands read from rw on the modem's port name (an
// extra port, such as Quectel's AT port) until reading fails or ctx ends,
// like Serve, but without powering the modem on: Serve on the main port
// does that. The port shares everything but its own settings with the
// modem's other ports.
func (m *Modem) ServePort(ctx context.Context, name string, rw io.ReadWriter) error {
	p := m.makePort(name)
	if p == nil {
		return fmt.Errorf("modem: no port %q (the %s has %s)", name, m.env.profile.Name(), strings.Join(m.Ports(), ", "))
	}
	return m.serve(ctx, p, rw, false)
}

// ConnectPort links a host to the modem's port name in process, as Connect
// does to the main port.
func (m *Modem) ConnectPort(name string, out func([]byte)) (*Link, error) {
	p := m.makePort(name)
	if p == nil {
		return nil, fmt.Errorf("modem: no port %q (the %s has %s)", name, m.env.profile.Name(), strings.Join(m.Ports(), ", "))
	}
	return (*Link)(m.connect(p, funcWriter(out), nil)), nil
}

// URC port names in Quectel's AT+QURCCFG="urcport" and the fleetsim ports
// they are: "uart1" is a port the simulator does not serve.
var quectelURCPorts = [...]struct{ quectel, port string }{
	{"usbat", "at"}, {"usbmodem", MainPort}, {"uart1", "uart1"},
}

// urcChoice is where a modem's indications go: urcDefault for its
// profile's port (Env.urcName), else quectelURCPorts[urc-1].port.
type urcChoice uint8

const urcDefault urcChoice = 0

// urcIndex is the index of the port called urcName in the profile's ports,
// or -1 if it has none. Callers hold m.mu.
func (m *Modem) urcIndex() int {
	if m.urcTo == urcDefault {
		return m.env.urcIndex
	}
	return slices.Index(m.env.portNames, quectelURCPorts[m.urcTo-1].port)
}

// urcName is the name of the port indications go to. Callers hold m.mu.
func (m *Modem) urcName() string {
	if m.urcTo == urcDefault {
		return m.env.urcName
	}
	return quectelURCPorts[m.urcTo-1].port
}

// qurccfg is AT+QURCCFG="urcport"[,<port>]: where indications go. The
// choice is kept across power cycles, as the manual says it is saved.
func qurccfg(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+QURCCFG: "urcport",("usbat","usbmodem","uart1")`}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	if len(c.Args) == 0 || len(c.Args) > 2 || !strings.EqualFold(c.Args[0].Value, "urcport") {
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) == 1 {
		name := m.urcName()
		for _, q := range quectelURCPorts {
			if q.port == name {
				return []string{`+QURCCFG: "urcport",` + quote(q.quectel)}, nil
			}
		}
		return nil, ErrError
	}
	for i, q := range quectelURCPorts {
		if strings.EqualFold(c.Args[1].Value, q.quectel) {
			m.urcTo = urcChoice(i + 1)
			return nil, nil
		}
	}
	return nil, ErrError
}
