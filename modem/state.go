package modem

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/sim"
)

// state is everything a modem remembers. It is guarded by Modem.mu.
//
// What a module keeps per serial port (the V.250 settings, data state) is
// in each port's portState; the embedded pointer is the port a command
// runs for while one runs, and the port indications go to otherwise (see
// Modem.repoint), so that a handler's m.st.echo or m.st.frame is its own
// port's.
type state struct {
	*portState

	// 27.007 settings. The numeric ones are small and packed together
	// (below): a fleet keeps a million modems.
	more   *stateMore   // settings most hosts never make, made when one first is
	vendor *vendorState // u-blox's or SIMCom's own, made on first use

	// The radio.
	country string
	serving *Cell
	// The PLMNs rejected with #11, until power-off, oldest first: a few
	// at most. The first two are in fplmn, as codes (0 for none), the
	// rest in forbidden (nil for none); see forbiddenList.
	fplmn     [2]plmnCode
	forbidden *[]sim.PLMN
	contexts  pdpContexts

	afterResult *[]string // indications to print right after the current command's result; nil for none

	// 27.007's numeric settings.
	cregN, cgregN, ceregN uint8
	cgerep                bool
	cscs                  uint8 // the character set, charsets[cscs]
	cfun                  uint8
	copsMode, copsFormat  uint8
	cmgf                  uint8
	clip                  uint8 // +CLIP presentation of the calling line
	ctzu, ctzr            uint8 // time zone update and reporting
	cusd                  uint8 // USSD result presentation
	crc, ccwa             uint8 // call indication format, call waiting presentation
	ifc                   [2]uint8
	// Quectel's.
	iotopmode, scanmode uint8
	// The radio's.
	rssi     int8 // forced signal, -1 for the natural one
	reg      RegState
	cause    uint8 // last EMM reject cause
	detached bool  // AT+CGATT=0: stay off the network until asked again
	// camped: detached by AT+CGATT=0 while registered, so still camped on
	// the cell (24.301 §5.2.2.3.1): AT+CGATT=1 attaches without a search.
	camped bool
}

// pdpContext is a defined PDP context, in 16 bytes: a modem keeps its
// power-up one in place (pdpContexts.first).
type pdpContext struct {
	apn     *string // nil for none
	addr    ipv4    // while active
	cid     uint8
	pdpType pdpType
	active  bool
}

// apnName is the context's APN, "" for none.
func (p *pdpContext) apnName() string {
	if p.apn == nil {
		return ""
	}
	return *p.apn
}

// pdpType is a PDP context's type, as AT+CGDCONT names it.
type pdpType uint8

const (
	pdpIP pdpType = iota
	pdpIPv6
	pdpIPv4v6
	pdpNonIP
)

var pdpTypeNames = [...]string{pdpIP: "IP", pdpIPv6: "IPV6", pdpIPv4v6: "IPV4V6", pdpNonIP: "NON-IP"}

func (t pdpType) String() string { return pdpTypeNames[t] }

// parsePDPType is the type AT+CGDCONT names, in any case.
func parsePDPType(s string) (pdpType, bool) {
	for t, name := range pdpTypeNames {
		if strings.EqualFold(s, name) {
			return pdpType(t), true
		}
	}
	return 0, false
}

// ipv4 is an IPv4 address kept in four bytes and formatted when read; 0,
// 0.0.0.0, is none.
type ipv4 uint32

func ipv4From(a netip.Addr) ipv4 {
	b := a.As4()
	return ipv4(binary.BigEndian.Uint32(b[:]))
}

func (a ipv4) String() string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(a))
	return netip.AddrFrom4(b).String()
}

// stateMore is the settings most hosts never make: a word in the state
// for the three.
type stateMore struct {
	manual  *sim.PLMN    // AT+COPS=1's network, once a host chose one
	ps      *powerSaving // PSM and eDRX
	scanseq *string      // Quectel's AT+QCFG="nwscanseq" once set; nil for the power-up "020301"
}

// moreOf returns st.more, made now if it was not yet.
func (st *state) moreOf() *stateMore {
	if st.more == nil {
		st.more = new(stateMore)
	}
	return st.more
}

// vendorState is a vendor's own state, of the one vendor a modem's
// profile is: a word in the state for both.
type vendorState struct {
	ublox  *ubloxState  // u-blox's (ublox.go)
	simcom *simcomState // SIMCom's settings and CIP stack state (simcom.go)
}

// vendorOf returns st.vendor, made now if it was not yet.
func (st *state) vendorOf() *vendorState {
	if st.vendor == nil {
		st.vendor = new(vendorState)
	}
	return st.vendor
}

