package modem_test

// The SIMCom profiles over real PTYs as a firmware drives them (TinyGSM's
// SIM7080 and SIM7000 drivers' sequences): init, registration, the app
// network or CIP bearer, a TCP echo with CR LF and with CR line endings,
// SMS to 000 in text and PDU mode, an SMS Command and an IP Command
// received, an IP Command sent, and the Fleet's data limit.

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/warthog618/sms"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

// simcomEnv is a one-modem PTY environment with a SIMCom profile and a
// webhook receiver for the Fleet's SMS and IP Commands.
func simcomEnv(t *testing.T, profile string) (*ptyEnv, *ptyEnvPort, *sockEnvHooks) {
	t.Helper()
	p, err := modem.ProfileByName(profile)
	if err != nil {
		t.Fatal(err)
	}
	e := ptyEnvNew(t, 1, func(c *modem.FleetConfig) { c.Profile = p })
	hooks := sockEnvReceiver(t)
	smsURL, ipURL := hooks.srv.URL+"/sms", hooks.srv.URL+"/ip"
	if _, err := e.ctl.UpdateFleet(e.ctx, e.acct, e.fleet.Sid, sim.FleetParams{SmsCommandsURL: &smsURL, IPCommandsURL: &ipURL}); err != nil {
		t.Fatal(err)
	}
	port := ptyEnvOpen(t, e.modems.PTYPath(0))
	return e, port, hooks
}

// at sends a command line ended by end (the firmware's line ending, echo
// off) and returns the output up to and including want.
func (p *ptyEnvPort) at(line, end, want string) string {
	p.t.Helper()
	p.write([]byte(line + end))
	return p.expect(want)
}

// simcomInit is TinyGSM's SIM70xx init (echo off, CR LF endings).
func simcomInit(t *testing.T, p *ptyEnvPort, model string) {
	t.Helper()
	p.cmd("ATE0", "OK")
	for _, line := range []string{"AT", "AT+CMEE=0", "AT+CLTS=1", "AT+CBATCHK=1", "AT+CNMP=38", "AT+CMNB=1"} {
		p.at(line, "\r\n", "\r\nOK\r\n")
	}
	if got := p.at("AT+CPIN?", "\r\n", "\r\nOK\r\n"); got != "\r\n+CPIN: READY\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CPIN? answered %q", got)
	}
	if got := p.at("AT+CGMM", "\r\n", "\r\nOK\r\n"); got != "\r\n"+model+"\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CGMM answered %q", got)
	}
	if got := p.at("AT+CCID", "\r\n", "\r\nOK\r\n"); !regexp.MustCompile(`^\r\n89\d{17,18}\r\n\r\nOK\r\n$`).MatchString(got) {
		t.Fatalf("AT+CCID answered %q", got)
	}
	if got := p.at("AT+CEREG?", "\r\n", "\r\nOK\r\n"); got != "\r\n+CEREG: 0,5\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CEREG? answered %q", got)
	}
	if got := p.at("AT+COPS?", "\r\n", "\r\nOK\r\n"); !regexp.MustCompile(`^\r\n\+COPS: 0,0,"[^"]+",7\r\n\r\nOK\r\n$`).MatchString(got) {
		t.Fatalf("AT+COPS? answered %q", got)
	}
}

// simcomIPs is the SIM's session address as the REST API lists it.
func simcomIPs(t *testing.T, e *ptyEnv) []string {
	t.Helper()
	var ips struct {
		IPAddresses []map[string]string `json:"ip_addresses"`
	}
	e.rest(http.MethodGet, "/v1/Sims/"+e.sims[0].Sid+"/IpAddresses", nil, http.StatusOK, &ips)
	var out []string
	for _, a := range ips.IPAddresses {
		out = append(out, a["ip_address"])
	}
	return out
}

