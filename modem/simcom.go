package modem

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// SIMCom's SIM7080G and SIM7000G as their AT command manuals give them
// (SIM7070/SIM7080/SIM7090 Series AT Command Manual V1.05, written S80
// below; SIM7000 Series AT Command Manual V1.06, S70): boot and ready
// indications ending in "SMS Ready", bare identification answers
// (AT+CCID prints the ICCID alone), AcT 7 for Cat-M1, AT+CNMP/AT+CMNB,
// AT+CPSI?, the app network (AT+CNCFG, AT+CNACT with +APP PDP), the CA*
// sockets, and on the SIM7000 the older CIP* stack too (simcom_sockets.go).
// Registration, scans, SMS and data go through the same engine as every
// profile: only the dialect differs.

// SIMCom is a SIMCom SIM7080G or SIM7000G.
type SIMCom struct {
	name, model, revision, ati string
	sim7000                    bool // the SIM7000's dialect: CNACT without index, CIP*
}

// The two SIMCom modules: identification as their manuals' examples show it
// (S80 §2.2.5, §3.2.1–3.2.3; S70 §2.2.5, §3.2.3).
var (
	sim7080 = SIMCom{name: "sim7080", model: "SIMCOM_SIM7080", revision: "1951B02SIM7080", ati: "R1951.01"}
	sim7000 = SIMCom{name: "sim7000", model: "SIMCOM_SIM7000G", revision: "1529B08SIM7000G", ati: "SIM7000G R1529", sim7000: true}
)

func (p SIMCom) Name() string       { return p.name }
func (SIMCom) Manufacturer() string { return "SIMCOM_Ltd" }
func (p SIMCom) Model() string      { return p.model }
func (p SIMCom) Revision() string   { return p.revision }
func (SIMCom) CatM1AcT() int        { return 7 } // S80 §3.2.9: 7 LTE M1, 9 LTE NB

// BootURCs: S80 §3.2.19's example after AT+CFUN=1,1. The SIM7000's URC
// table lacks "SMS Ready", but TinyGSM's SIM7000 drivers wait for it.
func (SIMCom) BootURCs() []string { return []string{"RDY", "+CFUN: 1", "+CPIN: READY", "SMS Ready"} }

func (p SIMCom) Commands() map[string]Handler {
	if p.sim7000 {
		return sim7000Commands
	}
	return sim7080Commands
}

// defaults are the SIMCom power-up settings that differ from the engine's:
// +CMEE is 0 (S80 §3.2.8).
func (SIMCom) defaults(st *state) {
	st.cmee = 0
}

// cmeTexts are SIMCom's +CME ERROR texts (S80 §22.1).
func (SIMCom) cmeTexts() map[int]string { return simcomCMETexts }

// SIMCom's own +CME ERROR codes and the 27.007 texts it words otherwise
// (S80 §22.1, S70 §20.1).
const (
	simcomParamCount    = 791 // Param count not enough
	simcomParamBeyond   = 792 // Param count beyond
	simcomParamRange    = 793 // Param value range beyond
	simcomParamType     = 794 // Param type not match
	simcomCFUNOff       = 797 // CFUN state is 0 or 4
	simcomOperationFail = 767 // Operation failed
)

var simcomCMETexts = map[int]string{
	32: "network not allowed - emergency call only",
	99: "resource limitation", 160: "DNS resolve failed", 161: "Socket open failed",
	180: "gprs is not attached", 181: "tcpip stack is busy",
	600: "No Error", 601: "Unrecognized Command", 602: "Return Value Error", 603: "Syntax Error",
	604: "Unspecified Error", 605: "Data Transfer Already", 606: "Action Already", 607: "Not At Cmd",
	608: "Multi Cmd too long", 609: "Abort Cops", 610: "No Call Disc", 614: "AT Not Allowed By Customer",
	767: "Operation failed", 770: "SIM network reject", 772: "SIM powered down",
	791: "Param count not enough", 792: "Param count beyond", 793: "Param value range beyond",
	794: "Param type not match", 795: "Param format invalid", 796: "Get a null param",
	797: "CFUN state is 0 or 4",
}

