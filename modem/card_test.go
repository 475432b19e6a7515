package modem

import (
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
