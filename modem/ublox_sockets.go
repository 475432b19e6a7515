package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// u-blox's sockets (SARA-R4/N4 AT Commands Manual R09 §18, R16 §19), on
// the socket core of sockets.go: AT+USOCR makes a socket (TCP 6, UDP 17,
// optionally bound to a local port), AT+USOCO connects it (synchronously,
// or with ",1" at once and +UUSOCO later), AT+USOWR and AT+USOST write (an
// "@" prompt and exactly <length> bytes, or the data quoted on the command
// line, in hex after AT+UDCONF=1,1), AT+USORD and AT+USORF read,
// AT+USOCTL, AT+USOER and AT+USOCL. Indications: +UUSORD and +UUSORF
// (data waiting, the total unread), +UUSOCL (closed by the peer, or an
// asynchronous close done), +UUSOCO. A UDP socket's datagrams for the IP
// Commands gateway become IP Commands; an IP Command reaches the UDP
// socket bound to its device port.

// Limits of the SARA-R4's sockets.
const (
	ubloxSockets = 7    // socket ids 0..6
	ubloxMaxData = 1024 // bytes one write or read moves
	ubloxMaxHex  = 512  // the same in HEX mode
)

// Socket error numbers (AT+USOER, AT+USOCTL=<s>,1, +UUSOCO): BSD errno
// values, as the manual's Appendix A.5 lists them.
const (
	uErrNone        = 0
	uErrIO          = 5
	uErrBadF        = 9 // no such socket
	uErrNoMem       = 12
	uErrInval       = 22
	uErrPipe        = 32
	uErrDestAddrReq = 89
	uErrIsConn      = 106
	uErrNotConn     = 107
	uErrConnRefused = 111
)

// ubloxErrno is the errno of a socket core (qiErr) code.
func ubloxErrno(code int) int {
	switch code {
	case qiErrNone:
		return uErrNone
	case qiErrConnect:
		return uErrConnRefused
	case qiErrCreateSocket:
		return uErrNoMem
	case qiErrClosed:
		return uErrNotConn
	case qiErrWrite:
		return uErrPipe
	}
	return uErrIO
}

var ubloxSocketCommands = map[string]Handler{
	"+USOCR":  usocr,
	"+USOCO":  usoco,
	"+USOWR":  usowr,
	"+USOST":  usost,
	"+USORD":  usord,
	"+USORF":  usorf,
	"+USOCTL": usoctl,
	"+USOER":  usoer,
	"+USOCL":  usocl,
}

// ubloxSock is a socket's u-blox side: its indications and its last error.
// It is guarded by Modem.mu.
type ubloxSock struct {
	async bool // AT+USOCO=...,1: +UUSOCO reports the connection
	err   int  // for AT+USOCTL=<s>,1
}

// opened is never asked: u-blox sockets connect through ubloxConnect,
// which reports +UUSOCO itself.
func (u *ubloxSock) opened(*socket, int) string { return "" }

// received is +UUSORD (TCP) or +UUSORF (UDP) with everything unread, on
// every arrival: hosts take it as the bytes pending.
func (u *ubloxSock) received(s *socket) string {
	if s.kind == sockTCP {
		return fmt.Sprintf("+UUSORD: %d,%d", s.id, s.rxLen)
	}
	return fmt.Sprintf("+UUSORF: %d,%d", s.id, s.rxLen)
}

func (u *ubloxSock) closed(s *socket) string { return fmt.Sprintf("+UUSOCL: %d", s.id) }

// abandoned is never asked: ubloxConnect gives a synchronous AT+USOCO its
// outcome itself.
func (u *ubloxSock) abandoned(*socket) {}

// usoFail records a socket error for AT+USOER (and the socket's
// AT+USOCTL=<s>,1) and returns the command's error. Callers hold m.mu.
func (m *Modem) usoFail(s *socket, errno int, res error) error {
	m.ubloxSt().sockErr = errno
	if s != nil {
		if u, ok := s.ind.(*ubloxSock); ok {
			u.err = errno
		}
	}
	return res
}

// ubloxSocket is socket id of this power-up, or nil. Callers hold m.mu.
func (m *Modem) ubloxSocket(a Arg) (*socket, error) {
	id, err := atoiArg(a, 0, ubloxSockets-1)
	if err != nil {
		return nil, m.usoFail(nil, uErrBadF, err)
	}
	s := m.socketAt(id)
	if s == nil {
		return nil, m.usoFail(nil, uErrBadF, cme(CMENotAllowed))
	}
	return s, nil
}