// simcomSMS sends an SMS to 000 in text and PDU mode and receives an SMS
// Command, with CR LF endings.
func simcomSMS(t *testing.T, e *ptyEnv, p *ptyEnvPort, hooks *sockEnvHooks) {
	t.Helper()
	p.at("AT+CMGF=1", "\r\n", "\r\nOK\r\n")
	p.at(`AT+CMGS="000"`, "\r\n", "\r\n> ")
	p.write([]byte("text up\x1a"))
	p.expect("\r\n+CMGS: 1\r\n\r\nOK\r\n")
	hooks.wait(t, "the text mode SMS", func(v url.Values) bool { return v.Get("Payload") == "text up" && v.Get("Direction") == "from_sim" })

	ts, err := sms.Encode([]byte("pdu up"), sms.To("000"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts[0].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p.at("AT+CMGF=0", "\r\n", "\r\nOK\r\n")
	p.at(fmt.Sprintf("AT+CMGS=%d", len(b)), "\r\n", "\r\n> ")
	p.write([]byte("00" + strings.ToUpper(hex.EncodeToString(b)) + "\x1a"))
	p.expect("\r\n+CMGS: 2\r\n\r\nOK\r\n")
	hooks.wait(t, "the PDU mode SMS", func(v url.Values) bool { return v.Get("Payload") == "pdu up" })

	p.at("AT+CMGF=1", "\r\n", "\r\nOK\r\n")
	e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"reboot"}}, http.StatusCreated, nil)
	p.expect("\r\n+CMTI: \"SM\",0\r\n")
	if got := p.at("AT+CMGR=0", "\r\n", "\r\nOK\r\n"); !regexp.MustCompile(`^\r\n\+CMGR: "REC UNREAD","000",,"[^"]+"\r\nreboot\r\n\r\nOK\r\n$`).MatchString(got) {
		t.Fatalf("AT+CMGR=0 answered %q", got)
	}
}

