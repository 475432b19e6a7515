package modem

// The u-blox SARA-R410M-02B profile, command by command, with the exact
// bytes a host reads. Sections are those of the SARA-R4/N4 series AT
// Commands Manual UBX-17003787 (R09 unless said otherwise).

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

func sara() harnessOption { return withProfile("sara-r4") }

// ubloxEcho is a TCP echo server on loopback; it stops with the test.
func ubloxEcho(t *testing.T) int { return LoopbackTCP(t, Echo).Port }

// TestUbloxIdentification: §4 (ATI, +CGMI, +CGMM, +CGMR, +CGSN), §5 (+CCID).
func TestUbloxIdentification(t *testing.T) {
	t.Parallel()
	ati := "\r\nManufacturer: u-blox\r\nModel: SARA-R410M-02B\r\nRevision: L0.0.00.00.05.06 [Feb 03 2018 13:00:41]\r\nSVN: 06\r\nIMEI: {IMEI}\r\n" + okLine
	runRows(t, []row{
		{name: "ATI", opts: []harnessOption{sara()}, steps: []step{
			{send: "ATI\r", want: ati},
			{send: "ATI0\r", want: ati},
			{send: "ATI9\r", want: resp("L0.0.00.00.05.06,A.02.00")},
			{send: "ATI5\r", want: "\r\nERROR\r\n"},
		}},
		{name: "+CGMx", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+CGMI\r", want: resp("u-blox")},
			{send: "AT+CGMM\r", want: resp("SARA-R410M-02B")},
			{send: "AT+CGMR\r", want: resp("L0.0.00.00.05.06 [Feb 03 2018 13:00:41]")},
			{send: "AT+CGSN\r", want: resp("{IMEI}")},
			{send: "AT+CCID\r", want: resp("+CCID: {ICCID}")},
			{send: "AT+CIMI\r", want: resp("{IMSI}")},
			{send: "AT+CPIN?\r", want: resp("+CPIN: READY")},
			{send: "AT+QCCID\r", want: "\r\nERROR\r\n"}, // a Quectel command
		}},
	})
}

