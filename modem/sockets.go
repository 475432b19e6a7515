package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Quectel's TCP/IP stack (BG96/BG95 TCP/IP AT Commands Manual): AT+QIACT
// and AT+QIDEACT, AT+QIOPEN for TCP and UDP clients and the UDP service,
// AT+QISEND (a "> " prompt, then a fixed length or up to Ctrl-Z),
// AT+QISENDEX, AT+QIRD, AT+QICLOSE, AT+QISTATE and AT+QIGETERROR, with the
// +QIOPEN and +QIURC ("recv", "closed", "pdpdeact") indications. Sockets
// are real: the simulator host opens them to the addresses the firmware
// names, and every byte is metered to the SIM's usage with the overhead
// model below. Datagrams for the IP Commands gateway (100.64.0.1:6969)
// never leave the simulator: they become IP Commands from the SIM.
//
// Access modes: buffer (0) and direct push (1); transparent mode (2) is
// refused with error 555 (operation not supported).

// IPCore is what the socket commands need of the core beyond Core: the
// address of a data session, and the IP Commands gateway. *sim.Control
// implements it; with a Core that does not, sockets keep the modem's own
// address and datagrams for the gateway are dropped.
type IPCore interface {
	// AssignAddress is the PDP address of the SIM's data session.
	AssignAddress(iccid string) (netip.Addr, error)
	// ReleaseAddress ends the SIM's data session.
	ReleaseAddress(iccid string)
	// IPCommandPayload is the device port and the datagram of a queued
	// mobile-terminated IP Command.
	IPCommandPayload(sid string) (devicePort int, payload []byte, err error)
	// IPCommandDone reports an MT IP Command sent to deviceIP, or failed.
	IPCommandDone(ctx context.Context, sid, deviceIP string, sent bool) error
	// ReceiveIPCommand is a datagram the device sent to the gateway.
	ReceiveIPCommand(ctx context.Context, iccid, deviceIP string, devicePort int, payload []byte) (*sim.IPCommand, error)
}

// The IP Commands gateway: MO datagrams go to it, MT datagrams come from it.
const (
	GatewayAddr = "100.64.0.1"
	GatewayPort = 6969
)

// The metering model: what a byte of payload costs on the radio. Every
// packet carries an IPv4 header (20 bytes, no options) and a TCP (20, no
// options) or UDP (8) header. A TCP connection costs its three-way
// handshake (SYN and ACK up, SYN-ACK down) and its close (FIN and ACK each
// way); every TCP segment of at most MSS bytes is acknowledged by one pure
// ACK in the other direction (no delayed or piggybacked ACKs). A refused
// connection costs its SYN up and the RST down. Payload received in one
// read from the host's socket counts as ceil(n/MSS) segments.
const (
	IPv4Header = 20
	TCPHeader  = 20
	UDPHeader  = 8
	TCPMSS     = 1460
	tcpPacket  = IPv4Header + TCPHeader // a pure SYN, ACK, FIN or RST
	udpPacket  = IPv4Header + UDPHeader
)

// Limits of the module.
const (
	maxSockets   = 12       // connectIDs 0..11
	sockSlots    = 13       // the most ids a family has: SIMCom's CA* cids 0..12
	maxSend      = 1460     // AT+QISEND's longest data
	maxRead      = 1500     // AT+QIRD's longest read
	socketBuffer = 64 << 10 // unread bytes a socket holds before the reader pauses
	openTimeout  = 150 * time.Second
)

// TCP/IP error codes (+QIOPEN's <err>, AT+QIGETERROR).
const (
	qiErrNone         = 0
	qiErrUnknown      = 550
	qiErrInvalidParam = 552
	qiErrCreateSocket = 554
	qiErrNotSupported = 555
	qiErrBind         = 556
	qiErrWrite        = 558
	qiErrPDPOpen      = 561
	qiErrIDUsed       = 563
	qiErrConnect      = 566
	qiErrClosed       = 567
	qiErrPDPBroken    = 570
	qiErrCancelSend   = 571
	qiErrNotAllowed   = 572
)

var qiErrTexts = map[int]string{
	0: "operation successful", 550: "unknown error", 551: "operation blocked", 552: "invalid parameters",
	553: "memory not enough", 554: "create socket failed", 555: "operation not supported",
	556: "socket bind failed", 557: "socket listen failed", 558: "socket write failed",
	559: "socket read failed", 560: "socket accept failed", 561: "open PDP context failed",
	562: "close PDP context failed", 563: "socket identity has been used", 564: "DNS busy",
	565: "DNS parse failed", 566: "socket connect failed", 567: "socket has been closed",
	568: "operation busy", 569: "operation timeout", 570: "PDP context broken down",
	571: "cancel send", 572: "operation not allowed", 573: "APN not configured", 574: "port busy",
}

// sockKind is a socket's service type.
type sockKind uint8

const (
	sockTCP sockKind = iota
	sockUDP
	sockUDPService
)

var sockKindNames = [...]string{sockTCP: "TCP", sockUDP: "UDP", sockUDPService: "UDP SERVICE"}

// sockState is a socket's <socket_state> of AT+QISTATE.
type sockState uint8

const (
	sockInitial   sockState = 0
	sockOpening   sockState = 1
	sockConnected sockState = 2
	sockListening sockState = 3
	sockClosing   sockState = 4
)

