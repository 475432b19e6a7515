package modem_test

// Tests over real pseudo-terminals: a fleet of virtual modems backed by a
// real control plane, driven through the slave side of each PTY as a
// device's firmware or a host tool would. Helpers are prefixed ptyEnv.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

// ptyEnvTiming is short wall-clock timing: the procedures still take time
// and overlap with what the host does, but a test runs in milliseconds.
var ptyEnvTiming = modem.Timing{Boot: time.Millisecond, Scan: 20 * time.Millisecond, Attach: 10 * time.Millisecond, Data: 5 * time.Millisecond}

// ptyEnvWait bounds every wait for a condition; generous for -race on a busy machine.
const ptyEnvWait = 20 * time.Second

// The catalog networks the tests use, by PLMN.
var (
	ptyEnvVodafoneGB = sim.PLMN{MCC: "234", MNC: "15"}
	ptyEnvEEGB       = sim.PLMN{MCC: "234", MNC: "30"}
	ptyEnvVodafoneDE = sim.PLMN{MCC: "262", MNC: "02"}
)

// ptyEnv is a control plane, its REST API over real HTTP and a fleet of
// modems on PTYs whose SIMs are active in one Fleet.
type ptyEnv struct {
	t      *testing.T
	ctx    context.Context
	ctl    *sim.Control
	acct   *sim.Account
	nap    *sim.NAP
	fleet  *sim.Fleet // the control plane's Fleet every SIM is in
	sims   []*sim.Sim
	modems *modem.Fleet
	api    *httptest.Server
}

