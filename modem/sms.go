package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/warthog618/sms"
	"github.com/warthog618/sms/encoding/pdumode"
	"github.com/warthog618/sms/encoding/tpdu"
	"github.com/warthog618/sms/encoding/ucs2"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/sim"
)

// smsCore is what the SMS commands ask of the core network beyond Core;
// *sim.Control implements it. A Core without it delivers no SMS and
// refuses every AT+CMGS.
type smsCore interface {
	// SmsCommandForDevice hands over an SMS Command the network has for
	// the SIM (it becomes sent); SmsDelivered reports it stored (delivered).
	SmsCommandForDevice(ctx context.Context, iccid, sid string) (*sim.SmsCommand, error)
	SmsDelivered(ctx context.Context, iccid, sid string) error
	// SendMobileOriginated submits an SMS the device sends to to.
	SendMobileOriginated(ctx context.Context, iccid, to, payload string) (*sim.SmsCommand, error)
}

// CMSError is a final result "+CMS ERROR: <err>" of 3GPP TS 27.005
// §3.2.5 (0–127 RP causes of TS 24.011 Annex E, 300–500 the ME's), shared
// with the hw client and the scenario firmware. The modem writes it as
// plain ERROR, the number or the text, as AT+CMEE says.
type CMSError = at3gpp.CMSError

// 27.005 §3.2.5 and 24.011 codes the modem uses, named in the shared
// vocabulary.
const (
	CMSTransferRejected   = at3gpp.CMSTransferRejected  // RP cause #21: short message transfer rejected
	CMSFacilityNotSubscr  = at3gpp.CMSFacilityNotSubscr // RP cause #50: requested facility not subscribed
	CMSNotAllowed         = at3gpp.CMSNotAllowed
	CMSNotSupported       = at3gpp.CMSNotSupported
	CMSInvalidPDUParam    = at3gpp.CMSInvalidPDUParam
	CMSInvalidTextParam   = at3gpp.CMSInvalidTextParam
	CMSInvalidMemoryIndex = at3gpp.CMSInvalidMemoryIndex
	CMSMemoryFull         = at3gpp.CMSMemoryFull
	CMSNoNetwork          = at3gpp.CMSNoNetwork
	CMSUnknown            = at3gpp.CMSUnknown
)

func cms(code int) error { return &CMSError{Code: code} }

// cmsResult formats a +CMS ERROR as +CMEE asks (0: ERROR, 1: the code,
// 2: the text), as it does +CME ERROR.
func (st *state) cmsResult(err error) string {
	var e *CMSError
	if !errors.As(err, &e) || st.cmee == 0 {
		return st.result(resError)
	}
	if st.quiet {
		return ""
	}
	if st.cmee == 2 {
		return st.frame("+CMS ERROR: " + e.Verbose())
	}
	return st.frame("+CMS ERROR: " + strconv.Itoa(e.Code))
}

// smsCentre is the service centre address the SIM holds and the network
// stamps on the SMS it delivers: a number of the range kept for fiction
// (555-01xx), as Twilio does not publish Super SIM's.
const smsCentre = "+15555550100"

// smsMem is a message storage: the SIM's or the module's own.
type smsMem uint8

const (
	memSM smsMem = iota // SIM message storage
	memME               // ME (module) message storage
	numMems
)

var (
	smsMemNames = [numMems]string{"SM", "ME"}
	smsMemSlots = [numMems]int{20, 50}
)

func parseMem(a Arg) (smsMem, bool) {
	for i, n := range smsMemNames {
		if strings.EqualFold(a.Value, n) {
			return smsMem(i), true
		}
	}
	return 0, false
}

// smsStat is a stored message's 27.005 <stat>; statAll selects every one.
type smsStat uint8

const (
	statRecUnread smsStat = iota
	statRecRead
	statStoUnsent
	statStoSent
	statAll
)

var smsStatNames = [...]string{"REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL"}

// parseStat reads a <stat>: a name in text mode, a number in PDU mode.
func parseStat(a Arg, text bool) (smsStat, bool) {
	for i, n := range smsStatNames {
		if text && strings.EqualFold(a.Value, n) || !text && a.Value == strconv.Itoa(i) {
			return smsStat(i), true
		}
	}
	return 0, false
}