// accessMode is how received data reaches the host.
type accessMode uint8

const (
	accessBuffer      accessMode = 0 // +QIURC: "recv",<id>, then AT+QIRD
	accessDirectPush  accessMode = 1 // +QIURC: "recv",<id>,<len> and the data
	accessTransparent accessMode = 2 // not supported
)

// finalText is a command's own final result code, such as SEND OK.
type finalText string

func (f finalText) Error() string { return string(f) }

const (
	resSendOK   finalText = "SEND OK"
	resSendFail finalText = "SEND FAIL"
)

// socketState is the modem's TCP/IP stack. It is guarded by Modem.mu.
// sockSt returns the socket state, made on first use. Callers hold m.mu.
func (m *Modem) sockSt() *socketState {
	if m.sock == nil {
		m.sock = &socketState{}
	}
	return m.sock
}

type socketState struct {
	socks  [sockSlots]*socket
	prompt *sendPrompt // the send command waiting for its data
	// owned are the contexts the stack's own command brought up (AT+QIACT,
	// SIMCom's AT+CNACT), each with the indication that reports its loss.
	owned    map[int]string
	lastErr  int // for AT+QIGETERROR
	nextPort int // the next local port the stack picks itself
	// run holds the stack's goroutines, each socket's opener and then its
	// reader (see goSock): Modem.Close stops them and waits.
	run sync.WaitGroup
}

// goSock runs f, socket s's opener or reader, on a goroutine the stack
// owns: tearing s down stops it, and Modem.Close tears every socket down
// and waits for it. Once the modem is closed nothing new starts: s is torn
// down and f runs from the clock, where it only winds down (a cancelled
// socket neither dials nor reads) and gives a waiting command its outcome.
func (m *Modem) goSock(s *socket, f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		s.teardown()
		m.env.clock.AfterFunc(0, f)
		return
	}
	st := m.sockSt()
	st.run.Add(1)
	go func() {
		defer st.run.Done()
		f()
	}()
}

// sockBusy marks socket I/O that runs from the clock (a send's write)
// as the stack's work until done is called: Modem.Close waits for it. On a
// closed modem there is nothing to wait for: the host sockets are closed,
// so the I/O fails at once.
func (m *Modem) sockBusy() (done func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return func() {}
	}
	st := m.sockSt()
	st.run.Add(1)
	return st.run.Done
}

// closeSockets is the stack's part of Modem.Close: every socket torn
// down, the stack's goroutines waited for, and the host sockets closed,
// including those of sockets no goroutine serves yet. The modem is
// already closed, so nothing new starts.
func (m *Modem) closeSockets() {
	m.mu.Lock()
	st := m.sock
	if st != nil {
		for _, s := range st.socks {
			if s != nil {
				s.teardown()
			}
		}
	}
	m.mu.Unlock()
	if st == nil {
		return
	}
	st.run.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range st.socks {
		if s != nil {
			s.closeHost()
		}
	}
}

// own records a context brought up by the stack's own activation command,
// and the indication its loss prints. Callers hold m.mu.
func (st *socketState) own(cid int, lost string) {
	if st.owned == nil {
		st.owned = make(map[int]string)
	}
	st.owned[cid] = lost
}

// sockIndications is how a module family reports what happens to its
// sockets: Quectel's +QIOPEN and +QIURC, SIMCom's +CAOPEN, +CADATAIND and
// +CASTATE, u-blox's +UUSOCO, +UUSORD and +UUSOCL. Each returns the
// indication to print, or "" for none. Callers hold m.mu.
type sockIndications interface {
	// opened is the outcome of an open that completes after its OK; code
	// is one of the qiErr codes.
	opened(s *socket, code int) string
	// received is data buffered for the host to read.
	received(s *socket) string
	// closed is the peer closing the connection.
	closed(s *socket) string
	// abandoned is an open that ends unreported because the socket was
	// torn down or the modem powered up again meanwhile: a family whose
	// open command waits for the outcome (SIMCom's AT+CAOPEN answers
	// +CAOPEN before its OK) gives the command one.
	abandoned(s *socket)
}

// quectelSockets are the BG9x's indications.
type quectelSockets struct{}

func (quectelSockets) opened(s *socket, code int) string {
	return fmt.Sprintf("+QIOPEN: %d,%d", s.id, code)
}

func (quectelSockets) received(s *socket) string {
	if s.notified { // once until AT+QIRD drains the buffer
		return ""
	}
	s.notified = true
	return fmt.Sprintf(`+QIURC: "recv",%d`, s.id)
}

func (quectelSockets) closed(s *socket) string { return fmt.Sprintf(`+QIURC: "closed",%d`, s.id) }

func (quectelSockets) abandoned(*socket) {} // +QIOPEN follows the OK: nothing waits

// socket is one connectID. Its goroutines (the opener, then the reader)
// stop when it is torn down: teardown cancels its context, which closes
// the host connection; the session ending cancels it too.
type socket struct {
	ind          sockIndications // the family whose command opened it
	id, cid      int
	kind         sockKind
	state        sockState
	mode         accessMode
	remote       string // the host as the firmware gave it
	rport, lport int
	boot         uint32 // the power-up it belongs to
	conn         net.Conn
	pc           net.PacketConn
	gateway      bool // a UDP client of the IP Commands gateway: nothing to open
	ctx          context.Context
	cancel       context.CancelFunc
	room         chan struct{} // a token when the reader may read again
	rx           []packet      // received, unread (buffer mode)
	rxLen        int
	notified     bool // "recv" reported since the buffer was last drained
	sent         int64
	received     int64
	read         int64
	tcpUp        bool // a TCP connection was established and not yet closed
	// sending is held from an AT+QISEND's write until its SEND OK is out:
	// an answer the peer sends back at once is metered after it, so a limit
	// the send crosses is reported after SEND OK, as the module does.
	sending sync.Mutex
}