// simcomArgs checks a set command's parameter count as SIMCom does (791, 792).
func simcomArgs(c Command, lo, hi int) error {
	switch {
	case c.Kind != KindSet || len(c.Args) < lo:
		return cme(simcomParamCount)
	case len(c.Args) > hi:
		return cme(simcomParamBeyond)
	}
	return nil
}

// simcomInt reads a numeric parameter: 794 if it is not a number, 793 out of range.
func simcomInt(a Arg, lo, hi int) (int, error) {
	n, err := strconv.Atoi(a.Value)
	if err != nil || a.Quoted {
		return 0, cme(simcomParamType)
	}
	if n < lo || n > hi {
		return 0, cme(simcomParamRange)
	}
	return n, nil
}

// The contexts the app network and the CIP stack bring up sit above the
// 27.007 cids (1–15), so AT+CGDCONT and AT+CGACT never list them: the
// SIM7080's <pdpidx> 0–3 is appCID+idx, the SIM7000's app network appCID,
// its CIP bearer (AT+CIICR) cipCID and its AT+SAPBR bearer sapbrCID. All
// share the SIM's one session address.
const (
	appCID   = 100
	cipCID   = 110
	sapbrCID = 120
)

// simcomState is what the SIMCom commands remember beyond the engine's
// state; a power-up forgets it. Guarded by Modem.mu.
type simcomState struct {
	clts, cbatchk, cnsmod int
	cnmp, cmnb            int
	cacid                 int // -1: not set
	app                   [4]appConfig
	localPort             [sockSlots]int // AT+CACFG="LOCALPORT" / AT+CLPORT, per id
	// The SIM7000's CIP stack (simcom_sockets.go).
	cipmux, cipqsend, ciprxget int
	cip                        cipState
	cstt                       string // the APN AT+CSTT set
}

// appConfig is one AT+CNCFG entry.
type appConfig struct {
	ipType          int
	apn, user, pass string
	auth            int
}

// simcom returns the SIMCom state, made on first use. Callers hold m.mu.
func (m *Modem) simcom() *simcomState {
	v := m.st.vendorOf()
	if v.simcom == nil {
		v.simcom = &simcomState{cnmp: 2, cmnb: 3, cacid: -1, ciprxget: 0}
		for i := range v.simcom.app {
			v.simcom.app[i].ipType = 1
		}
	}
	return v.simcom
}

func (m *Modem) simcomProfile() SIMCom {
	p, _ := m.env.profile.(SIMCom)
	return p
}

// simcomCommon are the commands both modules share.
var simcomCommon = map[string]Handler{
	"I":     info(func(m *Modem) string { return m.simcomProfile().ati }),
	"Z":     simcomReset,
	"&F":    simcomReset,
	"+CGMR": info(func(m *Modem) string { return "Revision:" + m.env.profile.Revision() }),
	"+GMR":  info(func(m *Modem) string { return "Revision:" + m.env.profile.Revision() }),
	// S80 §5.2.8: the ICCID alone, no "+CCID:" prefix.
	"+CCID":    info(func(m *Modem) string { return m.card.ICCID }),
	"+CPIN":    simcomCPIN,
	"+CFUN":    simcomCFUN,
	"+CREBOOT": creboot,
	"+CPOWD":   cpowd,
	"+CLTS":    simcomSetting("+CLTS", 0, 1, func(s *simcomState) *int { return &s.clts }),
	"+CBATCHK": simcomSetting("+CBATCHK", 0, 1, func(s *simcomState) *int { return &s.cbatchk }),
	"+CBC":     cbc,
	"+CNMP":    cnmp,
	"+CMNB":    cmnb,
	"+CNSMOD":  cnsmod,
	"+CPSI":    cpsi,
	"+CGNAPN":  cgnapn,
	"+CEREG":   simcomCEREG,
	"+CPMS":    simcomCPMS,
	"+CNMI":    simcomCNMI,
	"+CSCLK":   simcomSetting("+CSCLK", 0, 2, func(s *simcomState) *int { return new(int) }),
}

var (
	sim7080Commands = joinCommands(map[string]Handler{
		"+CNCFG": cncfg7080,
		"+CNACT": cnact7080,
	}, caCommands, simcomCommon)
	sim7000Commands = joinCommands(map[string]Handler{
		"+CNCFG": cncfg7000,
		"+CNACT": cnact7000,
	}, caCommands, cipCommands, simcomCommon)
)

