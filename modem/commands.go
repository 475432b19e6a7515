package modem

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/sim"
)

// Handler runs one command and returns its information lines; an error is
// the final result (ErrError, a *CMEError, or CONNECT / NO CARRIER).
type Handler func(ctx context.Context, m *Modem, c Command) ([]string, error)

var (
	sregRE      = regexp.MustCompile(`^S[0-9]+$`)
	psmTimerRE  = regexp.MustCompile(`^[01]{8}$`) // GPRS Timer 2/3 bits
	edrxValueRE = regexp.MustCompile(`^[01]{4}$`)
)

// handler finds the command: the profile's own first, then 27.007 and V.250.
func (m *Modem) handler(name string) Handler {
	if h, ok := m.env.profile.Commands()[name]; ok {
		return h
	}
	if h, ok := smsCommands[name]; ok {
		return h
	}
	if h, ok := standard[name]; ok {
		return h
	}
	if sregRE.MatchString(name) {
		return sRegister
	}
	return nil
}

// standard is the V.250 and 3GPP TS 27.007 command set.
var standard map[string]Handler

func init() {
	ok := func(context.Context, *Modem, Command) ([]string, error) { return nil, nil }
	standard = map[string]Handler{
		// V.250.
		"E": flag(func(st *state) *bool { return &st.echo }),
		"V": flag(func(st *state) *bool { return &st.verbose }),
		"Q": flag(func(st *state) *bool { return &st.quiet }),
		"Z": resetSettings, "&F": resetSettings,
		"I":  identity,
		"&C": ok, "&D": ok, "&K": ok, "&W": ok, "X": ok, "L": ok, "M": ok,
		"H": hangUp, "O": online, "D": dial,
		// Identification.
		"+CGMI":  info(func(m *Modem) string { return m.env.profile.Manufacturer() }),
		"+GMI":   info(func(m *Modem) string { return m.env.profile.Manufacturer() }),
		"+CGMM":  info(func(m *Modem) string { return m.env.profile.Model() }),
		"+GMM":   info(func(m *Modem) string { return m.env.profile.Model() }),
		"+CGMR":  info(func(m *Modem) string { return m.env.profile.Revision() }),
		"+GMR":   info(func(m *Modem) string { return m.env.profile.Revision() }),
		"+CGSN":  info(func(m *Modem) string { return m.imeiOf() }),
		"+GSN":   info(func(m *Modem) string { return m.imeiOf() }),
		"+CIMI":  info(func(m *Modem) string { return m.imsi() }),
		"+GCAP":  info(func(*Modem) string { return "+GCAP: +CGSM" }),
		"+CCID":  info(func(m *Modem) string { return "+CCID: " + m.card.ICCID }),
		"+ICCID": info(func(m *Modem) string { return "+ICCID: " + m.card.ICCID }),
		"+CPIN":  cpin,
		// Settings.
		"+CMEE": setting("+CMEE", 0, 2, func(st *state) *uint8 { return &st.cmee }),
		"+CMGF": setting("+CMGF", 0, 1, func(st *state) *uint8 { return &st.cmgf }),
		"+CSCS": cscs,
		"+CTZR": ctzr, "+CTZU": ctzu, "+CCLK": cclk, "+CNMI": ok, "+CSMS": ok, "+CPMS": ok, "+CSCA": ok,
		// Subscriber, SIM and supplementary services.
		"+CNUM": cnum, "+CLCK": clck, "+CUSD": cusd, "+CRSM": crsm, "+CSIM": csim,
		"+WS46": ws46, "+IFC": ifc,
		// Calls: a data module still answers the voice set-up hosts send.
		"+CRC": crc, "+CCWA": ccwa, "+CLCC": clcc,
		"+CGEREP": cgerep,
		"+CLIP":   clip,
		// Network.
		"+CFUN":   cfun,
		"+COPS":   cops,
		"+CREG":   creg(regC),
		"+CGREG":  creg(regCG),
		"+CEREG":  creg(regCE),
		"+CSQ":    csq,
		"+CESQ":   cesq,
		"+CPSMS":  cpsms,
		"+CEDRXS": cedrxs,
		// Packet domain.
		"+CGDCONT": cgdcont,
		"+CGATT":   cgatt,
		"+CGACT":   cgact,
		"+CGPADDR": cgpaddr,
		"+CGDATA":  cgdata,
	}
}