// TestUbloxSettings: §5.2 +CFUN, §7.4 +URAT, §7.15 +UBANDMASK, +UMNOPROF,
// +UDCONF=1, +UPSV, §1.2 +CMEE texts.
func TestUbloxSettings(t *testing.T) {
	t.Parallel()
	notAllowed := cmeErr("operation not allowed")
	runRows(t, []row{
		{name: "+CFUN", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+CFUN=?\r", want: resp("+CFUN: (0,1,4,15),(0-1)")},
			{send: "AT+CFUN=16\r", want: cmeErr("50")},
			{send: "AT+CFUN=4\r", want: okLine},
			{send: "AT+CFUN?;+CEREG?\r", want: resp("+CFUN: 4", "+CEREG: 0,0")},
		}},
		{name: "+UMNOPROF", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+CMEE=2\r", want: okLine},
			{send: "AT+UMNOPROF?\r", want: resp("+UMNOPROF: 1")},
			{send: "AT+UMNOPROF=?\r", want: resp("+UMNOPROF: (0,1,2,3,4,5,6,8,19,31,100)")},
			{send: "AT+UMNOPROF=100\r", want: notAllowed}, // registered
			{send: "AT+CFUN=4\r", want: okLine},
			{send: "AT+UMNOPROF=7\r", want: cmeErr("Incorrect parameters")},
			{send: "AT+UMNOPROF=100\r", want: okLine},
			{send: "AT+UMNOPROF?\r", want: resp("+UMNOPROF: 100")},
		}},
		{name: "+URAT", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+URAT?\r", want: resp("+URAT: 7")},
			{send: "AT+URAT=?\r", want: resp("+URAT: (7,8),(7,8),(7,8)")},
			{send: "AT+URAT=7\r", want: cmeErr("3")}, // registered
			{send: "AT+COPS=2\r", want: okLine},
			{send: "AT+URAT=7,8\r", want: okLine},
			{send: "AT+URAT?\r", want: resp("+URAT: 7,8")},
			{send: "AT+URAT=9\r", want: cmeErr("50")},
		}},
		{name: "+UBANDMASK", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+UBANDMASK?\r", want: resp("+UBANDMASK: 0,168761503,1,168761503")},
			{send: "AT+UBANDMASK=?\r", want: resp("+UBANDMASK: (0,1),0xffffffffffffffff,0xffffffffffffffff")},
			{send: "AT+UBANDMASK=0,524420\r", want: okLine},
			{send: "AT+UBANDMASK?\r", want: resp("+UBANDMASK: 0,524420,1,168761503")},
			{send: "AT+UBANDMASK=2,1\r", want: cmeErr("50")},
			{send: "AT+UBANDMASK=0,0\r", want: cmeErr("50")},
		}},
		{name: "+UDCONF and +UPSV", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+UDCONF=1\r", want: resp("+UDCONF: 1,0")},
			{send: "AT+UDCONF=1,1\r", want: okLine},
			{send: "AT+UDCONF=1\r", want: resp("+UDCONF: 1,1")},
			{send: "AT+UDCONF=2,1\r", want: cmeErr("50")},
			{send: "AT+UPSV=0;+UPSV?;+UPSV=?\r", want: resp("+UPSV: 0", "+UPSV: (0-4)")},
		}},
		{name: "TinyGSM init", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+CMEE=0\r\n", want: okLine},
			{send: "AT+CTZU=1\r\n", want: okLine},
			{send: "AT+CPIN?\r\n", want: resp("+CPIN: READY")},
			{send: "AT+CFUN=16\r\n", want: "\r\nERROR\r\n"},
		}},
	})
}

// TestUbloxNetwork: §7.5 +COPS and §7.x +CEREG agree on AcT 7 (manual R16
// §7.7.3); §18 +CGACT refuses an active context, +CGPADDR shows the pool's.
func TestUbloxNetwork(t *testing.T) {
	t.Parallel()
	const addr = `"100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d{1,3}\.\d{1,3}"`
	runRows(t, []row{
		{name: "AcT", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+COPS?\r", want: resp(`+COPS: 0,0,"Vodafone",7`)},
			{send: "AT+CEREG=2;+CEREG?\r", re: `\r\n\+CEREG: 2,5,"[0-9A-F]{4}","[0-9A-F]{8}",7\r\n\r\nOK\r\n`},
			{send: "AT+COPS=?\r", re: `\r\n\+COPS: (?:\(\d,"[^"]*","[^"]*","\d{5,6}",7\),)+,\(0,1,2,3,4\),\(0,1,2\)\r\n\r\nOK\r\n`},
		}},
		{name: "+CGACT", opts: []harnessOption{sara()}, steps: []step{
			{send: "AT+CGDCONT=1,\"IP\",\"super\"\r", want: okLine},
			{send: "AT+CGACT?\r", want: resp("+CGACT: 1,0")},
			{send: "AT+CGACT=1,1\r", want: okLine},
			{send: "AT+CGACT=1,1\r", want: cmeErr("3")}, // ubxlib: R41x objects
			{send: "AT+CGPADDR=1\r", re: `\r\n\+CGPADDR: 1,` + addr + `\r\n\r\nOK\r\n`},
			{send: "AT+CGACT=0\r", want: okLine},
			{send: "AT+CGACT?\r", want: resp("+CGACT: 1,0")},
		}},
	})
}

