package modem

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// The 27.007 commands a host's modem manager probes while it sets a modem
// up, beyond registration and packet data: time zone reporting and the
// clock, the subscriber number, facility locks, USSD, the SIM's files and
// PIN counters, and the radio technologies (+WS46). A modem that answers
// ERROR where the module answers leaves the host thinking a feature is
// missing; one that answers a bare OK to a test form breaks its parser.

// ctzu is automatic time zone update (27.007 §8.41; BG96 AT Commands
// Manual, Network Service Commands, AT+CTZU: test +CTZU: (0,1)).
func ctzu(_ context.Context, m *Modem, c Command) ([]string, error) {
	return settingOf(m, c, "+CTZU", "(0,1)", func(st *state) *uint8 { return &st.ctzu }, 0, 1)
}

// ctzr is time zone reporting (27.007 §8.40; BG96 AT Commands Manual,
// Network Service Commands, AT+CTZR: 0 off, 1 +CTZV, 2 +CTZE).
func ctzr(_ context.Context, m *Modem, c Command) ([]string, error) {
	return settingOf(m, c, "+CTZR", "(0-2)", func(st *state) *uint8 { return &st.ctzr }, 0, 2)
}

// settingOf answers the read, test and set forms of a numeric setting
// whose test form lists its values as the manual prints them.
func settingOf(m *Modem, c Command, name, values string, field func(*state) *uint8, lo, hi int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("%s: %d", name, *field(&m.st))}, nil
	case KindTest:
		return []string{name + ": " + values}, nil
	case KindSet:
		n, err := atoiArg(c.Args[0], lo, hi)
		if err != nil {
			return nil, err
		}
		*field(&m.st) = uint8(n)
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// cclk is the real-time clock (27.007 §8.15): +CCLK: "yy/MM/dd,hh:mm:ss±zz",
// the zone in quarter hours. The module's clock is the network's, in UTC.
func cclk(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		return []string{m.env.clock.Now().UTC().Format(`+CCLK: "06/01/02,15:04:05+00"`)}, nil
	case KindTest, KindSet:
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// cnum is the subscriber number (27.007 §7.1; BG96 AT Commands Manual,
// Phonebook Commands, AT+CNUM): one +CNUM line per MSISDN on the SIM. A
// Super SIM carries none, so the answer is OK alone.
func cnum(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindExec || c.Kind == KindTest {
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// clckFacilities are the facilities AT+CLCK=? lists (27.007 §7.4; BG96 AT
// Commands Manual, (U)SIM Related Commands, AT+CLCK).
var clckFacilities = []string{"SC", "AO", "OI", "OX", "AI", "IR", "AB", "AG", "AC", "FD", "PN", "PU", "PP"}

// clck is facility lock. Nothing is locked on a Super SIM: a query (mode
// 2) answers +CLCK: 0 and unlocking (mode 0) is accepted; locking (mode 1)
// is not allowed, as the SIM PIN cannot be enabled here.
func clck(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		q := make([]string, len(clckFacilities))
		for i, f := range clckFacilities {
			q[i] = quote(f)
		}
		return []string{"+CLCK: (" + strings.Join(q, ",") + ")"}, nil
	case KindSet:
		if len(c.Args) < 2 || !validFacility(c.Args[0].Value) {
			return nil, cme(CMEIncorrectParameters)
		}
		mode, err := atoiArg(c.Args[1], 0, 2)
		if err != nil {
			return nil, err
		}
		switch mode {
		case 2:
			return []string{"+CLCK: 0"}, nil
		case 1:
			return nil, cme(CMENotAllowed)
		}
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

func validFacility(f string) bool {
	for _, v := range clckFacilities {
		if strings.EqualFold(f, v) {
			return true
		}
	}
	return false
}

// cusd is unstructured supplementary service data (27.007 §7.15; BG96 AT
// Commands Manual, Supplementary Service Commands, AT+CUSD): test
// +CUSD: (0-2), read +CUSD: <n>. Super SIM offers no USSD service: a
// request is answered by the network with +CUSD: 4 (operation not
// supported), reported when presentation is on (n=1).
func cusd(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CUSD: %d", m.st.cusd)}, nil
	case KindTest:
		return []string{"+CUSD: (0-2)"}, nil
	case KindExec:
		return nil, nil
	case KindSet:
		n := int(m.st.cusd)
		if !c.Args[0].Empty() {
			var err error
			if n, err = atoiArg(c.Args[0], 0, 2); err != nil {
				return nil, err
			}
		}
		if n == 2 {
			m.st.cusd = 0 // cancel the session: there is none
			return nil, nil
		}
		m.st.cusd = uint8(n)
		if len(c.Args) > 1 && c.Args[1].Value != "" && n == 1 {
			m.st.addAfter("+CUSD: 4")
		}
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// Status words of SIM commands (ETSI TS 102 221 §10.2), as +CRSM prints them.
const (
	swOK           = "144,0"   // 90 00
	swFileNotFound = "106,130" // 6A 82
	swBadINS       = "109,0"   // 6D 00
)

// The elementary files +CRSM reads: EF ICCID (2FE2) and EF AD (6FAD),
// whose fourth byte is the length of the MNC in the IMSI.
const (
	efICCID = 0x2FE2
	efAD    = 0x6FAD
)

// mncLength is the number of MNC digits of an IMSI: 3 in the MCCs that
// use three-digit MNCs (North America, and Colombia, whose 732 123 Super
// SIMs carry), else 2.
func mncLength(imsi string) int {
	mcc, _ := strconv.Atoi(imsi[:min(3, len(imsi))])
	if mcc >= 310 && mcc <= 316 || mcc == 302 || mcc == 732 {
		return 3
	}
	return 2
}

// crsm is restricted SIM access (27.007 §8.18; BG96 AT Commands Manual,
// (U)SIM Related Commands, AT+CRSM): READ BINARY (176) of EF ICCID gives
// the ICCID in swapped BCD, of EF AD the MNC length; the other elementary
// files hosts read (SPN, ECC, GID1/2, …) are not modelled and answer
// "file not found" as an absent file does.
func crsm(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return nil, nil
	case KindSet:
	default:
		return nil, cme(CMEIncorrectParameters)
	}
	cmd, err := atoiArg(c.Args[0], 0, 255)
	if err != nil {
		return nil, err
	}
	if cmd != 176 { // only READ BINARY
		return []string{"+CRSM: " + swBadINS}, nil
	}
	if len(c.Args) < 2 {
		return nil, cme(CMEIncorrectParameters)
	}
	file, err := atoiArg(c.Args[1], 0, 0xFFFF)
	if err != nil {
		return nil, err
	}
	switch file {
	case efICCID:
		return []string{fmt.Sprintf("+CRSM: %s,%q", swOK, swappedBCD(m.card.ICCID))}, nil
	case efAD:
		return []string{fmt.Sprintf("+CRSM: %s,\"000000%02d\"", swOK, mncLength(m.imsi()))}, nil
	}
	return []string{"+CRSM: " + swFileNotFound}, nil
}

// swappedBCD is a digit string as a SIM stores it: two digits a byte, low
// nibble first, padded with F.
func swappedBCD(digits string) string {
	if len(digits)%2 != 0 {
		digits += "F"
	}
	var b strings.Builder
	for i := 0; i < len(digits); i += 2 {
		b.WriteByte(digits[i+1])
		b.WriteByte(digits[i])
	}
	return b.String()
}

// csim is generic SIM access (27.007 §8.17; BG96 AT Commands Manual, (U)SIM
// Related Commands, AT+CSIM). Only the counter queries hosts send are
// answered: VERIFY (20) and UNBLOCK PIN (2C) without data give 63Cx, x the
// tries left (3 for a PIN, 10 for a PUK); any other APDU gets 6D00.
func csim(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return nil, nil
	case KindSet:
	default:
		return nil, cme(CMEIncorrectParameters)
	}
	if len(c.Args) < 2 {
		return nil, cme(CMEIncorrectParameters)
	}
	n, err := strconv.Atoi(c.Args[0].Value)
	apdu := strings.ToUpper(c.Args[1].Value)
	if err != nil || n != len(apdu) || n < 8 || n%2 != 0 {
		return nil, cme(CMEIncorrectParameters)
	}
	sw := "6D00"
	if len(apdu) == 10 && apdu[:2] == "00" && apdu[8:] == "00" && (apdu[4:6] == "00") {
		switch ins, ref := apdu[2:4], apdu[6:8]; {
		case ins == "20" && (ref == "01" || ref == "81"):
			sw = "63C3"
		case ins == "2C" && (ref == "01" || ref == "81"):
			sw = "63CA"
		}
	}
	return []string{fmt.Sprintf("+CSIM: %d,%q", len(sw), sw)}, nil
}

// ws46 is the wireless data service (27.007 §5.9) of an LTE-M-only module:
// E-UTRAN only (28).
func ws46(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+WS46: (28)"}, nil
	case KindRead:
		return []string{"+WS46: 28"}, nil
	case KindSet:
		if _, err := atoiArg(c.Args[0], 28, 28); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// ifc is TE-TA flow control (V.250 §6.2.12 via 27.007; BG96 AT Commands
// Manual, Serial Interface Control Commands, AT+IFC): 0 none, 2 RTS/CTS.
// A PTY has no lines to honour it; the setting is kept.
func ifc(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+IFC: %d,%d", m.st.ifc[0], m.st.ifc[1])}, nil
	case KindTest:
		return []string{"+IFC: (0,2),(0,2)"}, nil
	case KindSet:
		var v [2]uint8
		for i, a := range c.Args {
			if i > 1 {
				return nil, cme(CMEIncorrectParameters)
			}
			n, err := strconv.Atoi(a.Value)
			if err != nil || n != 0 && n != 2 {
				return nil, cme(CMEIncorrectParameters)
			}
			v[i] = uint8(n)
		}
		m.st.ifc = v
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// crc is the extended format of incoming call indications (27.007 §6.11;
// BG96 AT Commands Manual, Call Related Commands, AT+CRC).
func crc(_ context.Context, m *Modem, c Command) ([]string, error) {
	return settingOf(m, c, "+CRC", "(0,1)", func(st *state) *uint8 { return &st.crc }, 0, 1)
}

// ccwa is call waiting (27.007 §7.12; BG96 AT Commands Manual,
// Supplementary Service Commands, AT+CCWA): the presentation setting <n>.
// A query of the network's setting (mode 2) reports it off for voice
// (class 1), as a data-only subscription has none.
func ccwa(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindSet && len(c.Args) > 1 && c.Args[1].Value == "2" {
		return []string{"+CCWA: 0,1"}, nil
	}
	if c.Kind == KindSet && len(c.Args) > 1 {
		if _, err := atoiArg(c.Args[1], 0, 1); err != nil {
			return nil, err
		}
		c.Args = c.Args[:1]
	}
	return settingOf(m, c, "+CCWA", "(0,1)", func(st *state) *uint8 { return &st.ccwa }, 0, 1)
}

// clcc lists the current calls (27.007 §7.18; BG96 AT Commands Manual,
// Call Related Commands, AT+CLCC): there are never any.
func clcc(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindExec || c.Kind == KindTest {
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}