// simcomSetting is a SIMCom numeric setting with read, set and test forms.
func simcomSetting(name string, lo, hi int, field func(*simcomState) *int) Handler {
	return func(_ context.Context, m *Modem, c Command) ([]string, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		switch c.Kind {
		case KindRead:
			return []string{fmt.Sprintf("%s: %d", name, *field(m.simcom()))}, nil
		case KindTest:
			return []string{fmt.Sprintf("%s: (%d-%d)", name, lo, hi)}, nil
		}
		if err := simcomArgs(c, 1, 1); err != nil {
			return nil, err
		}
		n, err := simcomInt(c.Args[0], lo, hi)
		if err != nil {
			return nil, err
		}
		*field(m.simcom()) = n
		return nil, nil
	}
}

// simcomReset is ATZ and AT&F: the engine's settings, with SIMCom's defaults.
func simcomReset(ctx context.Context, m *Modem, c Command) ([]string, error) {
	resetSettings(ctx, m, c)
	m.mu.Lock()
	m.simcomProfile().defaults(&m.st)
	m.mu.Unlock()
	return nil, nil
}

// simcomCPIN: with the SIM powered down (AT+CFUN=0) the module reports
// +CPIN: NOT READY, as its URC just said.
func simcomCPIN(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindRead {
		m.mu.Lock()
		off := m.st.cfun == 0
		m.mu.Unlock()
		if off {
			return []string{"+CPIN: NOT READY"}, nil
		}
	}
	return cpin(ctx, m, c)
}

// simcomCFUN is AT+CFUN (S80 §3.2.19): levels 0, 1, 4 to 7, a reset with
// <rst> 1 or level 6. AT+CFUN=0 powers the SIM down (+CPIN: NOT READY
// before OK) and AT+CFUN=1 back up (+CPIN: READY after OK), as the
// TCP/UDP application note's log shows (S80-TCP §4.2).
func simcomCFUN(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+CFUN: (0-1,4-7),(0-1)"}, nil
	case KindSet:
	default:
		return cfun(ctx, m, c)
	}
	if err := simcomArgs(c, 1, 2); err != nil {
		return nil, err
	}
	fun, err := simcomInt(c.Args[0], 0, 7)
	if err != nil || fun == 2 || fun == 3 {
		return nil, cme(simcomParamRange)
	}
	rst := 0
	if len(c.Args) > 1 && !c.Args[1].Empty() {
		if rst, err = simcomInt(c.Args[1], 0, 1); err != nil {
			return nil, err
		}
	}
	if fun == 6 {
		fun, rst = 1, 1
	}
	if rst == 1 {
		m.reboot(fun)
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.st.cfun
	if fun == int(prev) {
		return nil, nil
	}
	m.st.cfun = uint8(fun)
	var lines []string
	switch {
	case fun == 1:
		m.startSelection()
		if prev == 0 {
			m.st.addAfter("+CPIN: READY")
		}
	default:
		m.radioOff()
		if fun == 0 {
			lines = []string{"+CPIN: NOT READY"}
		}
	}
	return lines, nil
}

// creboot is AT+CREBOOT (S80 §5.2.46): OK, then the module restarts and
// prints its boot indications.
func creboot(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.reboot(1)
	return nil, nil
}

// cpowd is AT+CPOWD=1 (S80 §5.2.1): NORMAL POWER DOWN instead of OK, and
// the module is off until a power cycle. AT+CPOWD=0 (urgent) prints nothing
// on the real module; here it answers OK.
func cpowd(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CPOWD: (0,1)"}, nil
	}
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	n, err := simcomInt(c.Args[0], 0, 1)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.cfun = 0
	m.radioOff()
	if n == 1 {
		return nil, finalText("NORMAL POWER DOWN")
	}
	return nil, nil
}

// cbc is AT+CBC: <bcs>,<bcl>,<voltage in mV> of a steady 3.8 V supply.
func cbc(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CBC: (0-2),(1-100),(voltage)"}, nil
	}
	return []string{"+CBC: 0,75,3800"}, nil
}