// TestUbloxBoot: no URC at boot, and nothing read until the module is up;
// AT+CFUN=15 answers OK and boots again, keeping the NVM settings. [§5.2] [ubxlib]
func TestUbloxBoot(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock(), sara())
	h.run([]step{
		{send: "AT+CFUN=4;+UMNOPROF=100;+UDCONF=1,1\r", want: okLine},
		{send: "AT+CFUN=15\r", want: okLine},
	})
	h.awaitTimer(h.timing.Boot)
	h.send("AT\r")
	h.sync()
	h.advance(h.timing.Boot - time.Nanosecond)
	if got := h.unread(); got != "" {
		t.Fatalf("output %q while booting", got)
	}
	h.advance(time.Nanosecond)
	h.run([]step{{send: "AT\r", want: "AT\r" + okLine}}) // echo on again; the first AT was never read
	h.advance(time.Minute)
	if got := h.unread(); got != "" {
		t.Fatalf("output %q after boot: want no indications", got)
	}
	h.run([]step{{send: "ATE0;+UMNOPROF?;+UDCONF=1;+CEREG?\r", want: "ATE0;+UMNOPROF?;+UDCONF=1;+CEREG?\r" + resp("+UMNOPROF: 100", "+UDCONF: 1,0", "+CEREG: 0,5")}})
}

// ubloxConnect activates context 1 and connects socket 0 to the echo
// server synchronously.
func ubloxConnect(h *harness, port int) {
	h.t.Helper()
	h.run([]step{
		{send: "AT+CGACT=1,1\r", want: okLine},
		{send: "AT+USOCR=6\r", want: resp("+USOCR: 0")},
		{send: fmt.Sprintf("AT+USOCO=0,\"127.0.0.1\",%d\r", port), want: okLine},
	})
}

// TestUbloxTCP: §18.3 +USOCR, §18.9 +USOCO, §18.10 +USOWR (binary with
// "@", base, HEX), §18.12 +USORD, §18.23 +USOCTL, §18.7 +USOCL.
func TestUbloxTCP(t *testing.T) {
	t.Parallel()
	port := ubloxEcho(t)
	h := newHarness(t, sara())
	ubloxConnect(h, port)
	h.run([]step{
		{send: "AT+USOCTL=0,10\r", want: resp("+USOCTL: 0,10,4")},
		{send: "AT+USOCTL=0,0;+USOCTL=0,4\r", want: resp("+USOCTL: 0,0,6", fmt.Sprintf(`+USOCTL: 0,4,"127.0.0.1",%d`, port))},
		{send: "AT+USOWR=0,5\r\n", want: "\r\n@"},
		{send: "hel\r\n", want: resp("+USOWR: 0,5") + "\r\n+UUSORD: 0,5\r\n"},
		{send: "AT+USORD=0,0\r", want: resp("+USORD: 0,5")},
		{send: "AT+USORD=0,3\r", want: resp(`+USORD: 0,3,"hel"`)},
		{send: "AT+USORD=0,64\r", want: resp("+USORD: 0,2,\"\r\n\"")},
		{send: "AT+USORD=0,64\r", want: resp(`+USORD: 0,0,""`)},
		{send: "AT+USOWR=0,2,\"hi\"\r", want: resp("+USOWR: 0,2") + "\r\n+UUSORD: 0,2\r\n"},
		{send: "AT+USOWR=0,3,\"hi\"\r", want: cmeErr("50")},
		{send: "AT+UDCONF=1,1\r", want: okLine},
		{send: "AT+USOWR=0,2,\"0a0D\"\r", want: resp("+USOWR: 0,2") + "\r\n+UUSORD: 0,4\r\n"},
		{send: "AT+USORD=0,10\r", want: resp(`+USORD: 0,4,"68690A0D"`)},
		{send: "AT+USOWR=0,2\r", want: "\r\n@"}, // binary: not affected by HEX mode
		{send: "\x00\x1a", want: resp("+USOWR: 0,2") + "\r\n+UUSORD: 0,2\r\n"},
		{send: "AT+UDCONF=1,0;+USORD=0,2\r", want: resp("+USORD: 0,2,\"\x00\x1a\"")},
		{send: "AT+USOCTL=0,2;+USOCTL=0,3;+USOCTL=0,1;+USOCTL=0,11\r", want: resp("+USOCTL: 0,2,11", "+USOCTL: 0,3,11", "+USOCTL: 0,1,22", "+USOCTL: 0,11,0")}, // 22: the base write of the wrong length
		{send: "AT+USOCTL=?\r", want: resp("+USOCTL: (0-6),(0-4,10-11)")},
		{send: "AT+USOCL=0\r", want: okLine},
		{send: "AT+USOCL=0\r", want: cmeErr("3")},
		{send: "AT+USORD=0,0\r", want: cmeErr("3")},
		{send: "AT+USOER\r", want: resp("+USOER: 9")},
	})
}

