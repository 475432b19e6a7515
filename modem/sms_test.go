package modem

// SMS Commands on the modem: 27.005 text and PDU mode against the engine
// harness, end to end over a PTY with the REST API and webhooks on
// loopback, gammu reading the messages, and a fuzz target for the PDU
// parsing.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

// smsFinalRE finds a final result code, +CMS ERROR included.
var smsFinalRE = regexp.MustCompile(`\r\n(?:OK|ERROR|\+CM[ES] ERROR: [^\r\n]*)\r\n`)

// smsCmd sends line+"\r" and returns the output up to its final result.
func smsCmd(h *harness, line string) string {
	h.t.Helper()
	h.send(line + "\r")
	return smsFinal(h, line)
}

func smsFinal(h *harness, what string) string {
	h.t.Helper()
	return h.take("final result for "+what, func(b []byte) int {
		if loc := smsFinalRE.FindIndex(b); loc != nil {
			return loc[1]
		}
		return -1
	})
}

// smsExpect runs line and fails unless the answer is want.
func smsExpect(h *harness, line, want string) {
	h.t.Helper()
	if got := smsCmd(h, line); got != want {
		h.t.Fatalf("%s answered %q, want %q", line, got, want)
	}
}

// smsExpectRE runs line and fails unless the answer matches re.
func smsExpectRE(h *harness, line, re string) []string {
	h.t.Helper()
	got := smsCmd(h, line)
	m := regexp.MustCompile(`^` + re + `$`).FindStringSubmatch(got)
	if m == nil {
		h.t.Fatalf("%s answered %q, want /%s/", line, got, re)
	}
	return m
}

// smsHookServer records the webhooks it gets.
type smsHookServer struct {
	srv *httptest.Server
	got chan url.Values
}

func newSMSHookServer(t *testing.T) *smsHookServer {
	h := &smsHookServer{got: make(chan url.Values, 32)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		v, _ := url.ParseQuery(string(raw))
		if r.Method == http.MethodGet {
			v = r.URL.Query()
		}
		h.got <- v
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *smsHookServer) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case v := <-h.got:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook within 20s")
		return nil
	}
}

func withSMSURL(u string) harnessOption {
	return withFleet(func(p *sim.FleetParams) { p.SmsCommandsURL = &u })
}

func (h *harness) smsCommand(payload, callback string) *sim.SmsCommand {
	h.t.Helper()
	m, err := h.ctl.CreateSmsCommand(h.ctx, h.acct, h.simSid, payload, callback, "")
	if err != nil {
		h.t.Fatalf("CreateSmsCommand: %v", err)
	}
	return m
}

func (h *harness) smsStatus(sid string) string {
	h.t.Helper()
	m, err := h.ctl.SmsCommand(h.acct, sid)
	if err != nil {
		h.t.Fatalf("SmsCommand: %v", err)
	}
	return m.Status
}

func (h *harness) fromSim() []*sim.SmsCommand {
	h.t.Helper()
	l, err := h.ctl.ListSmsCommands(h.acct, "", "", sim.DirectionFromSim)
	if err != nil {
		h.t.Fatalf("ListSmsCommands: %v", err)
	}
	return l
}