// ubloxConnect connects a TCP socket's host side, reports the outcome and
// then reads the socket until it closes. finish, for a synchronous
// AT+USOCO, is the command's outcome, given before anything the socket
// receives; an asynchronous one reports +UUSOCO instead. A socket whose
// connection failed stays, to be connected again (ubxlib retries on the
// same socket).
func (m *Modem) ubloxConnect(s *socket, finish func([]string, error)) {
	u := s.ind.(*ubloxSock)
	var conn net.Conn
	err := errors.New("the gateway takes UDP only")
	if s.ctx.Err() != nil { // torn down before it started: no dial
		err = s.ctx.Err()
	} else if s.remote != GatewayAddr {
		ctx, cancel := context.WithTimeout(s.ctx, openTimeout)
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(s.remote, itoa(s.rport)))
		cancel()
		if err == nil {
			m.meter(s.ctx, 2*tcpPacket, tcpPacket) // SYN, ACK up; SYN-ACK down
		} else {
			m.meter(s.ctx, tcpPacket, tcpPacket) // SYN up, RST down
		}
	}
	m.mu.Lock()
	live := m.sockSt().socks[s.id] == s && s.boot == m.boots && s.ctx.Err() == nil
	errno := uErrNone
	switch {
	case !live: // closed, or the module reset, meanwhile
		errno = uErrNotConn
	case err != nil:
		errno = uErrConnRefused
		s.state = sockInitial
	default:
		s.conn, s.state, s.tcpUp = conn, sockConnected, true
		if s.lport == 0 {
			s.lport = conn.LocalAddr().(*net.TCPAddr).Port
		}
	}
	u.err = errno
	if errno != uErrNone {
		m.ubloxSt().sockErr = errno
	}
	if u.async && live {
		m.urc(fmt.Sprintf("+UUSOCO: %d,%d", s.id, errno))
	}
	m.mu.Unlock()
	if finish != nil {
		if errno != uErrNone {
			finish(nil, cme(CMENotAllowed))
		} else {
			finish(nil, nil)
		}
	}
	if errno != uErrNone {
		if conn != nil {
			conn.Close()
		}
		s.teardown()
		return
	}
	m.serveSocket(s)
}

// usocr is AT+USOCR=<protocol>[,<local_port>] → +USOCR: <socket>: the
// lowest free id. A UDP socket opens on the host at once, so it sends and
// receives without AT+USOCO. A socket needs an active PDP context.
// [UBX-R09 §18.3]
func usocr(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+USOCR: (6,17),(1-65535)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) > 2 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	var kind sockKind
	switch c.Args[0].Value {
	case "6":
		kind = sockTCP
	case "17":
		kind = sockUDPService // sends to any peer; AT+USOCO only sets the default one
	default:
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	lport := 0
	if len(c.Args) == 2 && !c.Args[1].Empty() {
		var err error
		if lport, err = atoiArg(c.Args[1], 1, 65535); err != nil {
			return nil, m.usoFail(nil, uErrInval, err)
		}
	}
	_, cid := m.sessionAddr()
	if cid == 0 {
		return nil, m.usoFail(nil, uErrNotConn, cme(CMENotAllowed))
	}
	id := -1
	for i := range ubloxSockets {
		if m.socketAt(i) == nil {
			id = i
			break
		}
	}
	if id < 0 {
		return nil, m.usoFail(nil, uErrNoMem, cme(CMENotAllowed))
	}
	s := &socket{ind: &ubloxSock{}, id: id, cid: cid, kind: kind, state: sockInitial, lport: lport, boot: m.boots, room: make(chan struct{}, 1)}
	m.sockSt().socks[id] = s
	m.ubloxSt().sockErr = uErrNone
	created := []string{fmt.Sprintf("+USOCR: %d", id)}
	if kind == sockTCP {
		return created, nil
	}
	// UDP has no handshake: the socket is bound at once, and reads once
	// its +USOCR is out.
	s.ctx, s.cancel = context.WithCancel(ctx)
	if code := m.bindUDP(s); code != qiErrNone {
		m.sockSt().socks[id] = nil
		s.teardown()
		return nil, m.usoFail(nil, ubloxErrno(code), cme(CMENotAllowed))
	}
	return nil, &pending{start: func(finish func([]string, error)) {
		m.env.clock.AfterFunc(0, func() {
			finish(created, nil)
			m.goSock(s, func() { m.serveSocket(s) })
		})
	}}
}

