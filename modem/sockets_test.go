package modem_test

// The Quectel TCP/IP commands over a real PTY, with real sockets on
// loopback, the control plane's REST API over real HTTP and webhooks to an
// httptest receiver.

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

var _ modem.IPCore = (*sim.Control)(nil)

// sockEnvEcho starts a TCP echo server on 127.0.0.1; it stops with the test.
func sockEnvEcho(t *testing.T) (port int) { return modem.LoopbackTCP(t, modem.Echo).Port }

// sockEnvHooks is an httptest receiver of webhooks.
type sockEnvHooks struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []url.Values
}

func sockEnvReceiver(t *testing.T) *sockEnvHooks {
	h := &sockEnvHooks{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("webhook form: %v", err)
		}
		h.mu.Lock()
		h.got = append(h.got, r.Form)
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the first webhook whose parameters satisfy cond.
func (h *sockEnvHooks) wait(t *testing.T, what string, cond func(url.Values) bool) url.Values {
	t.Helper()
	var found url.Values
	ptyEnvEventually(t, what, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, v := range h.got {
			if cond(v) {
				found = v
				return true
			}
		}
		return false
	})
	return found
}

var sockEnvAddrRE = regexp.MustCompile(`\+QIACT: 1,1,1,"([0-9.]+)"`)

// sockEnvActivate brings up context 1 with AT+QIACT and returns its address.
func sockEnvActivate(t *testing.T, p *ptyEnvPort) string {
	t.Helper()
	p.cmd("AT+QIACT=1", "OK")
	m := sockEnvAddrRE.FindStringSubmatch(p.cmd("AT+QIACT?", "OK"))
	if m == nil {
		t.Fatal("AT+QIACT? lists no address for context 1")
	}
	return m[1]
}

// sendOKThen waits for SEND OK and an indication, which may come first.
func sockEnvSendOKThen(p *ptyEnvPort, urc string) {
	p.t.Helper()
	if got := p.expect("\r\nSEND OK\r\n"); !strings.Contains(got, urc) {
		p.expect(urc)
	}
}

// sockEnvUsage sums the SIM's usage records.
func sockEnvUsage(t *testing.T, e *ptyEnv, simSid string) (up, down int64) {
	t.Helper()
	recs, err := e.ctl.UsageRecords(e.acct, sim.UsageQuery{Sim: simSid})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		up += r.Upload
		down += r.Download
	}
	return up, down
}

// sockEnvNoGoroutines waits until no socket goroutine of the modem package runs.
func sockEnvNoGoroutines(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	var last string
	ptyEnvEventuallyf(t, func() string { return "socket goroutines to end:\n" + last }, func() bool {
		n := runtime.Stack(buf, true)
		last = ""
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "modem.(*Modem).sockOpen") || strings.Contains(g, "modem.(*Modem).sockReader") || strings.Contains(g, "modem.(*Modem).ubloxConnect") {
				last += g + "\n\n"
			}
		}
		return last == ""
	})
}