func TestSMSSettings(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ line, want string }{
		{"AT+CMGF?", "\r\n+CMGF: 0\r\n\r\nOK\r\n"},
		{"AT+CSMS?", "\r\n+CSMS: 0,1,1,1\r\n\r\nOK\r\n"},
		{"AT+CSMS=0", "\r\n+CSMS: 1,1,1\r\n\r\nOK\r\n"},
		{"AT+CPMS?", "\r\n+CPMS: \"SM\",0,20,\"SM\",0,20,\"SM\",0,20\r\n\r\nOK\r\n"},
		{"AT+CPMS=?", "\r\n+CPMS: (\"SM\",\"ME\"),(\"SM\",\"ME\"),(\"SM\",\"ME\")\r\n\r\nOK\r\n"},
		{`AT+CPMS="ME","ME","ME"`, "\r\n+CPMS: 0,50,0,50,0,50\r\n\r\nOK\r\n"},
		{`AT+CPMS="SM"`, "\r\n+CPMS: 0,20,0,50,0,50\r\n\r\nOK\r\n"},
		{`AT+CPMS="SM","SM","SM"`, "\r\n+CPMS: 0,20,0,20,0,20\r\n\r\nOK\r\n"},
		{`AT+CPMS="MT"`, "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CNMI?", "\r\n+CNMI: 2,1,0,0,0\r\n\r\nOK\r\n"},
		// BG96 AT Commands Manual §7.9 (AT+CNMI): status reports and broadcasts too.
		{"AT+CNMI=?", "\r\n+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)\r\n\r\nOK\r\n"},
		{"AT+CNMI=2,1,0,2,1", "\r\nOK\r\n"},
		{"AT+CNMI?", "\r\n+CNMI: 2,1,0,2,1\r\n\r\nOK\r\n"},
		{"AT+CNMI=2,1,2,1,0", "\r\nOK\r\n"},
		{"AT+CNMI=2,1,1,0,0", "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CNMI=2,1,0,3,0", "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CNMI=2,1,0,0,0", "\r\nOK\r\n"},
		{"AT+CNMI=1,2", "\r\nOK\r\n"},
		{"AT+CNMI?", "\r\n+CNMI: 1,2,0,0,0\r\n\r\nOK\r\n"},
		{"AT+CNMI=2,1,0,0,0", "\r\nOK\r\n"},
		{"AT+CNMI=3", "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CSCA?", "\r\n+CSCA: \"+15555550100\",145\r\n\r\nOK\r\n"},
		{`AT+CSCA="+447785016005",145`, "\r\nOK\r\n"},
		{"AT+CSCA?", "\r\n+CSCA: \"+447785016005\",145\r\n\r\nOK\r\n"},
		{`AT+CSCA="12ab"`, "\r\n+CMS ERROR: 305\r\n"},
		{"AT+CSMP?", "\r\n+CSMP: 17,167,0,0\r\n\r\nOK\r\n"},
		{"AT+CSMP=17,167,0,8", "\r\nOK\r\n"},
		{"AT+CSMP?", "\r\n+CSMP: 17,167,0,8\r\n\r\nOK\r\n"},
		{"AT+CSDH?", "\r\n+CSDH: 0\r\n\r\nOK\r\n"},
		{"AT+CSDH=1", "\r\nOK\r\n"},
		{"AT+CSDH?", "\r\n+CSDH: 1\r\n\r\nOK\r\n"},
		{"AT+CMGL=?", "\r\n+CMGL: (0-4)\r\n\r\nOK\r\n"},
		{"AT+CMGF=1;+CMGL=?", "\r\n+CMGL: (\"REC UNREAD\",\"REC READ\",\"STO UNSENT\",\"STO SENT\",\"ALL\")\r\n\r\nOK\r\n"},
		{"AT+CMGD=?", "\r\n+CMGD: (),(0-4)\r\n\r\nOK\r\n"},
		{"AT+CMGL", "\r\nOK\r\n"},
		{"AT+CNMA", "\r\nOK\r\n"},
		{`AT+CTZR=1;+CTZU=1;+CNMI=2,1;+CSMS=0;+CPMS="ME";+CSCA="+4477"`, "\r\n+CSMS: 1,1,1\r\n\r\n+CPMS: 0,50,0,20,0,20\r\n\r\nOK\r\n"},
	} {
		smsExpect(h, tc.line, tc.want)
	}
	// A power cycle restores the SMS settings (not the SIM's service centre).
	smsExpect(h, "AT+CFUN=1,1", "\r\nOK\r\n")
	h.waitURC("APP RDY")
	smsExpect(h, "ATE0", "ATE0\r\r\nOK\r\n")
	smsExpect(h, "AT+CNMI?;+CSDH?;+CSCA?", "\r\n+CNMI: 2,1,0,0,0\r\n\r\n+CSDH: 0\r\n\r\n+CSCA: \"+4477\",145\r\n\r\nOK\r\n")
}

// sctsRE is a service centre time stamp in UTC.
const sctsRE = `"\d\d/\d\d/\d\d,\d\d:\d\d:\d\d\+00"`

// An SMS Command reaches a registered modem as an SMS from 000: +CMTI, then
// read, listed and deleted in text mode; the command goes queued → sent →
// delivered, with callbacks.
func TestSMSReceiveTextMode(t *testing.T) {
	hook := newSMSHookServer(t)
	h := newHarness(t)
	smsExpect(h, "AT+CMGF=1", "\r\nOK\r\n")
	m := h.smsCommand("reboot now", hook.srv.URL+"/status")
	if m.Status != sim.CommandQueued {
		t.Fatalf("created %s, want queued", m.Status)
	}
	if got := h.waitURC("+CMTI:"); got != `+CMTI: "SM",0` {
		t.Fatalf("indication %q", got)
	}
	if got := h.smsStatus(m.Sid); got != sim.CommandDelivered {
		t.Fatalf("status %s after the modem stored it, want delivered", got)
	}
	calls := map[string]url.Values{} // callbacks go out in parallel: in any order
	for range 2 {
		v := hook.next(t)
		calls[v.Get("Status")] = v
	}
	for _, status := range []string{sim.CommandSent, sim.CommandDelivered} {
		v := calls[status]
		if v.Get("CommandSid") != m.Sid || v.Get("Payload") != "reboot now" || v.Get("Direction") != "to_sim" {
			t.Errorf("%s callback %v", status, v)
		}
	}
	smsExpectRE(h, "AT+CMGR=0", `\r\n\+CMGR: "REC UNREAD","000",,`+sctsRE+`\r\nreboot now\r\n\r\nOK\r\n`)
	smsExpectRE(h, "AT+CMGR=0", `\r\n\+CMGR: "REC READ","000",,`+sctsRE+`\r\nreboot now\r\n\r\nOK\r\n`)
	smsExpect(h, "AT+CSDH=1", "\r\nOK\r\n")
	smsExpectRE(h, "AT+CMGR=0", `\r\n\+CMGR: "REC READ","000",,`+sctsRE+`,129,\d+,0,0,"\+15555550100",145,10\r\nreboot now\r\n\r\nOK\r\n`)
	smsExpect(h, "AT+CSDH=0", "\r\nOK\r\n")

	h.smsCommand("second", "")
	if got := h.waitURC("+CMTI:"); got != `+CMTI: "SM",1` {
		t.Fatalf("indication %q", got)
	}
	smsExpect(h, "AT+CPMS?", "\r\n+CPMS: \"SM\",2,20,\"SM\",2,20,\"SM\",2,20\r\n\r\nOK\r\n")
	smsExpectRE(h, `AT+CMGL="REC UNREAD"`, `\r\n\+CMGL: 1,"REC UNREAD","000",,`+sctsRE+`\r\nsecond\r\n\r\nOK\r\n`)
	smsExpectRE(h, `AT+CMGL="ALL"`, `\r\n\+CMGL: 0,"REC READ","000",,`+sctsRE+`\r\nreboot now\r\n\+CMGL: 1,"REC READ","000",,`+sctsRE+`\r\nsecond\r\n\r\nOK\r\n`)
	smsExpect(h, "AT+CMGD=?", "\r\n+CMGD: (0,1),(0-4)\r\n\r\nOK\r\n")
	smsExpect(h, "AT+CMGD=0", "\r\nOK\r\n")
	smsExpect(h, "AT+CMGR=0", "\r\nOK\r\n") // an empty index
	smsExpect(h, "AT+CMGD=0,4", "\r\nOK\r\n")
	smsExpect(h, "AT+CPMS?", "\r\n+CPMS: \"SM\",0,20,\"SM\",0,20,\"SM\",0,20\r\n\r\nOK\r\n")

	// UCS2 as the TE character set shows the text as hex of UTF-16.
	smsExpect(h, `AT+CSCS="UCS2"`, "\r\nOK\r\n")
	h.smsCommand("Hi", "")
	h.waitURC("+CMTI:")
	smsExpectRE(h, "AT+CMGR=0", `\r\n\+CMGR: "REC UNREAD","000",,`+sctsRE+`\r\n00480069\r\n\r\nOK\r\n`)
}

