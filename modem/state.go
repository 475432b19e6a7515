package modem

import (
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
	manual *sim.PLMN    // AT+COPS=1's network, once a host chose one
	ps     *powerSaving // PSM and eDRX, made when first set: most hosts never do

	// Vendor settings (Quectel).
	scanseq *string     // AT+QCFG="nwscanseq" once set; nil for the power-up "020301"
	ublox   *ubloxState // u-blox's, allocated on first use
	// SIMCom's settings and CIP stack state, made on first use (simcom.go).
	simcom *simcomState
	// cmeTexts are the profile's own +CME ERROR texts, over 27.007's
	// (at3gpp.CMEText).
	cmeTexts map[int]string

	// The radio.
	country   string
	serving   *Cell
	forbidden *[]sim.PLMN // PLMNs rejected with #11, until power-off: a few at most; nil for none
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

type pdpContext struct {
	cid          int
	pdpType, apn string
	active       bool
	addr         string
}

// manualPLMN is the network of manual selection.
func (st *state) manualPLMN() sim.PLMN {
	if st.manual == nil {
		return sim.PLMN{}
	}
	return *st.manual
}

// powerSaving is what a host set of PSM (AT+CPSMS) and eDRX (AT+CEDRXS).
type powerSaving struct {
	psm  psmSettings
	edrx edrxSettings
}

// psm is the PSM settings.
func (st *state) psm() psmSettings {
	if st.ps == nil {
		return psmSettings{}
	}
	return st.ps.psm
}

// edrx is the eDRX settings.
func (st *state) edrx() edrxSettings {
	if st.ps == nil {
		return edrxSettings{}
	}
	return st.ps.edrx
}

// power is the power saving settings, for a command to set them.
func (st *state) power() *powerSaving {
	if st.ps == nil {
		st.ps = new(powerSaving)
	}
	return st.ps
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
	st.forbidden = nil
	st.contexts = pdpContexts{}
	st.detached, st.camped = false, false
	st.scanseq, st.iotopmode, st.scanmode = nil, 0, 0
	st.ps = nil
	st.ctzu, st.ctzr, st.cusd = 0, 0, 0
	st.crc, st.ccwa, st.ifc = 0, 0, [2]uint8{}
}

func (st *state) regN(k regKind) int { return int([...]uint8{st.cregN, st.cgregN, st.ceregN}[k]) }

func (ps *portState) s3() byte { return byte(ps.sreg.get(3)) }
func (ps *portState) s4() byte { return byte(ps.sreg.get(4)) }
func (ps *portState) s5() byte { return byte(ps.sreg.get(5)) }

// forbid adds a PLMN to the forbidden list.
func (st *state) forbid(p sim.PLMN) {
	switch {
	case st.forbidden == nil:
		st.forbidden = &[]sim.PLMN{p}
	case !st.isForbidden(p):
		*st.forbidden = append(*st.forbidden, p)
	}
}

// forbiddenList is the forbidden list, oldest first.
func (st *state) forbiddenList() []sim.PLMN {
	if st.forbidden == nil {
		return nil
	}
	return *st.forbidden
}

// isForbidden reports whether p is on the forbidden list.
func (st *state) isForbidden(p sim.PLMN) bool { return slices.Contains(st.forbiddenList(), p) }

// allow takes p off the forbidden list.
func (st *state) allow(p sim.PLMN) {
	if st.forbidden == nil {
		return
	}
	if *st.forbidden = slices.DeleteFunc(*st.forbidden, func(q sim.PLMN) bool { return q == p }); len(*st.forbidden) == 0 {
		st.forbidden = nil
	}
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
// modem that never changes one carries none.
type sregisters struct{ changed []sregister }

type sregister struct{ n, v uint8 }

// sregDefaults are the V.250 defaults, indexed by register; the others
// default to 0. An array: S3 and S5 are read for every input byte.
var sregDefaults = [...]uint8{0: 0, 3: 13, 4: 10, 5: 8, 6: 2, 7: 50, 8: 2, 10: 2, 12: 50}

func (r *sregisters) get(n int) int {
	for _, s := range r.changed {
		if int(s.n) == n {
			return int(s.v)
		}
	}
	if n >= 0 && n < len(sregDefaults) {
		return int(sregDefaults[n])
	}
	return 0
}

func (r *sregisters) set(n, v int) {
	for i, s := range r.changed {
		if int(s.n) == n {
			r.changed[i].v = uint8(v)
			return
		}
	}
	r.changed = append(r.changed, sregister{n: uint8(n), v: uint8(v)})
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
// profile's words.
func (st *state) errorResult(err error) string {
	cmeErr, ok := err.(*CMEError)
	if !ok || st.cmee == 0 {
		return st.result(resError)
	}
	if st.quiet {
		return ""
	}
	if st.cmee == 2 {
		text, ok := st.cmeTexts[cmeErr.Code]
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
// inactive; it is made when first asked for (get, set, del, cids): an
// inactive context is nothing to the loops over list, which look for
// active ones.
type pdpContexts struct {
	// list is nil while context 1 as a power-up defines it is not made
	// yet; once made, never nil again (empty when every context is
	// deleted).
	list []*pdpContext
}

// own makes the power-up context if it was not yet.
func (c *pdpContexts) own() {
	if c.list == nil {
		c.list = []*pdpContext{{cid: 1, pdpType: "IP", apn: "super"}}
	}
}

func (c *pdpContexts) get(cid int) *pdpContext {
	c.own()
	for _, p := range c.list {
		if p.cid == cid {
			return p
		}
	}
	return nil
}

func (c *pdpContexts) set(cid int, p *pdpContext) {
	c.own()
	p.cid = cid
	for i, q := range c.list {
		switch {
		case q.cid == cid:
			c.list[i] = p
			return
		case q.cid > cid:
			c.list = slices.Insert(c.list, i, p)
			return
		}
	}
	c.list = append(c.list, p)
}

func (c *pdpContexts) del(cid int) {
	c.own()
	c.list = slices.DeleteFunc(c.list, func(p *pdpContext) bool { return p.cid == cid })
}

func (c *pdpContexts) cids() []int {
	c.own()
	out := make([]int, len(c.list))
	for i, p := range c.list {
		out[i] = p.cid
	}
	return out
}

// charsets are the character sets of AT+CSCS, GSM (the power-up one) first.
var charsets = []string{"GSM", "IRA", "UCS2", "HEX", "8859-1"}

// charset is the AT+CSCS character set.
func (st *state) charset() string { return charsets[st.cscs] }

// scanSeq is the AT+QCFG="nwscanseq" search order.
func (st *state) scanSeq() string {
	if st.scanseq == nil {
		return "020301"
	}
	return *st.scanseq
}
