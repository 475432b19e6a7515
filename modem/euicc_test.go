package modem

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

const testEID = "89049032000001000000000000000042"

// esimCallbacks serves ESimProfile callbacks on loopback and hands over
// the status each one reports.
func esimCallbacks(t *testing.T) (string, <-chan url.Values) {
	hits := make(chan url.Values, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		hits <- r.Form
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// callbacks returns the next n callbacks by status: callbacks are sent
// concurrently, so two in quick succession may arrive in either order.
func callbacks(t *testing.T, hits <-chan url.Values, n int) map[string]url.Values {
	t.Helper()
	out := map[string]url.Values{}
	for range n {
		select {
		case v := <-hits:
			out[v.Get("Status")] = v
		case <-time.After(harnessWait):
			t.Fatalf("only %d of %d callbacks within %v: %v", len(out), n, harnessWait, out)
		}
	}
	return out
}

// activate moves a Sim to active in the harness Fleet and waits for the
// asynchronous update to complete.
func (h *harness) activate(simSid string) {
	h.t.Helper()
	events := make(chan struct{}, 1)
	cancel := h.ctl.Subscribe(func(sim.Event) {
		select {
		case events <- struct{}{}:
		default:
		}
	})
	defer cancel()
	if _, _, err := h.ctl.UpdateSim(h.ctx, h.acct, simSid, sim.SimParams{Status: ptrTo("active"), Fleet: &h.fleet.Sid}); err != nil {
		h.t.Fatalf("UpdateSim: %v", err)
	}
	deadline := time.After(harnessWait)
	for {
		if s, err := h.ctl.Sim(h.acct, simSid); err == nil && s.Pending == nil && s.Status == sim.StatusActive {
			return
		}
		select {
		case <-events:
		case <-deadline:
			h.t.Fatalf("Sim %s did not become active within %v", simSid, harnessWait)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// serveModem serves m over net.Pipe and returns a harness that talks to it
// and shares h's control plane; it waits for the boot URCs and turns echo off.
func (h *harness) serveModem(m *Modem) *harness {
	h.t.Helper()
	host, dev := net.Pipe()
	h2 := &harness{t: h.t, ctx: h.ctx, ctl: h.ctl, acct: h.acct, nap: h.nap, fleet: h.fleet, vf: h.vf, m: m, timing: h.timing, conn: host, changed: make(chan struct{})}
	go h2.readLoop()
	served := make(chan error, 1)
	go func() { served <- m.Serve(h.ctx, dev) }()
	h.t.Cleanup(func() {
		host.Close()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, context.Canceled) {
				h.t.Errorf("Serve returned %v", err)
			}
		case <-time.After(harnessWait):
			h.t.Errorf("Serve did not return within %v of the pipe closing", harnessWait)
		}
		dev.Close()
		m.Close()
	})
	h2.waitURC("APP RDY")
	if got := h2.cmd("ATE0"); got != "ATE0\r\r\nOK\r\n" {
		h.t.Fatalf("ATE0 answered %q", got)
	}
	return h2
}

// TestEUICCModemAttachesWithDownloadedProfile: an eSIM profile reserved for
// an EID is downloaded and installed by the virtual eUICC with that EID
// (callbacks: available, downloaded, installed), and a modem built on the
// eUICC attaches with the profile's card once its Sim is active.
func TestEUICCModemAttachesWithDownloadedProfile(t *testing.T) {
	h := newHarness(t)
	cbURL, hits := esimCallbacks(t)
	p, err := h.ctl.CreateESimProfile(h.ctx, h.acct, testEID, false, cbURL, "POST")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEUICC(testEID, h.ctl, 1)
	if _, err := e.NewModem(Config{}); !errors.Is(err, ErrNoProfileEnabled) {
		t.Fatalf("NewModem with no profile: %v", err)
	}
	av := callbacks(t, hits, 1)["available"]
	card, err := e.Provision(h.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cbs := callbacks(t, hits, 2)
	in := cbs["installed"]
	if cbs["downloaded"] == nil || in == nil {
		t.Fatalf("callbacks %v", cbs)
	}
	if card.ICCID != av.Get("Iccid") || in.Get("Iccid") != card.ICCID || in.Get("Eid") != testEID {
		t.Fatalf("card %s, callbacks %v %v", card.ICCID, av, in)
	}
	if got, _ := h.ctl.ESimProfile(h.acct, p.Sid); got.Status != sim.ESimInstalled {
		t.Fatalf("profile status %s", got.Status)
	}
	if c, ok := h.ctl.ESimCard(card.ICCID); !ok || c != card {
		t.Fatalf("ESimCard = %v, %v; want %v", c, ok, card)
	}

	h.activate(av.Get("SimSid"))
	profile, _ := ProfileByName("bg96")
	m, err := e.NewModem(Config{IMEI: IMEI(1), Core: h.ctl, World: NewWorld(h.ctl.Catalog()), Country: "GB", Profile: profile, Timing: h.timing})
	if err != nil {
		t.Fatal(err)
	}
	h2 := h.serveModem(m)
	h2.waitReg(RegRoaming)
	if got := h2.cmd("AT+CCID"); !strings.Contains(got, "+CCID: "+card.ICCID) {
		t.Fatalf("AT+CCID answered %q", got)
	}
	if st := m.Status(); st.ICCID != card.ICCID || st.IMSI != card.IMSI || st.Network != h.vf.Sid {
		t.Fatalf("modem status %+v", st)
	}

	// A second profile does not fit: the eUICC reports the failure.
	q, err := h.ctl.CreateESimProfile(h.ctx, h.acct, "", true, cbURL, "POST")
	if err != nil {
		t.Fatal(err)
	}
	if callbacks(t, hits, 1)["available"] == nil {
		t.Fatal("no available callback")
	}
	q, _ = h.ctl.ESimProfile(h.acct, q.Sid)
	if _, err := e.Provision(h.ctx, q.ActivationCode); err == nil || !strings.Contains(err.Error(), InstallFailedNoMemory) {
		t.Fatalf("Provision on a full eUICC: %v", err)
	}
	cbs = callbacks(t, hits, 2)
	if failed := cbs["failed"]; cbs["downloaded"] == nil || failed.Get("ErrorCode") != InstallFailedNoMemory {
		t.Fatalf("callbacks %v", cbs)
	}
	if c, _ := e.Enabled(); c != card {
		t.Fatalf("the enabled profile changed to %v", c)
	}
}

func TestEUICCErrors(t *testing.T) {
	h := newHarness(t)
	e := NewEUICC(testEID, h.ctl, 0)
	if _, err := e.Provision(h.ctx, ""); !errors.Is(err, sim.ErrESimUnavailable) {
		t.Fatalf("Provision with nothing reserved: %v", err)
	}
	for _, code := range []string{"1$smdp", "2$smdp$X", "LPA:1$$X", "nonsense"} {
		if _, err := e.Provision(h.ctx, code); err == nil {
			t.Errorf("Provision(%q) accepted a bad activation code", code)
		}
	}
	if id, err := parseActivationCode("LPA:1$smdp.example$ABC-DEF"); err != nil || id != "ABC-DEF" {
		t.Fatalf("parseActivationCode = %q, %v", id, err)
	}
	if e.EID() != testEID {
		t.Fatal(e.EID())
	}
}