// smsMessage is one received SMS as stored: the TPDU as it came, with its
// fields decoded for text mode.
type smsMessage struct {
	stat smsStat
	tpdu []byte // the SMS-DELIVER TPDU
	t    tpdu.TPDU
	text string // the user data as UTF-8, or hex for 8-bit data
}

// smsState is a modem's SMS service: its settings (which a power cycle
// resets) and its message storages (which it keeps, as a SIM and the
// module's flash keep them). It is guarded by Modem.mu.
type smsState struct {
	boot  uint32 // the power-up the settings belong to
	ready bool   // the settings are set for boot
	cnmi  [5]int // <mode>,<mt>,<bm>,<ds>,<bfr>
	csdh  bool
	csmp  [4]int    // <fo>,<vp>,<pid>,<dcs>
	mem   [3]smsMem // <mem1> read/delete, <mem2> write/send, <mem3> receive
	sca   string
	mr    int                    // the last message reference used
	store [numMems][]*smsMessage // slots in index order; nil is free
	entry *smsEntry              // the AT+CMGS waiting for its message
}

// smsSt returns the SMS state with the settings of the current power-up.
// Callers hold m.mu.
func (m *Modem) smsSt() *smsState {
	if m.sms == nil {
		m.sms = &smsState{}
	}
	s := m.sms
	if s.store[0] == nil {
		for i := range s.store {
			s.store[i] = make([]*smsMessage, smsMemSlots[i])
		}
		s.sca = smsCentre
	}
	if !s.ready || s.boot != m.boots {
		s.ready, s.boot = true, m.boots
		s.cnmi = [5]int{2, 1, 0, 0, 0} // the BG96's default: +CMTI for each SMS
		s.csdh = false
		s.csmp = [4]int{17, 167, 0, 0}
		s.mem = [3]smsMem{memSM, memSM, memSM}
	}
	return s
}

// smsFormat is what the modem needs to show messages: the mode, the
// character set and the line end. Callers hold m.mu.
type smsFormat struct {
	text bool
	cscs string
	eol  string
	csdh bool
	sca  string
}

func (m *Modem) smsFormat() smsFormat {
	s := m.smsSt()
	return smsFormat{text: m.st.cmgf == 1, cscs: m.st.charset(), eol: string([]byte{m.st.s3(), m.st.s4()}), csdh: s.csdh, sca: s.sca}
}

// smsCommands are the 3GPP TS 27.005 SMS commands, in text and PDU mode.
// They take precedence over the standard set.
var smsCommands = map[string]Handler{
	"+CSMS": csms,
	"+CPMS": cpms,
	"+CNMI": cnmi,
	"+CSDH": csdh,
	"+CSMP": csmp,
	"+CSCA": csca,
	"+CMGR": cmgr,
	"+CMGL": cmgl,
	"+CMGD": cmgd,
	"+CMGS": cmgs,
	"+CNMA": func(context.Context, *Modem, Command) ([]string, error) { return nil, nil },
}

func csms(_ context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindRead:
		return []string{"+CSMS: 0,1,1,1"}, nil
	case KindTest:
		return []string{"+CSMS: (0,1)"}, nil
	case KindSet:
		if len(c.Args) != 1 || (c.Args[0].Value != "0" && c.Args[0].Value != "1") {
			return nil, cms(CMSNotSupported)
		}
		return []string{"+CSMS: 1,1,1"}, nil
	}
	return nil, cms(CMSNotAllowed)
}

// cpmsCounts is "<used>,<total>" of each storage in mems. Callers hold m.mu.
func (s *smsState) counts(mems []smsMem, names bool) string {
	var f []string
	for _, mem := range mems {
		used := 0
		for _, msg := range s.store[mem] {
			if msg != nil {
				used++
			}
		}
		if names {
			f = append(f, quote(smsMemNames[mem]))
		}
		f = append(f, itoa(used), itoa(len(s.store[mem])))
	}
	return strings.Join(f, ",")
}

