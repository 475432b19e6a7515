package modem

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
)

// SIMCom's socket commands over the socket core of sockets.go (real host
// sockets, metering, the IP Commands gateway):
//
//   - the CA* set of both modules (S80 §12.2, S70 §18.2): AT+CAOPEN answers
//     +CAOPEN: <cid>,<result> before its OK; AT+CASEND prompts "> " and takes
//     exactly <len> bytes, then OK (the SIM7000 adds +CASEND: <cid>,0,<len>
//     after it); +CADATAIND: <cid> announces data, AT+CARECV reads it as
//     +CARECV: <len>,<data>; +CASTATE: <cid>,0 reports a peer's close.
//   - the SIM7000's CIP* stack (S70 §8.2) as TinyGSM's SIM7000 driver uses it:
//     AT+CSTT, AT+CIICR, AT+CIFSR, AT+CIPSTART → <n>, CONNECT OK,
//     AT+CIPSEND → SEND OK or DATA ACCEPT:<n>,<len>, +CIPRXGET: 1,<n> and
//     AT+CIPRXGET=2/3/4 (or +RECEIVE pushes), AT+CIPCLOSE, AT+CIPSTATUS,
//     AT+CIPSHUT → SHUT OK, and the AT+SAPBR bearer.
//
// A host that ends AT+CASEND's fixed-length data with a stray Ctrl-Z (as
// Zephyr's SIM7080 driver does) loses nothing: the byte arrives after the
// data, in command state, where the line reader drops everything up to an
// "A".

// simcomStack is the command set a socket was opened with.
type simcomStack uint8

const (
	stackCA  simcomStack = iota // AT+CAOPEN
	stackCIP                    // AT+CIPSTART (SIM7000)
)

// simcomSock is a SIMCom socket's way of reporting (sockIndications), and
// what it needs to know for it.
type simcomSock struct {
	m       *Modem
	stack   simcomStack
	sim7000 bool
	mux     bool // CIP: AT+CIPMUX=1, the connection number leads every line
	push    bool // CIP: AT+CIPRXGET=0, data is pushed as +RECEIVE
	// opening is set while AT+CAOPEN waits for its outcome; open is what
	// gives it, once.
	opening bool
	open    func(code int)
	// closedEarly is set when the peer closed while opening was set: the
	// close is reported after the answer and the data that came before it,
	// in the order they happened.
	closedEarly bool
}

func (k *simcomSock) opened(s *socket, code int) string {
	if k.stack == stackCIP {
		res := "CONNECT OK"
		if code != qiErrNone {
			res = "CONNECT FAIL"
		}
		return k.tag(s, res)
	}
	if f := k.open; f != nil {
		k.open = nil
		k.m.env.clock.AfterFunc(0, func() { f(code) })
	}
	return ""
}

func (k *simcomSock) abandoned(s *socket) {
	if k.stack == stackCA {
		k.opened(s, qiErrClosed)
	}
}

func (k *simcomSock) received(s *socket) string {
	switch {
	case k.opening || s.notified:
		return ""
	case k.stack == stackCA:
		s.notified = true
		return fmt.Sprintf("+CADATAIND: %d", s.id)
	case k.push:
		m := k.m
		eol := string([]byte{m.st.s3(), m.st.s4()})
		var b strings.Builder
		for s.rxLen > 0 {
			data, _, _ := m.takeRx(s, maxSend)
			if b.Len() > 0 {
				b.WriteString(eol + eol)
			}
			if k.mux {
				fmt.Fprintf(&b, "+RECEIVE,%d,%d:%s", s.id, len(data), eol)
			}
			b.Write(data)
		}
		return b.String()
	}
	s.notified = true
	if k.mux {
		return fmt.Sprintf("+CIPRXGET: 1,%d", s.id)
	}
	return "+CIPRXGET: 1"
}

func (k *simcomSock) closed(s *socket) string {
	if k.stack == stackCA {
		if k.opening {
			k.closedEarly = true
			return ""
		}
		return fmt.Sprintf("+CASTATE: %d,0", s.id)
	}
	return k.tag(s, "CLOSED")
}

// tag puts the connection number before a CIP result in multi mode: "0, CONNECT OK".
func (k *simcomSock) tag(s *socket, res string) string {
	if k.mux {
		return fmt.Sprintf("%d, %s", s.id, res)
	}
	return res
}

// caResult is +CAOPEN's <result> for an open's outcome (S80 §12.2.3).
func caResult(code int) int {
	switch code {
	case qiErrNone:
		return 0
	case qiErrConnect:
		return 27 // connect failed
	case qiErrPDPOpen:
		return 21 // network not active
	}
	return 1 // socket error
}