// ---- helpers --------------------------------------------------------------

func flag(field func(*state) *bool) Handler {
	return func(_ context.Context, m *Modem, c Command) ([]string, error) {
		v := "0"
		if len(c.Args) > 0 {
			v = c.Args[0].Value
		}
		if v != "0" && v != "1" || c.Kind == KindRead {
			return nil, ErrError
		}
		m.mu.Lock()
		*field(&m.st) = v == "1"
		m.mu.Unlock()
		return nil, nil
	}
}

func info(f func(*Modem) string) Handler {
	return func(_ context.Context, m *Modem, c Command) ([]string, error) {
		switch c.Kind {
		case KindTest:
			return nil, nil
		case KindExec:
			return []string{f(m)}, nil
		case KindSet:
			if c.Name == "+CGSN" && len(c.Args) == 1 && c.Args[0].Value == "1" {
				return []string{`+CGSN: "` + m.imeiOf() + `"`}, nil
			}
		}
		return nil, cme(CMEIncorrectParameters)
	}
}

// setting is a numeric setting with read, set and test forms.
func setting(name string, lo, hi int, field func(*state) *uint8) Handler {
	return func(_ context.Context, m *Modem, c Command) ([]string, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		switch c.Kind {
		case KindRead:
			return []string{fmt.Sprintf("%s: %d", name, *field(&m.st))}, nil
		case KindTest:
			return []string{fmt.Sprintf("%s: (%d-%d)", name, lo, hi)}, nil
		case KindSet:
			if len(c.Args) < 1 {
				return nil, cme(CMEIncorrectParameters)
			}
			n, err := atoiArg(c.Args[0], lo, hi)
			if err != nil {
				return nil, err
			}
			*field(&m.st) = uint8(n)
			return nil, nil
		}
		return nil, cme(CMEIncorrectParameters)
	}
}

// await is the outcome of a network selection, once it has one. Callers
// hold m.mu, and have just started sel.
func (m *Modem) await(sel *selection) error {
	return &pending{start: func(finish func([]string, error)) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if sel.done {
			err := sel.err
			m.env.clock.AfterFunc(0, func() { finish(nil, err) })
			return
		}
		sel.notify = func(err error) { finish(nil, err) }
	}}
}

// ---- V.250 ------------------------------------------------------------------

func resetSettings(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	m.st.resetSettings()
	m.st.portState.defaults() // the port's own
	m.mu.Unlock()
	return nil, nil
}

func identity(_ context.Context, m *Modem, c Command) ([]string, error) {
	p := m.env.profile
	return []string{p.Manufacturer(), p.Model(), "Revision: " + p.Revision()}, nil
}

func sRegister(_ context.Context, m *Modem, c Command) ([]string, error) {
	n, _ := strconv.Atoi(c.Name[1:])
	if n > 255 {
		return nil, ErrError
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("%03d", m.st.sreg.get(n))}, nil
	case KindTest:
		return []string{fmt.Sprintf("S%d: (0-127)", n)}, nil
	case KindSet:
		v, err := strconv.Atoi(c.Args[0].Value)
		if err != nil || v > 127 {
			return nil, ErrError
		}
		m.st.sreg.set(n, v)
	}
	return nil, nil
}

// dial enters data state on a packet data context: ATD*99# or ATD*99***<cid>#.
func dial(ctx context.Context, m *Modem, c Command) ([]string, error) {
	// T (tone) and P (pulse) modifiers mean nothing to a packet call.
	cid, ok := parseDial(strings.TrimLeft(strings.ReplaceAll(c.Args[0].Value, " ", ""), "TPtp"))
	if !ok {
		return nil, errNoCarrier
	}
	return nil, m.enterData(cid)
}