func cpms(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	switch c.Kind {
	case KindRead:
		return []string{"+CPMS: " + s.counts(s.mem[:], true)}, nil
	case KindTest:
		l := `("` + strings.Join(smsMemNames[:], `","`) + `")`
		return []string{"+CPMS: " + l + "," + l + "," + l}, nil
	case KindSet:
		if len(c.Args) > 3 {
			return nil, cms(CMSNotSupported)
		}
		mems := s.mem
		for i, a := range c.Args {
			if a.Empty() && i > 0 {
				continue
			}
			mem, ok := parseMem(a)
			if !ok {
				return nil, cms(CMSNotSupported)
			}
			mems[i] = mem
		}
		s.mem = mems
		return []string{"+CPMS: " + s.counts(s.mem[:], false)}, nil
	}
	return nil, cms(CMSNotAllowed)
}

// cnmiValues are the values of each +CNMI parameter the modem accepts, as
// the BG96 and BG95 AT Commands Manuals give them (AT+CNMI=?): <mode> 0-2,
// <mt> 0-3, <bm> 0 or 2 (cell broadcasts as +CBM), <ds> 0-2 (status reports
// as +CDS or +CDSI), <bfr> 0-1. The network sends neither broadcasts nor
// status reports, so <bm> and <ds> are kept and change nothing.
var cnmiValues = [5]uint8{0b111, 0b1111, 0b101, 0b111, 0b11}

const cnmiTest = "+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"

func cnmi(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CNMI: %d,%d,%d,%d,%d", s.cnmi[0], s.cnmi[1], s.cnmi[2], s.cnmi[3], s.cnmi[4])}, nil
	case KindTest:
		return []string{cnmiTest}, nil
	case KindSet:
		if len(c.Args) > 5 {
			return nil, cms(CMSNotSupported)
		}
		v := s.cnmi
		for i, a := range c.Args {
			if a.Empty() {
				continue
			}
			n, err := strconv.Atoi(a.Value)
			if err != nil || n < 0 || n > 7 || cnmiValues[i]&(1<<n) == 0 {
				return nil, cms(CMSNotSupported)
			}
			v[i] = n
		}
		s.cnmi = v
		return nil, nil
	}
	return nil, cms(CMSNotAllowed)
}

func csdh(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	switch c.Kind {
	case KindRead:
		v := 0
		if s.csdh {
			v = 1
		}
		return []string{"+CSDH: " + itoa(v)}, nil
	case KindTest:
		return []string{"+CSDH: (0,1)"}, nil
	case KindExec:
		s.csdh = false
		return nil, nil
	case KindSet:
		if len(c.Args) != 1 || (c.Args[0].Value != "0" && c.Args[0].Value != "1") {
			return nil, cms(CMSNotSupported)
		}
		s.csdh = c.Args[0].Value == "1"
		return nil, nil
	}
	return nil, cms(CMSNotAllowed)
}

func csmp(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CSMP: %d,%d,%d,%d", s.csmp[0], s.csmp[1], s.csmp[2], s.csmp[3])}, nil
	case KindTest:
		return nil, nil
	case KindSet:
		if len(c.Args) > 4 {
			return nil, cms(CMSInvalidTextParam)
		}
		v := s.csmp
		for i, a := range c.Args {
			if a.Empty() {
				continue
			}
			n, err := strconv.Atoi(a.Value)
			if err != nil || n < 0 || n > 255 {
				return nil, cms(CMSInvalidTextParam)
			}
			v[i] = n
		}
		s.csmp = v
		return nil, nil
	}
	return nil, cms(CMSNotAllowed)
}

func csca(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+CSCA: %s,%d", quote(s.sca), toa(s.sca))}, nil
	case KindTest:
		return nil, nil
	case KindSet:
		if len(c.Args) < 1 || len(c.Args) > 2 || c.Args[0].Value == "" || strings.Trim(strings.TrimPrefix(c.Args[0].Value, "+"), "0123456789") != "" {
			return nil, cms(CMSInvalidTextParam)
		}
		s.sca = c.Args[0].Value
		return nil, nil
	}
	return nil, cms(CMSNotAllowed)
}

// toa is the type of address of a number: 145 international, 129 unknown.
func toa(number string) int {
	if strings.HasPrefix(number, "+") {
		return 145
	}
	return 129
}

