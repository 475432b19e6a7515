package modem_test

// Real AT clients against the virtual modems over PTYs: the Go library
// github.com/warthog618/modem, gammu, pppd's chat, smstools' smsd and the
// npm library serialport-gsm.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warthog618/modem/at"
	"github.com/warthog618/modem/gsm"

	"github.com/fleetsim/fleetsim/sim"
)

// ptyEnvCOPSEntry matches one operator of an AT+COPS=? answer.
var ptyEnvCOPSEntry = regexp.MustCompile(`\((\d),"([^"]*)","([^"]*)","(\d+)",(\d+)\)`)

// ptyEnvScan parses AT+COPS=? info lines into PLMN → stat.
func ptyEnvScan(t *testing.T, info []string) map[string]string {
	t.Helper()
	stats := map[string]string{}
	for _, l := range info {
		if !strings.HasPrefix(l, "+COPS: ") {
			continue
		}
		for _, m := range ptyEnvCOPSEntry.FindAllStringSubmatch(l, -1) {
			stats[m[4]] = m[1]
		}
	}
	if len(stats) == 0 {
		t.Fatalf("AT+COPS=? listed no operators: %q", info)
	}
	return stats
}

// ptyEnvCMEError is the code of a +CME ERROR the at package returned.
func ptyEnvCMEError(err error) string {
	var cme at.CMEError
	if errors.As(err, &cme) {
		return string(cme)
	}
	return ""
}

