package modem

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// Profile is a module's dialect on top of 27.007: its identity, what it
// prints when it powers up, its quirks and its own commands. Generic is
// 27.007 alone; Quectel is the BG95/BG96 family. A second module (u-blox
// SARA-R4, SIMCom SIM7080) is another Profile.
type Profile interface {
	Name() string
	Manufacturer() string
	Model() string
	Revision() string
	// BootURCs are printed once the modem has powered up.
	BootURCs() []string
	// CatM1AcT is the <AcT> +COPS, +CREG, +CGREG and +CEREG use for LTE
	// Cat-M1: 7 in 27.007, 8 on
	// Quectel BG9x.
	CatM1AcT() int
	// Commands are the module's own commands, and overrides of standard ones.
	Commands() map[string]Handler
	// Ports are the module's serial ports, the main port (MainPort: where
	// a host dials, and what Serve serves) first; one port marks where
	// indications go by default. A module on a single UART has one.
	Ports() []Port
}

// profileDefaults is a profile whose power-up settings differ from the
// engine's (SIMCom: +CMEE 0, its own +CME ERROR texts). New finds it,
// powerUp applies it.
type profileDefaults interface {
	defaults(st *state)
}

// Profiles lists the profiles by name, for flags and the control API.
func Profiles() []string { return []string{"bg96", "bg95", "sim7080", "sim7000", "sara-r4", "generic"} }

// ProfileByName returns a profile: "bg96", "bg95", "sim7080", "sim7000", "sara-r4" or "generic".
func ProfileByName(name string) (Profile, error) {
	switch strings.ToLower(name) {
	case "bg96":
		return Quectel{model: "BG96", revision: "BG96MAR02A07M1G", qgmr: "BG96MAR02A07M1G_01.019.01.019"}, nil
	case "bg95":
		return Quectel{model: "BG95-M3", revision: "BG95M3LAR02A03", qgmr: "BG95M3LAR02A03_01.011.01.011"}, nil
	case "sara-r4":
		return Ublox{}, nil
	case "sim7080":
		return sim7080, nil
	case "sim7000":
		return sim7000, nil
	case "generic":
		return Generic{}, nil
	}
	return nil, fmt.Errorf("unknown modem profile %q (want one of %s)", name, strings.Join(Profiles(), ", "))
}

// Generic is a plain 3GPP TS 27.007 modem.
type Generic struct{}

func (Generic) Name() string                 { return "generic" }
func (Generic) Manufacturer() string         { return "fleetsim" }
func (Generic) Model() string                { return "LTE-M" }
func (Generic) Revision() string             { return "fleetsim-1.0" }
func (Generic) BootURCs() []string           { return nil }
func (Generic) CatM1AcT() int                { return 7 }
func (Generic) Commands() map[string]Handler { return nil }
func (Generic) Ports() []Port                { return []Port{{Name: MainPort, URC: true}} }

// Quectel is a Quectel BG96 or BG95.
type Quectel struct {
	model, revision, qgmr string
}

func (q Quectel) Name() string       { return strings.ToLower(strings.SplitN(q.model, "-", 2)[0]) }
func (Quectel) Manufacturer() string { return "Quectel" }
func (q Quectel) Model() string      { return q.model }
func (q Quectel) Revision() string   { return q.revision }
func (Quectel) CatM1AcT() int        { return 8 }
func (Quectel) BootURCs() []string {
	return []string{"RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE", "APP RDY"}
}

// Quectel's commands are built once: the profile is a value. Its TCP/IP
// stack's commands (sockets.go) join them.
var quectelCommands = joinCommands(socketCommands, map[string]Handler{
	"+QCCID":    info(func(m *Modem) string { return "+QCCID: " + m.card.ICCID }),
	"+QGMR":     info(func(m *Modem) string { return m.env.profile.(Quectel).qgmr }),
	"+QINISTAT": info(func(*Modem) string { return "+QINISTAT: 7" }),
	"+QNWINFO":  qnwinfo,
	"+QCSQ":     qcsq,
	"+QSPN":     qspn,
	"+QCFG":     qcfg,
	"+QPOWD":    qpowd,
	"+QICSGP":   qicsgp,
	"+QURCCFG":  qurccfg,
	"+WS46":     quectelWS46Handler,
})