// index reads a message index of storage mem.
func (s *smsState) index(a Arg, mem smsMem) (int, error) {
	i, err := strconv.Atoi(a.Value)
	if err != nil || i < 0 || i >= len(s.store[mem]) {
		return 0, cms(CMSInvalidMemoryIndex)
	}
	return i, nil
}

func cmgr(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	if c.Kind != KindSet || len(c.Args) < 1 || len(c.Args) > 2 {
		return nil, cms(CMSNotAllowed)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	mem := s.mem[0]
	i, err := s.index(c.Args[0], mem)
	if err != nil {
		return nil, err
	}
	msg := s.store[mem][i]
	if msg == nil {
		return nil, nil // an empty index: OK, as Quectel modules answer
	}
	f := m.smsFormat()
	var head string
	if f.text {
		head = "+CMGR: " + quote(smsStatNames[msg.stat]) + "," + msg.textHeader(f, true)
	} else {
		head = fmt.Sprintf("+CMGR: %d,,%d", msg.stat, len(msg.tpdu))
	}
	line := head + f.eol + msg.body(f)
	if msg.stat == statRecUnread && (len(c.Args) < 2 || c.Args[1].Value != "1") {
		msg.stat = statRecRead
	}
	return []string{line}, nil
}

func cmgl(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	f := m.smsFormat()
	want := statRecUnread
	switch c.Kind {
	case KindTest:
		if f.text {
			return []string{`+CMGL: ("` + strings.Join(smsStatNames[:], `","`) + `")`}, nil
		}
		return []string{"+CMGL: (0-4)"}, nil
	case KindSet:
		if len(c.Args) > 2 {
			return nil, cms(CMSNotAllowed)
		}
		var ok bool
		if want, ok = parseStat(c.Args[0], f.text); !ok {
			if f.text {
				return nil, cms(CMSInvalidTextParam)
			}
			return nil, cms(CMSInvalidPDUParam)
		}
	case KindRead:
		return nil, cms(CMSNotAllowed)
	}
	keep := len(c.Args) == 2 && c.Args[1].Value == "1"
	mem := s.mem[0]
	var entries []string
	for i, msg := range s.store[mem] {
		if msg == nil || (want != statAll && msg.stat != want) {
			continue
		}
		var head string
		if f.text {
			head = fmt.Sprintf("+CMGL: %d,%s,%s", i, quote(smsStatNames[msg.stat]), msg.textHeader(f, false))
		} else {
			head = fmt.Sprintf("+CMGL: %d,%d,,%d", i, msg.stat, len(msg.tpdu))
		}
		entries = append(entries, head+f.eol+msg.body(f))
		if msg.stat == statRecUnread && !keep {
			msg.stat = statRecRead
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	// One information text, as a module writes it: the entries follow each
	// other without blank lines.
	return []string{strings.Join(entries, f.eol)}, nil
}

func cmgd(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.smsSt()
	mem := s.mem[0]
	switch c.Kind {
	case KindTest:
		var used []string
		for i, msg := range s.store[mem] {
			if msg != nil {
				used = append(used, itoa(i))
			}
		}
		return []string{"+CMGD: (" + strings.Join(used, ",") + "),(0-4)"}, nil
	case KindSet:
	default:
		return nil, cms(CMSNotAllowed)
	}
	if len(c.Args) < 1 || len(c.Args) > 2 {
		return nil, cms(CMSNotAllowed)
	}
	flag := 0
	if len(c.Args) == 2 && !c.Args[1].Empty() {
		n, err := strconv.Atoi(c.Args[1].Value)
		if err != nil || n < 0 || n > 4 {
			return nil, cms(CMSNotSupported)
		}
		flag = n
	}
	if flag == 0 {
		i, err := s.index(c.Args[0], mem)
		if err != nil {
			return nil, err
		}
		s.store[mem][i] = nil
		return nil, nil
	}
	// 1: read; 2: read and sent; 3: read, sent and unsent; 4: all.
	for i, msg := range s.store[mem] {
		if msg != nil && (flag == 4 || msg.stat == statRecRead || flag >= 2 && msg.stat == statStoSent || flag >= 3 && msg.stat == statStoUnsent) {
			s.store[mem][i] = nil
		}
	}
	return nil, nil
}

// textHeader is the text mode header of a received message after <stat>:
// <oa>,[<alpha>],<scts> and, with +CSDH=1, the rest (+CMGR) or
// <tooa>,<length> (+CMGL).
func (msg *smsMessage) textHeader(f smsFormat, full bool) string {
	h := quote(msg.t.OA.Number()) + ",," + quote(scts(msg.t.SCTS.Time))
	if !f.csdh {
		return h
	}
	if !full {
		return h + fmt.Sprintf(",%d,%d", msg.t.OA.TOA, msg.length())
	}
	return h + fmt.Sprintf(",%d,%d,%d,%d,%s,%d,%d", msg.t.OA.TOA, byte(msg.t.FirstOctet), msg.t.PID, byte(msg.t.DCS), quote(f.sca), toa(f.sca), msg.length())
}

// length is the text mode <length>: characters, or octets of 8-bit data.
func (msg *smsMessage) length() int {
	if a, _ := msg.t.DCS.Alphabet(); a == tpdu.Alpha8Bit {
		return len(msg.t.UD)
	}
	return utf8.RuneCountInString(msg.text)
}

// body is the message as +CMGR, +CMGL and +CMT show it: the PDU (service
// centre address and TPDU, in hex) in PDU mode, the text in the TE
// character set in text mode.
func (msg *smsMessage) body(f smsFormat) string {
	if !f.text {
		return pduHex(f.sca, msg.tpdu)
	}
	if a, _ := msg.t.DCS.Alphabet(); a == tpdu.Alpha8Bit {
		return msg.text // already hex
	}
	if f.cscs == "UCS2" {
		return ucs2Hex(msg.text)
	}
	return msg.text
}

func pduHex(sca string, b []byte) string {
	p := pdumode.PDU{SMSC: pdumode.SMSCAddress{Address: tpdu.NewAddress(tpdu.FromNumber(sca))}, TPDU: b}
	h, err := p.MarshalHexString()
	if err != nil { // a +CSCA that is not a number: the PDU goes without it
		return "00" + strings.ToUpper(hex.EncodeToString(b))
	}
	return strings.ToUpper(h)
}

func ucs2Hex(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	return b.String()
}

// scts formats a service centre time stamp: "yy/MM/dd,hh:mm:ss±zz", the
// zone in quarter hours.
func scts(t time.Time) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return t.Format("06/01/02,15:04:05") + fmt.Sprintf("%s%02d", sign, off/900)
}

// deliverPDUs encodes an SMS Command as the SMS-DELIVER TPDUs the network
// sends: from 000, GSM 7-bit when it can, UCS-2 otherwise (in several
// concatenated parts when that is too long for one).
func deliverPDUs(payload string, at time.Time) ([]smsMessage, error) {
	out, err := encodeDeliver(payload, at)
	if err == nil && joinText(out) == payload {
		return out, nil
	}
	// GSM 7-bit cannot carry everything it takes (an ESC, a NUL reads back
	// as something else): such a payload goes as UCS-2.
	return encodeDeliver(string(ucs2.Encode([]rune(payload))), at, sms.AsUCS2)
}

func joinText(msgs []smsMessage) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m.text)
	}
	return b.String()
}

