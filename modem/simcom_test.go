package modem

// The SIMCom SIM7080G and SIM7000G profiles, command by command with the
// exact bytes a host reads. Section numbers are those of the SIM7080
// manual (S80: SIM7070/SIM7080/SIM7090 Series AT Command Manual V1.05) and
// the SIM7000 manual (S70: SIM7000 Series AT Command Manual V1.06).

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

func sim7080Opts() []harnessOption { return []harnessOption{withProfile("sim7080")} }
func sim7000Opts() []harnessOption { return []harnessOption{withProfile("sim7000")} }

// TestSIMComCommands: identification, network, power and SMS settings.
func TestSIMComCommands(t *testing.T) {
	t.Parallel()
	runRows(t, []row{
		{name: "S80 2.2.5 3.2.1-3.2.6 identification", opts: sim7080Opts(), steps: []step{
			{send: "ATI\r", want: resp("R1951.01")},
			{send: "AT+CGMI\r", want: resp("SIMCOM_Ltd")},
			{send: "AT+CGMM\r", want: resp("SIMCOM_SIM7080")},
			{send: "AT+CGMR\r", want: resp("Revision:1951B02SIM7080")},
			{send: "AT+CGSN\r", want: resp("{IMEI}")},
			{send: "AT+CIMI\r", want: resp("{IMSI}")},
		}},
		{name: "S80 5.2.8 CCID is the bare ICCID", opts: sim7080Opts(), steps: []step{
			{send: "AT+CCID\r", want: resp("{ICCID}")},
			{send: "AT+CCID=?\r", want: okLine},
		}},
		{name: "S70 2.2.5 3.2.3 identification", opts: sim7000Opts(), steps: []step{
			{send: "ATI\r", want: resp("SIM7000G R1529")},
			{send: "AT+CGMM\r", want: resp("SIMCOM_SIM7000G")},
			{send: "AT+GMR\r", want: resp("Revision:1529B08SIM7000G")},
			{send: "AT+CCID\r", want: resp("{ICCID}")},
		}},
		{name: "S80 3.2.8 CMEE defaults to 0 and 22.1 texts", opts: sim7080Opts(), steps: []step{
			{send: "AT+CMEE?\r", want: resp("+CMEE: 0")},
			{send: "AT+CNMP=7\r", want: "\r\nERROR\r\n"},
			{send: "AT+CMEE=1\r", want: okLine},
			{send: "AT+CNMP=7\r", want: cmeErr("793")},
			{send: "AT+CNMP\r", want: cmeErr("791")},
			{send: "AT+CMEE=2\r", want: okLine},
			{send: "AT+CNMP=\"x\"\r", want: cmeErr("Param type not match")},
			{send: "AT+CNACT=0,1,2\r", want: cmeErr("Param count beyond")},
			{send: "ATZ\r", want: okLine},
			{send: "ATE0\r", want: "ATE0\r" + okLine},
			{send: "AT+CMEE?\r", want: resp("+CMEE: 0")},
		}},
		{name: "S80 3.2.19 CFUN", opts: sim7080Opts(), steps: []step{
			{send: "AT+CFUN=?\r", want: resp("+CFUN: (0-1,4-7),(0-1)")},
			{send: "AT+CFUN=0\r", want: resp("+CPIN: NOT READY")},
			{send: "AT+CPIN?\r", want: resp("+CPIN: NOT READY")},
			{send: "AT+CPSI?\r", want: resp("+CPSI: NO SERVICE,Low Power Mode")},
			{send: "AT+CFUN=1\r", want: okLine + "\r\n+CPIN: READY\r\n"},
			{send: "AT+CPIN?\r", want: resp("+CPIN: READY")},
		}},
		{name: "S80 3.2.19 CFUN=1,1 reboots", opts: sim7080Opts(), steps: []step{
			{send: "AT+CFUN=1,1\r", want: okLine + "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n"},
		}},
		{name: "S80 5.2.46 CREBOOT", opts: sim7080Opts(), steps: []step{
			{send: "AT+CREBOOT\r", want: okLine + "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n"},
			{send: "ATE0\r", re: `ATE0\r\r\nOK\r\n`},
			{send: "AT+CMEE?\r", want: resp("+CMEE: 0")},
		}},
		{name: "S80 5.2.1 CPOWD", opts: sim7080Opts(), steps: []step{
			{send: "AT+CPOWD=1\r", want: "\r\nNORMAL POWER DOWN\r\n"},
			{send: "AT+CFUN?\r", want: resp("+CFUN: 0")},
		}},
		{name: "S80 5.2.16-5.2.17 CNMP CMNB", opts: sim7080Opts(), steps: []step{
			{send: "AT+CNMP=?\r", want: resp("+CNMP: ((2-Automatic),(13-GSM Only),(38-LTE Only),(51-GSM And LTE Only))")},
			{send: "AT+CNMP=38\r", want: okLine},
			{send: "AT+CNMP?\r", want: resp("+CNMP: 38")},
			{send: "AT+CMNB=?\r", want: resp("+CMNB: ((1-Cat-M),(2-NB-IoT),(3-Cat-M And NB-IoT))")},
			{send: "AT+CMNB=1\r", want: okLine},
			{send: "AT+CMNB?\r", want: resp("+CMNB: 1")},
		}},
		{name: "TinyGSM init: CLTS CBATCHK CBC", opts: sim7080Opts(), steps: []step{
			{send: "AT+CLTS=1\r", want: okLine},
			{send: "AT+CLTS?\r", want: resp("+CLTS: 1")},
			{send: "AT+CBATCHK=1\r", want: okLine},
			{send: "AT+CBC\r", want: resp("+CBC: 0,75,3800")},
		}},
		{name: "S80 3.2.9 6.2.7 COPS and CEREG agree on AcT 7", opts: sim7080Opts(), steps: []step{
			{send: "AT+COPS?\r", re: `\r\n\+COPS: 0,0,"[^"]+",7\r\n\r\nOK\r\n`},
			{send: "AT+CEREG=2\r", want: okLine},
			{send: "AT+CEREG?\r", re: `\r\n\+CEREG: 2,5,"[0-9A-F]{4}","[0-9A-F]{8}",7\r\n\r\nOK\r\n`},
			{send: "AT+CEREG=?\r", want: resp("+CEREG: (0-2,4)")},
			{send: "AT+CEREG=5\r", want: "\r\nERROR\r\n"},
			{send: "AT+COPS=?\r", re: `\r\n\+COPS: (\(\d,"[^"]*","[^"]*","\d+",7\),?)+,\(0,1,2,3,4\),\(0,1,2\)\r\n\r\nOK\r\n`},
		}},
		{name: "S80 5.2.19 5.2.20 CPSI CGNAPN CNSMOD", opts: sim7080Opts(), steps: []step{
			{send: "AT+CPSI?\r", re: `\r\n\+CPSI: LTE CAT-M1,Online,234-15,0x[0-9A-F]{4},\d+,\d+,EUTRAN-BAND\d+,\d+,0,0,-?\d+,-\d+,-\d+,\d+\r\n\r\nOK\r\n`},
			{send: "AT+CGNAPN\r", want: resp(`+CGNAPN: 1,"super"`)},
			{send: "AT+CNSMOD?\r", want: resp("+CNSMOD: 0,7")},
		}},
		{name: "S80 4.2.8 4.2.9 SMS settings", opts: sim7080Opts(), steps: []step{
			{send: "AT+CPMS=?\r", want: resp(`+CPMS: ("SM"),("SM"),("SM")`)},
			{send: "AT+CPMS=\"ME\"\r", want: "\r\nERROR\r\n"},
			{send: "AT+CPMS=\"SM\",\"SM\",\"SM\"\r", want: resp("+CPMS: 0,20,0,20,0,20")},
			{send: "AT+CNMI=?\r", want: resp("+CNMI: (0,1,2),(0,1,2,3),(0,2),(0,1,2),(0,1)")},
			{send: "AT+CMEE=1\r", want: okLine},
			{send: "AT+CNMI=2,1,0,1,0\r", want: "\r\n+CMS ERROR: 303\r\n"},
			{send: "AT+CNMI=1,2,0,1,0\r", want: okLine},
			{send: "AT+CNMI=2,1,0,0,0\r", want: okLine},
			{send: "AT+CNMI?\r", want: resp("+CNMI: 2,1,0,0,0")},
		}},
	})
}