// In PDU mode the message is the SMS-DELIVER a network sends, which a PDU
// library decodes to the payload from 000; a payload outside GSM 7-bit
// goes as UCS-2.
func TestSMSReceivePDUMode(t *testing.T) {
	h := newHarness(t)
	for i, payload := range []string{"led=on;interval=60", "température 21°C ✓"} {
		h.smsCommand(payload, "")
		if got, want := h.waitURC("+CMTI:"), fmt.Sprintf(`+CMTI: "SM",%d`, i); got != want {
			t.Fatalf("indication %q, want %q", got, want)
		}
		got := smsExpectRE(h, fmt.Sprintf("AT+CMGR=%d", i), `\r\n\+CMGR: 0,,(\d+)\r\n([0-9A-F]+)\r\n\r\nOK\r\n`)
		from, text, n := smsDecodeDeliver(t, got[2])
		if from != "000" || text != payload || fmt.Sprint(n) != got[1] {
			t.Fatalf("PDU %s decodes to %q from %q (TPDU %d octets, <length> %s), want %q from 000", got[2], text, from, n, got[1], payload)
		}
	}
	got := smsExpectRE(h, "AT+CMGL=4", `\r\n\+CMGL: 0,1,,\d+\r\n([0-9A-F]+)\r\n\+CMGL: 1,1,,\d+\r\n([0-9A-F]+)\r\n\r\nOK\r\n`)
	if _, text, _ := smsDecodeDeliver(t, got[2]); text != "température 21°C ✓" {
		t.Fatalf("listed %q", text)
	}
	smsExpect(h, "AT+CMGL=0", "\r\nOK\r\n")
}

// smsDecodeDeliver decodes a PDU mode SMS-DELIVER.
func smsDecodeDeliver(t *testing.T, h string) (from, text string, tpduLen int) {
	t.Helper()
	p, err := pdumode.UnmarshalHexString(h)
	if err != nil {
		t.Fatalf("PDU %s: %v", h, err)
	}
	d, err := sms.Unmarshal(p.TPDU)
	if err != nil {
		t.Fatalf("TPDU of %s: %v", h, err)
	}
	b, err := sms.Decode([]*tpdu.TPDU{d})
	if err != nil {
		t.Fatalf("user data of %s: %v", h, err)
	}
	return d.OA.Number(), string(b), len(p.TPDU)
}

// +CNMI=2,2 shows a new SMS at once (+CMT) without storing it.
func TestSMSDirectDelivery(t *testing.T) {
	h := newHarness(t)
	smsExpect(h, "AT+CNMI=2,2,0,0,0;+CMGF=1", "\r\nOK\r\n")
	h.smsCommand("direct", "")
	got := h.readUntil("direct\r\n")
	if !regexp.MustCompile(`\r\n\+CMT: "000",,` + sctsRE + `\r\ndirect\r\n$`).MatchString(got) {
		t.Fatalf("got %q", got)
	}
	smsExpect(h, "AT+CMGF=0", "\r\nOK\r\n")
	h.smsCommand("pdu", "")
	got = h.readUntil("+CMT: ,")
	m := regexp.MustCompile(`^(\d+)\r\n([0-9A-F]+)\r\n`).FindStringSubmatch(h.readUntil("\r\n") + h.readUntil("\r\n"))
	if m == nil {
		t.Fatalf("+CMT PDU form %q", got+h.unread())
	}
	if _, text, _ := smsDecodeDeliver(t, m[2]); text != "pdu" {
		t.Fatalf("+CMT carried %q", text)
	}
	smsExpect(h, "AT+CPMS?", "\r\n+CPMS: \"SM\",0,20,\"SM\",0,20,\"SM\",0,20\r\n\r\nOK\r\n")
	smsExpect(h, "AT+CNMI=0,0", "\r\nOK\r\n")
	h.smsCommand("silent", "")
	smsExpect(h, "AT+CPMS?", "\r\n+CPMS: \"SM\",1,20,\"SM\",1,20,\"SM\",1,20\r\n\r\nOK\r\n")
	if strings.Contains(h.unread(), "+CMTI") {
		t.Fatal("+CMTI with +CNMI=0,0")
	}
}