func encodeDeliver(payload string, at time.Time, opts ...sms.EncoderOption) ([]smsMessage, error) {
	oa := tpdu.Address{TOA: 0x81, Addr: sim.SmsCommandsNumber} // unknown type, ISDN plan
	opts = append([]sms.EncoderOption{sms.AsDeliver, sms.WithTemplateOption(tpdu.WithOA(oa))}, opts...)
	ts, err := sms.Encode([]byte(payload), opts...)
	if err != nil {
		return nil, err
	}
	out := make([]smsMessage, len(ts))
	for i := range ts {
		ts[i].SCTS = tpdu.Timestamp{Time: at}
		b, err := ts[i].MarshalBinary()
		if err != nil {
			return nil, err
		}
		msg, err := parseDeliver(b)
		if err != nil {
			return nil, err
		}
		out[i] = *msg
	}
	return out, nil
}

// parseDeliver decodes an SMS-DELIVER TPDU for storage.
func parseDeliver(b []byte) (*smsMessage, error) {
	t, err := sms.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	if t.SmsType() != tpdu.SmsDeliver {
		return nil, fmt.Errorf("TPDU is %v, not SMS-DELIVER", t.SmsType())
	}
	msg := &smsMessage{tpdu: b, t: *t}
	if a, _ := t.DCS.Alphabet(); a == tpdu.Alpha8Bit {
		msg.text = strings.ToUpper(hex.EncodeToString(t.UD))
		return msg, nil
	}
	text, err := sms.Decode([]*tpdu.TPDU{t})
	if err != nil {
		return nil, err
	}
	msg.text = string(text)
	return msg, nil
}