// simcomSocket is the socket of id opened with a stack's command, or nil.
// Callers hold m.mu.
func (m *Modem) simcomSocket(id int, stack simcomStack) *socket {
	if id < 0 || id >= sockSlots {
		return nil
	}
	s := m.socketAt(id)
	if s == nil {
		return nil
	}
	if k, ok := s.ind.(*simcomSock); !ok || k.stack != stack {
		return nil
	}
	return s
}

// takeRx takes up to want bytes the host has not read yet (socket.takeRx),
// or nothing when none are waiting. Callers hold m.mu.
func (m *Modem) takeRx(s *socket, want int) (out []byte, from string, port int) {
	if len(s.rx) == 0 {
		s.notified = false
		return nil, "", 0
	}
	return s.takeRx(want)
}

func (m *Modem) closeSocket(ctx context.Context, s *socket) {
	m.mu.Lock()
	wasUp := s.tcpUp
	s.tcpUp = false
	if m.sockSt().socks[s.id] == s {
		m.sockSt().socks[s.id] = nil
	}
	s.teardown()
	m.mu.Unlock()
	if wasUp {
		m.meter(ctx, 2*tcpPacket, 2*tcpPacket)
	}
}

// newSimcomSocket makes a socket for a SIMCom stack. Callers hold m.mu.
func (m *Modem) newSimcomSocket(ind *simcomSock, id, cid int, kind sockKind, host string, port int) *socket {
	return &socket{
		ind: ind, id: id, cid: cid, kind: kind, state: sockOpening, mode: accessBuffer,
		remote: host, rport: port, lport: m.simcom().localPort[id], boot: m.boots,
		room: make(chan struct{}, 1),
	}
}