// manualPLMN is the network of manual selection.
func (st *state) manualPLMN() sim.PLMN {
	if st.more == nil || st.more.manual == nil {
		return sim.PLMN{}
	}
	return *st.more.manual
}

// powerSaving is what a host set of PSM (AT+CPSMS) and eDRX (AT+CEDRXS).
type powerSaving struct {
	psm  psmSettings
	edrx edrxSettings
}

// psm is the PSM settings.
func (st *state) psm() psmSettings {
	if st.more == nil || st.more.ps == nil {
		return psmSettings{}
	}
	return st.more.ps.psm
}

// edrx is the eDRX settings.
func (st *state) edrx() edrxSettings {
	if st.more == nil || st.more.ps == nil {
		return edrxSettings{}
	}
	return st.more.ps.edrx
}

// power is the power saving settings, for a command to set them.
func (st *state) power() *powerSaving {
	m := st.moreOf()
	if m.ps == nil {
		m.ps = new(powerSaving)
	}
	return m.ps
}

type psmSettings struct {
	mode        uint8
	tau, active string
}

type edrxSettings struct {
	mode, act uint8
	value     string
}

func initialState(country string) state {
	st := state{
		country: strings.ToUpper(country),
		rssi:    -1,
	}
	st.resetSettings()
	st.resetRadio()
	return st
}

// portState is what a module keeps per serial port. On a Quectel module
// each USB port has its own echo, result code format and suppression, S3,
// S4, S5 and +CMEE (a host configures each port it opens: ModemManager
// sends ATE0 and AT+CMEE=1 on every port it probes), and its own data
// state; everything else (registration, SIM, contexts, sockets, SMS) is
// the module's, shared by its ports.
type portState struct {
	// V.250 command settings.
	sreg                 sregisters // S3 line end, S4 line feed, S5 backspace...
	echo, verbose, quiet bool
	cmee                 uint8

	dataMode bool  // the port carries a data session (ATD*99#, CONNECT)
	dataCID  uint8 // a defined context: 1..16
}

// defaults restores the port's command settings (ATZ, AT&F).
func (ps *portState) defaults() {
	ps.echo, ps.verbose, ps.quiet = true, true, false
	ps.cmee = 1
	ps.sreg = sregisters{}
}

// resetSettings restores the modem's own command settings (ATZ, AT&F);
// the port's are portState.defaults.
func (st *state) resetSettings() {
	st.cregN, st.cgregN, st.ceregN = 0, 0, 0
	st.cgerep = false
	st.cscs, st.cmgf = 0, 0 // GSM
}

// resetRadio is the power-up state of the radio side.
func (st *state) resetRadio() {
	st.cfun = 1
	st.copsMode, st.copsFormat = 0, 0
	st.reg, st.cause, st.serving = RegNotRegistered, 0, nil
	st.fplmn, st.forbidden = [2]plmnCode{}, nil
	st.contexts = pdpContexts{}
	st.detached, st.camped = false, false
	st.iotopmode, st.scanmode = 0, 0
	if m := st.more; m != nil {
		m.scanseq, m.ps = nil, nil
		if m.manual == nil {
			st.more = nil
		}
	}
	st.ctzu, st.ctzr, st.cusd = 0, 0, 0
	st.crc, st.ccwa, st.ifc = 0, 0, [2]uint8{}
}

func (st *state) regN(k regKind) int { return int([...]uint8{st.cregN, st.cgregN, st.ceregN}[k]) }

func (ps *portState) s3() byte { return byte(ps.sreg.get(3)) }
func (ps *portState) s4() byte { return byte(ps.sreg.get(4)) }
func (ps *portState) s5() byte { return byte(ps.sreg.get(5)) }

// forbid adds a PLMN to the forbidden list.
func (st *state) forbid(p sim.PLMN) {
	if !st.isForbidden(p) {
		st.setForbidden(append(st.forbiddenList(), p))
	}
}

// forbiddenList is the forbidden list, oldest first.
func (st *state) forbiddenList() []sim.PLMN {
	var l []sim.PLMN
	for _, c := range st.fplmn {
		if c != 0 {
			l = append(l, c.plmn())
		}
	}
	if st.forbidden != nil {
		l = append(l, *st.forbidden...)
	}
	return l
}

// setForbidden makes l the forbidden list: as many of its first PLMNs as
// fplmn holds there, the rest in forbidden.
func (st *state) setForbidden(l []sim.PLMN) {
	st.fplmn, st.forbidden = [2]plmnCode{}, nil
	i := 0
	for ; i < len(l) && i < len(st.fplmn); i++ {
		c, ok := plmnCodeOf(l[i])
		if !ok {
			break
		}
		st.fplmn[i] = c
	}
	if rest := l[i:]; len(rest) > 0 {
		st.forbidden = &rest
	}
}