// parseDial reads a packet data dial string, "*99#" or "*99***<cid>#",
// and returns its context (1 when it names none).
func parseDial(v string) (cid int, ok bool) {
	rest, ok := strings.CutPrefix(v, "*99")
	if !ok {
		return 0, false
	}
	if rest == "#" {
		return 1, true
	}
	rest, ok = strings.CutPrefix(rest, "***")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, "#")
	if !ok || digits == "" {
		return 0, false
	}
	for i := range len(digits) {
		if !isDigit(digits[i]) {
			return 0, false
		}
	}
	cid, _ = strconv.Atoi(digits) // too many digits: as Atoi clamps them
	return cid, true
}

// enterData activates a context and enters data state on it, on the port
// the command came from.
func (m *Modem) enterData(cid int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.laterDo(m.env.timing.Data, dataEntered, uint64(cid))
}

// dataEntered is enterData's outcome on port cur (nil: the main port).
func dataEntered(m *Modem, cur *port, cid uint64) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.activate(int(cid)); err != nil {
		return nil, errNoCarrier
	}
	if cur == nil {
		cur = m.ports[0]
	}
	cur.st.dataMode, cur.st.dataCID = true, uint8(cid) // a defined context: 1..16
	return nil, errConnect
}

func hangUp(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.dataMode = false
	if ctxt := m.st.contexts.get(int(m.st.dataCID)); ctxt != nil {
		ctxt.active, ctxt.addr = false, 0
	}
	return nil, nil
}

func online(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ctxt := m.st.contexts.get(int(m.st.dataCID)); ctxt == nil || !ctxt.active {
		return nil, errNoCarrier
	}
	m.st.dataMode = true
	return nil, errConnect
}

// ---- 27.007 -------------------------------------------------------------------

func cpin(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		return []string{"+CPIN: READY"}, nil
	case KindTest, KindSet:
		return nil, nil // no PIN is set on a Super SIM: any PIN is accepted
	}
	return nil, cme(CMEIncorrectParameters)
}

func cscs(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{`+CSCS: "` + m.st.charset() + `"`}, nil
	case KindTest:
		q := make([]string, len(charsets))
		for i, cs := range charsets {
			q[i] = quote(cs)
		}
		return []string{"+CSCS: (" + strings.Join(q, ",") + ")"}, nil
	case KindSet:
		for i, cs := range charsets {
			if len(c.Args) > 0 && strings.EqualFold(c.Args[0].Value, cs) {
				m.st.cscs = uint8(i)
				return nil, nil
			}
		}
	}
	return nil, cme(CMEIncorrectParameters)
}