// ptyEnvNew starts n modems in GB whose SIMs are active in a Fleet with a
// 1 MB data limit and a NAP allowing Vodafone UK only, and waits until
// every modem is registered (roaming) on it.
// Options change the fleet's configuration before it starts.
func ptyEnvNew(t *testing.T, n int, opts ...func(*modem.FleetConfig)) *ptyEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("pty", 10), sim.WithUpdateDelay(20*time.Millisecond), sim.WithLimitPropagation(0))
	if err != nil {
		t.Fatalf("sim.New: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })
	e := &ptyEnv{t: t, ctx: ctx, ctl: ctl, acct: ctl.MainAccount()}
	e.api = httptest.NewServer(api.New(ctl))
	t.Cleanup(e.api.Close)

	e.nap, err = ctl.CreateNAP(ctx, e.acct, nil, []string{e.networkSid(ptyEnvVodafoneGB)})
	if err != nil {
		t.Fatalf("CreateNAP: %v", err)
	}
	oneMB := 1
	e.fleet, err = ctl.CreateFleet(ctx, e.acct, sim.FleetParams{NetworkAccessProfile: &e.nap.Sid, DataLimit: &oneMB})
	if err != nil {
		t.Fatalf("CreateFleet: %v", err)
	}
	cards := ctl.Cards()[:n]
	simCards := make([]sim.Card, n)
	active := "active"
	for i, c := range cards {
		simCards[i] = c.Card
		s, err := ctl.RegisterSim(ctx, e.acct, c.ICCID, c.RegistrationCode)
		if err != nil {
			t.Fatalf("RegisterSim %s: %v", c.ICCID, err)
		}
		if _, _, err := ctl.UpdateSim(ctx, e.acct, s.Sid, sim.SimParams{Status: &active, Fleet: &e.fleet.Sid}); err != nil {
			t.Fatalf("UpdateSim %s: %v", s.Sid, err)
		}
		e.sims = append(e.sims, s)
	}
	for _, s := range e.sims {
		ptyEnvEventually(t, "Sim "+s.Sid+" active", func() bool {
			cur, err := ctl.Sim(e.acct, s.Sid)
			return err == nil && cur.Status == sim.StatusActive && cur.Pending == nil
		})
	}

	profile, err := modem.ProfileByName("bg96")
	if err != nil {
		t.Fatal(err)
	}
	cfg := modem.FleetConfig{
		Cards: simCards, Core: ctl, World: modem.NewWorld(ctl.Catalog()), Profile: profile,
		Country: "GB", Timing: ptyEnvTiming, Dir: t.TempDir(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.modems, err = modem.StartFleet(ctx, cfg)
	if err != nil {
		t.Fatalf("StartFleet: %v", err)
	}
	t.Cleanup(func() { e.modems.Close() })
	for i := range n {
		e.waitStatus(i, "registered on Vodafone UK", func(s modem.Status) bool {
			return s.Reg == int(modem.RegRoaming) && s.PLMN == ptyEnvVodafoneGB.String()
		})
	}
	return e
}

// networkSid is the catalog Network with this PLMN.
func (e *ptyEnv) networkSid(p sim.PLMN) string {
	e.t.Helper()
	nw, ok := e.ctl.Catalog().ByPLMN(p)
	if !ok {
		e.t.Fatalf("no catalog network has PLMN %s", p)
	}
	return nw.Sid
}

// status is modem i's status.
func (e *ptyEnv) status(i int) modem.Status { return e.modems.Modems()[i].Status() }

// waitStatus waits until modem i's status satisfies cond.
func (e *ptyEnv) waitStatus(i int, what string, cond func(modem.Status) bool) modem.Status {
	e.t.Helper()
	var last modem.Status
	ptyEnvEventuallyf(e.t, func() string { return fmt.Sprintf("modem %d %s (last status %+v)", i, what, last) }, func() bool {
		last = e.status(i)
		return cond(last)
	})
	return last
}

// rest calls the Super SIM REST API over HTTP as the main account and
// decodes the JSON answer into out (if not nil), failing unless the
// status is want.
func (e *ptyEnv) rest(method, path string, form url.Values, want int, out any) {
	e.t.Helper()
	ptyEnvHTTP(e.t, e.api.URL+path, method, form, e.acct, want, out)
}

// ptyEnvHTTP does one form-encoded request and checks its status.
func ptyEnvHTTP(t *testing.T, u, method string, form url.Values, acct *sim.Account, want int, out any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	ctx, cancel := context.WithTimeout(context.Background(), ptyEnvWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if acct != nil {
		req.SetBasicAuth(acct.Sid, acct.AuthToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, u, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, u, b, err)
		}
	}
}

// ptyEnvEventually polls cond until it holds, failing after ptyEnvWait.
func ptyEnvEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ptyEnvEventuallyf(t, func() string { return what }, cond)
}

func ptyEnvEventuallyf(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ptyEnvWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", ptyEnvWait, what())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ptyEnvOpenFile opens a PTY's slave as a host opens a module's UART.
func ptyEnvOpenFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	return f
}

// ptyEnvPort is a raw host-side connection to a modem: writes go to the
// slave, reads are matched against expected text with a deadline.
type ptyEnvPort struct {
	t    *testing.T
	f    *os.File
	path string
	buf  []byte // output read but not yet consumed by expect
}

func ptyEnvOpen(t *testing.T, path string) *ptyEnvPort {
	t.Helper()
	p := &ptyEnvPort{t: t, f: ptyEnvOpenFile(t, path), path: path}
	t.Cleanup(func() { p.f.Close() })
	return p
}

func (p *ptyEnvPort) write(b []byte) {
	p.t.Helper()
	if _, err := p.f.Write(b); err != nil {
		p.t.Fatalf("writing to %s: %v", p.path, err)
	}
}

// expect reads until the output contains want and returns the output up
// to and including it; what follows stays for the next expect.
func (p *ptyEnvPort) expect(want string) string {
	p.t.Helper()
	deadline := time.Now().Add(ptyEnvWait)
	if err := p.f.SetReadDeadline(deadline); err != nil {
		p.t.Fatalf("%s: SetReadDeadline: %v", p.path, err)
	}
	chunk := make([]byte, 4096)
	for {
		if i := bytes.Index(p.buf, []byte(want)); i >= 0 {
			got := string(p.buf[:i+len(want)])
			p.buf = slices.Clone(p.buf[i+len(want):])
			return got
		}
		n, err := p.f.Read(chunk)
		p.buf = append(p.buf, chunk[:n]...)
		if err != nil {
			p.t.Fatalf("%s: waiting for %q: %v; output so far (last 512 bytes): %q", p.path, want, err, ptyEnvTail(p.buf, 512))
		}
	}
}

// cmd sends one command line (echo on) and returns the response up to and
// including the final result code final.
func (p *ptyEnvPort) cmd(line, final string) string {
	p.t.Helper()
	p.write([]byte(line + "\r"))
	p.expect(line + "\r") // the echo
	return p.expect("\r\n" + final + "\r\n")
}

func (p *ptyEnvPort) close() {
	p.t.Helper()
	if err := p.f.Close(); err != nil {
		p.t.Fatalf("closing %s: %v", p.path, err)
	}
}

func ptyEnvTail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestPTYReopen opens the port, talks, closes it and reopens it 20 times:
// the modem answers every time and keeps its state across opens.
func TestPTYReopen(t *testing.T) {
	e := ptyEnvNew(t, 1)
	path := e.modems.Link(0)
	if path == "" {
		t.Fatal("the fleet made no symlink in Dir")
	}
	for i := range 20 {
		p := ptyEnvOpen(t, path)
		if i > 0 {
			// What the previous open set is still there.
			if got := p.cmd("ATS7?", "OK"); !strings.Contains(got, fmt.Sprintf("\r\n%03d\r\n", 20+i-1)) {
				t.Fatalf("open %d: ATS7? answered %q, want %03d", i, got, 20+i-1)
			}
		}
		p.cmd(fmt.Sprintf("ATS7=%d", 20+i), "OK")
		if got := p.cmd("AT+CGMM", "OK"); !strings.Contains(got, "\r\nBG96\r\n") {
			t.Fatalf("open %d: AT+CGMM answered %q", i, got)
		}
		if got := p.cmd("AT+CEREG?", "OK"); !strings.Contains(got, "+CEREG: 0,5\r\n") {
			t.Fatalf("open %d: AT+CEREG? answered %q", i, got)
		}
		p.close()
	}
}

// TestPTYGarbage writes 4 KB of random bytes, NULs included, and the modem
// still answers AT with OK.
func TestPTYGarbage(t *testing.T) {
	e := ptyEnvNew(t, 1)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("AT", "OK")

	rng := rand.New(rand.NewChaCha8([32]byte{'f', 'l', 'e', 'e', 't', 's', 'i', 'm'}))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
		if i%64 == 0 {
			garbage[i] = 0
		}
	}
	// Random bytes rarely hold "AT": plant some, so the garbage also starts
	// command lines the modem has to parse (and reject) as garbage.
	for _, at := range []int{100, 1000, 2000, 3000, 4000} {
		copy(garbage[at:], "AT")
	}
	if bytes.IndexByte(garbage, 0) < 0 {
		t.Fatal("the garbage has no NUL")
	}
	// Whatever the garbage started ends at the first CR; then the modem must
	// be back in command state.
	p.write(garbage)
	p.write([]byte("\r"))
	p.write([]byte("AT\r"))
	got := p.expect("AT\r\r\nOK\r\n")
	if !strings.Contains(got, "\r\nERROR\r\n") {
		t.Errorf("the garbage command lines were not answered ERROR: %q", got)
	}
	// And it still works: a setting is set and read back.
	p.cmd("ATS7=77", "OK")
	if got := p.cmd("ATS7?", "OK"); !strings.Contains(got, "\r\n077\r\n") {
		t.Fatalf("ATS7? after the garbage answered %q", got)
	}
}

// TestPTYLongLine sends a 64 KB command line: ERROR, then AT answers OK.
func TestPTYLongLine(t *testing.T) {
	e := ptyEnvNew(t, 1)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("AT", "OK")

	line := "AT+" + strings.Repeat("X", 64*1024) + "\r"
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() { // the modem echoes while the host writes: read concurrently
		defer wg.Done()
		_, werr = p.f.Write([]byte(line))
	}()
	got := p.expect("\r\nERROR\r\n")
	wg.Wait()
	if werr != nil {
		t.Fatalf("writing the long line: %v", werr)
	}
	// The echo stops at the cap: the modem echoes "AT" and at most MaxLine body bytes.
	if n := strings.Count(got, "X"); n > modem.MaxLine {
		t.Errorf("the modem echoed %d body bytes of the long line, more than MaxLine %d", n, modem.MaxLine)
	}
	p.cmd("AT", "OK")
	if got := p.cmd("AT+CGMI", "OK"); !strings.Contains(got, "\r\nQuectel\r\n") {
		t.Fatalf("AT+CGMI after the long line answered %q", got)
	}
}

// TestPTYControlEndpoints drives the simulator's modem controls over HTTP
// and watches the modems follow: a move to a country the NAP does not
// cover, a NAP that then covers it, no coverage, a network outage and a
// power cycle that clears the forbidden networks.
func TestPTYControlEndpoints(t *testing.T) {
	e := ptyEnvNew(t, 2)
	srv := httptest.NewServer(e.modems.Handler("/_fleetsim/v1/"))
	t.Cleanup(srv.Close)
	ctl := func(path string, form url.Values) modem.ModemStatus {
		t.Helper()
		var st modem.ModemStatus
		ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/"+path, http.MethodPost, form, nil, http.StatusOK, &st)
		return st
	}
	get := func(i int) modem.ModemStatus {
		t.Helper()
		var st modem.ModemStatus
		ptyEnvHTTP(t, fmt.Sprintf("%s/_fleetsim/v1/modems/%d", srv.URL, i), http.MethodGet, nil, nil, http.StatusOK, &st)
		return st
	}
	waitGet := func(i int, what string, cond func(modem.ModemStatus) bool) modem.ModemStatus {
		t.Helper()
		var last modem.ModemStatus
		ptyEnvEventuallyf(t, func() string { return fmt.Sprintf("modem %d %s (last %+v)", i, what, last) }, func() bool {
			last = get(i)
			return cond(last)
		})
		return last
	}
	registeredOn := func(p sim.PLMN) func(modem.ModemStatus) bool {
		return func(s modem.ModemStatus) bool { return s.Reg == int(modem.RegRoaming) && s.PLMN == p.String() }
	}
	vodafoneGB := e.networkSid(ptyEnvVodafoneGB)

	// The list shows both modems with their PTYs.
	var list struct {
		Modems []modem.ModemStatus `json:"modems"`
	}
	ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/modems", http.MethodGet, nil, nil, http.StatusOK, &list)
	if len(list.Modems) != 2 || list.Modems[0].PTY != e.modems.PTYPath(0) || list.Modems[1].ICCID != e.sims[1].ICCID {
		t.Fatalf("GET modems = %+v", list.Modems)
	}

	// A host on modem 0's port sees the registration changes as URCs.
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("AT+CEREG=3", "OK")

	// Vodafone UK goes down: modem 0 leaves it; the NAP allows no other GB
	// network, so it ends up denied.
	ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/networks/"+vodafoneGB, http.MethodPost, url.Values{"Down": {"true"}}, nil, http.StatusOK, nil)
	p.expect("+CEREG: 2\r\n") // searching: it left the network
	waitGet(0, "off the network after the outage", func(s modem.ModemStatus) bool {
		// Denied if it had to try (and be rejected by) other GB networks
		// now, not registered if they were all forbidden since boot.
		return (s.Reg == int(modem.RegDenied) || s.Reg == int(modem.RegNotRegistered)) && s.PLMN == ""
	})
	// Back up: it returns.
	ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/networks/"+vodafoneGB, http.MethodPost, url.Values{"Down": {"false"}}, nil, http.StatusOK, nil)
	p.expect("+CEREG: 5,")
	waitGet(0, "back on Vodafone UK", registeredOn(ptyEnvVodafoneGB))
	waitGet(1, "back on Vodafone UK", registeredOn(ptyEnvVodafoneGB))

	// Modem 0 moves to DE, where the NAP allows nothing: it deregisters and
	// every DE network rejects it.
	if st := ctl("modems/0", url.Values{"Location": {"DE"}}); st.Country != "DE" || st.Reg == int(modem.RegRoaming) {
		t.Fatalf("after the move modem 0 is %+v, want in DE and not registered", st)
	}
	deNets := e.ctl.Catalog().InCountry("DE")
	st := waitGet(0, "denied everywhere in DE", func(s modem.ModemStatus) bool {
		return s.Reg == int(modem.RegDenied) && len(s.Forbidden) >= len(deNets)
	})
	for _, n := range deNets {
		if !slices.Contains(st.Forbidden, n.Identifiers[0].String()) {
			t.Errorf("modem 0 forbidden %v lacks DE network %s", st.Forbidden, n.Identifiers[0])
		}
	}

	// The NAP now allows Vodafone DE (through the REST API). Modem 1 moves
	// to DE and registers there.
	e.rest(http.MethodPost, "/v1/NetworkAccessProfiles/"+e.nap.Sid+"/Networks", url.Values{"Network": {e.networkSid(ptyEnvVodafoneDE)}}, http.StatusCreated, nil)
	ctl("modems/1", url.Values{"Location": {"DE"}})
	waitGet(1, "registered on Vodafone DE", registeredOn(ptyEnvVodafoneDE))

	// No coverage: modem 1 loses the network.
	if st := ctl("modems/1", url.Values{"Signal": {"0"}}); st.Reg == int(modem.RegRoaming) || st.PLMN != "" {
		t.Fatalf("with Signal=0 modem 1 is %+v, want not registered", st)
	}
	waitGet(1, "not registered without coverage", func(s modem.ModemStatus) bool {
		return s.Reg == int(modem.RegNotRegistered) && s.PLMN == "" && s.Signal == 99
	})
	ctl("modems/1", url.Values{"Signal": {"-1"}})
	waitGet(1, "back on Vodafone DE with natural signal", registeredOn(ptyEnvVodafoneDE))

	// Modem 0 keeps its forbidden list (automatic selection skips Vodafone
	// DE) until a power cycle clears it. Without coverage during the cycle
	// nothing can be rejected again, so the list stays empty.
	ctl("modems/0", url.Values{"Signal": {"0"}})
	st = ctl("modems/0", url.Values{"PowerCycle": {"true"}})
	if len(st.Forbidden) != 0 {
		t.Fatalf("after PowerCycle the control API shows forbidden %v, want none", st.Forbidden)
	}
	p.expect("APP RDY\r\n") // it booted again
	if f := e.status(0).Forbidden; len(f) != 0 {
		t.Fatalf("after PowerCycle Status().Forbidden = %v, want empty", f)
	}
	waitGet(0, "not registered without coverage after the power cycle", func(s modem.ModemStatus) bool {
		return s.Reg == int(modem.RegNotRegistered) && s.Functional == 1
	})
	if f := e.status(0).Forbidden; len(f) != 0 {
		t.Fatalf("without coverage Status().Forbidden = %v, want empty", f)
	}
	// Coverage back: it selects again and finds Vodafone DE.
	ctl("modems/0", url.Values{"Signal": {"-1"}})
	st = waitGet(0, "registered on Vodafone DE after the power cycle", registeredOn(ptyEnvVodafoneDE))
	if slices.Contains(st.Forbidden, ptyEnvVodafoneDE.String()) {
		t.Fatalf("Vodafone DE is forbidden while serving: %v", st.Forbidden)
	}

	// Bad requests are refused.
	ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/modems/0", http.MethodPost, url.Values{"Location": {"XX"}}, nil, http.StatusBadRequest, nil)
	ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/modems/9", http.MethodPost, url.Values{"Signal": {"3"}}, nil, http.StatusNotFound, nil)
	ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/networks/HWnope", http.MethodPost, url.Values{"Down": {"true"}}, nil, http.StatusNotFound, nil)
}

// ptyEnvSlowAttach makes every attach attempt last long enough for the
// world to change while a network selection is in progress.
func ptyEnvSlowAttach(cfg *modem.FleetConfig) { cfg.Timing.Attach = 100 * time.Millisecond }

// TestPTYWorldChangesDuringSelection changes the radio while automatic
// selection is going through its candidates: the modem must act on the
// world as it is when each attempt happens, not as it was at the scan.
func TestPTYWorldChangesDuringSelection(t *testing.T) {
	e := ptyEnvNew(t, 1, ptyEnvSlowAttach)
	srv := httptest.NewServer(e.modems.Handler("/_fleetsim/v1/"))
	t.Cleanup(srv.Close)
	post := func(path string, form url.Values) {
		t.Helper()
		ptyEnvHTTP(t, srv.URL+"/_fleetsim/v1/"+path, http.MethodPost, form, nil, http.StatusOK, nil)
	}
	vodafoneGB := e.networkSid(ptyEnvVodafoneGB)
	forbids := func(plmn string) func(modem.Status) bool {
		return func(s modem.Status) bool { return slices.Contains(s.Forbidden, plmn) }
	}

	// The GB networks weaker than Vodafone UK, which the boot's selection
	// (strongest first) did not try.
	cells := modem.NewWorld(e.ctl.Catalog()).Cells("GB")
	i := slices.IndexFunc(cells, func(c modem.Cell) bool { return c.PLMN == ptyEnvVodafoneGB })
	if i < 0 || len(cells)-i < 3 {
		t.Fatalf("the test needs two GB networks weaker than Vodafone UK: %+v", cells)
	}
	nextWeaker, weakest := cells[i+1].PLMN, cells[len(cells)-1].PLMN

	// Vodafone UK goes down; the modem works through the weaker GB
	// networks. Vodafone comes back after the first rejection: the modem
	// must end up on it.
	post("networks/"+vodafoneGB, url.Values{"Down": {"true"}})
	e.waitStatus(0, "rejected by "+nextWeaker.String(), forbids(nextWeaker.String()))
	post("networks/"+vodafoneGB, url.Values{"Down": {"false"}})
	e.waitStatus(0, "back on Vodafone UK", func(s modem.Status) bool {
		return s.Reg == int(modem.RegRoaming) && s.PLMN == ptyEnvVodafoneGB.String()
	})

	// The NAP also allows the weakest GB network; a power cycle clears the
	// forbidden list. Vodafone goes down again and the modem moves to DE
	// after the first rejection: it must not attach to the weakest GB
	// network, which it cannot see from DE.
	e.rest(http.MethodPost, "/v1/NetworkAccessProfiles/"+e.nap.Sid+"/Networks", url.Values{"Network": {e.networkSid(weakest)}}, http.StatusCreated, nil)
	post("modems/0", url.Values{"PowerCycle": {"true"}})
	e.waitStatus(0, "on Vodafone UK after the power cycle", func(s modem.Status) bool {
		return s.Reg == int(modem.RegRoaming) && s.PLMN == ptyEnvVodafoneGB.String() && !slices.Contains(s.Forbidden, nextWeaker.String())
	})
	post("networks/"+vodafoneGB, url.Values{"Down": {"true"}})
	e.waitStatus(0, "rejected by "+nextWeaker.String()+" again", forbids(nextWeaker.String()))
	post("modems/0", url.Values{"Location": {"DE"}})
	deNets := e.ctl.Catalog().InCountry("DE")
	st := e.waitStatus(0, "done selecting in DE", func(s modem.Status) bool {
		return s.Reg != int(modem.RegSearching)
	})
	if st.Reg == int(modem.RegRoaming) || st.PLMN != "" {
		t.Fatalf("in DE with a NAP allowing only GB networks the modem registered: %+v", st)
	}
	for _, n := range deNets {
		if !slices.Contains(st.Forbidden, n.Identifiers[0].String()) {
			t.Errorf("DE network %s was not tried: forbidden %v", n.Identifiers[0], st.Forbidden)
		}
	}
}

// TestPTYPowerCycleDuringCommand power-cycles a modem while the host waits
// for a manual network selection: the command must end and the modem must
// keep answering.
func TestPTYPowerCycleDuringCommand(t *testing.T) {
	e := ptyEnvNew(t, 1, ptyEnvSlowAttach)
	p := ptyEnvOpen(t, e.modems.PTYPath(0))
	p.cmd("AT", "OK")
	p.write([]byte(`AT+COPS=1,2,"23415"` + "\r"))
	e.waitStatus(0, "searching for the manual selection", func(s modem.Status) bool { return s.Reg == int(modem.RegSearching) })
	e.modems.Modems()[0].PowerCycle()
	p.expect("APP RDY\r\n")
	// Whatever the interrupted command answered, the modem answers again.
	p.write([]byte("ATE0\r"))
	p.expect("\r\nOK\r\n")
	p.write([]byte("AT+CGMM\r"))
	p.expect("\r\nBG96\r\n\r\nOK\r\n")
	e.waitStatus(0, "registered again", func(s modem.Status) bool {
		return s.Reg == int(modem.RegRoaming) && s.PLMN == ptyEnvVodafoneGB.String()
	})
}
