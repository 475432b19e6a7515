package sim

import (
	"testing"
)

// TestInventoryIsGenerateCards: the packed inventory gives the cards
// generateCard makes, finds each by its ICCID, and nothing else.
func TestInventoryIsGenerateCards(t *testing.T) {
	for _, seed := range []string{"fleetsim", "perf", "", "a/b"} {
		inv := newInventory(seed, 3000)
		byICCID := map[string]int{}
		for i := range inv.len() {
			want := generateCard(seed, i)
			byICCID[want.ICCID] = i
			if got := inv.card(i); got != want {
				t.Fatalf("seed %q card %d: %+v, want %+v", seed, i, got, want)
			}
			if j, ok := inv.find(want.ICCID); !ok || j != i {
				t.Fatalf("seed %q: find(%s) = %d, %v; want %d", seed, want.ICCID, j, ok, i)
			}
		}
		// Every one-digit change of an ICCID is another card's or none.
		orig := generateCard(seed, 7).ICCID
		for k := range len(orig) {
			for c := byte('0'); c <= '9'; c++ {
				b := []byte(orig)
				b[k] = c
				j, ok := inv.find(string(b))
				if want, wok := byICCID[string(b)]; ok != wok || ok && j != want {
					t.Errorf("seed %q: find(%s) = %d, %v", seed, b, j, ok)
				}
			}
		}
		for _, iccid := range []string{"", generateCard(seed, 3000).ICCID, generateCard(seed+"x", 5).ICCID, generateCard(seed, 7).ICCID[:18] + "x"} {
			if j, ok := inv.find(iccid); ok {
				t.Errorf("seed %q: find(%q) = %d, want none", seed, iccid, j)
			}
		}
	}
}

// FuzzInventoryFind: find agrees with a lookup in the generated cards.
func FuzzInventoryFind(f *testing.F) {
	const n = 200
	inv := newInventory("fuzz", n)
	byICCID := map[string]int{}
	for _, c := range GenerateCards("fuzz", n) {
		byICCID[c.ICCID] = c.Index
	}
	f.Add(generateCard("fuzz", 17).ICCID)
	f.Add(generateCard("fuzz", 5000).ICCID)
	f.Add("8988307000000000000")
	f.Add("898830712340000017x")
	f.Fuzz(func(t *testing.T, iccid string) {
		i, ok := inv.find(iccid)
		want, wok := byICCID[iccid]
		if ok != wok || ok && i != want {
			t.Fatalf("find(%q) = %d, %v; want %d, %v", iccid, i, ok, want, wok)
		}
	})
}

// FuzzParseSid16: a SID parses exactly when it is HS and 32 lower-case
// hex digits, and then prints back the same.
func FuzzParseSid16(f *testing.F) {
	f.Add("HS0123456789abcdef0123456789abcdef")
	f.Add("HB0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, sid string) {
		b, ok := parseSid16("HS", sid)
		want := len(sid) == 34 && sid[:2] == "HS"
		for i := 2; want && i < len(sid); i++ {
			c := sid[i]
			want = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
		}
		if ok != want {
			t.Fatalf("parseSid16(%q) ok = %v, want %v", sid, ok, want)
		}
		if ok && b.sid("HS") != sid {
			t.Fatalf("parseSid16(%q) prints back as %q", sid, b.sid("HS"))
		}
	})
}

// TestCardRanges: the last physical card of the largest inventory and the
// eSIM profiles' cards above it have well-formed, distinct identities.
func TestCardRanges(t *testing.T) {
	last := generateCard("fleetsim", maxCards-1)
	esim := generateCard("fleetsim", esimCardBase)
	if len(last.ICCID) != 19 || !LuhnValid(last.ICCID) || len(last.IMSI) != 15 {
		t.Errorf("card %d: ICCID %s, IMSI %s", maxCards-1, last.ICCID, last.IMSI)
	}
	if len(esim.ICCID) != 20 || !LuhnValid(esim.ICCID) || len(esim.IMSI) != 15 || esim.IMSI[:6] != "732124" {
		t.Errorf("first eSIM card: ICCID %s, IMSI %s", esim.ICCID, esim.IMSI)
	}
	inv := newInventory("fleetsim", 1)
	if _, ok := inv.find(esim.ICCID); ok {
		t.Errorf("an eSIM card's ICCID %s is found in the physical inventory", esim.ICCID)
	}
}
