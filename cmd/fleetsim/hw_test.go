package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

func TestHWUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"bogus"}, 2},
		{[]string{"probe"}, 2},
		{[]string{"probe", "--port", "/x", "--baud", "0"}, 2},
		{[]string{"probe", "--port", "/x", "extra"}, 2},
		{[]string{"ports", "--nope"}, 2},
		{[]string{"probe", "--port", filepath.Join(t.TempDir(), "no-such-port")}, 1},
		{[]string{"help"}, 0},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"hw"}, tc.args...), func(string) string { return "" }, &stdout, &stderr); code != tc.code {
			t.Errorf("hw %q = %d, want %d; stderr %s", tc.args, code, tc.code, stderr.String())
		}
	}
}

func TestHWPorts(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"hw", "ports", "--json"}, os.Getenv, &stdout, &stderr); code != 0 {
		t.Fatalf("hw ports = %d: %s", code, stderr.String())
	}
	var ports []hw.PortInfo
	if err := json.Unmarshal(stdout.Bytes(), &ports); err != nil {
		t.Fatalf("hw ports --json printed %q: %v", stdout.String(), err)
	}
}

// TestHWProbe probes one of fleetsim's own modems on a PTY, as a module on
// /dev/ttyUSB2 would be, with a scan and a trace.
func TestHWProbe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("hw", 1), sim.WithUpdateDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	acct := ctl.MainAccount()
	card := ctl.Cards()[0].Card
	s, err := ctl.RegisterSim(ctx, acct, card.ICCID, card.RegistrationCode)
	if err != nil {
		t.Fatal(err)
	}
	vf, ok := ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	if !ok {
		t.Fatal("no Vodafone UK in the catalog")
	}
	nap, err := ctl.CreateNAP(ctx, acct, nil, []string{vf.Sid})
	if err != nil {
		t.Fatal(err)
	}
	fl, err := ctl.CreateFleet(ctx, acct, sim.FleetParams{NetworkAccessProfile: &nap.Sid})
	if err != nil {
		t.Fatal(err)
	}
	active := "active"
	if _, _, err := ctl.UpdateSim(ctx, acct, s.Sid, sim.SimParams{Status: &active, Fleet: &fl.Sid}); err != nil {
		t.Fatal(err)
	}
	profile, err := modem.ProfileByName("bg95")
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := modem.StartFleet(ctx, modem.FleetConfig{
		Cards: []sim.Card{card}, Core: ctl, World: modem.NewWorld(ctl.Catalog()), Profile: profile, Country: "GB",
		Timing: modem.Timing{Boot: time.Millisecond, Scan: 10 * time.Millisecond, Attach: 5 * time.Millisecond, Data: time.Millisecond},
		Dir:    t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()

	trace := filepath.Join(t.TempDir(), "probe.trace")
	var stdout, stderr bytes.Buffer
	env := func(k string) string {
		if k == "FLEETSIM_HW_PORT" {
			return fleet.Link(0)
		}
		return ""
	}
	code := run(ctx, []string{"hw", "probe", "--scan", "--scan-timeout", "30s", "--json", "--trace", trace}, env, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("hw probe = %d: %s", code, stderr.String())
	}
	var r hw.ProbeResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("hw probe --json printed %q: %v", stdout.String(), err)
	}
	if r.ICCID != card.ICCID || r.Manufacturer != "Quectel" || len(r.Networks) == 0 {
		t.Fatalf("probe result %+v", r)
	}
	if !strings.Contains(stderr.String(), "scanning for networks") {
		t.Errorf("no scan progress on stderr: %q", stderr.String())
	}
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := hw.ReadTrace(f)
	if err != nil || len(recs) == 0 {
		t.Fatalf("trace: %d records, %v", len(recs), err)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, []string{"hw", "probe", "--port", fleet.Link(0)}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("hw probe = %d: %s", code, stderr.String())
	}
	for _, want := range []string{"manufacturer", "Quectel", "ICCID", card.ICCID, "EPS registration"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout.String())
		}
	}
	t.Logf("\n%s", stdout.String())
}