// smsEvent handles an SMS Command the network has for this modem's SIM:
// a modem that is on and registered takes it, stores it (or shows it at
// once, as +CNMI says) and confirms it; otherwise the network tries again
// later. Each SMS counts in the SIM's usage.
func (m *Modem) smsEvent(e sim.Event) {
	core := m.smsCore()
	if core == nil {
		return
	}
	iccid := m.card.ICCID
	m.mu.Lock()
	plmn, reachable := m.smsReachable()
	if reachable {
		s := m.smsSt()
		if m.smsNeedsSlot(s) && s.free(s.mem[2]) < 0 {
			reachable = false // memory full: the network keeps it for later
		}
	}
	m.mu.Unlock()
	if !reachable {
		return
	}
	ctx := context.Background()
	cmd, err := core.SmsCommandForDevice(ctx, iccid, e.Sid)
	if err != nil {
		m.env.logger.Debug("SMS Command not taken", "sms", e.Sid, "err", err)
		return
	}
	msgs, err := deliverPDUs(cmd.Payload, m.env.clock.Now().UTC())
	if err != nil {
		m.env.logger.Warn("SMS Command not encodable", "sms", e.Sid, "err", err)
		return
	}
	m.mu.Lock()
	for i := range msgs {
		m.receiveSMS(&msgs[i])
	}
	m.mu.Unlock()
	if err := core.SmsDelivered(ctx, iccid, e.Sid); err != nil {
		m.env.logger.Debug("SMS Command delivery", "sms", e.Sid, "err", err)
		return
	}
	_ = m.env.core.RecordUsage(ctx, sim.UsageReport{ICCID: iccid, PLMN: plmn, SMS: 1})
}

// smsReachable reports whether the network can deliver an SMS to the
// modem now: it is on and registered. Callers hold m.mu.
func (m *Modem) smsReachable() (sim.PLMN, bool) {
	if m.closed || m.urcPort() == nil || m.st.cfun != 1 || !m.st.reg.Registered() || m.st.serving == nil {
		return sim.PLMN{}, false
	}
	return m.st.serving.PLMN, true
}

// smsDirect reports whether +CNMI routes a new SMS to the host as +CMT
// instead of storing it. Callers hold m.mu.
func (m *Modem) smsDirect(s *smsState) bool {
	return s.cnmi[1] == 2 && s.cnmi[0] != 0 && !m.st.dataMode
}

func (m *Modem) smsNeedsSlot(s *smsState) bool { return !m.smsDirect(s) }

// free is the first free index of a storage, or -1.
func (s *smsState) free(mem smsMem) int {
	for i, msg := range s.store[mem] {
		if msg == nil {
			return i
		}
	}
	return -1
}