// TestPTYSIM7080Flow drives a virtual SIM7080G as TinyGSM's SIM7080 driver
// does, end to end.
func TestPTYSIM7080Flow(t *testing.T) {
	e, p, hooks := simcomEnv(t, "sim7080")
	echo := sockEnvEcho(t)
	simcomInit(t, p, "SIMCOM_SIM7080")

	// The app network (TinyGSM gprsConnect).
	for _, line := range []string{`AT+CGDCONT=1,"IP","super"`, "AT+CGATT=1", "AT+CGNAPN", `AT+CNCFG=0,1,"super"`} {
		p.at(line, "\r\n", "\r\nOK\r\n")
	}
	p.at("AT+CNACT=0,1", "\r\n", "\r\nOK\r\n")
	p.expect("\r\n+APP PDP: 0,ACTIVE\r\n")
	got := p.at("AT+CNACT?", "\r\n", "\r\nOK\r\n")
	m := regexp.MustCompile(`^\r\n\+CNACT: 0,1,"([0-9.]+)"\r\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("AT+CNACT? answered %q", got)
	}
	if ips := simcomIPs(t, e); len(ips) != 1 || ips[0] != m[1] {
		t.Fatalf("IpAddresses %v, want [%s]", ips, m[1])
	}
	addr := m[1]

	// A TCP echo, with CR LF and with CR endings.
	p.at("AT+CACID=0", "\r\n", "\r\nOK\r\n")
	p.at("AT+CASSLCFG=0,SSL,0", "\r\n", "\r\nOK\r\n")
	p.at(fmt.Sprintf(`AT+CAOPEN=0,0,"TCP","127.0.0.1",%d`, echo), "\r\n", "\r\n+CAOPEN: 0,0\r\n\r\nOK\r\n")
	for _, end := range []string{"\r\n", "\r"} {
		const payload = "hello from tinygsm\n"
		p.at(fmt.Sprintf("AT+CASEND=0,%d", len(payload)), end, "> ")
		p.write([]byte(payload))
		p.expect("\r\nOK\r\n")
		p.expect("\r\n+CADATAIND: 0\r\n")
		if got := p.at("AT+CARECV?", end, "\r\nOK\r\n"); got != fmt.Sprintf("\r\n+CARECV: 0,%d\r\n\r\nOK\r\n", len(payload)) {
			t.Fatalf("end %q: AT+CARECV? answered %q", end, got)
		}
		if got := p.at("AT+CARECV=0,1460", end, "\r\nOK\r\n"); got != fmt.Sprintf("\r\n+CARECV: %d,%s\r\n\r\nOK\r\n", len(payload), payload) {
			t.Fatalf("end %q: AT+CARECV answered %q", end, got)
		}
	}
	if got := p.at("AT+CASTATE?", "\r\n", "\r\nOK\r\n"); got != "\r\n+CASTATE: 0,1\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CASTATE? answered %q", got)
	}
	p.at("AT+CACLOSE=0", "\r\n", "\r\nOK\r\n")

	simcomSMS(t, e, p, hooks)

	// IP Commands: a UDP socket on the device port, to the gateway.
	p.at(`AT+CACFG="LOCALPORT",1,6969`, "\r\n", "\r\nOK\r\n")
	p.at(`AT+CAOPEN=1,0,"UDP","100.64.0.1",6969`, "\r\n", "\r\n+CAOPEN: 1,0\r\n\r\nOK\r\n")
	e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"led on"}, "DevicePort": {"6969"}}, http.StatusCreated, nil)
	p.expect("\r\n+CADATAIND: 1\r\n")
	if got := p.at("AT+CARECV=1,100", "\r\n", "\r\nOK\r\n"); got != "\r\n+CARECV: 6,led on\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CARECV=1 answered %q", got)
	}
	p.at("AT+CASEND=1,5", "\r\n", "> ")
	p.write([]byte("led:1"))
	p.expect("\r\nOK\r\n")
	wh := hooks.wait(t, "the from_sim IP Command", func(v url.Values) bool { return v.Get("Direction") == "from_sim" && v.Get("IpCommandSid") != "" })
	if wh.Get("DeviceIp") != addr || wh.Get("DevicePort") != "6969" || wh.Get("SimSid") != e.sims[0].Sid {
		t.Fatalf("MO IP Command webhook %v", wh)
	}

	// Disconnect (TinyGSM gprsDisconnect).
	p.at("AT+CNACT=0,0", "\r\n", "\r\nOK\r\n")
	p.expect("\r\n+APP PDP: 0,DEACTIVE\r\n")
	p.at("AT+CGATT=0", "\r\n", "\r\nOK\r\n")
	if ips := simcomIPs(t, e); len(ips) != 0 {
		t.Fatalf("IpAddresses after disconnect: %v", ips)
	}
	e.modems.Close()
	sockEnvNoGoroutines(t)
}

// TestPTYSIM7000Flow drives a virtual SIM7000G as TinyGSM's SIM7000
// (non-SSL) driver does: the SAPBR bearer, then the CIP stack.
func TestPTYSIM7000Flow(t *testing.T) {
	e, p, hooks := simcomEnv(t, "sim7000")
	echo := sockEnvEcho(t)
	simcomInit(t, p, "SIMCOM_SIM7000G")

	for _, line := range []string{`AT+SAPBR=3,1,"Contype","GPRS"`, `AT+SAPBR=3,1,"APN","super"`, `AT+CGDCONT=1,"IP","super"`,
		"AT+CGATT=1", "AT+CGACT=1,1", "AT+SAPBR=1,1"} {
		p.at(line, "\r\n", "\r\nOK\r\n")
	}
	p.at("AT+SAPBR=2,1", "\r\n", "\r\nOK\r\n")
	for _, line := range []string{"AT+CIPMUX=1", "AT+CIPQSEND=1", "AT+CIPRXGET=1", `AT+CSTT="super","",""`, "AT+CIICR"} {
		p.at(line, "\r\n", "\r\nOK\r\n")
	}
	got := p.at("AT+CIFSR;E0", "\r\n", "\r\nOK\r\n")
	m := regexp.MustCompile(`^\r\n([0-9.]+)\r\n\r\nOK\r\n$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("AT+CIFSR;E0 answered %q", got)
	}
	if ips := simcomIPs(t, e); len(ips) != 1 || ips[0] != m[1] {
		t.Fatalf("IpAddresses %v, want [%s]", ips, m[1])
	}
	addr := m[1]

	p.at(fmt.Sprintf(`AT+CIPSTART=0,"TCP","127.0.0.1",%d`, echo), "\r\n", "\r\nOK\r\n")
	p.expect("\r\n0, CONNECT OK\r\n")
	for _, end := range []string{"\r\n", "\r"} {
		const payload = "hello from tinygsm\n"
		p.at(fmt.Sprintf("AT+CIPSEND=0,%d", len(payload)), end, "> ")
		p.write([]byte(payload))
		p.expect(fmt.Sprintf("\r\nDATA ACCEPT:0,%d\r\n", len(payload)))
		p.expect("\r\n+CIPRXGET: 1,0\r\n")
		if got := p.at("AT+CIPRXGET=4,0", end, "\r\nOK\r\n"); got != fmt.Sprintf("\r\n+CIPRXGET: 4,0,%d\r\n\r\nOK\r\n", len(payload)) {
			t.Fatalf("end %q: AT+CIPRXGET=4,0 answered %q", end, got)
		}
		if got := p.at("AT+CIPRXGET=2,0,1460", end, "\r\nOK\r\n"); got != fmt.Sprintf("\r\n+CIPRXGET: 2,0,%d,0\r\n%s\r\n\r\nOK\r\n", len(payload), payload) {
			t.Fatalf("end %q: AT+CIPRXGET=2 answered %q", end, got)
		}
	}
	if got := p.at("AT+CIPSTATUS=0", "\r\n", "\r\nOK\r\n"); !strings.Contains(got, `,"CONNECTED"`) {
		t.Fatalf("AT+CIPSTATUS=0 answered %q", got)
	}
	p.at("AT+CIPCLOSE=0", "\r\n", "\r\n0, CLOSE OK\r\n")

	simcomSMS(t, e, p, hooks)

	// IP Commands over a CIP UDP connection bound to the device port.
	p.at(`AT+CLPORT=1,"UDP",6969`, "\r\n", "\r\nOK\r\n")
	p.at(`AT+CIPSTART=1,"UDP","100.64.0.1",6969`, "\r\n", "\r\nOK\r\n")
	p.expect("\r\n1, CONNECT OK\r\n")
	e.rest(http.MethodPost, "/v1/IpCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"led on"}, "DevicePort": {"6969"}}, http.StatusCreated, nil)
	p.expect("\r\n+CIPRXGET: 1,1\r\n")
	if got := p.at("AT+CIPRXGET=2,1,100", "\r\n", "\r\nOK\r\n"); got != "\r\n+CIPRXGET: 2,1,6,0\r\nled on\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CIPRXGET=2,1 answered %q", got)
	}
	p.at("AT+CIPSEND=1,5", "\r\n", "> ")
	p.write([]byte("led:1"))
	p.expect("\r\nDATA ACCEPT:1,5\r\n")
	wh := hooks.wait(t, "the from_sim IP Command", func(v url.Values) bool { return v.Get("Direction") == "from_sim" && v.Get("IpCommandSid") != "" })
	if wh.Get("DeviceIp") != addr || wh.Get("DevicePort") != "6969" {
		t.Fatalf("MO IP Command webhook %v", wh)
	}

	p.at("AT+CIPSHUT", "\r\n", "\r\nSHUT OK\r\n")
	p.at("AT+CGATT=0", "\r\n", "\r\nOK\r\n")
	if ips := simcomIPs(t, e); len(ips) != 0 {
		t.Fatalf("IpAddresses after disconnect: %v", ips)
	}
	e.modems.Close()
	sockEnvNoGoroutines(t)
}