// TestUbloxAsync: §18.9 AT+USOCO=…,1 answers OK, then +UUSOCO; §18.7
// AT+USOCL=…,1 answers OK, then +UUSOCL; a failed connect leaves the
// socket to try again (ubxlib retries on the same socket). [UBX-R16 §19.9]
func TestUbloxAsync(t *testing.T) {
	t.Parallel()
	port := ubloxEcho(t)
	h := newHarness(t, sara())
	h.run([]step{
		{send: "AT+CMEE=2;+CGACT=1,1\r", want: okLine},
		{send: "AT+USOCR=6\r", want: resp("+USOCR: 0")},
		{send: "AT+USOCR=6\r", want: resp("+USOCR: 1")},
		{send: "AT+USOCO=1,\"100.64.0.1\",80\r", want: cmeErr("operation not allowed")},
		{send: "AT+USOER;+USOCTL=1,1;+USOCTL=1,10\r", want: resp("+USOER: 111", "+USOCTL: 1,1,111", "+USOCTL: 1,10,0")},
		{send: "AT+USOCO=1,\"100.64.0.1\",80,1\r", want: okLine + "\r\n+UUSOCO: 1,111\r\n"},
		{send: fmt.Sprintf("AT+USOCO=1,\"127.0.0.1\",%d,1\r", port), want: okLine + "\r\n+UUSOCO: 1,0\r\n"},
		{send: fmt.Sprintf("AT+USOCO=0,\"127.0.0.1\",%d,1\r", port), want: okLine + "\r\n+UUSOCO: 0,0\r\n"},
		{send: fmt.Sprintf("AT+USOCO=0,\"127.0.0.1\",%d\r", port), want: cmeErr("operation not allowed")},
		{send: "AT+USOCL=0,1\r", want: okLine + "\r\n+UUSOCL: 0\r\n"},
		{send: "AT+USOCL=1\r", want: okLine},
	})
}

// TestUbloxPeerClose: +UUSOCL when the peer closes; what arrived before
// stays readable, then reads fail. [§18.12 notes] [TinyGSM]
func TestUbloxPeerClose(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("bye"))
			c.Close()
		}
	}()
	h := newHarness(t, sara())
	ubloxConnect(h, ln.Addr().(*net.TCPAddr).Port)
	h.waitURC("+UUSORD: 0,3")
	h.waitURC("+UUSOCL: 0")
	h.run([]step{
		{send: "AT+USOCTL=0,10\r", want: resp("+USOCTL: 0,10,0")},
		{send: "AT+USORD=0,10\r", want: resp(`+USORD: 0,3,"bye"`)},
		{send: "AT+USORD=0,10\r", want: cmeErr("3")},
		{send: "AT+USOCL=0\r", want: okLine},
	})
}