// receiveSMS stores a new SMS or shows it, as +CNMI says: <mt> 0 stores it
// silently, 1 (and 3: these are not class 3) stores it with +CMTI, 2
// shows it with +CMT. With <mode> 0, or <mode> 1 in data state, +CMTI is
// not shown (the message is stored); <mode> 2 holds it until the port
// leaves data state. Callers hold m.mu.
func (m *Modem) receiveSMS(msg *smsMessage) {
	s := m.smsSt()
	f := m.smsFormat()
	if m.smsDirect(s) {
		var head string
		if f.text {
			head = "+CMT: " + msg.textHeader(f, true)
		} else {
			head = fmt.Sprintf("+CMT: ,%d", len(msg.tpdu))
		}
		m.urc(head + f.eol + msg.body(f))
		return
	}
	mem := s.mem[2]
	i := s.free(mem)
	if i < 0 {
		return
	}
	msg.stat = statRecUnread
	s.store[mem][i] = msg
	// <mode> 2 buffers the indication while the port is in data state (the
	// port holds it until it leaves); <mode> 1 discards it.
	if s.cnmi[0] != 0 && s.cnmi[1] != 0 && (s.cnmi[0] == 2 || !m.st.dataMode) {
		m.urc(fmt.Sprintf("+CMTI: %s,%d", quote(smsMemNames[mem]), i))
	}
}

// ---- sending: AT+CMGS ---------------------------------------------------------

// maxSMSEntry bounds the text or PDU a host may type after the prompt.
const maxSMSEntry = 4 * (sim.MaxSmsPayload + 16)

// smsPrompt is what the modem writes when it waits for the message.
const smsPrompt = "\r\n> "

func cmgs(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	text := m.st.cmgf == 1
	cscs := m.st.charset()
	m.mu.Unlock()
	if c.Kind != KindSet || len(c.Args) < 1 || len(c.Args) > 2 {
		if text {
			return nil, cms(CMSInvalidTextParam)
		}
		return nil, cms(CMSInvalidPDUParam)
	}
	e := &smsEntry{m: m, text: text, cscs: cscs}
	if text {
		e.da = c.Args[0].Value
		if cscs == "UCS2" {
			da, err := fromUCS2Hex(e.da)
			if err != nil {
				return nil, cms(CMSInvalidTextParam)
			}
			e.da = da
		}
		if e.da == "" || strings.Trim(strings.TrimPrefix(e.da, "+"), "0123456789*#") != "" {
			return nil, cms(CMSInvalidTextParam)
		}
	} else {
		n, err := strconv.Atoi(c.Args[0].Value)
		if err != nil || n < 7 || n > 164 {
			return nil, cms(CMSInvalidPDUParam)
		}
		e.length = n
	}
	return nil, &pending{start: e.start, input: func(b []byte) int { return len(b) - len(m.smsInput(b)) }}
}

// smsEntry is the message a host types after AT+CMGS's prompt, up to
// Ctrl-Z (send) or Esc (abandon): text in text mode, the hex PDU in PDU mode.
type smsEntry struct {
	m      *Modem
	text   bool
	cscs   string
	da     string // text mode: the destination
	length int    // PDU mode: the TPDU's length in octets
	buf    []byte
	over   bool // more than maxSMSEntry was typed
	done   bool
	boot   uint32 // the power-up the command belongs to
	finish func([]string, error)
}

func (e *smsEntry) start(finish func([]string, error)) {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	e.finish, e.boot = finish, m.boots
	m.smsSt().entry = e
	m.raw(smsPrompt)
}

// smsInput gives input to the AT+CMGS waiting for its message, if any, and
// returns what it did not take. The session calls it with its own lock
// held, so the outcome comes from a timer.
func (m *Modem) smsInput(b []byte) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sms == nil || m.sms.entry == nil || len(b) == 0 {
		return b
	}
	e := m.sms.entry
	if e.boot != m.boots { // the modem lost power meanwhile: so did the command
		m.sms.entry = nil
		return b
	}
	n := e.feed(b)
	if e.done {
		m.sms.entry = nil
	}
	return b[n:]
}

// feed takes the typed message and returns how much of b it used.
// Callers hold m.mu.
func (e *smsEntry) feed(b []byte) int {
	m := e.m
	echoOn, s5 := m.st.echo, m.st.s5()
	start := 0
	echo := func(end int) {
		if echoOn && end > start {
			m.raw(string(b[start:end]))
		}
	}
	for i, c := range b {
		switch {
		case c == 0x1A || c == 0x1B:
			echo(i)
			e.done = true
			if c == 0x1B { // abandoned: nothing is sent
				m.env.clock.AfterFunc(0, func() { e.finish(nil, nil) })
			} else {
				m.env.clock.AfterFunc(m.env.timing.Data, func() { e.finish(e.submit()) })
			}
			return i + 1
		case c == s5:
			if n := len(e.buf); n > 0 {
				_, size := utf8.DecodeLastRune(e.buf)
				e.buf = e.buf[:n-size]
			}
		case c == '\r':
			echo(i + 1)
			start = i + 1
			m.raw("\n> ")
			if e.text {
				e.buf = append(e.buf, '\r')
			}
		default:
			if len(e.buf) >= maxSMSEntry {
				e.over = true
			} else {
				e.buf = append(e.buf, c)
			}
		}
	}
	echo(len(b))
	return len(b)
}

