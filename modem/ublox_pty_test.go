package modem_test

// A SARA-R410M-02B's firmware flow over a real PTY, as TinyGSM's SaraR4
// driver and ubxlib drive it: init, registration, the PDP context, a TCP
// echo with CR LF and with CR line endings, SMS to 000, an SMS Command
// and an IP Command received and one sent, a reset.

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

func ptyEnvSaraR4(cfg *modem.FleetConfig) {
	p, err := modem.ProfileByName("sara-r4")
	if err != nil {
		panic(err)
	}
	cfg.Profile = p
}

var (
	saraAddrRE = regexp.MustCompile(`\+CGPADDR: 1,"([0-9.]+)"`)
	saraCMTIRE = regexp.MustCompile(`\+CMTI: "SM",(\d+)`)
)

func TestPTYSaraR4Firmware(t *testing.T) {
	e := ptyEnvNew(t, 1, ptyEnvSaraR4)
	port := sockEnvEcho(t)
	hooks := sockEnvReceiver(t)
	mo := hooks.srv.URL + "/mo"
	if _, err := e.ctl.UpdateFleet(e.ctx, e.acct, e.fleet.Sid, sim.FleetParams{IPCommandsURL: &mo}); err != nil {
		t.Fatal(err)
	}
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	// send writes a line as TinyGSM does (CR LF) and reads up to final.
	send := func(line, final string) string {
		t.Helper()
		p.write([]byte(line + "\r\n"))
		return p.expect(final)
	}

	// Init (TinyGSM initImpl, ubxlib's configuration).
	send("AT", "OK\r\n")
	send("ATE0", "OK\r\n")
	send("AT+CMEE=2", "\r\nOK\r\n")
	if got := send("ATI", "\r\nOK\r\n"); !strings.Contains(got, "\r\nManufacturer: u-blox\r\nModel: SARA-R410M-02B\r\nRevision: L0.0.00.00.05.06") {
		t.Fatalf("ATI answered %q", got)
	}
	if got := send("AT+CGMI;+CGMM", "\r\nOK\r\n"); got != "\r\nu-blox\r\n\r\nSARA-R410M-02B\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CGMI;+CGMM answered %q", got)
	}
	if got := send("AT+CCID", "\r\nOK\r\n"); got != "\r\n+CCID: "+e.sims[0].ICCID+"\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CCID answered %q", got)
	}
	send("AT+UDCONF=1,0", "\r\nOK\r\n")
	send("AT+CTZU=1", "\r\nOK\r\n")
	send("AT+CPIN?", "+CPIN: READY\r\n\r\nOK\r\n")

	// Network: registered with AcT 7 in +CEREG and +COPS alike.
	if got := send("AT+CEREG=2;+CEREG?", "\r\nOK\r\n"); !regexp.MustCompile(`\+CEREG: 2,5,"[0-9A-F]{4}","[0-9A-F]{8}",7\r\n`).MatchString(got) {
		t.Fatalf("AT+CEREG? answered %q", got)
	}
	if got := send("AT+COPS?", "\r\nOK\r\n"); !strings.Contains(got, `+COPS: 0,0,"Vodafone",7`) {
		t.Fatalf("AT+COPS? answered %q", got)
	}

	// PDP (TinyGSM gprsConnectImpl).
	send("AT+CGATT=1", "\r\nOK\r\n")
	send(`AT+CGDCONT=1,"IP","super"`, "\r\nOK\r\n")
	send("AT+CGACT=1,1", "\r\nOK\r\n")
	send("AT+CGACT=1,1", "+CME ERROR: operation not allowed\r\n")
	m := saraAddrRE.FindStringSubmatch(send("AT+CGPADDR=1", "\r\nOK\r\n"))
	if m == nil {
		t.Fatal("AT+CGPADDR=1 shows no address")
	}
	addr := m[1]
	var s map[string]any
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &s)
	if !strings.Contains(fmt.Sprint(s), addr) {
		t.Fatalf("the API's IpAddresses %v do not list %s", s, addr)
	}

	// TCP echo (TinyGSM modemConnect / modemSend / modemRead).
	if got := send("AT+USOCR=6", "\r\nOK\r\n"); got != "\r\n+USOCR: 0\r\n\r\nOK\r\n" {
		t.Fatalf("AT+USOCR=6 answered %q", got)
	}
	send(fmt.Sprintf(`AT+USOCO=0,"127.0.0.1",%d,1`, port), "\r\nOK\r\n")
	p.expect("\r\n+UUSOCO: 0,0\r\n")
	const payload = "hello from tinygsm\n"
	for _, end := range []string{"\r\n", "\r"} {
		p.write([]byte(fmt.Sprintf("AT+USOWR=0,%d%s", len(payload), end)))
		p.expect("@")
		p.write([]byte(payload))
		if got := p.expect("\r\nOK\r\n"); got != fmt.Sprintf("\r\n+USOWR: 0,%d\r\n\r\nOK\r\n", len(payload)) {
			t.Fatalf("end %q: the write answered %q", end, got)
		}
		p.expect(fmt.Sprintf("\r\n+UUSORD: 0,%d\r\n", len(payload)))
		p.write([]byte("AT+USORD=0,64" + end))
		if got, want := p.expect("\r\nOK\r\n"), fmt.Sprintf("\r\n+USORD: 0,%d,\"%s\"\r\n\r\nOK\r\n", len(payload), payload); got != want {
			t.Fatalf("end %q: AT+USORD answered %q, want %q", end, got, want)
		}
	}
	if got := send("AT+USOCTL=0,10", "\r\nOK\r\n"); got != "\r\n+USOCTL: 0,10,4\r\n\r\nOK\r\n" {
		t.Fatalf("AT+USOCTL=0,10 answered %q", got)
	}
	send("AT+USOCL=0,1", "\r\nOK\r\n")
	p.expect("\r\n+UUSOCL: 0\r\n")

	// SMS to 000 (TinyGSM sendSMSImpl), and an SMS Command received.
	send("AT+CMGF=1", "\r\nOK\r\n")
	send(`AT+CSCS="GSM"`, "\r\nOK\r\n")
	p.write([]byte(`AT+CMGS="000"` + "\r\n"))
	p.expect("> ")
	p.write([]byte("fw ok\x1a"))
	p.expect("\r\nOK\r\n")
	var list struct {
		SmsCommands []struct{ Payload, Status string } `json:"sms_commands"`
	}
	e.rest(http.MethodGet, "/v1/SmsCommands?Direction=from_sim", nil, http.StatusOK, &list)
	if len(list.SmsCommands) != 1 || list.SmsCommands[0].Payload != "fw ok" {
		t.Fatalf("from_sim SMS Commands %+v", list.SmsCommands)
	}
	e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"reboot"}}, http.StatusCreated, nil)
	p.expect("\r\n+CMTI: ")
	m = saraCMTIRE.FindStringSubmatch("+CMTI: " + p.expect("\r\n"))
	if m == nil {
		t.Fatal("+CMTI names no index")
	}
	if got := send("AT+CMGR="+m[1], "\r\nOK\r\n"); !strings.Contains(got, `"000"`) || !strings.Contains(got, "\r\nreboot\r\n") {
		t.Fatalf("AT+CMGR answered %q", got)
	}

	// IP Commands: a UDP socket bound to the device port receives one and
	// sends one to the gateway.
	if got := send("AT+USOCR=17,6969", "\r\nOK\r\n"); got != "\r\n+USOCR: 0\r\n\r\nOK\r\n" {
		t.Fatalf("AT+USOCR=17,6969 answered %q", got)
	}
	e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"ping"}, "DevicePort": {"6969"}}, http.StatusCreated, nil)
	p.expect("\r\n+UUSORF: 0,4\r\n")
	if got := send("AT+USORF=0,1024", "\r\nOK\r\n"); got != "\r\n+USORF: 0,\"100.64.0.1\",6969,4,\"ping\"\r\n\r\nOK\r\n" {
		t.Fatalf("AT+USORF answered %q", got)
	}
	p.write([]byte(`AT+USOST=0,"100.64.0.1",6969,5` + "\r\n"))
	p.expect("@")
	p.write([]byte("hello"))
	p.expect("\r\n+USOST: 0,5\r\n\r\nOK\r\n")
	wh := hooks.wait(t, "the ip_commands_url webhook", func(v url.Values) bool { return v.Get("Direction") == "from_sim" })
	if wh.Get("DeviceIp") != addr || wh.Get("DevicePort") != "6969" {
		t.Fatalf("MO IP Command webhook %v", wh)
	}
	send("AT+USOCL=0", "\r\nOK\r\n")

	// Reset (TinyGSM restartImpl): OK, then a boot with no indication;
	// once it has registered again it answers, with its settings reset.
	send("AT+CFUN=15", "\r\nOK\r\n")
	e.waitStatus(0, "registered again", func(s modem.Status) bool { return s.Reg == int(modem.RegRoaming) })
	if got := send("ATE0", "OK\r\n"); got != "ATE0\r\r\nOK\r\n" {
		t.Fatalf("ATE0 after the reset answered %q: want its echo and nothing before", got)
	}
	if got := send("AT+CGACT?", "\r\nOK\r\n"); !strings.Contains(got, "+CGACT: 1,0") {
		t.Fatalf("AT+CGACT? after the reset answered %q", got)
	}
}