// usoco is AT+USOCO=<socket>,"<remote_addr>",<remote_port>[,<async>]:
// TCP connects, synchronously (OK once connected) or with async 1 (OK at
// once, then +UUSOCO: <socket>,<socket_error>); UDP only sets the peer
// AT+USOWR sends to. [UBX-R16 §19.9]
func usoco(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+USOCO: (0-6),"remote_host",(1-65535),(0-1)`}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) < 3 || len(c.Args) > 4 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		return nil, err
	}
	host := c.Args[1].Value
	port, err := atoiArg(c.Args[2], 1, 65535)
	if err != nil || host == "" {
		return nil, m.usoFail(s, uErrInval, cme(CMEIncorrectParameters))
	}
	async := false
	if len(c.Args) == 4 && !c.Args[3].Empty() {
		v, err := atoiArg(c.Args[3], 0, 1)
		if err != nil {
			return nil, m.usoFail(s, uErrInval, err)
		}
		async = v == 1
	}
	if s.kind == sockUDPService {
		s.remote, s.rport = host, port
		return nil, nil
	}
	if s.state != sockInitial {
		return nil, m.usoFail(s, uErrIsConn, cme(CMENotAllowed))
	}
	if m.pdpAddr(s.cid) == 0 {
		return nil, m.usoFail(s, uErrNotConn, cme(CMENotAllowed))
	}
	// Each attempt is a fresh socket in the same id: a failed one's
	// goroutine may still be winding down.
	u := &ubloxSock{async: async, err: s.ind.(*ubloxSock).err}
	t := &socket{ind: u, id: s.id, cid: s.cid, kind: sockTCP, state: sockOpening, remote: host, rport: port,
		lport: s.lport, boot: m.boots, room: make(chan struct{}, 1)}
	t.ctx, t.cancel = context.WithCancel(ctx)
	m.sockSt().socks[s.id] = t
	if async {
		// OK first, then the connection: +UUSOCO never comes before the OK.
		return nil, &pending{start: func(finish func([]string, error)) {
			m.env.clock.AfterFunc(0, func() {
				finish(nil, nil)
				m.goSock(t, func() { m.ubloxConnect(t, nil) })
			})
		}}
	}
	return nil, &pending{start: func(finish func([]string, error)) {
		m.goSock(t, func() { m.ubloxConnect(t, finish) })
	}}
}

// ubloxData is a write's <length> and, in the base syntax, its quoted
// <data>: exactly <length> characters, or 2×<length> hex digits in HEX
// mode. Without data (the binary syntax) the bytes follow the "@" prompt.
func ubloxData(args []Arg, hexMode bool) (n int, data []byte, err error) {
	if len(args) == 0 || len(args) > 2 {
		return 0, nil, cme(CMEIncorrectParameters)
	}
	limit := ubloxMaxData
	if len(args) == 2 && hexMode {
		limit = ubloxMaxHex
	}
	if n, err = atoiArg(args[0], 1, limit); err != nil {
		return 0, nil, err
	}
	if len(args) == 1 {
		return n, nil, nil
	}
	v := args[1].Value
	if !args[1].Quoted {
		return 0, nil, cme(CMEIncorrectParameters)
	}
	if !hexMode {
		if len(v) != n {
			return 0, nil, cme(CMEIncorrectParameters)
		}
		return n, []byte(v), nil
	}
	if len(v) != 2*n {
		return 0, nil, cme(CMEIncorrectParameters)
	}
	if data, err = hex.DecodeString(v); err != nil {
		return 0, nil, cme(CMEIncorrectParameters)
	}
	return n, data, nil
}

// usowr is AT+USOWR=<socket>,<length>[,"<data>"] → +USOWR: <socket>,<length>.
// [UBX-R09 §18.10]
func usowr(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+USOWR: (0-6),(0-512),"HEX data"`, `+USOWR: (0-6),(0-1024),"data"`, `+USOWR: (0-6),(0-1024)`}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) < 2 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		return nil, err
	}
	n, data, err := ubloxData(c.Args[1:], m.ubloxSt().hex)
	if err != nil {
		return nil, m.usoFail(s, uErrInval, err)
	}
	if s.kind == sockUDPService && s.remote == "" {
		return nil, m.usoFail(s, uErrDestAddrReq, cme(CMENotAllowed))
	}
	if s.state != sockConnected {
		return nil, m.usoFail(s, uErrNotConn, cme(CMENotAllowed))
	}
	return nil, m.ubloxSend(ctx, s, "+USOWR", s.remote, s.rport, n, data)
}

