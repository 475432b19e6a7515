package hw

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/sim"
)

// virtualModem serves one of fleetsim's own BG96 modems, its SIM active in
// a Fleet whose NAP allows Vodafone UK only, on a PTY (servedModem), and
// returns the PTY's path and the SIM card.
func virtualModem(t *testing.T) (string, sim.Card) {
	t.Helper()
	path, ctl, _ := servedModem(t, "bg96")
	return path, ctl.Cards()[0].Card
}

// eventually polls cond until it holds, failing after testWait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling interval of a condition with a deadline
	}
}

// TestProbeVirtualModem probes fleetsim's BG96 through go.bug.st/serial.
func TestProbeVirtualModem(t *testing.T) {
	checkLeaks(t)
	path, card := virtualModem(t)
	tw := newTraceBuf()
	c, err := Open(testCtx(t), path, WithTrace(tw))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := Probe(testCtx(t), c, false, nil)
	if err != nil {
		t.Fatalf("Probe: %v (%+v)", err, r)
	}
	if len(r.Errors) > 0 {
		t.Errorf("probe errors: %+v", r.Errors)
	}
	check := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("Manufacturer", r.Manufacturer, "Quectel")
	check("Model", r.Model, "BG96")
	check("Revision", r.Revision, "BG96MAR02A07M1G")
	check("IMEI", r.IMEI, modem.IMEI(0))
	check("ICCID", r.ICCID, card.ICCID)
	check("IMSI", r.IMSI, card.IMSI)
	check("SIMState", r.SIMState, "READY")
	if r.Functionality == nil || *r.Functionality != 1 {
		t.Errorf("Functionality = %v, want 1", r.Functionality)
	}
	if r.EPS == nil || r.EPS.Stat != RegRoaming || r.EPS.Mode != 0 {
		t.Errorf("EPS = %+v, want roaming in mode 0", r.EPS)
	}
	if r.Operator == nil || r.Operator.AcTText != "LTE Cat-M1" || r.Operator.Name == "" {
		t.Errorf("Operator = %+v", r.Operator)
	}
	if r.Signal == nil || r.Signal.RSSI == 99 || r.Signal.SysMode == "" {
		t.Errorf("Signal = %+v", r.Signal)
	}
	// The probe restored the +CEREG mode it found.
	mustCmd(t, c, "AT+CEREG?", "+CEREG: 0,5")
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	c.Close()
	recs, err := ReadTrace(bytes.NewReader(tw.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs {
		if rec.Dir == DirOut {
			out = append(out, string(rec.Data))
		}
	}
	for _, want := range []string{"AT+CGMI\r\n", "AT+CEREG=3\r\n", "AT+CEREG=0\r\n", "AT+QCSQ\r\n", "AT+CGDCONT?\r\n"} {
		if !slices.Contains(out, want) {
			t.Errorf("the trace has no %q: %q", want, out)
		}
	}
}

// TestProbeScanVirtualModem scans with fleetsim's BG96: Vodafone UK is the
// current network and EE, which the NAP does not allow, forbidden.
func TestProbeScanVirtualModem(t *testing.T) {
	checkLeaks(t)
	path, _ := virtualModem(t)
	c, err := Open(testCtx(t), path, WithCommandTimeout("+COPS=?", testWait))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	var progress []string
	r, err := Probe(testCtx(t), c, true, func(s string) {
		mu.Lock()
		progress = append(progress, s)
		mu.Unlock()
	})
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	stats := map[string]int{}
	for _, n := range r.Networks {
		stats[n.Numeric] = n.Stat
	}
	if stats["23415"] != 2 || stats["23430"] != 3 {
		t.Fatalf("networks %+v, want 23415 current and 23430 forbidden", r.Networks)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) < 2 || !strings.HasPrefix(progress[0], "scanning") || !strings.HasPrefix(progress[len(progress)-1], "scan done") {
		t.Fatalf("progress %q", progress)
	}
}

func TestParseRegistration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Registration
	}{
		{"0,5", Registration{Mode: 0, Stat: RegRoaming}},
		{`2,1,"1A2B","01A2B3C4",7`, Registration{Mode: 2, Stat: RegHome, Area: "1A2B", CellID: "01A2B3C4", AcT: ptr(7)}},
		{`3,3,"1A2B","01A2B3C4",7,0,11`, Registration{Mode: 3, Stat: RegDenied, Area: "1A2B", CellID: "01A2B3C4", AcT: ptr(7), RejectCauseType: ptr(0), RejectCause: ptr(11)}},
		{`3,2,,,,0,15`, Registration{Mode: 3, Stat: RegSearching, RejectCauseType: ptr(0), RejectCause: ptr(15)}},
	} {
		got := parseRegistration(at3gpp.CEREG, tc.in)
		tc.want.StatText = tc.want.Stat.String()
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(tc.want)
		if !bytes.Equal(a, b) {
			t.Errorf("parseRegistration(%q) = %s, want %s", tc.in, a, b)
		}
	}
}

func ptr[T any](v T) *T { return &v }