// TestUbloxUDP: §18.3 AT+USOCR=17, §18.11 +USOST, §18.13 +USORF and
// +UUSORF, over a loopback UDP echo.
func TestUbloxUDP(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		b := make([]byte, 2048)
		for {
			n, a, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo(b[:n], a)
		}
	}()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	h := newHarness(t, sara())
	h.run([]step{
		{send: "AT+USOCR=17\r", want: cmeErr("3")}, // no PDP context yet
		{send: "AT+CGACT=1,1\r", want: okLine},
		{send: "AT+USOCR=17,5000\r", want: resp("+USOCR: 0")},
		{send: "AT+USOWR=0,2,\"hi\"\r", want: cmeErr("3")}, // no peer yet
		{send: fmt.Sprintf("AT+USOST=0,\"127.0.0.1\",%d,4\r\n", port), want: "\r\n@"},
		{send: "ping", want: resp("+USOST: 0,4") + "\r\n+UUSORF: 0,4\r\n"},
		{send: "AT+USORF=0,0\r", want: resp("+USORF: 0,4")},
		{send: "AT+USORF=0,2\r", want: resp(fmt.Sprintf(`+USORF: 0,"127.0.0.1",%d,2,"pi"`, port))},
		{send: fmt.Sprintf("AT+USOCO=0,\"127.0.0.1\",%d\r", port), want: okLine},
		{send: "AT+USOWR=0,3,\"abc\"\r", want: resp("+USOWR: 0,3") + "\r\n+UUSORF: 0,5\r\n"},
		{send: "AT+USORF=0,1024\r", want: resp(fmt.Sprintf(`+USORF: 0,"127.0.0.1",%d,2,"ng"`, port))},
		{send: "AT+USORF=0,1024\r", want: resp(fmt.Sprintf(`+USORF: 0,"127.0.0.1",%d,3,"abc"`, port))},
		{send: "AT+USORF=0,1024\r", want: resp(`+USORF: 0,"",0,0,""`)},
		{send: "AT+USOCTL=0,0;+USOCTL=0,10\r", want: "\r\n+USOCTL: 0,0,17\r\n" + cmeErr("3")},
		{send: "AT+USOCL=0\r", want: okLine},
	})
}

// TestUbloxEarlyPayload: a host that writes the payload without waiting
// for "@" (old Zephyr) has it taken as the data, whether it comes with
// the command line or after it, split anywhere.
func TestUbloxEarlyPayload(t *testing.T) {
	t.Parallel()
	port := ubloxEcho(t)
	h := newHarness(t, sara())
	ubloxConnect(h, port)
	payload := "x\r\ny\x1a@\"z"
	for _, split := range []int{0, 1, len(payload)} {
		line := fmt.Sprintf("AT+USOWR=0,%d\r\n", len(payload))
		h.send(line + payload[:split])
		h.send(payload[split:])
		h.expect("\r\n@" + resp(fmt.Sprintf("+USOWR: 0,%d", len(payload))))
		h.waitURC("+UUSORD: 0,")
		h.run([]step{{send: "AT+USORD=0,64\r", want: resp(fmt.Sprintf("+USORD: 0,%d,\"%s\"", len(payload), payload))}})
	}
}

// TestUbloxDataLimit: a write that crosses the Fleet's data limit is
// answered, then the session is cut (+CGEV with AT+CGEREP=1); the socket
// is closed, writes and the context are refused until the limit is raised.
func TestUbloxDataLimit(t *testing.T) {
	t.Parallel()
	port := ubloxEcho(t)
	one := 1
	h := newHarness(t, sara(), withControl(sim.WithLimitPropagation(0)), withFleet(func(p *sim.FleetParams) { p.DataLimit = &one }))
	h.run([]step{{send: "AT+CGEREP=1;+CMEE=2\r", want: okLine}})
	ubloxConnect(h, port)
	cur, err := h.ctl.Sim(h.acct, h.simSid)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ctl.RecordUsage(h.ctx, sim.UsageReport{ICCID: cur.ICCID, PLMN: plmnVodafoneUK, Upload: sim.MB - 100 - cur.DataUsed}); err != nil {
		t.Fatal(err)
	}
	h.send("AT+USOWR=0,100\r")
	h.expect("\r\n@")
	h.send(strings.Repeat("x", 100))
	h.expect(resp("+USOWR: 0,100") + "\r\n+CGEV: NW PDN DEACT 1\r\n")
	h.run([]step{
		{send: "AT+USOCTL=0,10\r", want: resp("+USOCTL: 0,10,0")},
		{send: "AT+USOWR=0,1,\"x\"\r", want: cmeErr("operation not allowed")},
		{send: "AT+USOER\r", want: resp("+USOER: 107")},
		{send: "AT+USOCL=0\r", want: okLine},
		{send: "AT+USOCR=6\r", want: cmeErr("operation not allowed")},
		{send: "AT+CGACT=1,1\r", want: cmeErr("requested service option not subscribed")},
	})
	two := 2
	if _, err := h.ctl.UpdateFleet(h.ctx, h.acct, h.fleet.Sid, sim.FleetParams{DataLimit: &two}); err != nil {
		t.Fatal(err)
	}
	ubloxConnect(h, port)
	h.run([]step{{send: "AT+USOWR=0,2,\"ok\"\r", want: resp("+USOWR: 0,2") + "\r\n+UUSORD: 0,2\r\n"}})
}