// AT+CMGS to 000 in text mode: the prompt, the text up to Ctrl-Z, +CMGS:
// <mr>; the Fleet's sms_commands_url gets the from_sim command.
func TestSMSSendTextMode(t *testing.T) {
	hook := newSMSHookServer(t)
	h := newHarness(t, withSMSURL(hook.srv.URL+"/mo"))
	smsExpect(h, "AT+CMGF=1", "\r\nOK\r\n")
	h.send(`AT+CMGS="000"` + "\r")
	h.expect("\r\n> ")
	h.send("status ok\x1a")
	if got := smsFinal(h, "AT+CMGS"); got != "\r\n+CMGS: 1\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CMGS answered %q", got)
	}
	v := hook.next(t)
	mo := h.fromSim()
	if len(mo) != 1 || mo[0].Payload != "status ok" || mo[0].Status != sim.CommandReceived {
		t.Fatalf("from_sim commands %+v", mo)
	}
	if v.Get("CommandSid") != mo[0].Sid || v.Get("Payload") != "status ok" || v.Get("Direction") != "from_sim" || v.Get("Status") != "received" || v.Get("SimSid") != h.simSid {
		t.Fatalf("webhook %v", v)
	}

	// The same, typed a byte at a time with echo on, a CRLF host.
	smsExpect(h, "ATE1", "\r\nOK\r\n")
	h.send(`AT+CMGS="+000"` + "\r\n")
	h.expect(`AT+CMGS="+000"` + "\r\r\n> ")
	for _, b := range []byte("bytewise\x1a") {
		h.send(string([]byte{b}))
	}
	if got := smsFinal(h, "AT+CMGS"); got != "bytewise\r\n+CMGS: 2\r\n\r\nOK\r\n" {
		t.Fatalf("AT+CMGS answered %q", got)
	}
	if v := hook.next(t); v.Get("Payload") != "bytewise" {
		t.Fatalf("webhook %v", v)
	}
}

// AT+CMGS in PDU mode takes an SMS-SUBMIT a PDU library encodes.
func TestSMSSendPDUMode(t *testing.T) {
	hook := newSMSHookServer(t)
	h := newHarness(t, withSMSURL(hook.srv.URL+"/mo"))
	for i, tc := range []struct{ to, text string }{
		{"000", "pdu hello"},
		{"000", "ünïcödé ✓"},
		// An encoder writes any number as international (type 145):
		// the digits are what the network routes on.
		{"+000", "international"},
	} {
		text := tc.text
		pdu, n := smsSubmitPDU(t, tc.to, text)
		if tc.to == "+000" && !strings.Contains(pdu, "0391") {
			t.Fatalf("PDU %s does not address +000 as international (03 91 ...)", pdu)
		}
		h.send(fmt.Sprintf("AT+CMGS=%d\r", n))
		h.expect("\r\n> ")
		h.send(pdu + "\x1a")
		if got, want := smsFinal(h, "AT+CMGS"), fmt.Sprintf("\r\n+CMGS: %d\r\n\r\nOK\r\n", i+1); got != want {
			t.Fatalf("AT+CMGS answered %q, want %q", got, want)
		}
		if v := hook.next(t); v.Get("Payload") != text {
			t.Fatalf("webhook %v, want payload %q", v, text)
		}
	}
	// Written by hand, with a service centre address: 000 as a national
	// (type 161) and an international (145) number, "hi" in GSM 7-bit.
	for i, pdu := range []string{"07914477000000F0" + "110003A100F00000AA02E834", "07914477000000F0" + "1100039100F00000AA02E834"} {
		h.send("AT+CMGS=12\r")
		h.expect("\r\n> ")
		h.send(pdu + "\x1a")
		if got, want := smsFinal(h, "AT+CMGS"), fmt.Sprintf("\r\n+CMGS: %d\r\n\r\nOK\r\n", i+4); got != want {
			t.Fatalf("AT+CMGS of %s answered %q, want %q", pdu, got, want)
		}
		if v := hook.next(t); v.Get("Payload") != "hi" {
			t.Fatalf("webhook %v, want payload hi", v)
		}
	}
}