// TestPTYWarthogModem drives a modem with the warthog618/modem library:
// identification, a scan, an automatic attach, a rejection by a network
// the NAP does not allow, the NAP edited through the REST API and a manual
// attach that now succeeds, then the Fleet's data limit blocking and
// unblocking data.
func TestPTYWarthogModem(t *testing.T) {
	e := ptyEnvNew(t, 1)
	card := e.ctl.Cards()[0].Card
	port := ptyEnvOpenFile(t, e.modems.PTYPath(0))
	defer port.Close()
	a := at.New(port, at.WithTimeout(10*time.Second))
	g := gsm.New(a, gsm.WithNumericErrors)
	if err := g.Init(); err != nil {
		t.Fatalf("gsm Init: %v", err)
	}
	cmd := func(c string, opts ...at.CommandOption) []string {
		t.Helper()
		info, err := g.Command(c, opts...)
		if err != nil {
			t.Fatalf("AT%s: %v (info %q)", c, err, info)
		}
		return info
	}
	cmdErr := func(c, wantCME string) {
		t.Helper()
		info, err := g.Command(c)
		if got := ptyEnvCMEError(err); got != wantCME {
			t.Fatalf("AT%s = %q, %v; want +CME ERROR: %s", c, info, err, wantCME)
		}
	}
	one := func(c, want string) {
		t.Helper()
		if info := cmd(c); !slices.Equal(info, []string{want}) {
			t.Errorf("AT%s = %q, want [%q]", c, info, want)
		}
	}

	// Identification.
	one("+CGMI", "Quectel")
	one("+CGMM", "BG96")
	one("+CGMR", "BG96MAR02A07M1G")
	one("+CGSN", e.status(0).IMEI)
	one("+CIMI", card.IMSI)
	one("+QCCID", "+QCCID: "+card.ICCID)
	if e.status(0).IMEI == "" || card.IMSI == "" {
		t.Fatal("the modem has no IMEI or the card no IMSI")
	}

	// A scan: Vodafone UK serving, EE not allowed by the NAP.
	scanOpt := at.WithTimeout(30 * time.Second)
	stats := ptyEnvScan(t, cmd("+COPS=?", scanOpt))
	if stats["23415"] != "2" || stats["23430"] != "3" {
		t.Fatalf("AT+COPS=? stats %v, want 23415 current (2) and 23430 forbidden (3)", stats)
	}

	// Automatic attach.
	cmd("+COPS=0")
	ptyEnvEventually(t, "AT+CEREG? to show roaming (5)", func() bool {
		return slices.Equal(cmd("+CEREG?"), []string{"+CEREG: 0,5"})
	})
	if info := cmd("+COPS?"); len(info) != 1 || !strings.HasPrefix(info[0], "+COPS: 0,0,") {
		t.Fatalf("AT+COPS? = %q", info)
	}

	// EE is not in the NAP: the network rejects the attach with #11.
	cmdErr(`+COPS=1,2,"23430"`, "111")
	if f := e.status(0).Forbidden; !slices.Contains(f, "23430") {
		t.Fatalf("after the rejection Forbidden = %v, want 23430", f)
	}
	if stats := ptyEnvScan(t, cmd("+COPS=?", scanOpt)); stats["23430"] != "3" {
		t.Fatalf("after the rejection AT+COPS=? stats %v, want 23430 forbidden (3)", stats)
	}
	if info := cmd("+CEREG?"); !slices.Equal(info, []string{"+CEREG: 0,3"}) {
		t.Fatalf("after the rejection AT+CEREG? = %q, want denied", info)
	}
	// A network out of range is no network service (30), whatever the last
	// rejection was.
	cmdErr(`+COPS=1,2,"26202"`, "30")

	// The NAP allows EE, through the REST API; a manual attach to it works
	// and takes it off the forbidden list.
	e.rest(http.MethodPost, "/v1/NetworkAccessProfiles/"+e.nap.Sid+"/Networks", url.Values{"Network": {e.networkSid(ptyEnvEEGB)}}, http.StatusCreated, nil)
	var napNets struct {
		Networks []struct {
			Sid string `json:"sid"`
		} `json:"networks"`
	}
	e.rest(http.MethodGet, "/v1/NetworkAccessProfiles/"+e.nap.Sid+"/Networks", nil, http.StatusOK, &napNets)
	if len(napNets.Networks) != 2 {
		t.Fatalf("the NAP lists %+v, want Vodafone UK and EE", napNets.Networks)
	}
	cmd(`+COPS=1,2,"23430"`)
	if info := cmd("+CEREG?"); !slices.Equal(info, []string{"+CEREG: 0,5"}) {
		t.Fatalf("after the manual attach AT+CEREG? = %q", info)
	}
	if info := cmd("+COPS?"); !slices.Equal(info, []string{`+COPS: 1,2,"23430",8`}) {
		t.Fatalf("after the manual attach AT+COPS? = %q", info)
	}
	if f := e.status(0).Forbidden; slices.Contains(f, "23430") {
		t.Fatalf("EE is still forbidden while serving: %v", f)
	}

	// Data under the Fleet's 1 MB limit.
	cmd("+CGACT=1,1")
	if info := cmd("+CGPADDR=1"); len(info) != 1 || !strings.HasPrefix(info[0], `+CGPADDR: 1,"100.`) {
		t.Fatalf("AT+CGPADDR=1 = %q", info)
	}
	noCarrier := make(chan struct{}, 1)
	if err := a.AddIndication("NO CARRIER", func([]string) {
		select {
		case noCarrier <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if info := cmd("D*99#"); !slices.Equal(info, []string{"CONNECT"}) {
		t.Fatalf("ATD*99# = %q, want CONNECT", info)
	}
	// In data state every byte is traffic: more than the limit gets the
	// session dropped.
	payload := bytes.Repeat([]byte("x"), 1200*1024)
	if _, err := port.Write(payload); err != nil {
		t.Fatalf("writing data: %v", err)
	}
	select {
	case <-noCarrier:
	case <-time.After(ptyEnvWait):
		t.Fatalf("no NO CARRIER after %d bytes over a 1 MB limit (status %+v)", len(payload), e.status(0))
	}
	a.CancelIndication("NO CARRIER")
	cur, err := e.ctl.Sim(e.acct, e.sims[0].Sid)
	if err != nil {
		t.Fatal(err)
	}
	if cur.DataUsed < sim.MB {
		t.Fatalf("the Sim used %d bytes, want at least 1 MB", cur.DataUsed)
	}
	cmdErr("+CGACT=1,1", "133")
	if e.status(0).DataActive {
		t.Fatal("the data session is still active over the limit")
	}

	// A higher limit lets data through again.
	twoMB := 2
	if _, err := e.ctl.UpdateFleet(e.ctx, e.acct, e.fleet.Sid, sim.FleetParams{DataLimit: &twoMB}); err != nil {
		t.Fatalf("UpdateFleet: %v", err)
	}
	cmd("+CGACT=1,1")
	if !e.status(0).DataActive {
		t.Fatal("no data session after raising the limit")
	}
	if err := e.modems.Modems()[0].UseData(e.ctx, 1000, 1000); err != nil {
		t.Fatalf("UseData under the new limit: %v", err)
	}
}

// ptyEnvNeed finds a host tool, skipping the test without it unless CI is
// set, where it fails.
func ptyEnvNeed(t *testing.T, name, pkg string, extra ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range extra {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; .ci/run installs it)", name, pkg)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + ": required under CI")
	}
	t.Skip(msg)
	return ""
}

// ptyEnvRun runs a host tool with a deadline and returns its output.
func ptyEnvRun(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("$ %s (%v)\n%s", strings.Join(cmd.Args, " "), time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	return string(out)
}

// TestPTYGammu identifies the modem and reads its network with gammu's AT
// driver.
func TestPTYGammu(t *testing.T) {
	gammu := ptyEnvNeed(t, "gammu", "gammu")
	e := ptyEnvNew(t, 1)
	card := e.ctl.Cards()[0].Card
	rc := filepath.Join(t.TempDir(), "gammurc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("[gammu]\ndevice = %s\nconnection = at\n", e.modems.PTYPath(0))), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return ptyEnvRun(t, exec.CommandContext(ctx, gammu, append([]string{"-c", rc}, args...)...))
	}
	field := func(out, name, wantRE string) {
		t.Helper()
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*: (.*)$`)
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Errorf("gammu shows no %q in:\n%s", name, out)
			return
		}
		if !regexp.MustCompile(wantRE).MatchString(m[1]) {
			t.Errorf("gammu %s = %q, want /%s/", name, m[1], wantRE)
		}
	}

	out := run("--identify")
	field(out, "Manufacturer", `^Quectel$`)
	field(out, "Model", `\bBG96\b`)
	field(out, "IMEI", `^`+e.status(0).IMEI+`$`)
	field(out, "SIM IMSI", `^`+card.IMSI+`$`)

	out = run("networkinfo")
	field(out, "Network state", `^roaming network$`)
	field(out, "Network", `^234 15\b`)
	field(out, "Packet network state", `^roaming network$`)
	field(out, "GPRS", `^attached$`)
}

// TestPTYChat dials a data session with pppd's chat, as a PPP setup does.
func TestPTYChat(t *testing.T) {
	chat := ptyEnvNeed(t, "chat", "ppp", "/usr/sbin/chat", "/sbin/chat")
	e := ptyEnvNew(t, 1)
	port := ptyEnvOpenFile(t, e.modems.PTYPath(0))
	defer port.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// -s sends the -v log to stderr instead of syslog, for the test log.
	c := exec.CommandContext(ctx, chat, "-s", "-v", "-t", "10", "", "AT", "OK", `AT+CGDCONT=1,"IP","super"`, "OK", "ATD*99#", "CONNECT")
	c.Stdin, c.Stdout = port, port
	var stderr bytes.Buffer
	c.Stderr = &stderr
	start := time.Now()
	err := c.Run()
	t.Logf("$ %s (%v)\n%s", strings.Join(c.Args, " "), time.Since(start).Round(time.Millisecond), stderr.String())
	if err != nil {
		t.Fatalf("chat did not reach CONNECT: %v", err)
	}
	if st := e.status(0); !st.DataActive {
		t.Fatalf("after CONNECT the modem has no data session: %+v", st)
	}
}

// ptyEnvProcess starts a long-running host tool in its own process group,
// so that it and every process it forks end with the test.
func ptyEnvProcess(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
}

// fromSim is the payloads of the from_sim SMS Commands so far.
func (e *ptyEnv) fromSim() []string {
	e.t.Helper()
	l, err := e.ctl.ListSmsCommands(e.acct, "", "", sim.DirectionFromSim)
	if err != nil {
		e.t.Fatalf("ListSmsCommands: %v", err)
	}
	var p []string
	for _, m := range l {
		p = append(p, m.Payload)
	}
	return p
}

// smsCommand creates an SMS Command to SIM 0 through the REST API and
// returns its SID.
func (e *ptyEnv) smsCommand(payload string) string {
	e.t.Helper()
	var created struct{ Sid string }
	e.rest(http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {e.sims[0].Sid}, "Payload": {payload}}, http.StatusCreated, &created)
	return created.Sid
}

// smsStatus is an SMS Command's status.
func (e *ptyEnv) smsStatus(sid string) string {
	e.t.Helper()
	m, err := e.ctl.SmsCommand(e.acct, sid)
	if err != nil {
		e.t.Fatalf("SmsCommand %s: %v", sid, err)
	}
	return m.Status
}

// TestPTYSmsd runs smstools' smsd, the SMS gateway daemon, on a modem: a
// message file in its outgoing spool becomes an SMS to 000 (a from_sim SMS
// Command), and an SMS Command becomes a file in its incoming spool. smsd
// sends in PDU mode (AT+CMGS=<length>), polls the storage with AT+CPMS?
// and reads and deletes with AT+CMGR/AT+CMGD.
func TestPTYSmsd(t *testing.T) {
	smsd := ptyEnvNeed(t, "smsd", "smstools", "/usr/sbin/smsd")
	e := ptyEnvNew(t, 1)
	dir := t.TempDir()
	spool := map[string]string{}
	for _, s := range []string{"outgoing", "checked", "incoming", "failed", "sent", "stats"} {
		spool[s] = filepath.Join(dir, s)
		if err := os.Mkdir(spool[s], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// memory_start = 0: the BG96 numbers its SM storage from 0 (smsd's
	// default is 1). delaytime = 1: poll every second, not every ten.
	conf := filepath.Join(dir, "smsd.conf")
	logFile := filepath.Join(dir, "smsd.log")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `devices = GSM1
outgoing = %s
checked = %s
incoming = %s
failed = %s
sent = %s
stats = %s
logfile = %s
loglevel = 7
infofile = %s
pidfile = %s
delaytime = 1

[GSM1]
device = %s
incoming = yes
baudrate = 115200
memory_start = 0
`, spool["outgoing"], spool["checked"], spool["incoming"], spool["failed"], spool["sent"], spool["stats"],
		logFile, filepath.Join(dir, "smsd.working"), filepath.Join(dir, "smsd.pid"), e.modems.PTYPath(0)), 0o644); err != nil {
		t.Fatal(err)
	}
	outFile := filepath.Join(dir, "smsd.out")
	// Registered before the process starts, so it runs after smsd ends.
	t.Cleanup(func() {
		for _, f := range []string{outFile, logFile} {
			if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
				t.Logf("%s:\n%s", filepath.Base(f), b)
			}
		}
	})

	// smsd takes only whole files: write the message aside, then move it
	// into the spool. "s" marks a short number (type of address unknown);
	// without it smsd writes the number as international.
	tmp := filepath.Join(dir, "to-000")
	if err := os.WriteFile(tmp, []byte("To: s000\n\nhello from smsd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(spool["outgoing"], "to-000")); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	c := exec.Command(smsd, "-c"+conf, "-t")
	c.Stdout, c.Stderr = out, out
	ptyEnvProcess(t, c)

	ptyEnvEventuallyf(t, func() string { return fmt.Sprintf("the SMS to 000 from smsd (from_sim %q)", e.fromSim()) }, func() bool {
		return slices.Equal(e.fromSim(), []string{"hello from smsd"})
	})
	ptyEnvEventually(t, "smsd to move the message to its sent spool", func() bool {
		_, err := os.Stat(filepath.Join(spool["sent"], "to-000"))
		return err == nil
	})

	sid := e.smsCommand("reboot now")
	var got string
	ptyEnvEventually(t, "the SMS Command in smsd's incoming spool", func() bool {
		ents, err := os.ReadDir(spool["incoming"])
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range ents {
			b, err := os.ReadFile(filepath.Join(spool["incoming"], ent.Name()))
			if err == nil && bytes.Contains(b, []byte("From: 000\n")) {
				got = string(b)
				return true
			}
		}
		return false
	})
	if _, body, _ := strings.Cut(got, "\n\n"); body != "reboot now" {
		t.Errorf("smsd's incoming file has body %q, want %q:\n%s", body, "reboot now", got)
	}
	if st := e.smsStatus(sid); st != sim.CommandDelivered {
		t.Errorf("the SMS Command is %q, want delivered", st)
	}
	if ents, _ := os.ReadDir(spool["failed"]); len(ents) != 0 {
		t.Errorf("smsd's failed spool has %d files", len(ents))
	}
}

// TestPTYSerialportGSM drives a modem with the npm library serialport-gsm
// (testdata/serialport-gsm/client.js): initialisation, PDU mode,
// AT+CNMI=2,1,0,2,1, an SMS to 000 (node-pdu writes 000 as an
// international number, type 145), then an SMS Command announced with
// +CMTI and read with AT+CMGR.
func TestPTYSerialportGSM(t *testing.T) {
	node := ptyEnvNeed(t, "node", "nodejs")
	dir := filepath.Join("testdata", "serialport-gsm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "serialport-gsm", "package.json")); err != nil {
		msg := "modem/testdata/serialport-gsm/node_modules is missing: run npm ci there (.ci/run does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + ": required under CI")
		}
		t.Skip(msg)
	}
	e := ptyEnvNew(t, 1)
	c := exec.Command(node, "client.js", e.modems.PTYPath(0), "hello from serialport-gsm")
	c.Dir = dir
	var stderr bytes.Buffer
	c.Stderr = &stderr
	// Registered before the process starts, so it runs after node ends.
	t.Cleanup(func() { t.Logf("client.js stderr (serialport-gsm's log):\n%s", stderr.String()) })
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout = w
	ptyEnvProcess(t, c)
	w.Close()
	lines, done := make(chan string), make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		defer r.Close()
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
	}()
	type event struct{ Event, Step, Sender, Message, Response string }
	next := func(want string) event {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("client.js ended before %q", want)
			}
			var ev event
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("client.js printed %q: %v", l, err)
			}
			if ev.Event != want {
				t.Fatalf("client.js: %s, want event %q", l, want)
			}
			return ev
		case <-time.After(ptyEnvWait):
			t.Fatalf("no %q from client.js in %v", want, ptyEnvWait)
		}
		return event{}
	}
	next("initialized")
	next("cnmi")
	next("sent")
	if got := e.fromSim(); !slices.Equal(got, []string{"hello from serialport-gsm"}) {
		t.Fatalf("from_sim SMS Commands %q", got)
	}
	sid := e.smsCommand("reboot now")
	if ev := next("message"); ev.Sender != "000" || ev.Message != "reboot now" {
		t.Fatalf("serialport-gsm read %+v, want %q from 000", ev, "reboot now")
	}
	if st := e.smsStatus(sid); st != sim.CommandDelivered {
		t.Errorf("the SMS Command is %q, want delivered", st)
	}
}
