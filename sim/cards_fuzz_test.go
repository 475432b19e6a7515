package sim

import (
	"encoding/json"
	"testing"
)

// luhnRef is the Luhn check written independently of LuhnDigit: from the
// right, every second digit is doubled and its digits summed; the total must
// end in 0. Like LuhnValid it wants at least a body digit and a check digit.
func luhnRef(s string) bool {
	if len(s) < 2 {
		return false
	}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[len(s)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 2
			d = d/10 + d%10
		}
		sum += d
	}
	return sum%10 == 0
}

// FuzzLuhn checks the ICCID check digit helpers: LuhnValid never panics and
// agrees with an independent implementation, any digit string followed by
// the check digit LuhnDigit computes is valid, and changing any one digit
// of it makes it invalid.
func FuzzLuhn(f *testing.F) {
	for _, c := range GenerateCards("fuzz", 3) {
		f.Add(c.ICCID, uint(0), uint8(1))
	}
	for _, s := range []string{
		"", "0", "00", "18", "79927398713", "79927398710", "8988307000000000000", "89883230000000000001",
		"0000000000000000000000000000000000000000", "4111111111111111", "12a4", "١٢٣", "\x00\x00", "9",
		"8988307\xff1234", "09", "90",
	} {
		f.Add(s, uint(3), uint8(7))
	}
	f.Fuzz(func(t *testing.T, s string, pos uint, delta uint8) {
		if got, want := LuhnValid(s), luhnRef(s); got != want {
			t.Fatalf("LuhnValid(%q) = %v, want %v", s, got, want)
		}

		// A digit string made of s, at most 64 digits: body + check digit.
		body := make([]byte, 0, 64)
		for i := 0; i < len(s) && len(body) < 64; i++ {
			body = append(body, '0'+s[i]%10)
		}
		if len(body) == 0 {
			return
		}
		d := LuhnDigit(string(body))
		if d < 0 || d > 9 {
			t.Fatalf("LuhnDigit(%q) = %d", body, d)
		}
		full := append(body, byte('0'+d))
		if !LuhnValid(string(full)) {
			t.Fatalf("%q with its check digit %d is not valid", body, d)
		}
		// Luhn catches every single-digit error.
		i := int(pos % uint(len(full)))
		changed := append([]byte(nil), full...)
		changed[i] = '0' + (full[i]-'0'+1+delta%9)%10
		if LuhnValid(string(changed)) {
			t.Fatalf("%q is valid, and so is %q (digit %d changed)", full, changed, i)
		}
	})
}

// FuzzParseSimStatus checks that ParseSimStatus accepts exactly the wire
// names of the statuses, and that names, text and JSON round-trip.
func FuzzParseSimStatus(f *testing.F) {
	for _, s := range []string{"new", "ready", "active", "inactive", "scheduled", "", "Active", "SimStatus(0)", "active\x00", " new"} {
		f.Add(s, uint8(3))
	}
	f.Add("x", uint8(0))
	f.Add("x", uint8(255))
	f.Fuzz(func(t *testing.T, s string, n uint8) {
		v, ok := ParseSimStatus(s)
		if ok != (v >= StatusNew && v <= StatusScheduled) {
			t.Fatalf("ParseSimStatus(%q) = %d, %v", s, v, ok)
		}
		var u SimStatus = 42
		err := u.UnmarshalText([]byte(s))
		if ok {
			if v.String() != s {
				t.Fatalf("ParseSimStatus(%q) = %v, which prints as %q", s, v, v.String())
			}
			if err != nil || u != v {
				t.Fatalf("UnmarshalText(%q) = %v, %v; ParseSimStatus gives %v", s, u, err, v)
			}
		} else if err == nil || u != 42 {
			t.Fatalf("UnmarshalText(%q) accepted it as %v, or changed the value on error (%v)", s, u, err)
		}

		st := SimStatus(n)
		name := st.String() // never panics
		back, ok := ParseSimStatus(name)
		valid := st >= StatusNew && st <= StatusScheduled
		if ok != valid || ok && back != st {
			t.Fatalf("SimStatus(%d).String() = %q, which parses as %v, %v", n, name, back, ok)
		}
		if valid {
			b, err := json.Marshal(st)
			var got SimStatus
			if err != nil || json.Unmarshal(b, &got) != nil || got != st {
				t.Fatalf("SimStatus %v: JSON %s, %v, back %v", st, b, err, got)
			}
		}
	})
}