// TestPTYSIMComDataLimit: a CA* socket is cut when the SIM crosses its
// Fleet's data limit (+APP PDP: 0,DEACTIVE), the app network is refused
// until the limit is raised, as on a BG96.
func TestPTYSIMComDataLimit(t *testing.T) {
	e, p, _ := simcomEnv(t, "sim7080")
	echo := sockEnvEcho(t)
	p.cmd("ATE0", "OK")
	p.at("AT+CNACT=0,1", "\r", "\r\n+APP PDP: 0,ACTIVE\r\n")
	p.at(fmt.Sprintf(`AT+CAOPEN=0,0,"TCP","127.0.0.1",%d`, echo), "\r", "\r\n+CAOPEN: 0,0\r\n\r\nOK\r\n")
	cur, err := e.ctl.Sim(e.acct, e.sims[0].Sid)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ctl.RecordUsage(e.ctx, sim.UsageReport{ICCID: cur.ICCID, PLMN: ptyEnvVodafoneGB, Upload: sim.MB - 100 - cur.DataUsed}); err != nil {
		t.Fatal(err)
	}
	p.at("AT+CASEND=0,100", "\r", "> ")
	p.write([]byte(strings.Repeat("x", 100)))
	if got := p.expect("\r\n+APP PDP: 0,DEACTIVE\r\n"); !strings.Contains(got, "\r\nOK\r\n") {
		t.Fatalf("the send crossing the limit did not go: %q", got)
	}
	if got := p.at("AT+CASTATE?", "\r", "\r\nOK\r\n"); got != "\r\n+CASTATE: 0,0\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CASTATE? after the cut answered %q", got)
	}
	p.at("AT+CASEND=0,1", "\r", "\r\nERROR\r\n")
	p.at("AT+CACLOSE=0", "\r", "\r\nOK\r\n")
	p.at("AT+CNACT=0,1", "\r", "\r\n+APP PDP: 0,DEACTIVE\r\n")
	two := 2
	if _, err := e.ctl.UpdateFleet(e.ctx, e.acct, e.fleet.Sid, sim.FleetParams{DataLimit: &two}); err != nil {
		t.Fatal(err)
	}
	p.at("AT+CNACT=0,1", "\r", "\r\n+APP PDP: 0,ACTIVE\r\n")
	p.at(fmt.Sprintf(`AT+CAOPEN=0,0,"TCP","127.0.0.1",%d`, echo), "\r", "\r\n+CAOPEN: 0,0\r\n\r\nOK\r\n")
}