// TestSIMComAppNetwork: AT+CNCFG and AT+CNACT take the SIM's session
// address from the control plane (S80 §7.2, S70 §5.2.30–5.2.31).
func TestSIMComAppNetwork(t *testing.T) {
	t.Parallel()
	addrRE := regexp.MustCompile(`\+CNACT: 0,1,"(100\.[0-9.]+)"`)
	t.Run("S80 7.2.1 7.2.2 sim7080", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sim7080Opts()...)
		h.run([]step{
			{send: "AT+CNCFG=?\r", want: resp("+CNCFG: (0-3),(0-4),150,127,127,(0-3)")},
			{send: "AT+CNCFG=0,1,\"super\"\r", want: okLine},
			{send: "AT+CNCFG?\r", want: resp(`+CNCFG: 0,1,"super","","",0`, `+CNCFG: 1,1,"","","",0`, `+CNCFG: 2,1,"","","",0`, `+CNCFG: 3,1,"","","",0`)},
			{send: "AT+CNACT=?\r", want: resp("+CNACT: (0-3),(0-2)")},
			{send: "AT+CNACT?\r", want: resp(`+CNACT: 0,0,"0.0.0.0"`, `+CNACT: 1,0,"0.0.0.0"`, `+CNACT: 2,0,"0.0.0.0"`, `+CNACT: 3,0,"0.0.0.0"`)},
			{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"},
		})
		got := h.cmd("AT+CNACT?")
		m := addrRE.FindStringSubmatch(got)
		if m == nil || got != resp(`+CNACT: 0,1,"`+m[1]+`"`, `+CNACT: 1,0,"0.0.0.0"`, `+CNACT: 2,0,"0.0.0.0"`, `+CNACT: 3,0,"0.0.0.0"`) {
			t.Fatalf("AT+CNACT? answered %q", got)
		}
		ips, err := h.ctl.SimIPAddresses(h.acct, h.simSid)
		if err != nil || len(ips) != 1 || ips[0] != m[1] {
			t.Fatalf("the API's IpAddresses %v (%v), want %s", ips, err, m[1])
		}
		h.run([]step{
			{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"},
			{send: "AT+CNCFG=1,1,\"internet\"\r", want: okLine},
			{send: "AT+CNACT=1,1\r", want: okLine + "\r\n+APP PDP: 1,DEACTIVE\r\n"},
			{send: "AT+CNACT=0,0\r", want: okLine + "\r\n+APP PDP: 0,DEACTIVE\r\n"},
			{send: "AT+CNACT=0,0\r", want: okLine},
		})
		if ips, _ := h.ctl.SimIPAddresses(h.acct, h.simSid); len(ips) != 0 {
			t.Fatalf("IpAddresses after AT+CNACT=0,0: %v", ips)
		}
		// Losing the network loses the context: +APP PDP: 0,DEACTIVE.
		h.run([]step{{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"}})
		h.send("AT+CGATT=0\r")
		h.readUntil("+APP PDP: 0,DEACTIVE\r\n")
	})
	t.Run("S70 5.2.30 sim7000", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, sim7000Opts()...)
		h.run([]step{
			{send: "AT+CNCFG=1,\"super\"\r", want: okLine},
			{send: "AT+CNCFG?\r", want: resp(`+CNCFG: 1,"super","","",0`)},
			{send: "AT+CNACT?\r", want: resp(`+CNACT: 0,"0.0.0.0"`)},
			{send: "AT+CNACT=1,\"super\"\r", want: okLine + "\r\n+APP PDP: ACTIVE\r\n"},
			{send: "AT+CNACT?\r", re: `\r\n\+CNACT: 1,"100\.[0-9.]+"\r\n\r\nOK\r\n`},
			{send: "AT+CNACT=0\r", want: okLine + "\r\n+APP PDP: DEACTIVE\r\n"},
			{send: "AT+CNACT=1,\"other\"\r", want: okLine + "\r\n+APP PDP: DEACTIVE\r\n"},
		})
	})
	t.Run("not registered", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withProfile("sim7080"), withSimStatus("new"))
		h.run([]step{{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,DEACTIVE\r\n"}})
	})
}

// simcomEcho starts a TCP echo server on loopback for an in-process test.
func simcomEcho(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				c.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSIMComCASockets: the CA* set against a real TCP echo server, with
// the exact bytes of each answer (S80 §12.2).
func TestSIMComCASockets(t *testing.T) {
	t.Parallel()
	port := simcomEcho(t)
	h := newHarness(t, sim7080Opts()...)
	h.run([]step{
		{send: "AT+CAOPEN=?\r", want: resp(`+CAOPEN: (0-12),(0-4),("TCP","UDP","NONIP"),64,(1-65535),(0,1)`)},
		{send: fmt.Sprintf("AT+CAOPEN=0,0,\"TCP\",\"127.0.0.1\",%d\r", port), want: resp("+CAOPEN: 0,21")},
		{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"},
		{send: "AT+CACID=0\r", want: okLine},
		{send: "AT+CASSLCFG=0,SSL,0\r", want: okLine},
		{send: fmt.Sprintf("AT+CAOPEN=0,0,\"TCP\",\"127.0.0.1\",%d\r", port), want: resp("+CAOPEN: 0,0")},
		{send: "AT+CASTATE?\r", want: resp("+CASTATE: 0,1")},
		{send: "AT+CASEND=0,5\r", want: "> "},
		{send: "hello", want: okLine + "\r\n+CADATAIND: 0\r\n"},
		{send: "AT+CARECV?\r", want: resp("+CARECV: 0,5")},
		{send: "AT+CARECV=0,3\r", want: resp("+CARECV: 3,hel")},
		{send: "AT+CARECV=0,100\r", want: resp("+CARECV: 2,lo")},
		{send: "AT+CARECV=0,100\r", want: resp("+CARECV: 0")},
		// Zephyr ends the fixed-length data with Ctrl-Z: it is dropped.
		{send: "AT+CASEND=0,3\r", want: "> "},
		{send: "abc\x1a", want: okLine + "\r\n+CADATAIND: 0\r\n"},
		{send: "AT+CARECV=0,1460\r", want: resp("+CARECV: 3,abc")},
		{send: "AT+CAACK=0\r", want: resp("+CAACK: 8,0")},
		{send: "AT+CACLOSE=0\r", want: okLine},
		{send: "AT+CASTATE?\r", want: okLine},
		{send: "AT+CMEE=1\r", want: okLine},
		// S80 12.2.9's example: AT+CACLOSE=2 on a closed id → ERROR, not +CME.
		{send: "AT+CACLOSE=0\r", want: "\r\nERROR\r\n"},
		{send: "AT+CACLOSE=2\r", want: "\r\nERROR\r\n"},
		{send: "AT+CASEND=0,5\r", want: cmeErr("767")},
		{send: fmt.Sprintf("AT+CAOPEN=1,0,\"TCP\",\"127.0.0.1\",%d,1\r", port), want: "\r\nERROR\r\n"},
		{send: "AT+CAOPEN=1,0,\"NONIP\",\"127.0.0.1\",1\r", want: resp("+CAOPEN: 1,7")},
		{send: "AT+CAOPEN=12,0,\"UDP\",\"100.64.0.1\",6969\r", want: resp("+CAOPEN: 12,0")},
		{send: "AT+CAOPEN=13,0,\"UDP\",\"100.64.0.1\",6969\r", want: cmeErr("793")},
	})
	// A refused connection: result 27.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	h.run([]step{{send: fmt.Sprintf("AT+CAOPEN=2,0,\"TCP\",\"127.0.0.1\",%d\r", closed), want: resp("+CAOPEN: 2,27")}})
}

// TestSIMComPeerClose: a peer's close is +CASTATE: <cid>,0 (S80 §12.2.8).
func TestSIMComPeerClose(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	h := newHarness(t, sim7080Opts()...)
	h.run([]step{
		{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"},
		{send: fmt.Sprintf("AT+CAOPEN=3,0,\"TCP\",\"127.0.0.1\",%d\r", ln.Addr().(*net.TCPAddr).Port), want: resp("+CAOPEN: 3,0")},
	})
	select {
	case c := <-accepted:
		c.Write([]byte("bye"))
		c.Close()
	case <-time.After(harnessWait):
		t.Fatal("no connection")
	}
	h.readUntil("\r\n+CADATAIND: 3\r\n")
	h.readUntil("\r\n+CASTATE: 3,0\r\n")
	h.run([]step{
		{send: "AT+CASTATE?\r", want: resp("+CASTATE: 3,0")},
		{send: "AT+CARECV=3,10\r", want: resp("+CARECV: 3,bye")},
		{send: "AT+CACLOSE=3\r", want: okLine},
	})
}

// TestSIM7000Sockets: the SIM7000's CA* variant (S70 §18.2) and its CIP*
// stack as TinyGSM's SIM7000 driver drives it (S70 §8.2).
func TestSIM7000Sockets(t *testing.T) {
	t.Parallel()
	t.Run("S70 18.2 CA", func(t *testing.T) {
		t.Parallel()
		port := simcomEcho(t)
		h := newHarness(t, sim7000Opts()...)
		h.run([]step{
			{send: "AT+CNACT=1,\"super\"\r", want: okLine + "\r\n+APP PDP: ACTIVE\r\n"},
			{send: fmt.Sprintf("AT+CAOPEN=0,\"127.0.0.1\",%d\r", port), want: resp("+CAOPEN: 0,0")},
			{send: "AT+CASEND=0,4\r", want: "> "},
			{send: "ping", re: `\r\nOK\r\n`},
		})
		h.readUntil("\r\n+CASEND: 0,0,4\r\n")
		h.readUntil("\r\n+CADATAIND: 0\r\n")
		h.run([]step{
			{send: "AT+CARECV=0,100\r", want: resp("+CARECV: 4,ping")},
			{send: "AT+CACLOSE=0\r", want: okLine},
			{send: "AT+CMEE=2\r", want: okLine},
			{send: "AT+CACLOSE=0\r", want: "\r\nERROR\r\n"}, // a closed id, as S80 12.2.9
		})
	})
	t.Run("S70 8.2 CIP", func(t *testing.T) {
		t.Parallel()
		port := simcomEcho(t)
		h := newHarness(t, sim7000Opts()...)
		h.run([]step{
			{send: "AT+SAPBR=3,1,\"Contype\",\"GPRS\"\r", want: okLine},
			{send: "AT+SAPBR=3,1,\"APN\",\"super\"\r", want: okLine},
			{send: "AT+SAPBR=2,1\r", want: resp(`+SAPBR: 1,3,"0.0.0.0"`)},
			{send: "AT+SAPBR=1,1\r", want: okLine},
			{send: "AT+SAPBR=2,1\r", re: `\r\n\+SAPBR: 1,1,"100\.[0-9.]+"\r\n\r\nOK\r\n`},
			{send: "AT+CIPSTATUS\r", want: okLine + "\r\nSTATE: IP INITIAL\r\n"},
			{send: "AT+CIPMUX=1\r", want: okLine},
			{send: "AT+CIPQSEND=1\r", want: okLine},
			{send: "AT+CIPRXGET=1\r", want: okLine},
			{send: "AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",1\r", want: "\r\nERROR\r\n"},
			{send: "AT+CIICR\r", want: "\r\nERROR\r\n"},
			{send: "AT+CSTT=\"super\",\"\",\"\"\r", want: okLine},
			{send: "AT+CIICR\r", want: okLine},
			{send: "AT+CIPSTATUS\r", want: okLine + "\r\nSTATE: IP GPRSACT\r\n" + strings.Repeat("", 0) +
				"\r\nC: 0,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nC: 1,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nC: 2,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nC: 3,,\"\",\"\",\"\",\"INITIAL\"\r\n" +
				"\r\nC: 4,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nC: 5,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nC: 6,,\"\",\"\",\"\",\"INITIAL\"\r\n\r\nC: 7,,\"\",\"\",\"\",\"INITIAL\"\r\n"},
			{send: "AT+CIFSR;E0\r", re: `\r\n100\.[0-9.]+\r\n\r\nOK\r\n`},
			{send: fmt.Sprintf("AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",%d\r", port), want: okLine + "\r\n0, CONNECT OK\r\n"},
			{send: "AT+CIPSTATUS=0\r", want: resp(fmt.Sprintf(`+CIPSTATUS: 0,0,"TCP","127.0.0.1","%d","CONNECTED"`, port))},
			{send: "AT+CIPSEND=0,5\r", want: "> "},
			{send: "hello", want: "\r\nDATA ACCEPT:0,5\r\n\r\n+CIPRXGET: 1,0\r\n"},
			{send: "AT+CIPRXGET=4,0\r", want: resp("+CIPRXGET: 4,0,5")},
			{send: "AT+CIPRXGET=2,0,3\r", want: resp("+CIPRXGET: 2,0,3,2\r\nhel")},
			{send: "AT+CIPRXGET=3,0,10\r", want: resp("+CIPRXGET: 3,0,2,0\r\n6C6F")},
			{send: "AT+CIPRXGET=2,0,10\r", want: resp("+CIPRXGET: 2,0,0,0")},
			{send: "AT+CIPQSEND=0\r", want: okLine},
			{send: "AT+CIPSEND=0\r", want: "> "},
			{send: "xy\x1a", want: "\r\n0, SEND OK\r\n\r\n+CIPRXGET: 1,0\r\n"},
			{send: "AT+CIPCLOSE=0\r", want: "\r\n0, CLOSE OK\r\n"},
			{send: "AT+CIPCLOSE=0\r", want: "\r\nERROR\r\n"},
			{send: "AT+CIPSHUT\r", want: "\r\nSHUT OK\r\n"},
			{send: "AT+CIPSTATUS=0\r", want: resp(`+CIPSTATUS: 0,,"","","","INITIAL"`)},
			{send: "AT+SAPBR=0,1\r", want: okLine},
		})
	})
}

// simcomSeeds are SIMCom command lines, prompts and their data included.
var simcomSeeds = []string{
	"AT+CNACT=0,1\rAT+CAOPEN=0,0,\"UDP\",\"100.64.0.1\",6969\rAT+CASEND=0,5\rhello\x1aAT+CARECV=0,10\r",
	"AT+CNACT=1,\"super\"\rAT+CAOPEN=0,\"UDP\",\"100.64.0.1\",6969\rAT+CASEND=0,3\r\nabcAT+CASTATE?\r",
	"AT+CSTT=\"super\"\rAT+CIICR\rAT+CIFSR;E0\rAT+CIPMUX=1\rAT+CIPSTART=0,\"UDP\",\"100.64.0.1\",6969\rAT+CIPSEND=0\rxy\x1b\rAT+CIPSEND=0\rxy\x1a\r",
	"AT+CIPRXGET=1\rAT+CIPRXGET=2,0,10\rAT+CIPRXGET=4,0\rAT+CIPSTATUS\rAT+CIPSHUT\r",
	"AT+CFUN=0\rAT+CPIN?\rAT+CFUN=1\rAT+CREBOOT\rAT+CPOWD=1\r",
	"AT+CMEE=2;+CNMP=99;+CMNB?;+CPSI?;+CGNAPN;+CNCFG?;+CACFG=\"LOCALPORT\",1,6969\r",
	"AT+SAPBR=1,1\rAT+SAPBR=2,1\rAT+SAPBR=0,1\rAT+CNMI=2,2,0,0,0\rAT+CPMS=\"SM\"\r",
}

// FuzzSIMComSession writes random bytes to a served SIM7080 and SIM7000
// on the virtual clock, with the send prompts of the CA* and CIP* sets in
// the seeds: neither panics nor hangs, and each answers AT with OK
// afterwards (ESC ends a prompt that waits for Ctrl-Z; ATZ and AT&F
// restore the settings).
func FuzzSIMComSession(f *testing.F) {
	for _, s := range simcomSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, sim7000 bool) {
		if len(in) > 16<<10 {
			in = in[:16<<10]
		}
		watchdog := time.AfterFunc(fuzzHang, func() {
			panic(fmt.Sprintf("FuzzSIMComSession: input %q hung for %v", in, fuzzHang))
		})
		t.Cleanup(func() { watchdog.Stop() })
		profile := "sim7080"
		if sim7000 {
			profile = "sim7000"
		}
		h := newHarness(t, withVClock(), withProfile(profile))
		h.feed(in)
		// A fixed-length prompt takes at most 1460 bytes; ESC ends a
		// variable one; a data state call is left with +++.
		h.feed([]byte(strings.Repeat("\x1b", 1461) + "\r\n"))
		if h.dataMode() {
			h.advance(escapeGuard)
			h.send("+++")
			h.awaitTimer(escapeGuard)
			h.advance(escapeGuard)
		}
		h.feed([]byte("\nATZ\nATz\nAT&F\nAT&f\n"))
		h.send("AT\r")
		h.readUntil("AT\r\r\nOK\r\n")
	})
}

// udpEcho starts a UDP echo server on loopback for an in-process test.
func udpEcho(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// TestSIMComUDPSockets: a UDP connection of each SIMCom set to a host
// peer (not the IP Commands gateway) is a UDP socket on the host: what it
// sends arrives as a datagram and the answer comes back (S80 §12.2.2,
// S70 §8.2.2).
func TestSIMComUDPSockets(t *testing.T) {
	t.Parallel()
	t.Run("S80 12.2 CA", func(t *testing.T) {
		t.Parallel()
		port := udpEcho(t)
		h := newHarness(t, sim7080Opts()...)
		h.run([]step{
			{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"},
			{send: fmt.Sprintf("AT+CAOPEN=1,0,\"UDP\",\"127.0.0.1\",%d\r", port), want: resp("+CAOPEN: 1,0")},
			{send: "AT+CASEND=1,5\r", want: "> "},
			{send: "hello", want: okLine + "\r\n+CADATAIND: 1\r\n"},
			{send: "AT+CARECV=1,100\r", want: resp("+CARECV: 5,hello")},
			{send: "AT+CACLOSE=1\r", want: okLine},
		})
	})
	t.Run("S70 8.2 CIP", func(t *testing.T) {
		t.Parallel()
		port := udpEcho(t)
		h := newHarness(t, sim7000Opts()...)
		h.run([]step{
			{send: "AT+CIPMUX=1\r", want: okLine},
			{send: "AT+CSTT=\"super\",\"\",\"\"\r", want: okLine},
			{send: "AT+CIICR\r", want: okLine},
			{send: "AT+CIFSR\r", re: `\r\n100\.[0-9.]+\r\n\r\nOK\r\n`},
			{send: fmt.Sprintf("AT+CIPSTART=2,\"UDP\",\"127.0.0.1\",%d\r", port), want: okLine + "\r\n2, CONNECT OK\r\n"},
			{send: "AT+CIPSEND=2,5\r", want: "> "},
			{send: "hello", want: "\r\n2, SEND OK\r\n\r\n+RECEIVE,2,5:\r\nhello\r\n"},
			{send: "AT+CIPCLOSE=2\r", want: "\r\n2, CLOSE OK\r\n"},
		})
	})
}