// smsSubmitPDU is the PDU mode form of an SMS-SUBMIT (no service centre
// address) and its TPDU length.
func smsSubmitPDU(t testing.TB, to, text string) (string, int) {
	t.Helper()
	ts, err := sms.Encode([]byte(text), sms.To(to))
	if err != nil || len(ts) != 1 {
		t.Fatalf("encoding %q: %v (%d TPDUs)", text, err, len(ts))
	}
	b, err := ts[0].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return "00" + strings.ToUpper(hex.EncodeToString(b)), len(b)
}

// The errors of 27.005 §3.2.5, as +CMEE asks for them.
func TestSMSErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ line, want string }{
		{"AT+CMGR=20", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGR=-1", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGR=x", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGR", "\r\n+CMS ERROR: 302\r\n"},
		{"AT+CMGD=99", "\r\n+CMS ERROR: 321\r\n"},
		{"AT+CMGD=0,5", "\r\n+CMS ERROR: 303\r\n"},
		{"AT+CMGL=5", "\r\n+CMS ERROR: 304\r\n"},
		{`AT+CMGL="ALL"`, "\r\n+CMS ERROR: 304\r\n"},
		{"AT+CMGS=3", "\r\n+CMS ERROR: 304\r\n"},
		{"AT+CMGS", "\r\n+CMS ERROR: 304\r\n"},
		{"AT+CMGF=1;+CMGL=4", "\r\n+CMS ERROR: 305\r\n"},
		{"AT+CMGS", "\r\n+CMS ERROR: 305\r\n"},
		{`AT+CMGS="abc"`, "\r\n+CMS ERROR: 305\r\n"},
		{"AT+CMEE=2;+CMGR=20", "\r\n+CMS ERROR: invalid memory index\r\n"},
		{"AT+CMEE=0;+CMGR=20", "\r\nERROR\r\n"},
		{"AT+CMEE=1;+CMGR=20;+CSQ", "\r\n+CMS ERROR: 321\r\n"}, // the line stops at the error
	} {
		smsExpect(h, tc.line, tc.want)
	}
	send := func(line, body, want string) {
		t.Helper()
		h.send(line + "\r")
		h.expect("\r\n> ")
		h.send(body)
		if got := smsFinal(h, line); got != want {
			t.Fatalf("%s with %q answered %q, want %q", line, body, got, want)
		}
	}
	// The network takes SMS for 000 only.
	send(`AT+CMGS="+447700900123"`, "hello\x1a", "\r\n+CMS ERROR: 21\r\n")
	// Esc abandons the message.
	send(`AT+CMGS="000"`, "never\x1b", "\r\nOK\r\n")
	// Text over 160 characters.
	send(`AT+CMGS="000"`, strings.Repeat("x", 161)+"\x1a", "\r\n+CMS ERROR: 305\r\n")
	smsExpect(h, "AT+CMGF=0", "\r\nOK\r\n")
	pdu, n := smsSubmitPDU(t, "000", "x")
	send(fmt.Sprintf("AT+CMGS=%d", n+1), pdu+"\x1a", "\r\n+CMS ERROR: 304\r\n") // wrong length
	send(fmt.Sprintf("AT+CMGS=%d", n), "00ZZ\x1a", "\r\n+CMS ERROR: 304\r\n")   // not hex
	deliver, _ := smsSubmitPDU(t, "000", "x")
	send(fmt.Sprintf("AT+CMGS=%d", n), "0004"+deliver[4:]+"\x1a", "\r\n+CMS ERROR: 304\r\n") // an SMS-DELIVER
	if mo := h.fromSim(); len(mo) != 0 {
		t.Fatalf("refused messages created commands: %+v", mo)
	}
	// Off the network there is no service.
	smsExpect(h, "AT+COPS=2", "\r\nOK\r\n")
	send(fmt.Sprintf("AT+CMGS=%d", n), pdu+"\x1a", "\r\n+CMS ERROR: 331\r\n")
}

// A Fleet without SMS Commands: the network refuses the device's SMS and
// fails the commands for it.
func TestSMSFleetWithoutSMSCommands(t *testing.T) {
	off := false
	h := newHarness(t, withFleet(func(p *sim.FleetParams) { p.SmsCommandsEnabled = &off }))
	smsExpect(h, "AT+CMGF=1", "\r\nOK\r\n")
	h.send(`AT+CMGS="000"` + "\r")
	h.expect("\r\n> ")
	h.send("hi\x1a")
	if got := smsFinal(h, "AT+CMGS"); got != "\r\n+CMS ERROR: 50\r\n" {
		t.Fatalf("AT+CMGS answered %q", got)
	}
	m := h.smsCommand("hello", "")
	if got := h.smsStatus(m.Sid); got != sim.CommandFailed {
		t.Fatalf("status %s, want failed", got)
	}
	smsExpect(h, "AT+CPMS?", "\r\n+CPMS: \"SM\",0,20,\"SM\",0,20,\"SM\",0,20\r\n\r\nOK\r\n")
}