func cgerep(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		v := 0
		if m.st.cgerep {
			v = 1
		}
		return []string{fmt.Sprintf("+CGEREP: %d,0", v)}, nil
	case KindTest:
		return []string{"+CGEREP: (0-2),(0,1)"}, nil
	case KindSet:
		n, err := atoiArg(c.Args[0], 0, 2)
		if err != nil {
			return nil, err
		}
		m.st.cgerep = n > 0
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

func cfun(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		return []string{fmt.Sprintf("+CFUN: %d", m.st.cfun)}, nil
	case KindTest:
		return []string{"+CFUN: (0,1,4),(0,1)"}, nil
	case KindSet:
		fun, err := atoiArg(c.Args[0], 0, 4)
		if err != nil || fun == 2 || fun == 3 {
			return nil, cme(CMEIncorrectParameters)
		}
		rst := 0
		if len(c.Args) > 1 && !c.Args[1].Empty() {
			if rst, err = atoiArg(c.Args[1], 0, 1); err != nil {
				return nil, err
			}
		}
		if rst == 1 {
			m.reboot(fun)
			return nil, nil
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if fun == int(m.st.cfun) {
			return nil, nil
		}
		m.st.cfun = uint8(fun)
		if fun == 1 {
			m.startSelection()
		} else {
			m.radioOff()
		}
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// radioOff deregisters without touching the settings. Callers hold m.mu.
func (m *Modem) radioOff() {
	m.gen++
	m.st.camped = false
	m.abandonSelection()
	m.stopTimer(timerReg)
	m.stopAuth()
	m.detachData()
	m.st.serving = nil
	m.setReg(RegNotRegistered, nil, 0)
}

// operName formats a cell's operator as +COPS format 0 (long), 1 (short) or 2 (numeric).
func operName(c Cell, format int) string {
	switch format {
	case 1:
		name := c.Network.FriendlyName
		if len(name) > 8 {
			name = name[:8]
		}
		return name
	case 2:
		return c.PLMN.String()
	}
	name := c.Network.FriendlyName
	if len(name) > 16 {
		name = name[:16]
	}
	return name
}

func cops(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		var buf [64]byte
		b := strconv.AppendInt(append(buf[:0], "+COPS: "...), int64(m.st.copsMode), 10)
		if s := m.st.serving; s != nil && m.st.reg.Registered() {
			b = strconv.AppendInt(append(b, ','), int64(m.st.copsFormat), 10)
			b = append(b, ',', '"')
			if m.st.copsFormat == 2 {
				b = append(append(append(b, s.PLMN.MCC...), s.PLMN.MNC...), '"', ',')
			} else {
				b = append(append(b, operName(*s, int(m.st.copsFormat))...), '"', ',')
			}
			b = strconv.AppendInt(b, int64(m.env.profile.CatM1AcT()), 10)
		}
		return []string{string(b)}, nil
	case KindTest:
		return m.scan()
	case KindExec:
		return nil, cme(CMEIncorrectParameters)
	}
	mode, err := atoiArg(c.Args[0], 0, 4)
	if err != nil {
		return nil, err
	}
	format := -1
	if len(c.Args) > 1 && !c.Args[1].Empty() {
		if format, err = atoiArg(c.Args[1], 0, 2); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	if format >= 0 {
		m.st.copsFormat = uint8(format)
	}
	switch mode {
	case 3:
		m.mu.Unlock()
		if format < 0 {
			return nil, cme(CMEIncorrectParameters)
		}
		return nil, nil
	case 0, 2:
		m.st.copsMode = uint8(mode)
		m.startSelection()
		m.mu.Unlock()
		return nil, nil
	}
	// Manual selection (1) and manual/automatic (4) wait for the outcome.
	if len(c.Args) < 3 || c.Args[2].Value == "" {
		m.mu.Unlock()
		return nil, cme(CMEIncorrectParameters)
	}
	if len(c.Args) > 3 && !c.Args[3].Empty() {
		act, err := strconv.Atoi(c.Args[3].Value)
		if err != nil || (act != 7 && act != m.env.profile.CatM1AcT()) {
			m.mu.Unlock()
			return nil, cme(CMENoNetwork) // LTE-M only: no GSM, NB-IoT not offered to Super SIMs
		}
	}
	plmn, ok := m.findOperator(c.Args[2].Value, int(m.st.copsFormat))
	if !ok {
		m.mu.Unlock()
		return nil, cme(CMENoNetwork)
	}
	m.st.copsMode, m.st.moreOf().manual = uint8(mode), &plmn
	m.st.cause = 0 // the outcome is this selection's, not an earlier rejection's
	defer m.mu.Unlock()
	return nil, m.await(m.startSelection())
}

// findOperator resolves a +COPS operator among the visible networks; a
// numeric operator that is not visible still names a PLMN. Callers hold m.mu.
func (m *Modem) findOperator(oper string, format int) (sim.PLMN, bool) {
	for _, c := range m.cells() {
		if operName(c, format) == oper || c.PLMN.String() == oper {
			return c.PLMN, true
		}
	}
	if format == 2 && (len(oper) == 5 || len(oper) == 6) {
		if _, err := strconv.Atoi(oper); err == nil {
			return sim.PLMN{MCC: oper[:3], MNC: oper[3:]}, true
		}
	}
	return sim.PLMN{}, false
}

// scan is AT+COPS=?: the networks in range after the scan time, each
// marked current (2), forbidden (3: rejected before, or not allowed by
// the SIM's Network Access Profile) or available (1).
func (m *Modem) scan() ([]string, error) {
	m.mu.Lock()
	on := m.st.cfun == 1
	m.mu.Unlock()
	if !on {
		return nil, cme(CMENotAllowed)
	}
	return nil, m.later(m.env.timing.Scan, m.scanResult)
}

// scanResult lists the networks at the end of a scan.
func (m *Modem) scanResult() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var entries []string
	for _, c := range m.cells() {
		stat := 1
		switch {
		case m.st.serving != nil && m.st.serving.PLMN == c.PLMN && m.st.reg.Registered():
			stat = 2
		case m.st.isForbidden(c.PLMN):
			stat = 3
		default:
			if _, err := m.env.core.AuthorizeAttach(m.card.ICCID, c.PLMN); isNotAllowed(err) {
				stat = 3
			}
		}
		entries = append(entries, fmt.Sprintf("(%d,%s,%s,%s,%d)", stat, quote(operName(c, 0)), quote(operName(c, 1)), quote(c.PLMN.String()), m.env.profile.CatM1AcT()))
	}
	return []string{"+COPS: " + strings.Join(entries, ",") + ",,(0,1,2,3,4),(0,1,2)"}, nil
}

func isNotAllowed(err error) bool {
	e, ok := err.(*sim.Error)
	return ok && e.Code == sim.CodeNetworkNotAllowed
}

func creg(k regKind) Handler {
	return func(_ context.Context, m *Modem, c Command) ([]string, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		n := [...]*uint8{&m.st.cregN, &m.st.cgregN, &m.st.ceregN}[k]
		switch c.Kind {
		case KindRead:
			return []string{m.regLine(k, int(*n), true)}, nil
		case KindTest:
			return []string{k.name() + ": (0-5)"}, nil
		case KindSet:
			v, err := atoiArg(c.Args[0], 0, 5)
			if err != nil {
				return nil, err
			}
			*n = uint8(v)
			return nil, nil
		}
		return nil, cme(CMEIncorrectParameters)
	}
}

// signal is the RSSI the modem receives: its serving cell's, else the best
// visible one's, else 99 (not known). Callers hold m.mu.
func (m *Modem) signal() int {
	if m.st.cfun != 1 {
		return 99
	}
	if s := m.st.serving; s != nil {
		if c, ok := m.cellFor(s.PLMN); ok {
			return c.RSSI
		}
	}
	if cells := m.cells(); len(cells) > 0 {
		return cells[0].RSSI
	}
	return 99
}

func csq(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CSQ: (0-31,99),(0-7,99)"}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var buf [16]byte
	return []string{string(append(strconv.AppendInt(append(buf[:0], "+CSQ: "...), int64(m.signal()), 10), ",99"...))}, nil
}

func cesq(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rssi := m.signal()
	dbm, ok := at3gpp.RSSIDBm(rssi)
	if !ok {
		return []string{"+CESQ: 99,99,255,255,255,255"}, nil
	}
	rsrp := min(97, max(0, dbm-17+141)) // RSRP ≈ RSSI − 17 dB, −141+n dBm
	rsrq := min(34, 14+rssi/3)
	return []string{fmt.Sprintf("+CESQ: 99,99,255,255,%d,%d", rsrq, rsrp)}, nil
}

func cpsms(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CPSMS: %d,,,%s,%s", m.st.psm().mode, quote(m.st.psm().tau), quote(m.st.psm().active))}, nil
	case KindTest:
		return []string{`+CPSMS: (0-2),,,("00000000"-"11111111"),("00000000"-"11111111")`}, nil
	case KindSet, KindExec:
		p := psmSettings{}
		if len(c.Args) > 0 {
			mode, err := atoiArg(c.Args[0], 0, 2)
			if err != nil {
				return nil, err
			}
			p.mode = uint8(mode)
		}
		timer := func(i int) (string, error) {
			if len(c.Args) <= i || c.Args[i].Empty() {
				return "", nil
			}
			v := c.Args[i].Value
			if !psmTimerRE.MatchString(v) {
				return "", cme(CMEIncorrectParameters)
			}
			return v, nil
		}
		var err error
		if p.tau, err = timer(3); err != nil {
			return nil, err
		}
		if p.active, err = timer(4); err != nil {
			return nil, err
		}
		if p.mode == 2 {
			p = psmSettings{}
		}
		m.st.power().psm = p
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

func cedrxs(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		if e := m.st.edrx(); e.mode == 0 || e.mode == 3 {
			return []string{"+CEDRXS: 0"}, nil
		}
		return []string{fmt.Sprintf("+CEDRXS: %d,%s", m.st.edrx().act, quote(m.st.edrx().value))}, nil
	case KindTest:
		return []string{`+CEDRXS: (0-3),(4,5),("0000"-"1111")`}, nil
	case KindSet:
		mode, err := atoiArg(c.Args[0], 0, 3)
		if err != nil {
			return nil, err
		}
		e := edrxSettings{mode: uint8(mode), act: 4, value: "0000"}
		if len(c.Args) > 1 && !c.Args[1].Empty() {
			act, err := atoiArg(c.Args[1], 4, 5)
			if err != nil {
				return nil, err
			}
			e.act = uint8(act)
		}
		if len(c.Args) > 2 && !c.Args[2].Empty() {
			if !edrxValueRE.MatchString(c.Args[2].Value) {
				return nil, cme(CMEIncorrectParameters)
			}
			e.value = c.Args[2].Value
		}
		m.st.power().edrx = e
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

func cgdcont(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		var lines []string
		for cid := 1; cid <= 15; cid++ {
			if p := m.st.contexts.get(cid); p != nil {
				lines = append(lines, fmt.Sprintf("+CGDCONT: %d,%s,%s,%s,0,0", cid, quote(p.pdpType.String()), quote(p.apnName()), quote(p.addr.String())))
			}
		}
		return lines, nil
	case KindTest:
		return []string{`+CGDCONT: (1-15),"IP",,,(0),(0)`, `+CGDCONT: (1-15),"IPV6",,,(0),(0)`, `+CGDCONT: (1-15),"IPV4V6",,,(0),(0)`}, nil
	case KindSet:
		cid, err := atoiArg(c.Args[0], 1, 15)
		if err != nil {
			return nil, err
		}
		if len(c.Args) == 1 {
			if p := m.st.contexts.get(cid); p != nil && p.active {
				return nil, cme(CMENotAllowed)
			}
			m.st.contexts.del(cid)
			return nil, nil
		}
		typ, ok := parsePDPType(c.Args[1].Value)
		if !ok {
			return nil, cme(CMEIncorrectParameters)
		}
		return nil, m.defineContext(cid, typ, c.Args[2:])
	}
	return nil, cme(CMEIncorrectParameters)
}

// defineContext (re)defines a PDP context with an optional APN parameter;
// an active context cannot change. Callers hold m.mu.
func (m *Modem) defineContext(cid int, typ pdpType, apnArg []Arg) error {
	apn := ""
	if len(apnArg) > 0 {
		apn = apnArg[0].Value
	}
	if p := m.st.contexts.get(cid); p != nil && p.active {
		return cme(CMENotAllowed)
	}
	p := &pdpContext{pdpType: typ}
	if apn != "" {
		p.apn = &apn
	}
	m.st.contexts.set(cid, p)
	return nil
}

func cgatt(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		v := 0
		if m.st.reg.Registered() {
			v = 1
		}
		return []string{fmt.Sprintf("+CGATT: %d", v)}, nil
	case KindTest:
		return []string{"+CGATT: (0,1)"}, nil
	case KindSet:
		v, err := atoiArg(c.Args[0], 0, 1)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		if v == 0 {
			camped := m.st.reg.Registered()
			m.radioOff()
			m.st.detached, m.st.camped = true, camped
			m.mu.Unlock()
			return nil, nil
		}
		m.st.detached = false
		if m.st.reg.Registered() {
			m.mu.Unlock()
			return nil, nil // 27.007 §10.1.9: already attached, nothing to do
		}
		if m.st.copsMode == 2 {
			m.st.copsMode = 0
		}
		defer m.mu.Unlock()
		if m.st.camped {
			// Detached by the host but still camped on its cell: the attach
			// procedure alone, no cell search (TinyGSM's SIMCom drivers
			// detach before every connect).
			return nil, m.await(m.selectAfter(0))
		}
		return nil, m.await(m.startSelection())
	}
	return nil, cme(CMEIncorrectParameters)
}

func cgact(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		var lines []string
		for cid := 1; cid <= 15; cid++ {
			if p := m.st.contexts.get(cid); p != nil {
				v := 0
				if p.active {
					v = 1
				}
				lines = append(lines, fmt.Sprintf("+CGACT: %d,%d", cid, v))
			}
		}
		return lines, nil
	case KindTest:
		return []string{"+CGACT: (0,1)"}, nil
	case KindSet:
		state, err := atoiArg(c.Args[0], 0, 1)
		if err != nil {
			return nil, err
		}
		var cids []int
		for _, a := range c.Args[1:] {
			cid, err := atoiArg(a, 1, 15)
			if err != nil {
				return nil, err
			}
			cids = append(cids, cid)
		}
		apply := func() ([]string, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if len(cids) == 0 {
				cids = m.st.contexts.cids() // in cid order
			}
			for _, cid := range cids {
				p := m.st.contexts.get(cid)
				if p == nil {
					return nil, cme(CMEIncorrectParameters)
				}
				if state == 0 {
					m.deactivate(cid)
					continue
				}
				if apn := p.apnName(); apn != "" && !strings.EqualFold(apn, "super") {
					return nil, cme(127) // missing or unknown APN
				}
				if err := m.activate(cid); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}
		if state == 1 {
			return nil, m.later(m.env.timing.Data, apply)
		}
		return apply()
	}
	return nil, cme(CMEIncorrectParameters)
}

func cgpaddr(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+CGPADDR: (1-15)"}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var cids []int
	for _, a := range c.Args {
		cid, err := atoiArg(a, 1, 15)
		if err != nil {
			return nil, err
		}
		cids = append(cids, cid)
	}
	if len(cids) == 0 {
		for cid := 1; cid <= 15; cid++ {
			if m.st.contexts.get(cid) != nil {
				cids = append(cids, cid)
			}
		}
	}
	var lines []string
	for _, cid := range cids {
		p := m.st.contexts.get(cid)
		if p == nil {
			return nil, cme(CMEIncorrectParameters)
		}
		if p.active {
			lines = append(lines, fmt.Sprintf("+CGPADDR: %d,%s", cid, quote(p.addr.String())))
		} else {
			lines = append(lines, fmt.Sprintf("+CGPADDR: %d", cid))
		}
	}
	return lines, nil
}

func cgdata(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead: // 27.007 §10.1.12 has no read form
		return nil, ErrError
	case KindTest:
		return []string{`+CGDATA: ("PPP")`}, nil
	case KindSet:
		if !strings.EqualFold(c.Args[0].Value, "PPP") && c.Args[0].Value != "" {
			return nil, cme(CMEIncorrectParameters)
		}
		cid := 1
		if len(c.Args) > 1 {
			var err error
			if cid, err = atoiArg(c.Args[1], 1, 15); err != nil {
				return nil, err
			}
		}
		return nil, m.enterData(cid)
	}
	return nil, m.enterData(1)
}

// clip is AT+CLIP, calling line identification presentation (27.007
// §7.6; BG96 AT Commands Manual §6.5). A Cat-M1 module without voice still
// answers it, as the BG9x do: hosts such as ModemManager and gammu set it
// up whatever the bearer. No call ever comes, so it changes nothing; the
// read form reports the service as provisioned (<m> 1), as modules do.
func clip(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CLIP: %d,1", m.st.clip)}, nil
	case KindTest:
		return []string{"+CLIP: (0,1)"}, nil
	case KindSet:
		if len(c.Args) != 1 {
			return nil, cme(CMEIncorrectParameters)
		}
		n, err := atoiArg(c.Args[0], 0, 1)
		if err != nil {
			return nil, err
		}
		m.st.clip = uint8(n)
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}
