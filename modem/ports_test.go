package modem_test

// A modem served on several ports at once, as a Quectel module on USB
// offers its modem port and its AT port: one module behind both, driven by
// warthog618/modem on the AT port and by raw writes on the modem port.

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warthog618/modem/at"
	"github.com/warthog618/modem/gsm"

	"github.com/fleetsim/fleetsim/modem"
)

// ptyEnvExtraPorts serves each modem's extra ports too.
func ptyEnvExtraPorts(cfg *modem.FleetConfig) { cfg.ExtraPorts = true }

// portsEnvPush is a TCP server that accepts one connection and writes to
// it when the test says so.
func portsEnvPush(t *testing.T) (port int, conn func() net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	t.Cleanup(func() {
		ln.Close()
		if c, ok := <-accepted; ok {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port, func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			t.Cleanup(func() { c.Close() })
			return c
		case <-time.After(ptyEnvWait):
			t.Fatal("the modem never connected to the push server")
			return nil
		}
	}
}

// portsEnvNoGoroutines waits until no goroutine of the modem package (a
// port's reader or writer, a socket's) or of the at package runs.
func portsEnvNoGoroutines(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	var last string
	ptyEnvEventuallyf(t, func() string { return "goroutines to end:\n" + last }, func() bool {
		n := runtime.Stack(buf, true)
		last = ""
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "fleetsim/modem.(*") || strings.Contains(g, "warthog618/modem/at.") {
				last += g + "\n\n"
			}
		}
		return last == ""
	})
}

