package modem

import (
	"fmt"
	"testing"

	"github.com/fleetsim/fleetsim/sim"
)

// TestModemIMSI: a modem reads back the IMSI of its card as it was given,
// kept in a word or, when it does not pack, as it is.
func TestModemIMSI(t *testing.T) {
	for _, imsi := range []string{"", "732123000000017", "001010123456789", "0", "0000000000000000", "9999999999999999", "12345678901234567", "73212X", "+123", " 1"} {
		m := New(Config{Card: sim.Card{ICCID: "8988307000000000017", IMSI: imsi}})
		if got := m.Status().IMSI; got != imsi {
			t.Errorf("IMSI %q read back as %q", imsi, got)
		}
		m.Close()
	}
}

// FuzzIMSIWord: an IMSI packs if and only if it is up to 16 digits, and
// reads back as it was.
func FuzzIMSIWord(f *testing.F) {
	for _, s := range []string{"", "732123000000017", "007", "9999999999999999", "99999999999999999", "1a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, ok := packIMSI(s)
		digits := len(s) <= 16
		for i := 0; i < len(s); i++ {
			digits = digits && s[i] >= '0' && s[i] <= '9'
		}
		if ok != digits {
			t.Fatalf("packIMSI(%q) ok = %v", s, ok)
		}
		if ok && w.String() != s {
			t.Fatalf("packIMSI(%q) reads back %q", s, w.String())
		}
		if ok && w == imsiKept {
			t.Fatalf("packIMSI(%q) is the kept mark", s)
		}
	})
}

// FuzzPLMNCode: a PLMN of a 3-digit MCC and a 2- or 3-digit MNC has a
// code, and reads back from it as it was; no other PLMN has one.
func FuzzPLMNCode(f *testing.F) {
	for _, p := range [][2]string{{"234", "15"}, {"310", "410"}, {"001", "01"}, {"262", "003"}, {"23", "415"}, {"2340", "15"}, {"23a", "15"}, {"234", "1"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, mcc, mnc string) {
		p := sim.PLMN{MCC: mcc, MNC: mnc}
		c, ok := plmnCodeOf(p)
		_, mccOK := decimal(mcc)
		_, mncOK := decimal(mnc)
		want := mccOK && mncOK && len(mcc) == 3 && (len(mnc) == 2 || len(mnc) == 3)
		if ok != want {
			t.Fatalf("plmnCodeOf(%v) ok = %v", p, ok)
		}
		if ok && (c == 0 || c.plmn() != p) {
			t.Fatalf("plmnCodeOf(%v) = %#x reads back %v", p, c, c.plmn())
		}
	})
}

// TestForbiddenList: the forbidden list keeps its order through adds and
// removals, whether its PLMNs are held as codes or not.
func TestForbiddenList(t *testing.T) {
	var st state
	p := func(s string) sim.PLMN { return sim.PLMN{MCC: s[:3], MNC: s[3:]} }
	odd := sim.PLMN{MCC: "23x", MNC: "15"} // no code
	for _, q := range []sim.PLMN{p("23415"), odd, p("26203"), p("310410"), p("23415")} {
		st.forbid(q)
	}
	want := []sim.PLMN{p("23415"), odd, p("26203"), p("310410")}
	if got := st.forbiddenList(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("forbidden %v, want %v", got, want)
	}
	for _, q := range want {
		if !st.isForbidden(q) {
			t.Fatalf("%v not forbidden", q)
		}
	}
	st.allow(odd)
	st.allow(p("23415"))
	want = []sim.PLMN{p("26203"), p("310410")}
	if got := st.forbiddenList(); fmt.Sprint(got) != fmt.Sprint(want) || st.forbidden != nil {
		t.Fatalf("forbidden %v (overflow %v), want %v in codes", got, st.forbidden != nil, want)
	}
	if st.isForbidden(p("23415")) || st.isForbidden(odd) {
		t.Fatal("allowed PLMN still forbidden")
	}
	st.allow(p("26203"))
	st.allow(p("310410"))
	if got := st.forbiddenList(); len(got) != 0 || st.fplmn != [2]plmnCode{} {
		t.Fatalf("forbidden %v after every PLMN allowed", got)
	}
}
