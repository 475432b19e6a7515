package modem_test

// Real AT clients against the virtual modems over PTYs: the Go library
// github.com/warthog618/modem, gammu and pppd's chat.

import (
	"bytes"
	"context"
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