// openGateway opens a UDP socket to the IP Commands gateway: nothing on
// the host. Callers hold m.mu.
func (m *Modem) openGateway(ctx context.Context, s *socket) {
	s.gateway, s.state = true, sockConnected
	if s.lport == 0 {
		s.lport = m.pickPort()
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	m.sockSt().socks[s.id] = s
}

// simcomPrompt is a send command's "> " and its data; done maps the core's
// outcome (SEND OK, SEND FAIL) to the family's.
func (m *Modem) simcomPrompt(ctx context.Context, s *socket, fixed int, done func(n int, err error) ([]string, error)) error {
	p := &sendPrompt{m: m, ctx: ctx, s: s, boot: m.boots, in: newSendParser(fixed)}
	return &pending{start: func(finish func([]string, error)) {
		m.mu.Lock()
		defer m.mu.Unlock()
		p.finish = func(lines []string, err error) {
			m.mu.Lock()
			n := len(p.in.data)
			m.mu.Unlock()
			finish(done(n, err))
		}
		m.sockSt().prompt = p
		m.raw("> ")
	}, input: func(b []byte) int { return len(b) - len(m.promptInput(b)) }}
}

// ---- the CA* set --------------------------------------------------------------

var caCommands = map[string]Handler{
	"+CACID":    cacid,
	"+CAOPEN":   caopen,
	"+CASEND":   casend,
	"+CARECV":   carecv,
	"+CASTATE":  castate,
	"+CACLOSE":  caclose,
	"+CACFG":    cacfg,
	"+CAACK":    caack,
	"+CASSLCFG": cassl,
}

// cacid is AT+CACID=<cid> (S80 §12.2.1): the default connection id.
func cacid(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.simcom()
	switch c.Kind {
	case KindTest:
		return []string{"+CACID: (0-12)"}, nil
	case KindRead:
		if sc.cacid < 0 {
			return nil, nil
		}
		return []string{fmt.Sprintf("+CACID: %d", sc.cacid)}, nil
	}
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	id, err := simcomInt(c.Args[0], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	sc.cacid = id
	return nil, nil
}

// caopen is AT+CAOPEN (S80 §12.2.3: <cid>,<pdp_index>,"TCP|UDP","<server>",<port>[,<recv_mode>];
// S70 §18.2.3: <cid>[,"TCP|UDP"],"<server>",<port>): +CAOPEN: <cid>,<result>,
// then OK. Only <recv_mode> 0 (+CADATAIND, then AT+CARECV) is offered.
func caopen(ctx context.Context, m *Modem, c Command) ([]string, error) {
	p := m.simcomProfile()
	switch c.Kind {
	case KindTest:
		if p.sim7000 {
			return []string{`+CAOPEN: (0-12),("TCP","UDP"),64,(1-65535)`}, nil
		}
		return []string{`+CAOPEN: (0-12),(0-4),("TCP","UDP","NONIP"),64,(1-65535),(0,1)`}, nil
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		var lines []string
		for id := range sockSlots {
			if s := m.simcomSocket(id, stackCA); s != nil {
				lines = append(lines, fmt.Sprintf("+CAOPEN: %d,%d,%s,%s,%d", id, s.cid-appCID, quote(sockKindNames[s.kind]), quote(s.remote), s.rport))
			}
		}
		return lines, nil
	}
	var args []Arg
	pdp := 0
	if p.sim7000 {
		if err := simcomArgs(c, 3, 4); err != nil {
			return nil, err
		}
		args = c.Args
		if len(args) == 3 { // no type: TCP (TinyGSM's SIM7000SSL omits it)
			args = []Arg{args[0], {Value: "TCP", Quoted: true}, args[1], args[2]}
		}
	} else {
		if err := simcomArgs(c, 5, 6); err != nil {
			return nil, err
		}
		var err error
		if pdp, err = simcomInt(c.Args[1], 0, 4); err != nil {
			return nil, err
		}
		if len(c.Args) == 6 && c.Args[5].Value != "0" {
			return nil, ErrError // recv_mode 1 (+CAURC pushes): refused, as TinyGSM found on its module
		}
		args = append([]Arg{c.Args[0]}, c.Args[2:5]...)
	}
	id, err := simcomInt(args[0], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	host := args[2].Value
	if host == "" || len(host) > 64 {
		return nil, cme(simcomParamRange)
	}
	port, err := simcomInt(args[3], 1, 65535)
	if err != nil {
		return nil, err
	}
	result := func(code int) []string { return []string{fmt.Sprintf("+CAOPEN: %d,%d", id, code)} }
	var kind sockKind
	switch strings.ToUpper(args[1].Value) {
	case "TCP":
		kind = sockTCP
	case "UDP":
		kind = sockUDP
	case "NONIP":
		return result(7), nil // not supported
	default:
		return nil, cme(simcomParamRange)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.socketAt(id) != nil {
		return nil, cme(simcomOperationFail)
	}
	cid := appCID + pdp
	if m.pdpAddr(cid) == 0 {
		return result(21), nil // network not active
	}
	ind := &simcomSock{m: m, stack: stackCA, sim7000: p.sim7000, opening: true}
	s := m.newSimcomSocket(ind, id, cid, kind, host, port)
	if kind == sockUDP && host == GatewayAddr {
		ind.opening = false
		m.openGateway(ctx, s)
		return result(0), nil
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	m.sockSt().socks[id] = s
	return nil, &pending{start: func(finish func([]string, error)) {
		m.mu.Lock()
		ind.open = func(code int) {
			finish(result(caResult(code)), nil)
			m.mu.Lock()
			defer m.mu.Unlock()
			ind.opening = false
			if m.sockSt().socks[id] != s {
				return
			}
			if s.rxLen > 0 {
				m.urcIf(ind.received(s)) // data that came before the answer
			}
			if ind.closedEarly { // and the peer's close after that data
				ind.closedEarly = false
				m.urcIf(ind.closed(s))
			}
		}
		m.mu.Unlock()
		m.goSock(s, func() { m.sockOpen(s) })
	}}
}

// casend is AT+CASEND=<cid>,<len>[,<inputtime>] (S80 §12.2.5): "> ",
// exactly <len> bytes, OK; the SIM7000 then reports +CASEND: <cid>,0,<len>
// (S70 §18.2.5, as TinyGSM's SIM7000SSL driver reads it).
// AT+CASEND=<cid> alone tells how much one send may take.
func casend(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CASEND: (0-12),(1-1460),(100-10000)"}, nil
	}
	if err := simcomArgs(c, 1, 3); err != nil {
		return nil, err
	}
	id, err := simcomInt(c.Args[0], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.simcomSocket(id, stackCA)
	if len(c.Args) == 1 {
		if s == nil {
			return nil, cme(simcomOperationFail)
		}
		return []string{fmt.Sprintf("+CASEND: %d", maxSend)}, nil
	}
	n, err := simcomInt(c.Args[1], 1, maxSend)
	if err != nil {
		return nil, err
	}
	if len(c.Args) == 3 && !c.Args[2].Empty() {
		if _, err := simcomInt(c.Args[2], 100, 10000); err != nil {
			return nil, err
		}
	}
	if s == nil || s.state != sockConnected {
		return nil, cme(simcomOperationFail)
	}
	sim7000 := m.simcomProfile().sim7000
	return nil, m.simcomPrompt(ctx, s, n, func(sent int, err error) ([]string, error) {
		switch err {
		case nil: // cancelled: nothing sent
			return nil, nil
		case resSendOK:
			if sim7000 {
				m.mu.Lock()
				m.st.addAfter(fmt.Sprintf("+CASEND: %d,0,%d", id, sent))
				m.mu.Unlock()
			}
			return nil, nil
		}
		return nil, cme(simcomOperationFail)
	})
}

// carecv is AT+CARECV=<cid>,<readlen> (S80 §12.2.6): +CARECV: <len>,<data>
// with the data on the same line, +CARECV: 0 when nothing waits. The read
// form (which TinyGSM sends; the manual has none) lists the sockets
// holding data.
func carecv(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindTest:
		return []string{"+CARECV: (0-12),(1-1460)"}, nil
	case KindRead:
		var lines []string
		for id := range sockSlots {
			if s := m.simcomSocket(id, stackCA); s != nil && s.rxLen > 0 {
				lines = append(lines, fmt.Sprintf("+CARECV: %d,%d", id, s.rxLen))
			}
		}
		return lines, nil
	}
	if err := simcomArgs(c, 2, 2); err != nil {
		return nil, err
	}
	id, err := simcomInt(c.Args[0], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	want, err := simcomInt(c.Args[1], 1, maxSend)
	if err != nil {
		return nil, err
	}
	s := m.simcomSocket(id, stackCA)
	if s == nil {
		return nil, cme(simcomOperationFail)
	}
	out, _, _ := m.takeRx(s, want)
	if len(out) == 0 {
		return []string{"+CARECV: 0"}, nil
	}
	return []string{fmt.Sprintf("+CARECV: %d,%s", len(out), out)}, nil
}

// castate is AT+CASTATE? (S80 §12.2.8): +CASTATE: <cid>,<state> for each
// open id, 1 connected, 0 closed by the peer or the network.
func castate(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var lines []string
	for id := range sockSlots {
		if s := m.simcomSocket(id, stackCA); s != nil {
			st := 0
			if s.state == sockConnected {
				st = 1
			}
			lines = append(lines, fmt.Sprintf("+CASTATE: %d,%d", id, st))
		}
	}
	return lines, nil
}

// caclose is AT+CACLOSE=<cid> (S80 §12.2.9): OK, or a plain ERROR for an
// id that is not open, whatever +CMEE says (the manual's example:
// AT+CACLOSE=2 → ERROR). TinyGSM closes before every open; built with
// TINY_GSM_DEBUG it reads a +CME ERROR's text up to a NUL that never
// comes, so a +CME ERROR here cost it a second per connect.
func caclose(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CACLOSE: (0-12)"}, nil
	}
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	id, err := simcomInt(c.Args[0], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	s := m.simcomSocket(id, stackCA)
	m.mu.Unlock()
	if s == nil {
		return nil, ErrError
	}
	m.closeSocket(ctx, s)
	return nil, nil
}

var cacfgKeys = []string{"TRANSWAITTM", "TRANSPKTSIZE", "SACK", "MSS", "ACKDELAY", "TCPIRT", "MAXRXT", "TCPOT",
	"KEEPALIVE", "TCP_NODELAY", "LINGER", "SNDBUF", "RCVBUF", "ATOCLOSE", "ACCEPTNUM", "ASYNCOPEN", "TIMEOUT",
	"LOCALPORT", "REMOTEADDR"}

// cacfg is AT+CACFG (S80 §12.2.10). Only "LOCALPORT",<cid>,<port> takes
// effect (the local port of the next AT+CAOPEN on cid, so that an IP
// Command's device port can be chosen); the other keys are accepted.
func cacfg(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{`+CACFG: ("` + strings.Join(cacfgKeys, `","`) + `")`}, nil
	}
	if err := simcomArgs(c, 1, 4); err != nil {
		return nil, err
	}
	key := strings.ToUpper(c.Args[0].Value)
	found := false
	for _, k := range cacfgKeys {
		found = found || k == key
	}
	if !found {
		return nil, cme(simcomParamRange)
	}
	if key == "ASYNCOPEN" && len(c.Args) > 1 && c.Args[len(c.Args)-1].Value == "1" {
		return nil, cme(simcomParamRange) // only the synchronous +CAOPEN is simulated
	}
	if key != "LOCALPORT" || len(c.Args) != 3 {
		return nil, nil
	}
	id, err := simcomInt(c.Args[1], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	port, err := simcomInt(c.Args[2], 0, 65535)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.simcom().localPort[id] = port
	m.mu.Unlock()
	return nil, nil
}

// caack is AT+CAACK=<cid> (S80 §12.2.7): bytes sent, and unacknowledged (none).
func caack(_ context.Context, m *Modem, c Command) ([]string, error) {
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	id, err := simcomInt(c.Args[0], 0, sockSlots-1)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.simcomSocket(id, stackCA)
	if s == nil {
		return nil, cme(simcomOperationFail)
	}
	return []string{fmt.Sprintf("+CAACK: %d,0", s.sent)}, nil
}

// cassl is AT+CASSLCFG=<cid>,<key>,<value>: TLS is not simulated, so
// "SSL",1 is refused and everything else accepted (TinyGSM sends
// AT+CASSLCFG=<cid>,SSL,0 before every plain open).
func cassl(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind != KindSet {
		return nil, nil
	}
	if err := simcomArgs(c, 2, 3); err != nil {
		return nil, err
	}
	if strings.EqualFold(c.Args[1].Value, "SSL") && len(c.Args) == 3 && c.Args[2].Value != "0" {
		return nil, cme(CMENotSupported)
	}
	return nil, nil
}

// ---- the SIM7000's CIP* stack ------------------------------------------------------

// cipState is the CIP stack's state as AT+CIPSTATUS names it (S70 §8.2.13).
type cipState uint8

const (
	cipInitial cipState = iota // IP INITIAL
	cipStart                   // IP START: AT+CSTT done
	cipGPRSAct                 // IP GPRSACT: AT+CIICR done
	cipStatus                  // IP STATUS: AT+CIFSR done
)

// maxCIP is how many connections the multi-connection mode has: 0..7.
const maxCIP = 8

var cipCommands = map[string]Handler{
	"+CIPMUX":    cipSetting("+CIPMUX", func(s *simcomState) *int { return &s.cipmux }, true),
	"+CIPQSEND":  cipSetting("+CIPQSEND", func(s *simcomState) *int { return &s.cipqsend }, false),
	"+CIPRXGET":  ciprxget,
	"+CSTT":      cstt,
	"+CIICR":     ciicr,
	"+CIFSR":     cifsr,
	"+CIPSTART":  cipstart,
	"+CIPSEND":   cipsend,
	"+CIPCLOSE":  cipclose,
	"+CIPSTATUS": cipstatus,
	"+CIPSHUT":   cipshut,
	"+CLPORT":    clport,
	"+CIPHEAD":   cipSetting("+CIPHEAD", func(*simcomState) *int { return new(int) }, false),
	"+CIPSRIP":   cipSetting("+CIPSRIP", func(*simcomState) *int { return new(int) }, false),
	"+CIPSPRT":   cipSetting("+CIPSPRT", func(*simcomState) *int { return new(int) }, false),
	"+SAPBR":     sapbr,
}

// cipSetting is a 0/1 setting of the CIP stack; initialOnly ones change
// only in IP INITIAL (AT+CIPMUX, S70 §8.2.1).
func cipSetting(name string, field func(*simcomState) *int, initialOnly bool) Handler {
	return func(_ context.Context, m *Modem, c Command) ([]string, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		sc := m.simcom()
		switch c.Kind {
		case KindTest:
			return []string{name + ": (0,1)"}, nil
		case KindRead:
			return []string{fmt.Sprintf("%s: %d", name, *field(sc))}, nil
		}
		if len(c.Args) != 1 || c.Args[0].Value != "0" && c.Args[0].Value != "1" {
			return nil, ErrError
		}
		if initialOnly && m.cipState() != cipInitial {
			return nil, ErrError
		}
		*field(sc) = int(c.Args[0].Value[0] - '0')
		return nil, nil
	}
}

// cipState is where the CIP stack is: IP INITIAL again once its bearer is
// gone. Callers hold m.mu.
func (m *Modem) cipState() cipState {
	sc := m.simcom()
	if sc.cip >= cipGPRSAct && m.pdpAddr(cipCID) == 0 {
		return cipInitial
	}
	return sc.cip
}

// cipStateName is the STATE: line of AT+CIPSTATUS. Callers hold m.mu.
func (m *Modem) cipStateName() string {
	sc := m.simcom()
	if sc.cip >= cipGPRSAct && m.pdpAddr(cipCID) == 0 {
		return "PDP DEACT"
	}
	switch sc.cip {
	case cipStart:
		return "IP START"
	case cipGPRSAct:
		return "IP GPRSACT"
	case cipStatus:
		for id := range maxCIP {
			if m.simcomSocket(id, stackCIP) != nil {
				if sc.cipmux == 1 {
					return "IP PROCESSING"
				}
				return "CONNECT OK"
			}
		}
		return "IP STATUS"
	}
	return "IP INITIAL"
}

// cstt is AT+CSTT="<apn>"[,"<user>","<pwd>"] (S70 §8.2.9): only in IP INITIAL.
func cstt(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.simcom()
	switch c.Kind {
	case KindTest:
		return []string{`+CSTT: "APN","USER","PWD"`}, nil
	case KindRead:
		return []string{fmt.Sprintf(`+CSTT: %s,"",""`, quote(sc.cstt))}, nil
	}
	if len(c.Args) > 3 || m.cipState() != cipInitial {
		return nil, ErrError
	}
	sc.cstt = ""
	if len(c.Args) > 0 {
		sc.cstt = c.Args[0].Value
	}
	sc.cip = cipStart
	return nil, nil
}

// ciicr is AT+CIICR (S70 §8.2.10): brings the bearer up, only in IP START.
func ciicr(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind != KindExec {
		return nil, nil
	}
	m.mu.Lock()
	if m.cipState() != cipStart {
		m.mu.Unlock()
		return nil, ErrError
	}
	m.mu.Unlock()
	return nil, m.later(m.env.timing.Data, func() ([]string, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		sc := m.simcom()
		if sc.cip != cipStart {
			return nil, ErrError
		}
		if err := m.bringUp(cipCID, sc.cstt, "+PDP: DEACT"); err != nil {
			return nil, ErrError
		}
		sc.cip = cipGPRSAct
		return nil, nil
	})
}

// cifsr is AT+CIFSR (S70 §8.2.11): the bearer's address. The real module
// prints it without a final OK; here OK follows (so AT+CIFSR;E0 answers as
// TinyGSM expects, and AT+CIFSR alone has a trailing OK).
func cifsr(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cipState() < cipGPRSAct {
		return nil, ErrError
	}
	m.simcom().cip = cipStatus
	return []string{m.pdpAddr(cipCID).String()}, nil
}

// cipArgs splits a CIP command's parameters into the connection number
// (multi mode) and the rest. Callers hold m.mu.
func (m *Modem) cipArgs(args []Arg) (id int, rest []Arg, err error) {
	if m.simcom().cipmux == 0 {
		return 0, args, nil
	}
	if len(args) == 0 {
		return 0, nil, ErrError
	}
	id, err = atoiArg(args[0], 0, maxCIP-1)
	if err != nil {
		return 0, nil, ErrError
	}
	return id, args[1:], nil
}

// cipInd is the reporting of a new CIP connection. Callers hold m.mu.
func (m *Modem) cipInd() *simcomSock {
	sc := m.simcom()
	return &simcomSock{m: m, stack: stackCIP, sim7000: true, mux: sc.cipmux == 1, push: sc.ciprxget == 0}
}

// cipstart is AT+CIPSTART=[<n>,]"TCP|UDP","<host>",<port> (S70 §8.2.2): OK,
// then [<n>, ]CONNECT OK or CONNECT FAIL.
func cipstart(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{`+CIPSTART: (0-7),("TCP","UDP"),("(0-255).(0-255).(0-255).(0-255)"),(1-65535)`}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, args, err := m.cipArgs(c.Args)
	if err != nil || len(args) != 3 {
		return nil, ErrError
	}
	var kind sockKind
	switch strings.ToUpper(args[0].Value) {
	case "TCP":
		kind = sockTCP
	case "UDP":
		kind = sockUDP
	default:
		return nil, ErrError
	}
	host := args[1].Value
	port, err := atoiArg(args[2], 1, 65535)
	if err != nil || host == "" {
		return nil, ErrError
	}
	if st := m.cipState(); st < cipGPRSAct {
		return nil, ErrError
	}
	ind := m.cipInd()
	if s := m.socketAt(id); s != nil {
		if m.simcomSocket(id, stackCIP) != nil && s.state == sockConnected {
			return nil, finalText(ind.tag(s, "ALREADY CONNECT"))
		}
		if m.simcomSocket(id, stackCIP) == nil {
			return nil, ErrError // the id is a CA* connection's
		}
		m.sockSt().socks[id] = nil // a closed connection's id is free again
		s.teardown()
	}
	s := m.newSimcomSocket(ind, id, cipCID, kind, host, port)
	if kind == sockUDP && host == GatewayAddr {
		m.openGateway(ctx, s)
		m.st.addAfter(ind.opened(s, qiErrNone))
		return nil, nil
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	m.sockSt().socks[id] = s
	// OK first, then the connection's outcome.
	return nil, &pending{start: func(finish func([]string, error)) {
		m.env.clock.AfterFunc(0, func() {
			finish(nil, nil)
			m.goSock(s, func() { m.sockOpen(s) })
		})
	}}
}

// cipsend is AT+CIPSEND=[<n>,]<len> (exactly len bytes after "> ") or
// AT+CIPSEND[=<n>] (up to Ctrl-Z; ESC cancels) (S70 §8.2.3): SEND OK, or
// with AT+CIPQSEND=1 DATA ACCEPT:<n>,<len> at once.
func cipsend(ctx context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.simcom()
	switch c.Kind {
	case KindTest:
		if sc.cipmux == 1 {
			return []string{"+CIPSEND: (0-7),(1-1460)"}, nil
		}
		return []string{"+CIPSEND: (1-1460)"}, nil
	case KindRead:
		if sc.cipmux == 0 {
			return []string{fmt.Sprintf("+CIPSEND: %d", maxSend)}, nil
		}
		var lines []string
		for id := range maxCIP {
			lines = append(lines, fmt.Sprintf("+CIPSEND: %d,%d", id, maxSend))
		}
		return lines, nil
	}
	id, args, err := m.cipArgs(c.Args)
	if err != nil || len(args) > 1 {
		return nil, ErrError
	}
	fixed := 0
	if len(args) == 1 {
		if fixed, err = atoiArg(args[0], 1, maxSend); err != nil {
			return nil, ErrError
		}
	}
	s := m.simcomSocket(id, stackCIP)
	if s == nil || s.state != sockConnected {
		return nil, ErrError
	}
	ind := s.ind.(*simcomSock)
	quick := sc.cipqsend == 1
	return nil, m.simcomPrompt(ctx, s, fixed, func(n int, err error) ([]string, error) {
		switch err {
		case nil:
			return nil, nil
		case resSendOK:
			if quick {
				if ind.mux {
					return nil, finalText(fmt.Sprintf("DATA ACCEPT:%d,%d", id, n))
				}
				return nil, finalText(fmt.Sprintf("DATA ACCEPT:%d", n))
			}
			return nil, finalText(ind.tag(s, "SEND OK"))
		case resSendFail:
			return nil, finalText(ind.tag(s, "SEND FAIL"))
		}
		return nil, err
	})
}

// ciprxget is AT+CIPRXGET (S70 §8.2.27): 0/1 choose pushed or fetched
// data; 2 reads, 3 reads in hex, 4 tells how much waits. Mode 2's answer
// is +CIPRXGET: 2,<n>,<returned>,<still buffered> — the third field the
// bytes that follow, as real modules (and TinyGSM) have it.
func ciprxget(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.simcom()
	switch c.Kind {
	case KindTest:
		return []string{"+CIPRXGET: (0-4),(0-7),(1-1460)"}, nil
	case KindRead:
		return []string{fmt.Sprintf("+CIPRXGET: %d", sc.ciprxget)}, nil
	case KindExec:
		return nil, ErrError
	}
	mode, err := atoiArg(c.Args[0], 0, 4)
	if err != nil {
		return nil, ErrError
	}
	if mode <= 1 {
		if len(c.Args) != 1 {
			return nil, ErrError
		}
		sc.ciprxget = mode
		return nil, nil
	}
	id, args, err := m.cipArgs(c.Args[1:])
	if err != nil {
		return nil, ErrError
	}
	s := m.simcomSocket(id, stackCIP)
	if s == nil || sc.ciprxget != 1 {
		return nil, ErrError
	}
	head := "+CIPRXGET: " + itoa(mode)
	if sc.cipmux == 1 {
		head += "," + itoa(id)
	}
	if mode == 4 {
		if len(args) != 0 {
			return nil, ErrError
		}
		return []string{fmt.Sprintf("%s,%d", head, s.rxLen)}, nil
	}
	if len(args) != 1 {
		return nil, ErrError
	}
	limit := maxSend
	if mode == 3 {
		limit = 730
	}
	want, err := atoiArg(args[0], 1, limit)
	if err != nil {
		return nil, ErrError
	}
	out, _, _ := m.takeRx(s, want)
	data := string(out)
	if mode == 3 {
		data = strings.ToUpper(hex.EncodeToString(out))
	}
	head = fmt.Sprintf("%s,%d,%d", head, len(out), s.rxLen)
	if len(out) == 0 {
		return []string{head}, nil
	}
	return []string{head + string([]byte{m.st.s3(), m.st.s4()}) + data}, nil
}

// cipclose is AT+CIPCLOSE[=<n>][,<quick>] (S70 §8.2.6): [<n>, ]CLOSE OK
// instead of OK; ERROR for a connection that is not open.
func cipclose(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CIPCLOSE: (0-7),(0,1)"}, nil
	}
	m.mu.Lock()
	id, args, err := m.cipArgs(c.Args)
	if m.simcom().cipmux == 1 && c.Kind != KindSet {
		err = ErrError
	}
	s := m.simcomSocket(id, stackCIP)
	m.mu.Unlock()
	if err != nil || len(args) > 1 || s == nil {
		return nil, ErrError
	}
	m.closeSocket(ctx, s)
	return nil, finalText(s.ind.(*simcomSock).tag(s, "CLOSE OK"))
}

// cipstatus is AT+CIPSTATUS (S70 §8.2.13): OK, then STATE: and in multi
// mode one C: line per connection; AT+CIPSTATUS=<n> answers one
// +CIPSTATUS: line before OK.
func cipstatus(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	line := func(id int) string {
		s := m.simcomSocket(id, stackCIP)
		if s == nil {
			return fmt.Sprintf(`%d,,"","","","INITIAL"`, id)
		}
		state := "CLOSED"
		switch s.state {
		case sockOpening:
			state = "CONNECTING"
		case sockConnected:
			state = "CONNECTED"
		}
		return fmt.Sprintf(`%d,0,%s,%s,"%d",%s`, id, quote(sockKindNames[s.kind]), quote(s.remote), s.rport, quote(state))
	}
	if c.Kind == KindSet {
		id, err := atoiArg(c.Args[0], 0, maxCIP-1)
		if err != nil || len(c.Args) != 1 {
			return nil, ErrError
		}
		return []string{"+CIPSTATUS: " + line(id)}, nil
	}
	after := []string{"STATE: " + m.cipStateName()}
	if m.simcom().cipmux == 1 {
		for id := range maxCIP {
			after = append(after, "C: "+line(id))
		}
	}
	m.st.addAfter(after...)
	return nil, nil
}

// cipshut is AT+CIPSHUT (S70 §8.2.7): every CIP connection closes, the
// bearer goes down, SHUT OK, and the stack is in IP INITIAL again.
func cipshut(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	var open []*socket
	for id := range maxCIP {
		if s := m.simcomSocket(id, stackCIP); s != nil {
			open = append(open, s)
		}
	}
	m.mu.Unlock()
	for _, s := range open {
		m.closeSocket(ctx, s)
	}
	m.mu.Lock()
	m.deactivate(cipCID)
	sc := m.simcom()
	sc.cip, sc.cstt = cipInitial, ""
	m.mu.Unlock()
	return nil, finalText("SHUT OK")
}

// clport is AT+CLPORT=[<n>,]"TCP|UDP",<port>: the local port of the next
// AT+CIPSTART (on <n>).
func clport(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind != KindSet {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, args, err := m.cipArgs(c.Args)
	if err != nil || len(args) != 2 {
		return nil, ErrError
	}
	port, err := atoiArg(args[1], 0, 65535)
	if err != nil {
		return nil, ErrError
	}
	m.simcom().localPort[id] = port
	return nil, nil
}

// sapbr is AT+SAPBR=<cmd>,<cid>[,"<param>","<value>"], the bearer of the
// SIM7000's HTTP and FTP applications, as TinyGSM opens it: 3 sets a
// parameter, 1 opens (OK once up), 2 asks (+SAPBR: <cid>,<status>,"<ip>",
// 1 connected, 3 closed), 0 closes.
func sapbr(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind != KindSet {
		return nil, nil
	}
	if len(c.Args) < 2 {
		return nil, ErrError
	}
	cmd, err1 := atoiArg(c.Args[0], 0, 4)
	bearer, err2 := atoiArg(c.Args[1], 1, 3)
	if err1 != nil || err2 != nil {
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch cmd {
	case 0:
		if m.pdpAddr(sapbrCID) == 0 {
			return nil, ErrError
		}
		m.deactivate(sapbrCID)
		return nil, nil
	case 1:
		if m.pdpAddr(sapbrCID) != 0 {
			return nil, ErrError
		}
		return nil, m.later(m.env.timing.Data, func() ([]string, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if err := m.bringUp(sapbrCID, "", fmt.Sprintf("+SAPBR %d: DEACT", bearer)); err != nil {
				return nil, ErrError
			}
			return nil, nil
		})
	case 2:
		if a := m.pdpAddr(sapbrCID); a != 0 {
			return []string{fmt.Sprintf("+SAPBR: %d,1,%s", bearer, quote(a.String()))}, nil
		}
		return []string{fmt.Sprintf(`+SAPBR: %d,3,"0.0.0.0"`, bearer)}, nil
	case 3:
		if len(c.Args) != 4 {
			return nil, ErrError
		}
		return nil, nil
	}
	return []string{"+SAPBR: CONTYPE: GPRS", `APN: "super"`}, nil
}