// TestPTYSocketTCPEcho drives a TCP client socket to an echo server through
// AT+QIOPEN, AT+QISEND and AT+QIRD, and checks the session's address and
// the usage the traffic costs under the documented overhead model.
func TestPTYSocketTCPEcho(t *testing.T) {
	e := ptyEnvNew(t, 1)
	port := sockEnvEcho(t)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("AT+CMEE=1", "OK")

	var ips struct {
		IPAddresses []map[string]string `json:"ip_addresses"`
	}
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &ips)
	if len(ips.IPAddresses) != 0 {
		t.Fatalf("IpAddresses before a data session: %v", ips.IPAddresses)
	}
	addr := sockEnvActivate(t, p)
	if !strings.HasPrefix(addr, "100.") {
		t.Fatalf("session address %s is not in 100.64.0.0/10", addr)
	}
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &ips)
	if len(ips.IPAddresses) != 1 || ips.IPAddresses[0]["ip_address"] != addr {
		t.Fatalf("IpAddresses = %v, want %s", ips.IPAddresses, addr)
	}
	up0, down0 := sockEnvUsage(t, e, e.sims[0].Sid)

	p.cmd(fmt.Sprintf(`AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0`, port), "OK")
	p.expect("+QIOPEN: 0,0\r\n")
	if got := p.cmd("AT+QISTATE=1,0", "OK"); !strings.Contains(got, fmt.Sprintf(`+QISTATE: 0,"TCP","127.0.0.1",%d,`, port)) || !strings.Contains(got, `,2,1,0,0,"uart1"`) {
		t.Fatalf("AT+QISTATE=1,0 answered %q", got)
	}
	// Fixed length: the prompt, exactly 5 bytes, SEND OK.
	p.write([]byte("AT+QISEND=0,5\r"))
	p.expect("> ")
	p.write([]byte("hello"))
	sockEnvSendOKThen(p, `+QIURC: "recv",0`+"\r\n")
	if got := p.cmd("AT+QIRD=0,1500", "OK"); !strings.Contains(got, "\r\n+QIRD: 5\r\nhello\r\n\r\nOK\r\n") {
		t.Fatalf("AT+QIRD answered %q", got)
	}
	// Variable length: up to Ctrl-Z, which is not sent.
	p.write([]byte("AT+QISEND=0\r"))
	p.expect("> ")
	p.write([]byte("again\x1a"))
	sockEnvSendOKThen(p, `+QIURC: "recv",0`+"\r\n")
	if got := p.cmd("AT+QIRD=0,3", "OK"); !strings.Contains(got, "+QIRD: 3\r\naga\r\n") {
		t.Fatalf("AT+QIRD=0,3 answered %q", got)
	}
	if got := p.cmd("AT+QIRD=0,0", "OK"); !strings.Contains(got, "+QIRD: 10,8,2") {
		t.Fatalf("AT+QIRD=0,0 answered %q", got)
	}
	if got := p.cmd("AT+QIRD=0", "OK"); !strings.Contains(got, "+QIRD: 2\r\nin\r\n") {
		t.Fatalf("AT+QIRD=0 answered %q", got)
	}
	if got := p.cmd("AT+QISEND=0,0", "OK"); !strings.Contains(got, "+QISEND: 10,10,0") {
		t.Fatalf("AT+QISEND=0,0 answered %q", got)
	}
	p.cmd("AT+QICLOSE=0", "OK")
	if got := p.cmd("AT+QISTATE?", "OK"); strings.Contains(got, "+QISTATE:") {
		t.Fatalf("AT+QISTATE? after AT+QICLOSE answered %q", got)
	}

	// Handshake: SYN, ACK up, SYN-ACK down. Two sends of 5 bytes: a
	// segment up and its ACK down each; two echoes back: a segment down and
	// its ACK up each. Close: FIN and ACK each way. 40 bytes per header.
	const hdr = modem.IPv4Header + modem.TCPHeader
	wantUp := int64(2*hdr + (5 + hdr) + (5 + hdr) + 2*hdr + 2*hdr)
	wantDown := int64(hdr + 2*hdr + (5 + hdr) + (5 + hdr) + 2*hdr)
	up, down := sockEnvUsage(t, e, e.sims[0].Sid)
	if up-up0 != wantUp || down-down0 != wantDown {
		t.Fatalf("usage up %d down %d, want up %d down %d", up-up0, down-down0, wantUp, wantDown)
	}

	p.cmd("AT+QIDEACT=1", "OK")
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &ips)
	if len(ips.IPAddresses) != 0 {
		t.Fatalf("IpAddresses after AT+QIDEACT: %v", ips.IPAddresses)
	}
	// A socket left open ends with the fleet: nothing leaks.
	sockEnvActivate(t, p)
	p.cmd(fmt.Sprintf(`AT+QIOPEN=1,3,"TCP","127.0.0.1",%d,0,1`, port), "OK")
	p.expect("+QIOPEN: 3,0\r\n")
	p.write([]byte("AT+QISEND=0,2\r"))
	p.expect("\r\nERROR\r\n")
	if got := p.cmd("AT+QIGETERROR", "OK"); !strings.Contains(got, `+QIGETERROR: 552,invalid parameters`) {
		t.Fatalf("AT+QIGETERROR answered %q", got)
	}
	p.write([]byte("AT+QISEND=3,4\r"))
	p.expect("> ")
	p.write([]byte("push"))
	sockEnvSendOKThen(p, "+QIURC: \"recv\",3,4\r\npush") // direct push
	e.modems.Close()
	sockEnvNoGoroutines(t)
}