// A command for a modem off the network stays queued; the network tries
// again every minute and delivers once the modem has registered.
func TestSMSQueuedUntilRegistered(t *testing.T) {
	h := newHarness(t, withVClock())
	smsExpect(h, "AT+COPS=2", "\r\nOK\r\n")
	m := h.smsCommand("wake up", "")
	h.advance(10 * sim.SmsRetryInterval)
	if got := h.smsStatus(m.Sid); got != sim.CommandQueued {
		t.Fatalf("status %s while unregistered, want queued", got)
	}
	smsExpect(h, "AT+COPS=0", "\r\nOK\r\n")
	h.waitReg(RegRoaming)
	if got := h.smsStatus(m.Sid); got != sim.CommandQueued {
		t.Fatalf("status %s before the next attempt, want queued", got)
	}
	h.advance(sim.SmsRetryInterval)
	if got := h.waitURC("+CMTI:"); got != `+CMTI: "SM",0` {
		t.Fatalf("indication %q", got)
	}
	if got := h.smsStatus(m.Sid); got != sim.CommandDelivered {
		t.Fatalf("status %s, want delivered", got)
	}
}

// A full message storage refuses new SMS; the network keeps them and
// delivers when there is room again.
func TestSMSMemoryFull(t *testing.T) {
	h := newHarness(t, withVClock())
	for i := range 20 {
		h.smsCommand(fmt.Sprint("msg ", i), "")
		h.waitURC("+CMTI:")
	}
	m := h.smsCommand("one too many", "")
	h.advance(sim.SmsRetryInterval)
	if got := h.smsStatus(m.Sid); got != sim.CommandQueued {
		t.Fatalf("status %s with the storage full, want queued", got)
	}
	smsExpect(h, "AT+CMGD=7", "\r\nOK\r\n")
	h.advance(sim.SmsRetryInterval)
	if got := h.waitURC("+CMTI:"); got != `+CMTI: "SM",7` {
		t.Fatalf("indication %q", got)
	}
	smsExpect(h, "AT+CMGF=1", "\r\nOK\r\n")
	smsExpectRE(h, "AT+CMGR=7", `\r\n\+CMGR: "REC UNREAD","000",,`+sctsRE+`\r\none too many\r\n\r\nOK\r\n`)
}

// Five SMS Commands, to and from the SIM, move a ready Sim to active.
func TestSMSFiveCommandsActivateReadySim(t *testing.T) {
	h := newHarness(t, withSimStatus("ready"))
	status := func() sim.SimStatus {
		s, err := h.ctl.Sim(h.acct, h.simSid)
		if err != nil {
			t.Fatal(err)
		}
		return s.Status
	}
	for range 3 {
		h.smsCommand("ping", "")
		h.waitURC("+CMTI:")
	}
	smsExpect(h, "AT+CMGF=1", "\r\nOK\r\n")
	for i := range 2 {
		if got := status(); got != sim.StatusReady {
			t.Fatalf("after %d SMS the Sim is %v, want ready", 3+i, got)
		}
		h.send(`AT+CMGS="000"` + "\r")
		h.expect("\r\n> ")
		h.send("pong\x1a")
		smsFinal(h, "AT+CMGS")
	}
	if got := status(); got != sim.StatusActive {
		t.Fatalf("after 5 SMS the Sim is %v, want active", got)
	}
}

// smsPTY is a control plane with its REST API, a modem fleet on PTYs and
// a webhook receiver, all on loopback.
type smsPTY struct {
	t      *testing.T
	ctx    context.Context
	ctl    *sim.Control
	acct   *sim.Account
	api    *httptest.Server
	hook   *smsHookServer
	modems *Fleet
	sims   []*sim.Sim
}

const smsPTYWait = 20 * time.Second

func newSMSPTY(t *testing.T, n int) *smsPTY {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("sms", 4), sim.WithUpdateDelay(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	e := &smsPTY{t: t, ctx: ctx, ctl: ctl, acct: ctl.MainAccount(), hook: newSMSHookServer(t)}
	e.api = httptest.NewServer(api.New(ctl))
	t.Cleanup(e.api.Close)
	vf, _ := ctl.Catalog().ByPLMN(plmnVodafoneUK)
	nap, err := ctl.CreateNAP(ctx, e.acct, nil, []string{vf.Sid})
	if err != nil {
		t.Fatal(err)
	}
	hookURL := e.hook.srv.URL + "/mo"
	fl, err := ctl.CreateFleet(ctx, e.acct, sim.FleetParams{NetworkAccessProfile: &nap.Sid, SmsCommandsURL: &hookURL})
	if err != nil {
		t.Fatal(err)
	}
	var cards []sim.Card
	active := "active"
	for _, c := range ctl.Cards()[:n] {
		s, err := ctl.RegisterSim(ctx, e.acct, c.ICCID, c.RegistrationCode)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ctl.UpdateSim(ctx, e.acct, s.Sid, sim.SimParams{Status: &active, Fleet: &fl.Sid}); err != nil {
			t.Fatal(err)
		}
		e.sims, cards = append(e.sims, s), append(cards, c.Card)
	}
	e.eventually("Sims active", func() bool {
		for _, s := range e.sims {
			if cur, err := ctl.Sim(e.acct, s.Sid); err != nil || cur.Status != sim.StatusActive || cur.Pending != nil {
				return false
			}
		}
		return true
	})
	profile, err := ProfileByName("bg96")
	if err != nil {
		t.Fatal(err)
	}
	e.modems, err = StartFleet(ctx, FleetConfig{
		Cards: cards, Core: ctl, World: NewWorld(ctl.Catalog()), Profile: profile, Country: "GB",
		Timing: Timing{Boot: time.Millisecond, Scan: 10 * time.Millisecond, Attach: 5 * time.Millisecond, Data: 5 * time.Millisecond},
		Dir:    t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.modems.Close() })
	for i, md := range e.modems.Modems() {
		e.eventually(fmt.Sprintf("modem %d registered", i), func() bool { return md.Status().Reg == int(RegRoaming) })
	}
	return e
}

// eventually polls cond until it holds, failing after smsPTYWait.
func (e *smsPTY) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(smsPTYWait)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not a wait for an outcome
	}
}