// cnmp is AT+CNMP (S80 §5.2.16), with the manual's odd test text.
func cnmp(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindTest:
		return []string{"+CNMP: ((2-Automatic),(13-GSM Only),(38-LTE Only),(51-GSM And LTE Only))"}, nil
	case KindRead:
		return []string{fmt.Sprintf("+CNMP: %d", m.simcom().cnmp)}, nil
	}
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	n, err := simcomInt(c.Args[0], 2, 51)
	if err != nil {
		return nil, err
	}
	if n != 2 && n != 13 && n != 38 && n != 51 {
		return nil, cme(simcomParamRange)
	}
	m.simcom().cnmp = n
	return nil, nil
}

// cmnb is AT+CMNB (S80 §5.2.17).
func cmnb(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindTest:
		return []string{"+CMNB: ((1-Cat-M),(2-NB-IoT),(3-Cat-M And NB-IoT))"}, nil
	case KindRead:
		return []string{fmt.Sprintf("+CMNB: %d", m.simcom().cmnb)}, nil
	}
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	n, err := simcomInt(c.Args[0], 1, 3)
	if err != nil {
		return nil, err
	}
	m.simcom().cmnb = n
	return nil, nil
}

// cnsmod is AT+CNSMOD: <n>,<stat>, stat 7 on an LTE-M cell, 0 without service.
func cnsmod(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindTest:
		return []string{"+CNSMOD: (0,1)"}, nil
	case KindRead:
		stat := 0
		if m.st.serving != nil && m.st.reg.Registered() {
			stat = 7
		}
		return []string{fmt.Sprintf("+CNSMOD: %d,%d", m.simcom().cnsmod, stat)}, nil
	}
	if err := simcomArgs(c, 1, 1); err != nil {
		return nil, err
	}
	n, err := simcomInt(c.Args[0], 0, 1)
	if err != nil {
		return nil, err
	}
	m.simcom().cnsmod = n
	return nil, nil
}

// cpsi is AT+CPSI? (S80 §5.2.19): the serving LTE-M cell, or NO SERVICE.
// The signal fields follow SIMCom's +CSQ table (0 is −115 dBm, then −110
// in 2 dB steps); RSRP is RSSI − 17 dB as in +CESQ, SINR = 2·RSSNR − 20.
func cpsi(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mode := "Online"
	if m.st.cfun != 1 {
		mode = "Low Power Mode"
	}
	s := m.st.serving
	if s == nil || !m.st.reg.Registered() {
		return []string{"+CPSI: NO SERVICE," + mode}, nil
	}
	rssi := -112 + 2*m.signal()
	rsrp := rssi - 17
	rsrq := -20 + m.signal()/2
	rssnr := 5 + m.signal()/3
	return []string{fmt.Sprintf("+CPSI: LTE CAT-M1,%s,%s-%s,0x%04X,%d,%d,EUTRAN-BAND%d,%d,0,0,%d,%d,%d,%d",
		mode, s.PLMN.MCC, s.PLMN.MNC, s.TAC, s.CI, s.CI%504, s.Band, s.EARFCN, rsrq, rsrp, rssi, rssnr)}, nil
}

// cgnapn is AT+CGNAPN (S80 §5.2.20): the APN the network gave at attach;
// Super SIM's network gives "super".
func cgnapn(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.serving != nil && m.st.reg.Registered() {
		return []string{`+CGNAPN: 1,"super"`}, nil
	}
	return []string{`+CGNAPN: 0,""`}, nil
}

// simcomCEREG is +CEREG with SIMCom's range of <n>: 0–2 and 4 (S80 §6.2.7).
func simcomCEREG(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+CEREG: (0-2,4)"}, nil
	case KindSet:
		if len(c.Args) > 0 && (c.Args[0].Value == "3" || c.Args[0].Value == "5") {
			return nil, cme(simcomParamRange)
		}
	}
	return creg(regCE)(ctx, m, c)
}