// TestUbloxDataSplit: a 1000-byte binary write fed a byte at a time, and
// its echo read back in pieces.
func TestUbloxDataSplit(t *testing.T) {
	t.Parallel()
	port := ubloxEcho(t)
	h := newHarness(t, sara())
	ubloxConnect(h, port)
	big := bytes.Repeat([]byte("0123456789"), 100)
	h.send(fmt.Sprintf("AT+USOWR=0,%d\r", len(big)))
	h.expect("\r\n@")
	for i := range big {
		h.send(string(big[i : i+1]))
	}
	h.readUntil(fmt.Sprintf("+USOWR: 0,%d\r\n\r\nOK\r\n", len(big)))
	var got strings.Builder
	for got.Len() < len(big) {
		h.waitURC("+UUSORD: 0,")
		out := h.cmd("AT+USORD=0,1024")
		i := strings.Index(out, `,"`)
		j := strings.LastIndex(out, "\"\r\n")
		got.WriteString(out[i+2 : j])
	}
	if got.String() != string(big) {
		t.Fatalf("echo %d bytes, want %d", got.Len(), len(big))
	}
}

// FuzzUbloxData: a write's <length> and quoted <data>, as the command
// line parser gives them, are either refused or give exactly <length>
// bytes (the data itself, or its hex), within the manual's limits.
func FuzzUbloxData(f *testing.F) {
	f.Add(`5,"hello"`, false)
	f.Add(`2,"0a0D"`, true)
	f.Add(`2,"0g"`, true)
	f.Add(`1024`, false)
	f.Add(`0`, false)
	f.Add(`3,"a,b"`, false)
	f.Add(`513,""`, true)
	f.Add(`2,hi`, false)
	f.Fuzz(func(t *testing.T, params string, hexMode bool) {
		cmds, err := ParseLine("+USOWR=0," + params)
		if err != nil || len(cmds) != 1 || cmds[0].Kind != KindSet {
			return
		}
		args := cmds[0].Args[1:]
		n, data, err := ubloxData(args, hexMode)
		if err != nil {
			var ce *CMEError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a +CME ERROR", err)
			}
			return
		}
		if n < 1 || n > ubloxMaxData {
			t.Fatalf("length %d accepted", n)
		}
		if len(args) == 1 {
			if data != nil {
				t.Fatalf("binary syntax with data %q", data)
			}
			return
		}
		if len(data) != n {
			t.Fatalf("%d bytes for length %d", len(data), n)
		}
		want := args[1].Value
		got := string(data)
		if hexMode {
			if n > ubloxMaxHex {
				t.Fatalf("HEX length %d accepted", n)
			}
			got = hex.EncodeToString(data)
			want = strings.ToLower(want)
		}
		if got != want {
			t.Fatalf("data %q from %q", got, want)
		}
	})
}