// isForbidden reports whether p is on the forbidden list.
func (st *state) isForbidden(p sim.PLMN) bool {
	if c, ok := plmnCodeOf(p); ok && (st.fplmn[0] == c || st.fplmn[1] == c) {
		return true
	}
	return st.forbidden != nil && slices.Contains(*st.forbidden, p)
}

// allow takes p off the forbidden list.
func (st *state) allow(p sim.PLMN) {
	if st.isForbidden(p) {
		st.setForbidden(slices.DeleteFunc(st.forbiddenList(), func(q sim.PLMN) bool { return q == p }))
	}
}

// plmnCode is a PLMN of a 3-digit MCC and a 2- or 3-digit MNC in a word:
// bit 31 set, bit 30 for a 3-digit MNC, the MCC from bit 10, the MNC
// below. 0 is none.
type plmnCode uint32

// plmnCodeOf is p's code, if it has one.
func plmnCodeOf(p sim.PLMN) (plmnCode, bool) {
	mcc, ok1 := decimal(p.MCC)
	mnc, ok2 := decimal(p.MNC)
	if !ok1 || !ok2 || len(p.MCC) != 3 || len(p.MNC) < 2 || len(p.MNC) > 3 {
		return 0, false
	}
	c := 1<<31 | plmnCode(mcc)<<10 | plmnCode(mnc)
	if len(p.MNC) == 3 {
		c |= 1 << 30
	}
	return c, true
}

// decimal is the value of up to 9 decimal digits.
func decimal(s string) (uint32, bool) {
	v, ok := digits(s, 9)
	return uint32(v), ok
}