// usost is AT+USOST=<socket>,"<remote_addr>",<remote_port>,<length>[,"<data>"]
// → +USOST: <socket>,<length>, for UDP sockets. [UBX-R09 §18.11]
func usost(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+USOST: (0-6),"remote_host",(1-65535),(0-512),"HEX data"`, `+USOST: (0-6),"remote_host",(1-65535),(0-1024),"data"`, `+USOST: (0-6),"remote_host",(1-65535),(0-1024)`}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) < 4 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		return nil, err
	}
	if s.kind != sockUDPService {
		return nil, m.usoFail(s, uErrInval, cme(CMENotAllowed))
	}
	to := c.Args[1].Value
	port, err := atoiArg(c.Args[2], 1, 65535)
	if err != nil || to == "" {
		return nil, m.usoFail(s, uErrInval, cme(CMEIncorrectParameters))
	}
	n, data, err := ubloxData(c.Args[3:], m.ubloxSt().hex)
	if err != nil {
		return nil, m.usoFail(s, uErrInval, err)
	}
	if s.state != sockConnected {
		return nil, m.usoFail(s, uErrNotConn, cme(CMENotAllowed))
	}
	return nil, m.ubloxSend(ctx, s, "+USOST", to, port, n, data)
}

// ubloxSend sends n bytes on s to (to, port): data given on the command
// line, or else read after an "@" prompt (binary, exactly n bytes, bytes
// that come before the prompt included). The answer is "<name>:
// <socket>,<length>". Callers hold m.mu.
func (m *Modem) ubloxSend(ctx context.Context, s *socket, name, to string, port, n int, data []byte) error {
	outcome := func(finish func([]string, error)) func([]string, error) {
		return func(_ []string, err error) {
			if err == resSendOK {
				finish([]string{fmt.Sprintf("%s: %d,%d", name, s.id, n)}, nil)
				return
			}
			m.mu.Lock()
			errno := ubloxErrno(m.sockSt().lastErr)
			if errno == uErrNone {
				errno = uErrNotConn // the data session was cut
			}
			err = m.usoFail(s, errno, cme(CMENotAllowed))
			m.mu.Unlock()
			finish(nil, err)
		}
	}
	if data != nil {
		in := sendParser{state: sendComplete, data: data}
		return &pending{start: func(finish func([]string, error)) {
			m.env.clock.AfterFunc(0, func() { m.sendAndFinish(ctx, s, to, port, &in, outcome(finish)) })
		}}
	}
	p := &sendPrompt{m: m, ctx: ctx, s: s, boot: m.boots, to: to, toPort: port, in: newSendParser(n)}
	return &pending{start: func(finish func([]string, error)) {
		m.mu.Lock()
		defer m.mu.Unlock()
		p.finish = outcome(finish)
		m.sockSt().prompt = p
		m.raw(string([]byte{m.st.s3(), m.st.s4()}) + "@")
	}, input: func(b []byte) int { return len(b) - len(m.promptInput(b)) }}
}

// ubloxPayload is read data as the response carries it: the bytes, or
// hex in HEX mode. Callers hold m.mu.
func (m *Modem) ubloxPayload(b []byte) string {
	if m.ubloxSt().hex {
		return strings.ToUpper(hex.EncodeToString(b))
	}
	return string(b)
}

// ubloxReadLen is a read's <length>: 0 asks for the count waiting.
// Callers hold m.mu.
func (m *Modem) ubloxReadLen(a Arg) (int, error) {
	limit := ubloxMaxData
	if m.ubloxSt().hex {
		limit = ubloxMaxHex
	}
	return atoiArg(a, 0, limit)
}

// usord is AT+USORD=<socket>,<length> → +USORD: <socket>,<length>,"<data>"
// (the quotes delimit raw bytes, counted by length); <length> 0 →
// +USORD: <socket>,<unread>. [UBX-R09 §18.12]
func usord(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+USORD: (0-6),(0-1024)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) != 2 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		return nil, err
	}
	want, err := m.ubloxReadLen(c.Args[1])
	if err != nil {
		return nil, m.usoFail(s, uErrInval, err)
	}
	if want == 0 {
		return []string{fmt.Sprintf("+USORD: %d,%d", s.id, s.rxLen)}, nil
	}
	if s.rxLen == 0 {
		if s.state == sockClosing {
			return nil, m.usoFail(s, uErrNotConn, cme(CMENotAllowed))
		}
		return []string{fmt.Sprintf(`+USORD: %d,0,""`, s.id)}, nil
	}
	out, _, _ := s.takeRx(want)
	return []string{fmt.Sprintf(`+USORD: %d,%d,"%s"`, s.id, len(out), m.ubloxPayload(out))}, nil
}

// usorf is AT+USORF=<socket>,<length> → +USORF: <socket>,"<ip>",<port>,<length>,"<data>":
// one datagram (or its first <length> bytes) at a time; <length> 0 →
// +USORF: <socket>,<unread>. [UBX-R11 §18.13]
func usorf(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+USORF: (0-6),(0-1024)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) != 2 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		return nil, err
	}
	if s.kind != sockUDPService {
		return nil, m.usoFail(s, uErrInval, cme(CMENotAllowed))
	}
	want, err := m.ubloxReadLen(c.Args[1])
	if err != nil {
		return nil, m.usoFail(s, uErrInval, err)
	}
	if want == 0 {
		return []string{fmt.Sprintf("+USORF: %d,%d", s.id, s.rxLen)}, nil
	}
	if s.rxLen == 0 {
		return []string{fmt.Sprintf(`+USORF: %d,"",0,0,""`, s.id)}, nil
	}
	out, from, port := s.takeRx(want)
	return []string{fmt.Sprintf(`+USORF: %d,%s,%d,%d,"%s"`, s.id, quote(from), port, len(out), m.ubloxPayload(out))}, nil
}

// TCP states of AT+USOCTL=<socket>,10.
const (
	uTCPInactive    = 0
	uTCPSynSent     = 2
	uTCPEstablished = 4
)

// usoctl is AT+USOCTL=<socket>,<param_id> → +USOCTL: <socket>,<param_id>,<value>:
// 0 type (6/17), 1 last error, 2 bytes sent, 3 bytes received, 4 peer
// address and port, 10 TCP state, 11 bytes not yet acknowledged (0: the
// host's stack keeps none). [UBX-R09 §18.23]
func usoctl(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+USOCTL: (0-6),(0-4,10-11)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) != 2 {
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		return nil, err
	}
	param, err := strconv.Atoi(c.Args[1].Value)
	if err != nil {
		return nil, m.usoFail(s, uErrInval, cme(CMEIncorrectParameters))
	}
	line := func(v any) []string { return []string{fmt.Sprintf("+USOCTL: %d,%d,%v", s.id, param, v)} }
	tcp := s.kind == sockTCP
	switch param {
	case 0:
		if tcp {
			return line(6), nil
		}
		return line(17), nil
	case 1:
		return line(s.ind.(*ubloxSock).err), nil
	case 2:
		return line(s.sent), nil
	case 3:
		return line(s.received), nil
	case 4:
		if s.remote == "" || tcp && s.state != sockConnected {
			return nil, m.usoFail(s, uErrNotConn, cme(CMENotAllowed))
		}
		return line(fmt.Sprintf("%s,%d", quote(s.remote), s.rport)), nil
	case 10:
		if !tcp {
			return nil, m.usoFail(s, uErrInval, cme(CMENotAllowed))
		}
		switch s.state {
		case sockConnected:
			return line(uTCPEstablished), nil
		case sockOpening:
			return line(uTCPSynSent), nil
		}
		return line(uTCPInactive), nil
	case 11:
		if !tcp {
			return nil, m.usoFail(s, uErrInval, cme(CMENotAllowed))
		}
		return line(0), nil
	}
	return nil, m.usoFail(s, uErrInval, cme(CMEIncorrectParameters))
}

// usoer is AT+USOER → +USOER: <code>, the last socket error. [UBX-R09 §18.8]
func usoer(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return []string{fmt.Sprintf("+USOER: %d", m.ubloxSt().sockErr)}, nil
}

// usocl is AT+USOCL=<socket>[,<async_close>]: OK once closed, or with
// async 1 OK and then +UUSOCL: <socket>. A socket that is not there (never
// made, or closed already) is an error. [UBX-R09 §18.7]
func usocl(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+USOCL: (0-6),(0-1)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	if len(c.Args) > 2 {
		defer m.mu.Unlock()
		return nil, m.usoFail(nil, uErrInval, cme(CMEIncorrectParameters))
	}
	s, err := m.ubloxSocket(c.Args[0])
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	async := false
	if len(c.Args) == 2 && !c.Args[1].Empty() {
		v, err := atoiArg(c.Args[1], 0, 1)
		if err != nil {
			defer m.mu.Unlock()
			return nil, m.usoFail(s, uErrInval, err)
		}
		async = v == 1
	}
	wasUp := s.tcpUp
	s.tcpUp = false
	m.sockSt().socks[s.id] = nil
	s.teardown()
	if async {
		m.st.addAfter(fmt.Sprintf("+UUSOCL: %d", s.id))
	}
	m.mu.Unlock()
	if wasUp {
		m.meter(ctx, 2*tcpPacket, 2*tcpPacket) // FIN and ACK each way
	}
	return nil, nil
}