// joinCommands merges command tables; an earlier table's entry wins.
func joinCommands(tables ...map[string]Handler) map[string]Handler {
	all := make(map[string]Handler)
	for i := len(tables) - 1; i >= 0; i-- {
		for name, h := range tables[i] {
			all[name] = h
		}
	}
	return all
}

func (Quectel) Commands() map[string]Handler { return quectelCommands }

// Ports are a BG95/BG96's USB serial ports a host talks AT on: the modem
// port (Linux ttyUSB3) and the AT port (ttyUSB2), where indications go
// by default (AT+QURCCFG="urcport" is "usbat"). The DM and NMEA ports
// carry no AT commands and are left out.
func (Quectel) Ports() []Port { return []Port{{Name: MainPort}, {Name: "at", URC: true}} }

// quectelAct is how Quectel names the radio technology of a Cat-M1 cell.
func quectelAct(m *Modem) string {
	if m.env.profile.Model() == "BG96" {
		return "CAT-M1"
	}
	return "eMTC"
}

func qnwinfo(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st.serving
	if s == nil || !m.st.reg.Registered() {
		return []string{"+QNWINFO: No Service"}, nil
	}
	return []string{fmt.Sprintf("+QNWINFO: %s,%s,%s,%d", quote(quectelAct(m)), quote(s.PLMN.String()), quote(fmt.Sprintf("LTE BAND %d", s.Band)), s.EARFCN)}, nil
}

func qcsq(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{`+QCSQ: "NOSERVICE","GSM","CAT-M1","CAT-NB1"`}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.serving == nil || !m.st.reg.Registered() {
		return []string{`+QCSQ: "NOSERVICE"`}, nil
	}
	dbm, _ := at3gpp.RSSIDBm(m.signal()) // registered: a signal there is
	return []string{fmt.Sprintf("+QCSQ: %s,%d,%d,%d,%d", quote(quectelAct(m)), dbm, dbm-17, 100+5*(m.signal()-10), -3-(31-m.signal())/4)}, nil
}