// digits is the value of s if it is up to max (≤ 19) decimal digits.
func digits(s string, max int) (uint64, bool) {
	if len(s) > max {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	return v, true
}

// plmn is the PLMN c codes.
func (c plmnCode) plmn() sim.PLMN {
	mnc := fmt.Sprintf("%02d", c&0x3ff)
	if c&(1<<30) != 0 {
		mnc = fmt.Sprintf("%03d", c&0x3ff)
	}
	return sim.PLMN{MCC: fmt.Sprintf("%03d", c>>10&0x3ff), MNC: mnc}
}

// addAfter queues indications to print right after the current command's
// result.
func (st *state) addAfter(lines ...string) {
	if st.afterResult == nil {
		st.afterResult = new([]string)
	}
	*st.afterResult = append(*st.afterResult, lines...)
}

// takeAfter returns the indications addAfter queued and forgets them.
func (st *state) takeAfter() []string {
	if st.afterResult == nil {
		return nil
	}
	l := *st.afterResult
	st.afterResult = nil
	return l
}

// sregisters holds the S-registers that differ from their defaults: a
// modem that never changes one carries none, and a word for the list it
// would make (a port is in the 48-byte class, not 64).
type sregisters struct{ changed *[]sregister }

type sregister struct{ n, v uint8 }

// sregDefaults are the V.250 defaults, indexed by register; the others
// default to 0. An array: S3 and S5 are read for every input byte.
var sregDefaults = [...]uint8{0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 2, 12: 50}

func (r *sregisters) get(n int) int {
	if r.changed != nil {
		for _, s := range *r.changed {
			if int(s.n) == n {
				return int(s.v)
			}
		}
	}
	if n >= 0 && n < len(sregDefaults) {
		return int(sregDefaults[n])
	}
	return 0
}

func (r *sregisters) set(n, v int) {
	if r.changed == nil {
		r.changed = new([]sregister)
	}
	l := *r.changed
	for i, s := range l {
		if int(s.n) == n {
			l[i].v = uint8(v)
			return
		}
	}
	*r.changed = append(l, sregister{n: uint8(n), v: uint8(v)})
}

// frame frames an information line: <S3><S4>text<S3><S4> in verbose mode,
// text<S3><S4> in numeric mode.
func (ps *portState) frame(line string) string {
	return string(ps.appendFrame(nil, line))
}

// appendFrame appends line framed as frame does to b.
func (ps *portState) appendFrame(b []byte, line string) []byte {
	s3, s4 := ps.s3(), ps.s4()
	if ps.verbose {
		b = append(b, s3, s4)
	}
	return append(append(b, line...), s3, s4)
}

// resultCode is a V.250 final result code, numbered as ATV0 writes it.
type resultCode = at3gpp.Result

const (
	resOK        = at3gpp.ResultOK
	resConnect   = at3gpp.ResultConnect
	resNoCarrier = at3gpp.ResultNoCarrier
	resError     = at3gpp.ResultError
)

// result formats a final result code, or nothing under ATQ1.
func (ps *portState) result(r resultCode) string {
	if ps.quiet {
		return ""
	}
	if ps.verbose && int(r) < len(crlfResults) && ps.s3() == '\r' && ps.s4() == '\n' {
		return crlfResults[r] // the common responses, made once
	}
	return string(ps.appendResult(nil, r))
}

// crlfResults are the verbose result codes framed with the default S3 and
// S4: "\r\nOK\r\n".
var crlfResults = func() (rs [at3gpp.ResultNoAnswer + 1]string) {
	for i := range rs {
		rs[i] = "\r\n" + resultCode(i).String() + "\r\n"
	}
	return rs
}()

// appendResult appends the final result code r, as result formats it, to b.
func (ps *portState) appendResult(b []byte, r resultCode) []byte {
	if ps.quiet {
		return b
	}
	if ps.verbose {
		return ps.appendFrame(b, r.String())
	}
	return append(strconv.AppendInt(b, int64(r), 10), ps.s3())
}

// errorResult formats an error as the port's +CMEE asks, in the
// profile's words (texts, over 27.007's).
func (st *state) errorResult(err error, texts map[int]string) string {
	cmeErr, ok := err.(*CMEError)
	if !ok || st.cmee == 0 {
		return st.result(resError)
	}
	if st.quiet {
		return ""
	}
	if st.cmee == 2 {
		text, ok := texts[cmeErr.Code]
		if !ok {
			text = cmeErr.Verbose()
		}
		return st.frame("+CME ERROR: " + text)
	}
	return st.frame("+CME ERROR: " + strconv.Itoa(cmeErr.Code))
}

// pdpContexts are the defined PDP contexts in cid order: a modem has one or
// two, so a short list beats a map.
//
// A modem powers up with context 1 defined ("IP", APN "super") and
// inactive. Until a definition changes (set, del), that context is the
// only one and lives in place (first), its session state too: a modem
// that activates it and nothing else allocates nothing for its contexts.
type pdpContexts struct {
	// first is context 1 as power-up defines it while list is nil (its
	// fields are set by get: the zero value is a power-up's).
	first pdpContext
	// list is the defined contexts once a definition changed; it may hold
	// &first. Empty when every context is deleted.
	list *[]*pdpContext
}

// superAPN is the APN of the power-up context. Never changed.
var superAPN = "super"

// power is first as power-up defines it. Callers hold m.mu.
func (c *pdpContexts) power() *pdpContext {
	c.first.cid, c.first.pdpType, c.first.apn = 1, pdpIP, &superAPN
	return &c.first
}

// own makes the list of contexts, of the power-up context, if it was not yet.
func (c *pdpContexts) own() {
	if c.list == nil {
		c.list = &[]*pdpContext{c.power()}
	}
}

// all yields the defined contexts in cid order.
func (c *pdpContexts) all(yield func(*pdpContext) bool) {
	if c.list == nil {
		yield(c.power())
		return
	}
	for _, p := range *c.list {
		if !yield(p) {
			return
		}
	}
}

func (c *pdpContexts) get(cid int) *pdpContext {
	for p := range c.all {
		if int(p.cid) == cid {
			return p
		}
	}
	return nil
}

func (c *pdpContexts) set(cid int, p *pdpContext) {
	c.own()
	p.cid = uint8(cid)
	l := *c.list
	for i, q := range l {
		switch {
		case int(q.cid) == cid:
			l[i] = p
			return
		case int(q.cid) > cid:
			*c.list = slices.Insert(l, i, p)
			return
		}
	}
	*c.list = append(l, p)
}

func (c *pdpContexts) del(cid int) {
	c.own()
	*c.list = slices.DeleteFunc(*c.list, func(p *pdpContext) bool { return int(p.cid) == cid })
}

func (c *pdpContexts) cids() []int {
	var out []int
	for p := range c.all {
		out = append(out, int(p.cid))
	}
	return out
}

// charsets are the character sets of AT+CSCS, GSM (the power-up one) first.
var charsets = []string{"GSM", "IRA", "UCS2", "HEX", "8859-1"}

// charset is the AT+CSCS character set.
func (st *state) charset() string { return charsets[st.cscs] }

// scanSeq is the AT+QCFG="nwscanseq" search order.
func (st *state) scanSeq() string {
	if st.more == nil || st.more.scanseq == nil {
		return "020301"
	}
	return *st.more.scanseq
}
