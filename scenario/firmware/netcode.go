package firmware

import "github.com/fleetsim/fleetsim/sim"

// NetCode is a PLMN (MCC and MNC) in four bytes. A device keeps the
// network it is registered on, and the runner compares them for every
// device at every sample, so they are words rather than two strings.
// The zero NetCode is no network.
//
// Bits 0–9 hold the MNC, 10–19 the MCC, 20–21 how many digits the MNC
// has (2 or 3: "01" and "001" are different networks).
type NetCode uint32

// ParseNetCode reads the numeric form of a PLMN, "23415" or "310410";
// anything else is no network.
func ParseNetCode(s string) NetCode {
	if len(s) != 5 && len(s) != 6 {
		return 0
	}
	var mcc, mnc uint32
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		if i < 3 {
			mcc = mcc*10 + uint32(c-'0')
		} else {
			mnc = mnc*10 + uint32(c-'0')
		}
	}
	return NetCode(uint32(len(s)-3)<<20 | mcc<<10 | mnc)
}

// CodeOf returns the NetCode of p (zero if p is not numeric).
func CodeOf(p sim.PLMN) NetCode {
	if len(p.MCC) != 3 {
		return 0
	}
	return ParseNetCode(p.MCC + p.MNC)
}

// PLMN returns the PLMN of c (the zero PLMN for no network).
func (c NetCode) PLMN() sim.PLMN {
	if c == 0 {
		return sim.PLMN{}
	}
	digits := int(c>>20) & 3
	mcc, mnc := uint32(c>>10)&1023, uint32(c)&1023
	return sim.PLMN{MCC: decimal(mcc, 3), MNC: decimal(mnc, digits)}
}

// String is the numeric form, "23415"; "" for no network.
func (c NetCode) String() string { return c.PLMN().String() }

// decimal writes v in n digits, with leading zeros.
func decimal(v uint32, n int) string {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b)
}