// submit decodes the message and sends it: the answer is +CMGS: <mr>.
func (e *smsEntry) submit() ([]string, error) {
	m := e.m
	to, payload, err := e.message()
	if err != nil {
		return nil, err
	}
	core := m.smsCore()
	if core == nil {
		return nil, cms(CMSUnknown)
	}
	m.mu.Lock()
	plmn, reachable := m.smsReachable()
	m.mu.Unlock()
	if !reachable {
		return nil, cms(CMSNoNetwork)
	}
	ctx := context.Background()
	iccid := m.card.ICCID
	if _, err := core.SendMobileOriginated(ctx, iccid, to, payload); err != nil {
		switch {
		case errors.Is(err, sim.ErrSmsDestination):
			return nil, cms(CMSTransferRejected)
		case errors.Is(err, sim.ErrSmsCommandsDisabled), errors.Is(err, sim.ErrSimNew), errors.Is(err, sim.ErrSimInactive):
			return nil, cms(CMSFacilityNotSubscr)
		}
		return nil, cms(CMSUnknown)
	}
	_ = m.env.core.RecordUsage(ctx, sim.UsageReport{ICCID: iccid, PLMN: plmn, SMS: 1})
	m.mu.Lock()
	s := m.smsSt()
	s.mr = (s.mr + 1) % 256
	mr := s.mr
	m.mu.Unlock()
	return []string{"+CMGS: " + itoa(mr)}, nil
}

// message decodes what was typed into the destination and the text.
func (e *smsEntry) message() (to, payload string, err error) {
	if e.text {
		if e.over {
			return "", "", cms(CMSInvalidTextParam)
		}
		payload = string(e.buf)
		if e.cscs == "UCS2" {
			if payload, err = fromUCS2Hex(payload); err != nil {
				return "", "", cms(CMSInvalidTextParam)
			}
		}
		if payload == "" || !utf8.ValidString(payload) || utf8.RuneCountInString(payload) > sim.MaxSmsPayload {
			return "", "", cms(CMSInvalidTextParam)
		}
		return e.da, payload, nil
	}
	if e.over {
		return "", "", cms(CMSInvalidPDUParam)
	}
	return parseSubmitPDU(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\r' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, string(e.buf)), e.length)
}

// parseSubmitPDU decodes a PDU mode AT+CMGS message: the hex of an
// optional service centre address and an SMS-SUBMIT TPDU of length octets.
func parseSubmitPDU(h string, length int) (to, payload string, err error) {
	bad := cms(CMSInvalidPDUParam)
	p, err := pdumode.UnmarshalHexString(h)
	if err != nil || len(p.TPDU) != length {
		return "", "", bad
	}
	t, err := sms.Unmarshal(p.TPDU, sms.AsMO)
	if err != nil || t.SmsType() != tpdu.SmsSubmit {
		return "", "", bad
	}
	var text []byte
	if a, _ := t.DCS.Alphabet(); a == tpdu.Alpha8Bit {
		text = []byte(strings.ToUpper(hex.EncodeToString(t.UD)))
	} else if text, err = sms.Decode([]*tpdu.TPDU{t}); err != nil {
		return "", "", bad
	}
	if len(text) == 0 || !utf8.Valid(text) || utf8.RuneCount(text) > sim.MaxSmsPayload {
		return "", "", bad
	}
	return t.DA.Number(), string(text), nil
}

// fromUCS2Hex decodes text in the UCS2 TE character set: hex of UTF-16 units.
func fromUCS2Hex(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b)%2 != 0 {
		return "", errors.New("not UCS2 hex")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u)), nil
}