// TestPTYSocketDataLimit cuts a socket session when the SIM crosses its
// Fleet's data limit: +QIURC: "pdpdeact", AT+QIACT refused until the limit
// is raised.
func TestPTYSocketDataLimit(t *testing.T) {
	e := ptyEnvNew(t, 1)
	port := sockEnvEcho(t)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("AT+CMEE=1", "OK")
	sockEnvActivate(t, p)
	p.cmd(fmt.Sprintf(`AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0`, port), "OK")
	p.expect("+QIOPEN: 0,0\r\n")

	// Bring the SIM just under its 1 MB limit, as earlier traffic would.
	cur, err := e.ctl.Sim(e.acct, e.sims[0].Sid)
	if err != nil {
		t.Fatal(err)
	}
	plmn := ptyEnvVodafoneGB
	if err := e.ctl.RecordUsage(e.ctx, sim.UsageReport{ICCID: cur.ICCID, PLMN: plmn, Upload: sim.MB - 100 - cur.DataUsed}); err != nil {
		t.Fatal(err)
	}
	p.write([]byte("AT+QISEND=0,100\r"))
	p.expect("> ")
	p.write([]byte(strings.Repeat("x", 100)))
	got := p.expect(`+QIURC: "pdpdeact",1` + "\r\n")
	if !strings.Contains(got, "SEND OK") {
		t.Fatalf("the send crossing the limit did not go: %q", got)
	}
	if cur, err = e.ctl.Sim(e.acct, e.sims[0].Sid); err != nil {
		t.Fatal(err)
	}
	if cur.DataUsed != sim.MB {
		t.Fatalf("data used %d after the send crossing the limit, want the limit %d", cur.DataUsed, sim.MB)
	}
	if got := p.cmd("AT+QISTATE=1,0", "OK"); !strings.Contains(got, `,4,1,0,0,"uart1"`) {
		t.Fatalf("AT+QISTATE after pdpdeact answered %q (want state 4, closing)", got)
	}
	p.write([]byte("AT+QISEND=0,1\r"))
	p.expect("\r\nERROR\r\n")
	p.cmd("AT+QICLOSE=0", "OK")
	p.write([]byte("AT+QIACT=1\r"))
	p.expect("+CME ERROR: 133\r\n")
	if got := p.cmd("AT+QIACT?", "OK"); strings.Contains(got, "+QIACT: 1") {
		t.Fatalf("context active after a refused AT+QIACT: %q", got)
	}

	two := 2
	if _, err := e.ctl.UpdateFleet(e.ctx, e.acct, e.fleet.Sid, sim.FleetParams{DataLimit: &two}); err != nil {
		t.Fatal(err)
	}
	sockEnvActivate(t, p)
	p.cmd(fmt.Sprintf(`AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0`, port), "OK")
	p.expect("+QIOPEN: 0,0\r\n")
	p.cmd("AT+QICLOSE=0", "OK")
}