// rest does one REST API request as the main account.
func (e *smsPTY) rest(method, path string, form url.Values, want int, out any) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.api.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(e.acct.Sid, e.acct.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// smsPort is the firmware's end of a modem's PTY.
type smsPort struct {
	t   *testing.T
	f   *os.File
	buf []byte
}

func openSMSPort(t *testing.T, path string) *smsPort {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &smsPort{t: t, f: f}
}

func (p *smsPort) write(s string) {
	p.t.Helper()
	if _, err := p.f.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// expect reads until want and returns the output up to and including it.
func (p *smsPort) expect(want string) string {
	p.t.Helper()
	if err := p.f.SetReadDeadline(time.Now().Add(smsPTYWait)); err != nil {
		p.t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if i := bytes.Index(p.buf, []byte(want)); i >= 0 {
			got := string(p.buf[:i+len(want)])
			p.buf = append([]byte(nil), p.buf[i+len(want):]...)
			return got
		}
		n, err := p.f.Read(chunk)
		p.buf = append(p.buf, chunk[:n]...)
		if err != nil {
			p.t.Fatalf("waiting for %q: %v; output %q", want, err, p.buf)
		}
	}
}

// cmd sends a command line and returns the answer up to final.
func (p *smsPort) cmd(line, final string) string {
	p.t.Helper()
	p.write(line + "\r")
	return p.expect(final)
}

// End to end over real HTTP and a real PTY: an SMS Command created with
// the REST API reaches the firmware as an SMS from 000, read in text and
// PDU mode; the firmware answers with AT+CMGS to 000 and the Fleet's
// webhook gets the from_sim command, which the REST API lists too.
func TestSMSPTYEndToEnd(t *testing.T) {
	e := newSMSPTY(t, 1)
	port := openSMSPort(t, e.modems.PTYPath(0))
	port.cmd("ATE0", "OK\r\n")
	port.cmd("AT+CMGF=1", "OK\r\n")

	var created struct{ Sid, Status, Direction string }
	e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {"fw=1.2.3 go"}}, http.StatusCreated, &created)
	if created.Status != "queued" || created.Direction != "to_sim" {
		t.Fatalf("created %+v", created)
	}
	port.expect("+CMTI: \"SM\",0\r\n")
	got := port.cmd("AT+CMGR=0", "OK\r\n")
	if !regexp.MustCompile(`\+CMGR: "REC UNREAD","000",,` + sctsRE + `\r\nfw=1\.2\.3 go\r\n`).MatchString(got) {
		t.Fatalf("text mode AT+CMGR=0: %q", got)
	}
	port.cmd("AT+CMGF=0", "OK\r\n")
	got = port.cmd("AT+CMGR=0", "OK\r\n")
	m := regexp.MustCompile(`\+CMGR: 1,,\d+\r\n([0-9A-F]+)\r\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("PDU mode AT+CMGR=0: %q", got)
	}
	if from, text, _ := smsDecodeDeliver(t, m[1]); from != "000" || text != "fw=1.2.3 go" {
		t.Fatalf("the PDU decodes to %q from %q", text, from)
	}
	var fetched struct{ Status string }
	e.rest(http.MethodGet, "/v1/SmsCommands/"+created.Sid, nil, http.StatusOK, &fetched)
	if fetched.Status != "delivered" {
		t.Fatalf("status %q, want delivered", fetched.Status)
	}

	// The reply, in PDU mode, then in text mode.
	pdu, n := smsSubmitPDU(t, "000", "fw ok")
	port.write(fmt.Sprintf("AT+CMGS=%d\r", n))
	port.expect("\r\n> ")
	port.write(pdu + "\x1a")
	port.expect("+CMGS: 1\r\n\r\nOK\r\n")
	if v := e.hook.next(t); v.Get("Payload") != "fw ok" || v.Get("Direction") != "from_sim" || v.Get("SimSid") != e.sims[0].Sid {
		t.Fatalf("webhook %v", v)
	}
	port.cmd("AT+CMGF=1", "OK\r\n")
	port.write(`AT+CMGS="000"` + "\r")
	port.expect("\r\n> ")
	port.write("text ok\x1a")
	port.expect("+CMGS: 2\r\n\r\nOK\r\n")
	if v := e.hook.next(t); v.Get("Payload") != "text ok" {
		t.Fatalf("webhook %v", v)
	}
	var list struct {
		SmsCommands []struct{ Payload, Status string } `json:"sms_commands"`
	}
	e.rest(http.MethodGet, "/v1/SmsCommands?Direction=from_sim", nil, http.StatusOK, &list)
	if len(list.SmsCommands) != 2 || list.SmsCommands[0].Payload != "fw ok" || list.SmsCommands[1].Status != "received" {
		t.Fatalf("from_sim list %+v", list.SmsCommands)
	}
}

// gammu reads the SMS a modem received, over its PTY.
func TestSMSGammu(t *testing.T) {
	gammu, err := exec.LookPath("gammu")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gammu is not installed (Debian package gammu): required under CI")
		}
		t.Skip("gammu is not installed (Debian package gammu)")
	}
	e := newSMSPTY(t, 1)
	for _, p := range []string{"first command", "zweite Nachricht äöü"} {
		e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {p}}, http.StatusCreated, nil)
	}
	e.eventually("both commands delivered", func() bool {
		l, err := e.ctl.ListSmsCommands(e.acct, "", sim.CommandDelivered, "")
		return err == nil && len(l) == 2
	})
	rc := filepath.Join(t.TempDir(), "gammurc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("[gammu]\ndevice = %s\nconnection = at\n", e.modems.PTYPath(0))), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gammu, "-c", rc, "getallsms").CombinedOutput()
	t.Logf("$ gammu getallsms\n%s", out)
	if err != nil {
		t.Fatalf("gammu getallsms: %v", err)
	}
	for _, want := range []string{"first command", "zweite Nachricht äöü", `"000"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("gammu getallsms shows no %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^2 SMS parts in 2 SMS sequences`).Match(out) {
		t.Errorf("gammu did not count 2 messages")
	}
}

// FuzzSMSPDU feeds arbitrary PDU mode input to the AT+CMGS decoder and
// arbitrary payloads through the SMS-DELIVER encoder: neither may panic,
// what the decoder accepts is a valid SMS Command, and every payload the
// API accepts comes back unchanged.
func FuzzSMSPDU(f *testing.F) {
	for _, s := range []string{"status ok", "ünïcödé ✓", "", strings.Repeat("y", 160)} {
		if s != "" {
			pdu, n := smsSubmitPDU(f, "000", s)
			f.Add(pdu, n, s)
		}
	}
	f.Add("0001000381000000000548656C6C6F", 15, "x")
	f.Add("07911614220991F111000B911605935713F20000AA05E8329BFD06", 26, "@£$¥")
	f.Add("zz", 1, "\x00")
	f.Fuzz(func(t *testing.T, pdu string, n int, payload string) {
		if to, text, err := parseSubmitPDU(pdu, n); err == nil {
			if text == "" || !utfValid(text) || len([]rune(text)) > sim.MaxSmsPayload || to == "" {
				t.Fatalf("accepted %q (%d) as %q to %q", pdu, n, text, to)
			}
		}
		if payload == "" || !utfValid(payload) || len([]rune(payload)) > sim.MaxSmsPayload {
			return
		}
		msgs, err := deliverPDUs(payload, harnessEpoch)
		if err != nil {
			t.Fatalf("payload %q: %v", payload, err)
		}
		for _, m := range msgs {
			if m.t.OA.Number() != "000" {
				t.Fatalf("from %q", m.t.OA.Number())
			}
		}
		if got := joinText(msgs); got != payload {
			t.Fatalf("payload %q came back as %q", payload, got)
		}
	})
}

func utfValid(s string) bool {
	return strings.ToValidUTF8(s, "\uFFFD") == s && !strings.ContainsRune(s, '\uFFFD')
}

// AT+CMGS from hosts ending command lines with CR, CR LF or LF, the message
// in the same write as the command or after the prompt, in text and PDU
// mode: the message is exactly what was typed, every time (the LF of a CR LF
// terminator is the terminator's, not the message's first character).
func TestSMSSendLineEndings(t *testing.T) {
	hook := newSMSHookServer(t)
	h := newHarness(t, withSMSURL(hook.srv.URL+"/mo"))
	smsExpect(h, "ATE0", "\r\nOK\r\n")
	mr := 0
	for _, pdu := range []bool{false, true} {
		mode := "AT+CMGF=1"
		if pdu {
			mode = "AT+CMGF=0"
		}
		smsExpect(h, mode, "\r\nOK\r\n")
		for _, end := range []string{"\r", "\r\n", "\n"} {
			for _, oneWrite := range []bool{false, true} {
				text := fmt.Sprintf("msg %q %v %v", end, pdu, oneWrite)
				cmd, body := `AT+CMGS="000"`+end, text+"\x1a"
				if pdu {
					hexPDU, n := smsSubmitPDU(t, "000", text)
					cmd, body = fmt.Sprintf("AT+CMGS=%d%s", n, end), hexPDU+"\x1a"
				}
				if oneWrite {
					h.send(cmd + body)
					h.expect("\r\n> ")
				} else {
					h.send(cmd)
					h.expect("\r\n> ")
					h.send(body)
				}
				mr++
				if got, want := smsFinal(h, "AT+CMGS"), fmt.Sprintf("\r\n+CMGS: %d\r\n\r\nOK\r\n", mr); got != want {
					t.Fatalf("%s: AT+CMGS answered %q, want %q", text, got, want)
				}
				if v := hook.next(t); v.Get("Payload") != text {
					t.Fatalf("%s: webhook payload %q", text, v.Get("Payload"))
				}
			}
		}
	}
}