// waitSent returns once no AT+QISEND on the socket is between its write
// and its SEND OK.
func (s *socket) waitSent() {
	s.sending.Lock()
	defer s.sending.Unlock()
}

// packet is data received from one peer.
type packet struct {
	from string
	port int
	data []byte
}

var socketCommands = map[string]Handler{
	"+QIACT":      qiactSock,
	"+QIDEACT":    qideact,
	"+QIOPEN":     qiopen,
	"+QISEND":     qisend,
	"+QISENDEX":   qisendex,
	"+QIRD":       qird,
	"+QICLOSE":    qiclose,
	"+QISTATE":    qistate,
	"+QIGETERROR": qigeterror,
}

// qiFail records a TCP/IP error for AT+QIGETERROR and answers ERROR.
// Callers hold m.mu.
func (m *Modem) qiFail(code int) error {
	m.sockSt().lastErr = code
	return ErrError
}

// qiactSock is AT+QIACT with the address the core assigns.
func qiactSock(ctx context.Context, m *Modem, c Command) ([]string, error) {
	lines, err := qiact(ctx, m, c)
	p, ok := err.(*pending)
	if !ok {
		if c.Kind == KindSet && err != nil {
			m.mu.Lock()
			m.sockSt().lastErr = qiErrPDPOpen
			m.mu.Unlock()
		}
		return lines, err
	}
	cid, _ := strconv.Atoi(c.Args[0].Value)
	return nil, &pending{start: func(finish func([]string, error)) {
		p.begin(m, func(lines []string, err error) {
			m.mu.Lock()
			if err != nil {
				m.sockSt().lastErr = qiErrPDPOpen
			} else if ctxt := m.st.contexts.get(cid); ctxt != nil && ctxt.active {
				m.sockSt().own(cid, fmt.Sprintf(`+QIURC: "pdpdeact",%d`, cid))
			}
			m.mu.Unlock()
			finish(lines, err)
		})
	}}
}

// dataLost is the data session ending under the sockets (the network
// deactivated it, or the modem left the network, or powered down): the
// contexts the stack brought up report their loss ("pdpdeact"), their
// sockets close and sockets of an earlier power-up are forgotten.
// Callers hold m.mu.
func (m *Modem) dataLost() {
	active := false
	for p := range m.st.contexts.all {
		if !p.active {
			continue
		}
		active = true
		if m.sock != nil && m.sock.owned[int(p.cid)] != "" {
			m.urc(m.sock.owned[int(p.cid)])
		}
	}
	if active {
		if ipc := m.ipCore(); ipc != nil {
			ipc.ReleaseAddress(m.card.ICCID)
		}
	}
	if m.sock == nil { // never used a socket
		return
	}
	m.sock.owned = nil
	m.abandonPrompt()
	for i, s := range m.sockSt().socks {
		if s == nil {
			continue
		}
		if s.boot != m.boots {
			s.teardown()
			m.sockSt().socks[i] = nil
			continue
		}
		m.dropSocket(s)
	}
}

// dropSocket closes the host side of a socket and leaves its connectID in
// the closing state until AT+QICLOSE. Callers hold m.mu.
func (m *Modem) dropSocket(s *socket) {
	s.teardown()
	s.state = sockClosing
}

// teardown stops the socket's goroutines and closes its host side.
func (s *socket) teardown() {
	if s.cancel != nil {
		s.cancel()
	}
}

// socketAt returns the socket of connectID id of this power-up. Callers hold m.mu.
func (m *Modem) socketAt(id int) *socket {
	s := m.sockSt().socks[id]
	if s != nil && s.boot != m.boots {
		s.teardown()
		m.sockSt().socks[id] = nil
		return nil
	}
	return s
}

// pdpAddr is the address of an active context. Callers hold m.mu.
func (m *Modem) pdpAddr(cid int) ipv4 {
	if p := m.st.contexts.get(cid); p != nil && p.active {
		return p.addr
	}
	return 0
}

// sessionAddr is the address of the first active context. Callers hold m.mu.
func (m *Modem) sessionAddr() (ipv4, int) {
	for p := range m.st.contexts.all {
		if p.active {
			return p.addr, int(p.cid)
		}
	}
	return 0, 0
}