// TestPTYPorts serves a BG96 on its modem port and its AT port: settings
// are each port's own, state is the module's; an SMS's indication comes on
// the URC port; AT+QURCCFG moves indications to the modem port, where they
// wait while it carries a data session (ATD*99***1#) and the AT port keeps
// answering; the fleet's close leaves no goroutine behind.
func TestPTYPorts(t *testing.T) {
	e := ptyEnvNew(t, 1, ptyEnvExtraPorts)
	ports := e.modems.Ports(0)
	if len(ports) != 2 || ports[0].Name != "modem" || ports[1].Name != "at" || ports[0].PTY != e.modems.PTYPath(0) {
		t.Fatalf("Ports(0) = %+v, want the modem port then the AT port", ports)
	}
	if want := e.modems.Link(0) + "-at"; ports[1].Link != want {
		t.Fatalf("the AT port's link is %q, want %q", ports[1].Link, want)
	}

	// The AT port, with warthog618/modem: ATZ, ATE0, AT+CMEE=1, AT+CMGF=1.
	atFile := ptyEnvOpenFile(t, ports[1].Link)
	a := at.New(atFile, at.WithTimeout(10*time.Second))
	g := gsm.New(a, gsm.WithNumericErrors)
	if err := g.Init(); err != nil {
		t.Fatalf("gsm Init on the AT port: %v", err)
	}
	cmd := func(c string) []string {
		t.Helper()
		info, err := g.Command(c)
		if err != nil {
			t.Fatalf("AT%s on the AT port: %v (info %q)", c, err, info)
		}
		return info
	}
	// The modem port, raw: its echo is still on (ATE0 was the AT port's).
	mp := ptyEnvOpen(t, ports[0].Link)
	mp.cmd("AT", "OK")

	// +CMEE is per port too.
	mp.cmd("AT+CMEE=2", "OK")
	mp.cmd("AT+QIACT=17", "+CME ERROR: Incorrect parameters")
	if _, err := g.Command("+QIACT=17"); ptyEnvCMEError(err) != "50" {
		t.Fatalf("AT+QIACT=17 on the AT port: %v, want +CME ERROR: 50", err)
	}

	// A command on one port changes the state the other sees.
	mp.cmd(`AT+CGDCONT=2,"IP","super"`, "OK")
	if info := cmd("+CGDCONT?"); !slices.ContainsFunc(info, func(l string) bool { return strings.HasPrefix(l, `+CGDCONT: 2,"IP","super"`) }) {
		t.Fatalf("AT+CGDCONT? on the AT port = %q, want context 2", info)
	}
	if info := cmd(`+QURCCFG="urcport"`); !slices.Equal(info, []string{`+QURCCFG: "urcport","usbat"`}) {
		t.Fatalf(`AT+QURCCFG="urcport" = %q`, info)
	}
	if st := e.status(0); st.URCPort != "at" {
		t.Fatalf("URCPort = %q, want at", st.URCPort)
	}

	// An SMS Command: +CMTI on the AT port (the URC port), the message read
	// on the modem port, from the one storage.
	cmti := make(chan []string, 4)
	if err := a.AddIndication("+CMTI:", func(l []string) { cmti <- l }); err != nil {
		t.Fatal(err)
	}
	e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"two ports"}}, http.StatusCreated, nil)
	var ind []string
	select {
	case ind = <-cmti:
	case <-time.After(ptyEnvWait):
		t.Fatal("no +CMTI on the AT port")
	}
	idx := regexp.MustCompile(`^\+CMTI: "SM",(\d+)$`).FindStringSubmatch(ind[0])
	if idx == nil {
		t.Fatalf("indication %q", ind)
	}
	mp.cmd("AT+CMGF=1", "OK")
	if got := mp.cmd("AT+CMGR="+idx[1], "OK"); strings.Contains(got, "+CMTI") || !strings.Contains(got, "\r\ntwo ports\r\n") {
		t.Fatalf("AT+CMGR=%s on the modem port: %q", idx[1], got)
	}

	// A socket opened from the AT port; then indications go to the modem port.
	pushPort, pushConn := portsEnvPush(t)
	qiopen := make(chan []string, 1)
	if err := a.AddIndication("+QIOPEN:", func(l []string) { qiopen <- l }); err != nil {
		t.Fatal(err)
	}
	cmd("+QIACT=1")
	cmd(fmt.Sprintf(`+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0`, pushPort))
	server := pushConn()
	select {
	case l := <-qiopen:
		if l[0] != "+QIOPEN: 0,0" {
			t.Fatalf("socket indication %q", l)
		}
	case <-time.After(ptyEnvWait):
		t.Fatal("no +QIOPEN on the AT port")
	}
	cmd(`+QURCCFG="urcport","usbmodem"`)
	if info := cmd(`+QURCCFG="urcport"`); !slices.Equal(info, []string{`+QURCCFG: "urcport","usbmodem"`}) {
		t.Fatalf(`AT+QURCCFG="urcport" = %q`, info)
	}

	// The modem port enters data state; the AT port still answers.
	mp.write([]byte("ATD*99***1#\r"))
	mp.expect("\r\nCONNECT\r\n")
	e.waitStatus(0, "data state on the modem port", func(s modem.Status) bool { return slices.Equal(s.DataPorts, []string{"modem"}) })
	if info := cmd("+CSQ"); len(info) != 1 || !strings.HasPrefix(info[0], "+CSQ: ") {
		t.Fatalf("AT+CSQ on the AT port during data: %q", info)
	}
	if info := cmd("+CEREG?"); !slices.Equal(info, []string{"+CEREG: 0,5"}) {
		t.Fatalf("AT+CEREG? on the AT port during data: %q", info)
	}
	// Data arrives on the socket: its +QIURC waits for the modem port to
	// leave data state, never inside its data stream.
	if _, err := server.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	ptyEnvEventually(t, "the socket to receive 5 bytes", func() bool {
		return slices.Equal(cmd("+QIRD=0,0"), []string{"+QIRD: 5,0,5"})
	})
	used := func() int64 {
		cur, err := e.ctl.Sim(e.acct, e.sims[0].Sid)
		if err != nil {
			t.Fatal(err)
		}
		return cur.DataUsed
	}
	before := used()
	mp.write([]byte("some data")) // upload, not commands
	ptyEnvEventually(t, "the data port's upload to be metered", func() bool { return used() >= before+int64(len("some data")) })
	// So does an SMS's +CMTI (+CNMI mode 2 buffers it while the link is busy).
	var sms struct{ Sid, Status string }
	e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"held"}}, http.StatusCreated, &sms)
	ptyEnvEventually(t, "the SMS Command delivered", func() bool {
		e.rest(http.MethodGet, "/v1/SmsCommands/"+sms.Sid, nil, http.StatusOK, &sms)
		return sms.Status == "delivered"
	})
	// The AT port ends the data session: NO CARRIER, then what waited.
	cmd("+CGACT=0,1")
	want := "\r\nNO CARRIER\r\n\r\n+QIURC: \"recv\",0\r\n\r\n+CMTI: \"SM\",1\r\n"
	if got := mp.expect("+CMTI: \"SM\",1\r\n"); got != want {
		t.Fatalf("the modem port after CONNECT: %q, want %q", got, want)
	}
	if got := mp.cmd("AT+QIRD=0,5", "OK"); !strings.Contains(got, "+QIRD: 5\r\nhello") {
		t.Fatalf("AT+QIRD=0,5 on the modem port: %q", got)
	}

	// Closing: the ports' readers, writers and the client's goroutines end.
	atFile.Close()
	mp.close()
	e.modems.Close()
	portsEnvNoGoroutines(t)
}