// TestPTYIPCommands: an IP Command created through the REST API reaches a
// UDP service on its device port; a datagram the device sends to
// 100.64.0.1:6969 becomes a from_sim IP Command and calls the Fleet's
// ip_commands_url.
func TestPTYIPCommands(t *testing.T) {
	e := ptyEnvNew(t, 1)
	hooks := sockEnvReceiver(t)
	mo := hooks.srv.URL + "/mo"
	if _, err := e.ctl.UpdateFleet(e.ctx, e.acct, e.fleet.Sid, sim.FleetParams{IPCommandsURL: &mo}); err != nil {
		t.Fatal(err)
	}
	p := ptyEnvOpen(t, e.modems.PTYPath(0))

	// Without a data session the command fails: nothing was sent.
	var cmd map[string]any
	e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"early"}, "DevicePort": {"6969"},
		"CallbackUrl": {hooks.srv.URL + "/mt"}}, http.StatusCreated, &cmd)
	if cmd["status"] != "queued" {
		t.Fatalf("created IP Command status %v, want queued", cmd["status"])
	}
	early := cmd["sid"].(string)
	ptyEnvEventually(t, "the IP Command to a SIM without data to fail", func() bool {
		e.rest(http.MethodGet, "/v1/IpCommands/"+early, nil, http.StatusOK, &cmd)
		return cmd["status"] == "failed"
	})

	addr := sockEnvActivate(t, p)
	p.cmd(`AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,6969,0`, "OK")
	p.expect("+QIOPEN: 2,0\r\n")

	e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 'z'})},
		"PayloadType": {"binary"}, "DevicePort": {"6969"}, "CallbackUrl": {hooks.srv.URL + "/mt"}}, http.StatusCreated, &cmd)
	sid := cmd["sid"].(string)
	p.expect(`+QIURC: "recv",2` + "\r\n")
	if got := p.cmd("AT+QIRD=2", "OK"); !strings.Contains(got, "+QIRD: 4,\"100.64.0.1\",6969\r\n\x00\x01\x02z\r\n") {
		t.Fatalf("AT+QIRD=2 answered %q", got)
	}
	e.rest(http.MethodGet, "/v1/IpCommands/"+sid, nil, http.StatusOK, &cmd)
	if cmd["status"] != "sent" || cmd["device_ip"] != addr || cmd["direction"] != "to_sim" {
		t.Fatalf("delivered IP Command: %v", cmd)
	}
	cb := hooks.wait(t, "the MT callback", func(v url.Values) bool { return v.Get("IpCommandSid") == sid })
	if cb.Get("Status") != "sent" || cb.Get("DeviceIp") != addr || cb.Get("DevicePort") != "6969" {
		t.Fatalf("MT callback %v", cb)
	}

	// Mobile originated: to the gateway, from the UDP service's port.
	p.write([]byte(`AT+QISEND=2,5,"100.64.0.1",6969` + "\r"))
	p.expect("> ")
	p.write([]byte("hello"))
	p.expect("\r\nSEND OK\r\n")
	want := base64.StdEncoding.EncodeToString([]byte("hello"))
	wh := hooks.wait(t, "the ip_commands_url webhook", func(v url.Values) bool { return v.Get("Direction") == "from_sim" })
	if wh.Get("Payload") != want || wh.Get("Status") != "received" || wh.Get("PayloadType") != "binary" ||
		wh.Get("DeviceIp") != addr || wh.Get("DevicePort") != "6969" || wh.Get("SimSid") != e.sims[0].Sid {
		t.Fatalf("MO webhook %v", wh)
	}
	var list struct {
		IPCommands []map[string]any `json:"ip_commands"`
	}
	e.rest(http.MethodGet, "/v1/IpCommands?Direction=from_sim", nil, http.StatusOK, &list)
	if len(list.IPCommands) != 1 || list.IPCommands[0]["payload"] != want || list.IPCommands[0]["status"] != "received" {
		t.Fatalf("from_sim IP Commands: %v", list.IPCommands)
	}

	// A UDP client of the gateway, direct push: the Twilio demo's setup.
	p.cmd(`AT+QIOPEN=1,4,"UDP","100.64.0.1",6969,7000,1`, "OK")
	p.expect("+QIOPEN: 4,0\r\n")
	e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"ping"}, "DevicePort": {"7000"}}, http.StatusCreated, nil)
	p.expect("+QIURC: \"recv\",4,4\r\nping")
	e.modems.Close()
	sockEnvNoGoroutines(t)
}

// TestPTYSocketUDPEcho sends datagrams to a UDP echo on loopback.
func TestPTYSocketUDPEcho(t *testing.T) {
	e := ptyEnvNew(t, 1)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], a)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	port := pc.LocalAddr().(*net.UDPAddr).Port
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	sockEnvActivate(t, p)
	up0, down0 := sockEnvUsage(t, e, e.sims[0].Sid)
	p.cmd(fmt.Sprintf(`AT+QIOPEN=1,0,"UDP","127.0.0.1",%d,0,1`, port), "OK")
	p.expect("+QIOPEN: 0,0\r\n")
	p.write([]byte("AT+QISENDEX=0,\"6869\"\r"))
	sockEnvSendOKThen(p, "+QIURC: \"recv\",0,2\r\nhi")
	const hdr = modem.IPv4Header + modem.UDPHeader
	ptyEnvEventually(t, "the echo metered", func() bool {
		up, down := sockEnvUsage(t, e, e.sims[0].Sid)
		return up-up0 == 2+hdr && down-down0 == 2+hdr
	})
}