func qspn(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind != KindRead && c.Kind != KindExec {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.st.serving
	if s == nil || !m.st.reg.Registered() {
		return nil, cme(CMENoNetwork)
	}
	return []string{fmt.Sprintf("+QSPN: %s,%s,%s,0,%s", quote(operName(*s, 0)), quote(operName(*s, 1)), quote(""), quote(s.PLMN.String()))}, nil
}

// qcfg handles the AT+QCFG settings firmware touches when choosing RATs.
// Both AT+QCFG="x" and AT+QCFG="x"? query.
func qcfg(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{`+QCFG: "nwscanseq",(00-010203),(0,1)`, `+QCFG: "nwscanmode",(0,1,3),(0,1)`, `+QCFG: "iotopmode",(0-2),(0,1)`, `+QCFG: "band",(0-F),(0-100002000000000F0E189F),(0-10004200000000090E189F),(0,1)`}, nil
	}
	if c.Kind != KindSet || len(c.Args) == 0 {
		return nil, cme(CMEIncorrectParameters)
	}
	name := strings.ToLower(strings.TrimSuffix(c.Args[0].Value, "?"))
	args := c.Args[1:]
	if strings.HasSuffix(c.Args[0].Value, "?") || len(args) > 0 && args[len(args)-1].Value == "?" {
		args = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch name {
	case "nwscanseq":
		if len(args) == 0 {
			return []string{`+QCFG: "nwscanseq",` + m.st.scanSeq()}, nil
		}
		v := args[0].Value
		if len(v)%2 != 0 || len(v) == 0 || strings.Trim(v, "0123") != "" {
			return nil, cme(CMEIncorrectParameters)
		}
		m.st.moreOf().scanseq = &v
	case "nwscanmode":
		if len(args) == 0 {
			return []string{fmt.Sprintf(`+QCFG: "nwscanmode",%d`, m.st.scanmode)}, nil
		}
		n, err := atoiArg(args[0], 0, 3)
		if err != nil || n == 2 {
			return nil, cme(CMEIncorrectParameters)
		}
		m.st.scanmode = uint8(n)
	case "iotopmode":
		if len(args) == 0 {
			return []string{fmt.Sprintf(`+QCFG: "iotopmode",%d`, m.st.iotopmode)}, nil
		}
		n, err := atoiArg(args[0], 0, 2)
		if err != nil {
			return nil, err
		}
		m.st.iotopmode = uint8(n)
	case "band":
		if len(args) == 0 {
			return []string{`+QCFG: "band",0xf,0x100002000000000f0e189f,0x10004200000000090e189f`}, nil
		}
	default:
		return nil, cme(CMEIncorrectParameters)
	}
	return nil, nil
}

// qpowd powers the module down: OK, then POWERED DOWN; only a power cycle
// (the control API) brings it back.
func qpowd(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.cfun = 0
	m.radioOff()
	m.st.addAfter("POWERED DOWN")
	return nil, nil
}

func qicsgp(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindTest:
		return []string{`+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)`}, nil
	case KindSet:
		cid, err := atoiArg(c.Args[0], 1, 16)
		if err != nil {
			return nil, err
		}
		if len(c.Args) == 1 {
			p := m.st.contexts.get(cid)
			if p == nil {
				return []string{`+QICSGP: 0,"","","",0`}, nil
			}
			return []string{fmt.Sprintf(`+QICSGP: 1,%s,"","",0`, quote(p.apnName()))}, nil
		}
		var typ pdpType
		switch c.Args[1].Value {
		case "1":
			typ = pdpIP
		case "2":
			typ = pdpIPv6
		case "3":
			typ = pdpIPv4v6
		default:
			return nil, cme(CMEIncorrectParameters)
		}
		return nil, m.defineContext(cid, typ, c.Args[2:])
	}
	return nil, cme(CMEIncorrectParameters)
}

func qiact(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+QIACT: (1-16)"}, nil
	case KindRead:
		m.mu.Lock()
		defer m.mu.Unlock()
		var lines []string
		for cid := 1; cid <= 16; cid++ {
			if p := m.st.contexts.get(cid); p != nil && p.active {
				lines = append(lines, fmt.Sprintf("+QIACT: %d,1,1,%s", cid, quote(p.addr.String())))
			}
		}
		return lines, nil
	case KindSet:
		cid, err := atoiArg(c.Args[0], 1, 16)
		if err != nil {
			return nil, err
		}
		return cgact(ctx, m, Command{Name: "+CGACT", Kind: KindSet, Args: []Arg{{Value: "1"}, {Value: itoa(cid)}}})
	}
	return nil, cme(CMEIncorrectParameters)
}

func qideact(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return []string{"+QIDEACT: (1-16)"}, nil
	}
	if c.Kind != KindSet {
		return nil, nil
	}
	cid, err := atoiArg(c.Args[0], 1, 16)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deactivate(cid)
	return nil, nil
}

// quectelWS46 ties +WS46 to the scan mode (AT+QCFG="nwscanmode"): the BG9x
// are GSM/EGPRS and LTE (Cat-M1, NB-IoT) modules, so 12 is GSM only
// (nwscanmode 1), 28 E-UTRAN only (3) and 30 GERAN and E-UTRAN (0, automatic).
var quectelWS46 = map[int]int{12: 1, 28: 3, 30: 0}

func quectelWS46Handler(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch c.Kind {
	case KindTest:
		return []string{"+WS46: (12,28,30)"}, nil
	case KindRead:
		for ws, mode := range quectelWS46 {
			if mode == int(m.st.scanmode) {
				return []string{fmt.Sprintf("+WS46: %d", ws)}, nil
			}
		}
		return []string{"+WS46: 30"}, nil
	case KindSet:
		n, err := strconv.Atoi(c.Args[0].Value)
		mode, ok := quectelWS46[n]
		if err != nil || !ok {
			return nil, cme(CMEIncorrectParameters)
		}
		m.st.scanmode = uint8(mode)
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}