// simcomCPMS: SIMCom keeps messages on the SIM only (S80 §4.2.9).
func simcomCPMS(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+CPMS: ("SM"),("SM"),("SM")`}, nil
	case KindSet:
		for _, a := range c.Args {
			if !a.Empty() && !strings.EqualFold(a.Value, "SM") {
				return nil, cms(CMSNotSupported)
			}
		}
	}
	return cpms(ctx, m, c)
}

// simcomCNMI is +CNMI with SIMCom's ranges (S80 §4.2.8): <mt> 2 or 3 and
// <ds> 1 need <mode> 1, otherwise +CMS ERROR: 303.
func simcomCNMI(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", s.cnmi[0], s.cnmi[1], s.cnmi[2], s.cnmi[3], s.cnmi[4])}, nil
	case KindTest:
		return []string{"+CNMI: (0,1,2),(0,1,2,3),(0,2),(0,1,2),(0,1)"}, nil
	case KindSet:
	default:
		return nil, cms(CMSNotAllowed)
	}
	ranges := [5][]int{{0, 1, 2}, {0, 1, 2, 3}, {0, 2}, {0, 1, 2}, {0, 1}}
	if len(c.Args) > 5 {
		return nil, cms(CMSNotSupported)
	}
	v := s.cnmi
	for i, a := range c.Args {
		if a.Empty() {
			continue
		}
		n, err := strconv.Atoi(a.Value)
		if err != nil || !containsInt(ranges[i], n) {
			return nil, cms(CMSNotSupported)
		}
		v[i] = n
	}
	if (v[1] >= 2 || v[3] == 1) && v[0] != 1 {
		return nil, cms(CMSNotSupported)
	}
	s.cnmi = v
	return nil, nil
}

func containsInt(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

// ---- the app network ------------------------------------------------------------

// cncfg7080 is AT+CNCFG=<pdpidx>,<ip_type>[,"<APN>"[,"<user>","<pwd>"[,<auth>]]]
// (S80 §7.2.2); the read form lists all four entries.
func cncfg7080(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.simcom()
	switch c.Kind {
	case KindTest:
		return []string{"+CNCFG: (0-3),(0-4),150,127,127,(0-3)"}, nil
	case KindRead:
		lines := make([]string, len(sc.app))
		for i, a := range sc.app {
			lines[i] = fmt.Sprintf("+CNCFG: %d,%d,%s,%s,%s,%d", i, a.ipType, quote(a.apn), quote(a.user), quote(a.pass), a.auth)
		}
		return lines, nil
	}
	if err := simcomArgs(c, 2, 6); err != nil {
		return nil, err
	}
	idx, err := simcomInt(c.Args[0], 0, 3)
	if err != nil {
		return nil, err
	}
	a, err := appConfigArgs(c.Args[1:])
	if err != nil {
		return nil, err
	}
	sc.app[idx] = a
	return nil, nil
}

// cncfg7000 is the SIM7000's AT+CNCFG=<ip_type>[,"<APN>"[,"<user>","<pwd>"[,<auth>]]]
// (S70 §5.2.31): one app network, no index.
func cncfg7000(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc := m.simcom()
	switch c.Kind {
	case KindTest:
		return []string{"+CNCFG: (0-3),50,50,50,(0-3)"}, nil
	case KindRead:
		a := sc.app[0]
		return []string{fmt.Sprintf("+CNCFG: %d,%s,%s,%s,%d", a.ipType, quote(a.apn), quote(a.user), quote(a.pass), a.auth)}, nil
	}
	if err := simcomArgs(c, 1, 5); err != nil {
		return nil, err
	}
	a, err := appConfigArgs(c.Args)
	if err != nil {
		return nil, err
	}
	sc.app[0] = a
	return nil, nil
}

// appConfigArgs reads <ip_type>[,<APN>[,<user>,<pwd>[,<auth>]]].
func appConfigArgs(args []Arg) (appConfig, error) {
	var a appConfig
	var err error
	if a.ipType, err = simcomInt(args[0], 0, 4); err != nil {
		return a, err
	}
	if len(args) > 1 {
		a.apn = args[1].Value
	}
	if len(args) > 2 {
		a.user = args[2].Value
	}
	if len(args) > 3 {
		a.pass = args[3].Value
	}
	if len(args) > 4 && !args[4].Empty() {
		if a.auth, err = simcomInt(args[4], 0, 3); err != nil {
			return a, err
		}
	}
	return a, nil
}

// cnact7080 is AT+CNACT=<pdpidx>,<action> (S80 §7.2.1): OK at once, then
// +APP PDP: <pdpidx>,ACTIVE once the context is up, or DEACTIVE when it
// cannot come up (no network, data not allowed, an APN other than
// "super"). The read form always lists four lines.
func cnact7080(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+CNACT: (0-3),(0-2)"}, nil
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		lines := make([]string, 4)
		for i := range lines {
			addr, stat := "0.0.0.0", 0
			if a := m.pdpAddr(appCID + i); a != 0 {
				addr, stat = a.String(), 1
			}
			lines[i] = fmt.Sprintf("+CNACT: %d,%d,%s", i, stat, quote(addr))
		}
		return lines, nil
	}
	if err := simcomArgs(c, 2, 2); err != nil {
		return nil, err
	}
	idx, err := simcomInt(c.Args[0], 0, 3)
	if err != nil {
		return nil, err
	}
	action, err := simcomInt(c.Args[1], 0, 2)
	if err != nil {
		return nil, err
	}
	report := func(up bool) string {
		if up {
			return fmt.Sprintf("+APP PDP: %d,ACTIVE", idx)
		}
		return fmt.Sprintf("+APP PDP: %d,DEACTIVE", idx)
	}
	m.mu.Lock()
	apn := m.simcom().app[idx].apn
	m.mu.Unlock()
	return nil, m.appNetwork(appCID+idx, action != 0, apn, report)
}

// cnact7000 is the SIM7000's AT+CNACT=<mode>[,"<apn>"] (S70 §5.2.30):
// +APP PDP: ACTIVE without an index, and a one-line read form.
func cnact7000(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{`+CNACT: (0-2),"APN"`}, nil
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		if a := m.pdpAddr(appCID); a != 0 {
			return []string{fmt.Sprintf("+CNACT: 1,%s", quote(a.String()))}, nil
		}
		return []string{`+CNACT: 0,"0.0.0.0"`}, nil
	}
	if err := simcomArgs(c, 1, 2); err != nil {
		return nil, err
	}
	mode, err := simcomInt(c.Args[0], 0, 2)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	apn := m.simcom().app[0].apn
	m.mu.Unlock()
	if len(c.Args) > 1 {
		apn = c.Args[1].Value
	}
	report := func(up bool) string {
		if up {
			return "+APP PDP: ACTIVE"
		}
		return "+APP PDP: DEACTIVE"
	}
	return nil, m.appNetwork(appCID, mode != 0, apn, report)
}

// appNetwork answers OK, then brings the app network's context up (after
// the activation time) or down and reports it as report says. A context
// already up is reported up again; one that is down is not reported going
// down. The context's loss later prints report(false) (socketState.own).
func (m *Modem) appNetwork(cid int, up bool, apn string, report func(bool) string) error {
	return &pending{start: func(finish func([]string, error)) {
		m.env.clock.AfterFunc(0, func() {
			finish(nil, nil)
			m.mu.Lock()
			boot := m.boots
			if !up {
				if m.pdpAddr(cid) != 0 {
					m.deactivate(cid)
					m.urc(report(false))
				}
				m.mu.Unlock()
				return
			}
			m.mu.Unlock()
			m.env.clock.AfterFunc(m.env.timing.Data, func() {
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.boots != boot || m.closed {
					return
				}
				m.urc(report(m.bringUp(cid, apn, report(false)) == nil))
			})
		})
	}}
}

// bringUp activates one of the SIMCom stacks' contexts with an APN (""
// takes the network's), owning it so that its loss prints lost.
// Callers hold m.mu.
func (m *Modem) bringUp(cid int, apn, lost string) error {
	if apn != "" && !strings.EqualFold(apn, "super") {
		return cme(127) // missing or unknown APN
	}
	if p := m.st.contexts.get(cid); p == nil || !p.active {
		m.st.contexts.set(cid, &pdpContext{pdpType: pdpIP, apn: &superAPN})
	}
	if err := m.activate(cid); err != nil {
		m.st.contexts.del(cid)
		return err
	}
	m.sockSt().own(cid, lost)
	return nil
}