func qiopen(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+QIOPEN: (1-16),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE","<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)`}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) < 5 || len(c.Args) > 7 {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	cid, err1 := atoiArg(c.Args[0], 1, 16)
	id, err2 := atoiArg(c.Args[1], 0, maxSockets-1)
	rport, err3 := atoiArg(c.Args[4], 0, 65535)
	lport, mode := 0, 0
	var err4, err5 error
	if len(c.Args) > 5 && !c.Args[5].Empty() {
		lport, err4 = atoiArg(c.Args[5], 0, 65535)
	}
	if len(c.Args) > 6 && !c.Args[6].Empty() {
		mode, err5 = atoiArg(c.Args[6], 0, 2)
	}
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	var kind sockKind
	switch strings.ToUpper(c.Args[2].Value) {
	case "TCP":
		kind = sockTCP
	case "UDP":
		kind = sockUDP
	case "UDP SERVICE":
		kind = sockUDPService
	case "TCP LISTENER":
		return nil, m.qiFail(qiErrNotSupported)
	default:
		return nil, m.qiFail(qiErrInvalidParam)
	}
	host := c.Args[3].Value
	if accessMode(mode) == accessTransparent {
		return nil, m.qiFail(qiErrNotSupported)
	}
	if kind != sockUDPService && (host == "" || rport == 0) {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	if m.socketAt(id) != nil {
		return nil, m.qiFail(qiErrIDUsed)
	}
	s := &socket{
		ind: quectelSockets{}, id: id, cid: cid, kind: kind, state: sockOpening, mode: accessMode(mode),
		remote: host, rport: rport, lport: lport, boot: m.boots,
		room: make(chan struct{}, 1),
	}
	m.sockSt().socks[id] = s
	m.sockSt().lastErr = qiErrNone
	if m.pdpAddr(cid) == 0 {
		m.sockSt().socks[id] = nil
		m.st.addAfter(s.ind.opened(s, qiErrPDPOpen))
		return nil, nil
	}
	if kind == sockUDP && host == GatewayAddr {
		// Nothing on the host: the gateway is the simulator's own.
		s.gateway, s.state = true, sockConnected
		if s.lport == 0 {
			s.lport = m.pickPort()
		}
		s.ctx, s.cancel = context.WithCancel(ctx)
		m.st.addAfter(s.ind.opened(s, qiErrNone))
		return nil, nil
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	if kind != sockTCP {
		// UDP has no handshake: the socket is bound before the OK, so a
		// datagram that comes as soon as +QIOPEN is out finds it open.
		if code := m.bindUDP(s); code != qiErrNone {
			m.sockSt().socks[id] = nil
			m.sockSt().lastErr = code
			s.teardown()
			m.st.addAfter(s.ind.opened(s, code))
			return nil, nil
		}
		m.st.addAfter(s.ind.opened(s, qiErrNone))
		return nil, &pending{start: func(finish func([]string, error)) {
			m.env.clock.AfterFunc(0, func() {
				finish(nil, nil)
				m.goSock(s, func() { m.serveSocket(s) })
			})
		}}
	}
	// OK first, then the opening: +QIOPEN never comes before the OK.
	return nil, &pending{start: func(finish func([]string, error)) {
		m.env.clock.AfterFunc(0, func() {
			finish(nil, nil)
			m.goSock(s, func() { m.sockOpen(s) })
		})
	}}
}

// bindUDP opens the host side of a UDP socket and marks it open; it
// returns a qiErr code. Callers hold m.mu.
func (m *Modem) bindUDP(s *socket) int {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(s.ctx, "udp", ":0")
	if err != nil {
		return qiErrCreateSocket
	}
	s.pc, s.state = pc, sockConnected
	if s.lport == 0 {
		s.lport = pc.LocalAddr().(*net.UDPAddr).Port
	}
	return qiErrNone
}

// serveSocket reads an open socket until it closes, then closes its host
// side; tearing the socket down (its context ending) closes the host side
// at once, which ends the read.
func (m *Modem) serveSocket(s *socket) {
	closed := make(chan struct{})
	stop := context.AfterFunc(s.ctx, func() {
		s.closeHost()
		close(closed)
	})
	m.sockReader(s)
	if stop() {
		s.closeHost() // the peer closed, or the read failed
	} else {
		<-closed
	}
}

// pickPort is a local port the stack chooses. Callers hold m.mu.
func (m *Modem) pickPort() int {
	if m.sockSt().nextPort == 0 {
		m.sockSt().nextPort = 49152
	}
	p := m.sockSt().nextPort
	m.sockSt().nextPort++
	if m.sockSt().nextPort > 65535 {
		m.sockSt().nextPort = 49152
	}
	return p
}

// sockOpen connects the host side of a TCP socket (binds a UDP one's),
// reports the outcome and then reads.
func (m *Modem) sockOpen(s *socket) {
	ctx, cancel := context.WithTimeout(s.ctx, openTimeout)
	defer cancel()
	var err error
	code := qiErrNone
	switch {
	case s.ctx.Err() != nil: // torn down before it started: no dial
		err = s.ctx.Err()
	case s.kind != sockTCP: // UDP has no handshake: the host side is bound
		var lc net.ListenConfig
		if s.pc, err = lc.ListenPacket(ctx, "udp", ":0"); err != nil {
			code = qiErrCreateSocket
		}
	case s.remote == GatewayAddr:
		err, code = errors.New("the gateway takes UDP only"), qiErrConnect
	default:
		var d net.Dialer
		s.conn, err = d.DialContext(ctx, "tcp", net.JoinHostPort(s.remote, itoa(s.rport)))
		switch {
		case err == nil:
			m.meter(s.ctx, 2*tcpPacket, tcpPacket) // SYN, ACK up; SYN-ACK down
		default:
			code = qiErrConnect
			m.meter(s.ctx, tcpPacket, tcpPacket) // SYN up, RST down
		}
	}
	m.mu.Lock()
	if m.sockSt().socks[s.id] != s || s.boot != m.boots || s.ctx.Err() != nil {
		s.ind.abandoned(s)
		m.mu.Unlock()
		s.closeHost()
		return
	}
	if err != nil {
		m.sockSt().socks[s.id] = nil
		m.sockSt().lastErr = code
		m.urcIf(s.ind.opened(s, code))
		m.mu.Unlock()
		s.teardown()
		return
	}
	if s.pc != nil {
		if s.lport == 0 {
			s.lport = s.pc.LocalAddr().(*net.UDPAddr).Port
		}
		s.state = sockConnected
	} else {
		if s.lport == 0 {
			s.lport = s.conn.LocalAddr().(*net.TCPAddr).Port
		}
		s.state, s.tcpUp = sockConnected, true
	}
	m.urcIf(s.ind.opened(s, qiErrNone))
	m.mu.Unlock()
	m.serveSocket(s)
}

func (s *socket) closeHost() {
	if s.conn != nil {
		s.conn.Close()
	}
	if s.pc != nil {
		s.pc.Close()
	}
}

// sockReader moves what the host socket receives to the modem until the
// socket closes. It pauses while the unread buffer is full.
func (m *Modem) sockReader(s *socket) {
	buf := make([]byte, 64<<10)
	for {
		m.mu.Lock()
		full := s.rxLen >= socketBuffer
		m.mu.Unlock()
		if full {
			select {
			case <-s.room:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		var n int
		var from *net.UDPAddr
		var err error
		if s.conn != nil {
			n, err = s.conn.Read(buf)
		} else {
			var a net.Addr
			n, a, err = s.pc.ReadFrom(buf)
			from, _ = a.(*net.UDPAddr)
		}
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			s.waitSent()
			up, down := int64(0), int64(n)+udpPacket
			if s.kind == sockTCP {
				segs := int64((n + TCPMSS - 1) / TCPMSS)
				up, down = segs*tcpPacket, int64(n)+segs*tcpPacket
			}
			passed := m.meter(s.ctx, up, down) // false: the session was cut at the limit
			pk := packet{data: data}
			if from != nil {
				pk.from, pk.port = from.IP.String(), from.Port
			}
			m.mu.Lock()
			if passed && m.sockSt().socks[s.id] == s && s.state == sockConnected {
				m.deliver(s, pk)
			}
			m.mu.Unlock()
		}
		if err != nil {
			if s.kind == sockTCP && s.ctx.Err() == nil {
				m.remoteClosed(s)
			}
			return
		}
	}
}

// remoteClosed is the peer closing a TCP connection: "closed", and the
// socket waits for AT+QICLOSE.
func (m *Modem) remoteClosed(s *socket) {
	m.mu.Lock()
	current := m.sockSt().socks[s.id] == s && s.state == sockConnected
	wasUp := s.tcpUp
	if current {
		s.state, s.tcpUp = sockClosing, false
		m.urcIf(s.ind.closed(s))
	}
	m.mu.Unlock()
	if current && wasUp {
		m.meter(s.ctx, 2*tcpPacket, 2*tcpPacket) // FIN and ACK each way
	}
}

// deliver hands received data to the host as the access mode says.
// Callers hold m.mu.
func (m *Modem) deliver(s *socket, pk packet) {
	s.received += int64(len(pk.data))
	if s.mode == accessDirectPush {
		s.read += int64(len(pk.data))
		for d := pk.data; len(d) > 0; {
			n := min(len(d), maxRead)
			head := fmt.Sprintf(`+QIURC: "recv",%d,%d`, s.id, n)
			if s.kind == sockUDPService {
				head += fmt.Sprintf(`,%s,%d`, quote(pk.from), pk.port)
			}
			m.raw(m.st.frame(head) + string(d[:n]))
			d = d[n:]
		}
		return
	}
	s.rx = append(s.rx, pk)
	s.rxLen += len(pk.data)
	m.urcIf(s.ind.received(s))
}

// meter records traffic of the SIM's data session, up to what the core
// still allows, and cuts the session where the Fleet's limit is reached
// (or when data is no longer allowed at all). It reports whether data may
// go on.
func (m *Modem) meter(ctx context.Context, up, down int64) bool {
	if m.env.core == nil {
		return true
	}
	fits := m.record(ctx, up, down)
	return m.dataAllowed() && fits
}

// record charges traffic of the SIM's data session, if the modem is on a
// network; it reports false when the traffic crossed the Fleet's limit,
// so that only the part before it was charged.
func (m *Modem) record(ctx context.Context, up, down int64) bool {
	if m.env.core == nil {
		return true
	}
	m.mu.Lock()
	serving := m.st.serving
	m.mu.Unlock()
	return serving == nil || m.charge(ctx, serving.PLMN, up, down)
}

// charge adds up and down bytes to the SIM's usage on the network plmn, but
// no more than the core's allowance: traffic beyond the Fleet's data limit
// never passes, and charge reports false when some of it did not fit. The
// caller cuts the session then (NO CARRIER, pdpdeact).
func (m *Modem) charge(ctx context.Context, plmn sim.PLMN, up, down int64) bool {
	if ch, ok := m.env.core.(dataCharger); ok {
		fits, _ := ch.ChargeData(ctx, sim.UsageReport{ICCID: m.card.ICCID, PLMN: plmn, Upload: up, Download: down, Card: m.card.key})
		return fits
	}
	left, err := m.env.core.DataAllowance(m.card.ICCID)
	fits := err == nil && up+down <= left
	if !fits {
		up = min(up, left)
		down = min(down, left-up)
	}
	if up+down > 0 {
		_ = m.env.core.RecordUsage(ctx, sim.UsageReport{ICCID: m.card.ICCID, PLMN: plmn, Upload: up, Download: down, Card: m.card.key})
	}
	return fits
}

// dataCharger is a Core that charges data in one step: what its
// DataAllowance lets through, recorded as RecordUsage does (*sim.Control).
type dataCharger interface {
	ChargeData(ctx context.Context, r sim.UsageReport) (fits bool, err error)
}

// dataAllowed asks the core whether the SIM may move data, and drops the
// data session if not.
func (m *Modem) dataAllowed() bool {
	if err := m.authorizeData(); err != nil {
		m.mu.Lock()
		if m.activeContexts() > 0 {
			m.dropData()
		}
		m.mu.Unlock()
		return false
	}
	return true
}

// sendPrompt is an AT+QISEND waiting for its data after "> ".
type sendPrompt struct {
	m      *Modem
	ctx    context.Context
	s      *socket
	boot   uint32
	to     string // the UDP service's destination
	toPort int
	in     sendParser
	finish func([]string, error)
}

// promptInput gives input to the AT+QISEND waiting for its data, if any,
// and returns what it did not take. The session calls it with its own lock
// held.
func (m *Modem) promptInput(b []byte) []byte {
	m.mu.Lock()
	var p *sendPrompt
	if m.sock != nil {
		p = m.sock.prompt
	}
	m.mu.Unlock()
	if p == nil || len(b) == 0 {
		return b
	}
	return b[p.input(b):]
}

// input takes AT+QISEND's data after the prompt and returns how much of b
// it used. It runs with the session locked: the send completes from a
// fresh timer.
func (p *sendPrompt) input(b []byte) int {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sockSt().prompt != p {
		return 0
	}
	n := p.in.feed(b)
	if p.in.done() {
		m.sockSt().prompt = nil
		m.env.clock.AfterFunc(0, func() { m.sendAndFinish(p.ctx, p.s, p.to, p.toPort, &p.in, p.finish) })
	}
	return n
}

// abandonPrompt ends an AT+QISEND waiting for its data with SEND FAIL (its
// socket or the modem's power went). Callers hold m.mu.
func (m *Modem) abandonPrompt() {
	if m.sock == nil {
		return
	}
	if p := m.sock.prompt; p != nil {
		m.sockSt().prompt = nil
		m.env.clock.AfterFunc(0, func() { p.finish(nil, resSendFail) })
	}
}

// sendState is where AT+QISEND's data is.
type sendState uint8

const (
	sendFixed     sendState = iota // collecting exactly want bytes
	sendVariable                   // collecting up to Ctrl-Z
	sendComplete                   // the data is whole
	sendCancelled                  // ESC in variable mode
	sendTooLong                    // variable mode passed maxSend
)

const (
	ctrlZ = 0x1a
	esc   = 0x1b
)

// sendParser collects the data of AT+QISEND after its prompt, fed any
// number of bytes at a time: a fixed length, or up to Ctrl-Z (ESC
// cancels). It takes no byte past the data's end.
type sendParser struct {
	state sendState
	want  int
	data  []byte
}

func newSendParser(fixed int) sendParser {
	if fixed > 0 {
		return sendParser{state: sendFixed, want: fixed, data: make([]byte, 0, fixed)}
	}
	return sendParser{state: sendVariable}
}

func (p *sendParser) done() bool { return p.state >= sendComplete }

// feed consumes input and returns how many bytes it took.
func (p *sendParser) feed(b []byte) int {
	switch p.state {
	case sendFixed:
		n := min(p.want-len(p.data), len(b))
		p.data = append(p.data, b[:n]...)
		if len(p.data) == p.want {
			p.state = sendComplete
		}
		return n
	case sendVariable:
		for i, c := range b {
			switch c {
			case ctrlZ:
				p.state = sendComplete
				return i + 1
			case esc:
				p.state = sendCancelled
				return i + 1
			}
			if len(p.data) == maxSend {
				p.state = sendTooLong
				return i
			}
			p.data = append(p.data, c)
		}
		return len(b)
	}
	return 0
}

func qisend(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+QISEND: (0-11),(0-1460)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) > 4 || len(c.Args) == 3 {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	id, err := atoiArg(c.Args[0], 0, maxSockets-1)
	if err != nil {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	s := m.socketAt(id)
	if s == nil {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	fixed := 0
	if len(c.Args) >= 2 {
		if fixed, err = atoiArg(c.Args[1], 0, maxSend); err != nil {
			return nil, m.qiFail(qiErrInvalidParam)
		}
		if fixed == 0 && len(c.Args) == 2 {
			return []string{fmt.Sprintf("+QISEND: %d,%d,0", s.sent, s.sent)}, nil
		}
	}
	to, toPort := "", 0
	if len(c.Args) == 4 {
		if s.kind != sockUDPService {
			return nil, m.qiFail(qiErrInvalidParam)
		}
		if toPort, err = atoiArg(c.Args[3], 1, 65535); err != nil || c.Args[2].Value == "" {
			return nil, m.qiFail(qiErrInvalidParam)
		}
		to = c.Args[2].Value
	} else if s.kind == sockUDPService {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	if s.state != sockConnected {
		return nil, m.qiFail(qiErrClosed)
	}
	p := &sendPrompt{m: m, ctx: ctx, s: s, boot: m.boots, to: to, toPort: toPort, in: newSendParser(fixed)}
	return nil, &pending{start: func(finish func([]string, error)) {
		m.mu.Lock()
		defer m.mu.Unlock()
		p.finish = finish
		m.sockSt().prompt = p
		m.raw("> ")
	}, input: func(b []byte) int { return len(b) - len(m.promptInput(b)) }}
}

// qisendex is AT+QISENDEX=<id>,"<hex>": data without a prompt.
func qisendex(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+QISENDEX: (0-11),<hex_string>`}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) != 2 {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	id, err := atoiArg(c.Args[0], 0, maxSockets-1)
	if err != nil {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	data, err := hex.DecodeString(c.Args[1].Value)
	if err != nil || len(data) == 0 || len(data) > 512 {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	s := m.socketAt(id)
	if s == nil || s.kind == sockUDPService {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	if s.state != sockConnected {
		return nil, m.qiFail(qiErrClosed)
	}
	in := sendParser{state: sendComplete, data: data}
	return nil, &pending{start: func(finish func([]string, error)) {
		m.env.clock.AfterFunc(0, func() { m.sendAndFinish(ctx, s, "", 0, &in, finish) })
	}}
}

// sendAndFinish sends AT+QISEND's data once it is whole and gives the
// command its outcome; a session cut by this very traffic (the data limit
// crossed) is reported after SEND OK. It runs without locks held.
func (m *Modem) sendAndFinish(ctx context.Context, s *socket, to string, toPort int, in *sendParser, finish func([]string, error)) {
	defer m.sockBusy()()
	s.sending.Lock()
	lines, err := m.completeSend(ctx, s, to, toPort, in)
	finish(lines, err)
	s.sending.Unlock()
	if err == resSendOK && m.env.core != nil {
		m.dataAllowed()
	}
}

// completeSend sends AT+QISEND's data and meters it; it runs without
// locks held and returns the command's outcome.
func (m *Modem) completeSend(ctx context.Context, s *socket, to string, toPort int, in *sendParser) ([]string, error) {
	switch in.state {
	case sendCancelled:
		return nil, nil
	case sendTooLong:
		return nil, ErrError
	}
	data := in.data
	m.mu.Lock()
	live := m.sockSt().socks[s.id] == s && s.boot == m.boots && s.state == sockConnected
	addr, _ := m.sessionAddr()
	if !live {
		m.sockSt().lastErr = qiErrClosed
	}
	m.mu.Unlock()
	if !live {
		return nil, resSendFail
	}
	if m.env.core != nil && !m.dataAllowed() {
		return nil, resSendFail
	}
	// The data goes over the air only as far as the Fleet's limit lets it.
	up, down := int64(len(data))+udpPacket, int64(0)
	if s.kind == sockTCP {
		segs := int64((len(data) + TCPMSS - 1) / TCPMSS)
		up, down = int64(len(data))+segs*tcpPacket, segs*tcpPacket
	}
	if !m.record(ctx, up, down) {
		// Accepted by the module, dropped by the network at the limit; the
		// caller's check after the answer cuts the session.
		m.mu.Lock()
		s.sent += int64(len(data))
		m.mu.Unlock()
		return nil, resSendOK
	}
	if s.kind != sockUDPService {
		to, toPort = s.remote, s.rport
	}
	var err error
	switch {
	case s.kind == sockTCP:
		_, err = s.conn.Write(data)
	case to == GatewayAddr:
		if toPort == GatewayPort {
			if ipc := m.ipCore(); ipc != nil {
				_, err = ipc.ReceiveIPCommand(ctx, m.card.ICCID, addr.String(), s.lport, data)
			}
		} // other ports of the gateway take nothing: the datagram is lost
	default:
		var ua *net.UDPAddr
		ua, err = net.ResolveUDPAddr("udp", net.JoinHostPort(to, itoa(toPort)))
		if err == nil {
			_, err = s.pc.WriteTo(data, ua)
		}
	}
	if err != nil {
		m.mu.Lock()
		m.sockSt().lastErr = qiErrWrite
		m.mu.Unlock()
		return nil, resSendFail
	}
	m.mu.Lock()
	s.sent += int64(len(data))
	m.mu.Unlock()
	return nil, resSendOK
}

func qird(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+QIRD: (0-11),(0-1500)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(c.Args) > 2 {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	id, err := atoiArg(c.Args[0], 0, maxSockets-1)
	if err != nil {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	want := maxRead
	if len(c.Args) == 2 {
		if want, err = atoiArg(c.Args[1], 0, maxRead); err != nil {
			return nil, m.qiFail(qiErrInvalidParam)
		}
	}
	s := m.socketAt(id)
	if s == nil {
		return nil, m.qiFail(qiErrInvalidParam)
	}
	if len(c.Args) == 2 && want == 0 {
		return []string{fmt.Sprintf("+QIRD: %d,%d,%d", s.received, s.read, s.received-s.read)}, nil
	}
	if len(s.rx) == 0 {
		s.notified = false
		return []string{"+QIRD: 0"}, nil
	}
	out, from, port := s.takeRx(want)
	head := fmt.Sprintf("+QIRD: %d", len(out))
	if s.kind == sockUDPService {
		head += fmt.Sprintf(",%s,%d", quote(from), port)
	}
	// The data follows its header line directly, framed as one line.
	return []string{head + string([]byte{m.st.s3(), m.st.s4()}) + string(out)}, nil
}

// takeRx takes up to want bytes of the socket's unread data, and the
// peer that sent them: a stream's reads join what arrived, datagrams are
// read one at a time. The reader may go on once there is room again.
// Callers hold m.mu, and s has unread data.
func (s *socket) takeRx(want int) (out []byte, from string, port int) {
	pk := &s.rx[0]
	from, port = pk.from, pk.port
	if s.kind == sockTCP {
		for len(s.rx) > 0 && len(out) < want { // a stream: reads join what arrived
			pk := &s.rx[0]
			n := min(want-len(out), len(pk.data))
			out = append(out, pk.data[:n]...)
			if pk.data = pk.data[n:]; len(pk.data) == 0 {
				s.rx = s.rx[1:]
			}
		}
	} else { // datagrams are read one at a time
		n := min(want, len(pk.data))
		out = append(out, pk.data[:n]...)
		if pk.data = pk.data[n:]; len(pk.data) == 0 {
			s.rx = s.rx[1:]
		}
	}
	wasFull := s.rxLen >= socketBuffer
	s.rxLen -= len(out)
	s.read += int64(len(out))
	if len(s.rx) == 0 {
		s.rx, s.notified = nil, false
	}
	if wasFull && s.rxLen < socketBuffer {
		select {
		case s.room <- struct{}{}:
		default:
		}
	}
	return out, from, port
}

func qiclose(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+QICLOSE: (0-11),(0-65535)"}, nil
	case KindSet:
	default:
		return nil, ErrError
	}
	if len(c.Args) > 2 {
		return nil, ErrError
	}
	m.mu.Lock()
	id, err := atoiArg(c.Args[0], 0, maxSockets-1)
	if err != nil {
		m.mu.Unlock()
		return nil, ErrError
	}
	s := m.socketAt(id)
	wasUp := false
	if s != nil {
		wasUp = s.tcpUp
		s.tcpUp = false
		m.sockSt().socks[id] = nil
		s.teardown()
	}
	m.mu.Unlock()
	if wasUp {
		m.meter(ctx, 2*tcpPacket, 2*tcpPacket) // FIN and ACK each way
	}
	return nil, nil
}

func qistate(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	match := func(*socket) bool { return true }
	switch c.Kind {
	case KindTest:
		return nil, nil
	case KindSet:
		if len(c.Args) != 2 {
			return nil, ErrError
		}
		typ, err1 := atoiArg(c.Args[0], 0, 1)
		n, err2 := atoiArg(c.Args[1], 0, 16)
		if err1 != nil || err2 != nil {
			return nil, ErrError
		}
		if typ == 0 {
			match = func(s *socket) bool { return s.cid == n }
		} else {
			match = func(s *socket) bool { return s.id == n }
		}
	}
	var lines []string
	for id := range m.sockSt().socks {
		s := m.socketAt(id)
		if s == nil || !match(s) {
			continue
		}
		lines = append(lines, fmt.Sprintf(`+QISTATE: %d,%s,%s,%d,%d,%d,%d,%d,%d,"uart1"`,
			s.id, quote(sockKindNames[s.kind]), quote(s.remote), s.rport, s.lport, s.state, s.cid, s.serverID(), s.mode))
	}
	return lines, nil
}

// serverID is the <serverID> of AT+QISTATE: a UDP service is its own.
func (s *socket) serverID() int {
	if s.kind == sockUDPService {
		return s.id
	}
	return 0
}

func qigeterror(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	code := m.sockSt().lastErr
	return []string{fmt.Sprintf("+QIGETERROR: %d,%s", code, qiErrTexts[code])}, nil
}

// ipEvent delivers a mobile-terminated IP Command: a datagram from the
// gateway to the device port, received by a UDP socket bound to it. It is
// sent once the SIM has a data session (a UDP datagram has no receipt: it
// is sent even when no socket listens), and fails when it has none.
func (m *Modem) ipEvent(e sim.Event) {
	ipc := m.ipCore()
	if ipc == nil {
		return
	}
	port, payload, err := ipc.IPCommandPayload(e.Sid)
	if err != nil {
		return
	}
	ctx := context.Background()
	m.mu.Lock()
	addr, _ := m.sessionAddr()
	registered := m.st.serving != nil && m.st.reg.Registered() && !m.closed
	m.mu.Unlock()
	if addr == 0 || !registered || !m.dataAllowed() {
		_ = ipc.IPCommandDone(ctx, e.Sid, "", false)
		return
	}
	m.meter(ctx, 0, int64(len(payload))+udpPacket)
	m.mu.Lock()
	for id := range m.sockSt().socks {
		s := m.socketAt(id)
		if s != nil && s.kind != sockTCP && s.lport == port && s.state == sockConnected {
			m.deliver(s, packet{from: GatewayAddr, port: GatewayPort, data: payload})
			break
		}
	}
	m.mu.Unlock()
	_ = ipc.IPCommandDone(ctx, e.Sid, addr.String(), true)
}