// TestPTYSocketLineEndings sends through AT+QISEND from hosts that end
// their command lines with CR, CR LF or LF, with the data written after
// the prompt or in the same write as the command, in fixed-length and
// Ctrl-Z form: the socket gets exactly the data, every time. (TinyGSM ends
// lines with CR LF; the LF is the terminator's, not data.)
func TestPTYSocketLineEndings(t *testing.T) {
	e := ptyEnvNew(t, 1)
	port := sockEnvEcho(t)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("ATE0", "OK")
	write := func(s string) { p.write([]byte(s)) }
	write("AT+QIACT=1\r")
	p.expect("\r\nOK\r\n")
	write(fmt.Sprintf("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",%d,0,0\r", port))
	p.expect("+QIOPEN: 0,0\r\n")
	const payload = "hello from tinygsm\n"
	for _, end := range []string{"\r", "\r\n", "\n"} {
		for _, fixed := range []bool{true, false} {
			for _, oneWrite := range []bool{false, true} {
				name := fmt.Sprintf("end %q fixed %v one write %v", end, fixed, oneWrite)
				cmd, data := "AT+QISEND=0"+end, payload+"\x1a"
				if fixed {
					cmd, data = fmt.Sprintf("AT+QISEND=0,%d%s", len(payload), end), payload
				}
				if oneWrite {
					write(cmd + data)
					p.expect("> ")
				} else {
					write(cmd)
					p.expect("> ")
					write(data)
				}
				sockEnvSendOKThen(p, `+QIURC: "recv",0`+"\r\n")
				write("AT+QIRD=0,1500" + end)
				want := fmt.Sprintf("+QIRD: %d\r\n%s\r\n\r\nOK\r\n", len(payload), payload)
				if got := p.expect("\r\nOK\r\n"); !strings.Contains(got, want) {
					t.Fatalf("%s: AT+QIRD answered %q, want %q", name, got, want)
				}
			}
		}
	}
}

// TestPTYCGACTSessionAddress: a context brought up with the 27.007
// AT+CGACT gets the SIM's session address from the control plane's pool,
// as AT+QIACT does, and the API lists it while the session lasts.
func TestPTYCGACTSessionAddress(t *testing.T) {
	e := ptyEnvNew(t, 1)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd(`AT+CGDCONT=1,"IP","super"`, "OK")
	p.cmd("AT+CGACT=1,1", "OK")
	m := regexp.MustCompile(`\+CGPADDR: 1,"([0-9.]+)"`).FindStringSubmatch(p.cmd("AT+CGPADDR=1", "OK"))
	if m == nil {
		t.Fatal("AT+CGPADDR=1 lists no address after AT+CGACT=1,1")
	}
	var ips struct {
		IPAddresses []map[string]string `json:"ip_addresses"`
	}
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &ips)
	if len(ips.IPAddresses) != 1 || ips.IPAddresses[0]["ip_address"] != m[1] {
		t.Fatalf("AT+CGPADDR gives %s; the API's IpAddresses are %v", m[1], ips.IPAddresses)
	}
	if got := sockEnvActivate(t, p); got != m[1] {
		t.Fatalf("AT+QIACT? gives %s, AT+CGPADDR %s: one session, one address", got, m[1])
	}
	p.cmd("AT+CGACT=0,1", "OK")
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &ips)
	if len(ips.IPAddresses) != 0 {
		t.Fatalf("IpAddresses after AT+CGACT=0,1: %v", ips.IPAddresses)
	}
}

// TestPTYIPCommandsDirectPushUDPService sends IP Commands one after
// another to a UDP SERVICE socket in direct-push mode: every datagram is
// printed, whole, with its sender, and none is lost.
func TestPTYIPCommandsDirectPushUDPService(t *testing.T) {
	e := ptyEnvNew(t, 1)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	sockEnvActivate(t, p)
	// The first command goes as soon as the OK is read: a UDP socket is
	// open from its OK on (it has no handshake), so nothing is lost.
	p.cmd(`AT+QIOPEN=1,1,"UDP SERVICE","127.0.0.1",0,6969,1`, "OK")
	for i := range 10 {
		payload := fmt.Sprintf("cmd-%d", i)
		var cmd map[string]any
		e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {payload}, "DevicePort": {"6969"}}, http.StatusCreated, &cmd)
		if i == 0 {
			p.expect("+QIOPEN: 1,0\r\n")
		}
		p.expect(fmt.Sprintf("+QIURC: \"recv\",1,%d,\"100.64.0.1\",6969\r\n%s", len(payload), payload))
		ptyEnvEventually(t, "the IP Command sent", func() bool {
			e.rest(http.MethodGet, "/v1/IpCommands/"+cmd["sid"].(string), nil, http.StatusOK, &cmd)
			return cmd["status"] == "sent"
		})
	}
	if got := p.cmd("AT+QIRD=1", "OK"); strings.Contains(got, "+QIRD: ") && !strings.Contains(got, "+QIRD: 0") {
		t.Fatalf("AT+QIRD=1 in direct push answered %q", got)
	}
}
