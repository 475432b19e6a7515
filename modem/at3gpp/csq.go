package at3gpp

// CSQ is the +CSQ answer (27.007 §8.5): <rssi> 0..31 or 99 (not known),
// <ber> 0..7 or 99.
type CSQ struct{ RSSI, BER int }

// RSSIUnknown is the <rssi> (and <ber>) of a signal not known.
const RSSIUnknown = 99

// ParseCSQ parses the value of a +CSQ answer, after "+CSQ: ".
func ParseCSQ(v string) (CSQ, error) {
	sc := scanner{s: v}
	f1, _ := sc.next()
	f2, ok := sc.next()
	if _, more := sc.next(); !ok || more {
		return CSQ{}, syntaxErr("+CSQ", v, "<rssi>,<ber>")
	}
	rssi, err1 := f1.uint(99)
	ber, err2 := f2.uint(99)
	switch {
	case err1 != nil || rssi > 31 && rssi != RSSIUnknown:
		return CSQ{}, syntaxErr("+CSQ", v, "<rssi> 0..31 or 99")
	case err2 != nil || ber > 7 && ber != RSSIUnknown:
		return CSQ{}, syntaxErr("+CSQ", v, "<ber> 0..7 or 99")
	}
	return CSQ{RSSI: rssi, BER: ber}, nil
}

// DBm is the received power the <rssi> stands for: 0 is -113 dBm or less,
// 31 -51 dBm or more, in 2 dB steps; ok is false for 99 (not known).
func (c CSQ) DBm() (dbm int, ok bool) { return RSSIDBm(c.RSSI) }

// RSSIDBm converts a +CSQ <rssi> to dBm; ok is false outside 0..31.
func RSSIDBm(rssi int) (dbm int, ok bool) {
	if rssi < 0 || rssi > 31 {
		return 0, false
	}
	return 2*rssi - 113, true
}

// DBmRSSI converts a received power to the +CSQ <rssi> scale, clamped to
// 0..31.
func DBmRSSI(dbm int) int {
	return min(31, max(0, (dbm+113+1)/2))
}
