package modem

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/sim"
)

// RegState is a registration status, the <stat> of +CREG/+CGREG/+CEREG,
// in the vocabulary the modem shares with its hosts.
type RegState = at3gpp.RegState

// 27.007 registration states the virtual radio reports.
const (
	RegNotRegistered = at3gpp.RegNotRegistered
	RegHome          = at3gpp.RegHome
	RegSearching     = at3gpp.RegSearching
	RegDenied        = at3gpp.RegDenied
	RegUnknown       = at3gpp.RegUnknown
	RegRoaming       = at3gpp.RegRoaming // a Super SIM is always roaming
)

// EMM causes (3GPP TS 24.301 Annex A) the virtual network rejects with. The
// core's refusals map to them as an MME maps S6a results (TS 29.272 Annex
// A): a network the NAP does not allow (ROAMING_NOT_ALLOWED) to #11, a SIM
// that is new or inactive (no active subscription) to #8.
const (
	CausePLMNNotAllowed      = 11
	CauseEPSNonEPSNotAllowed = 8
)

// Cell is a network as the radio sees it at one place.
type Cell struct {
	Network sim.Network
	PLMN    sim.PLMN
	RSSI    int // 0..31, +CSQ scale
	TAC     uint16
	CI      uint32
	Band    int
	EARFCN  int
}

// World is the radio environment every modem shares: which networks cover
// which country (the catalog's), and which are down.
type World struct {
	catalog *sim.Catalog
	mu      sync.RWMutex
	down    map[string]bool
	cover   map[string][]Cell // by country, before outages; the catalog never changes
}

// NewWorld returns the radio environment of the catalog's networks.
func NewWorld(c *sim.Catalog) *World { return &World{catalog: c, down: make(map[string]bool)} }

// Catalog returns the Networks catalog behind the world.
func (w *World) Catalog() *sim.Catalog { return w.catalog }

// SetDown takes a network down (an outage) or brings it back up.
func (w *World) SetDown(networkSid string, down bool) error {
	if _, ok := w.catalog.Network(networkSid); !ok {
		return fmt.Errorf("no network %s in the catalog", networkSid)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if down {
		w.down[networkSid] = true
	} else {
		delete(w.down, networkSid)
	}
	return nil
}

// Down reports whether a network is down.
func (w *World) Down(networkSid string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.down[networkSid]
}

// DefineLocation names a place covered by the given networks, which
// modems can then be at as if it were a country; names are not
// case-sensitive. rssi, when 1..31, is the
// signal of every network there; 0 keeps each network's own.
func (w *World) DefineLocation(name string, nets []sim.Network, rssi int) {
	cells := cellsOf(nets, rssi)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cover == nil {
		w.cover = make(map[string][]Cell)
	}
	w.cover[strings.ToUpper(name)] = cells // modems keep their location upper-case
}

// cellsOf derives the cells of networks, strongest first: signal levels
// and cell identities follow from the network, so every run sees the same
// radio.
func cellsOf(nets []sim.Network, rssi int) []Cell {
	var all []Cell
	for _, n := range nets {
		if len(n.Identifiers) == 0 {
			continue
		}
		h := sha256.Sum256([]byte("fleetsim/cell/" + n.Sid))
		c := Cell{
			Network: n,
			PLMN:    n.Identifiers[0],
			RSSI:    8 + int(h[0])%21, // -97..-57 dBm
			TAC:     binary.BigEndian.Uint16(h[1:3]),
			CI:      binary.BigEndian.Uint32(h[3:7]) & 0x0fffffff,
			Band:    []int{3, 8, 20, 28}[h[7]%4],
			EARFCN:  1200 + int(binary.BigEndian.Uint16(h[8:10]))%5000,
		}
		if rssi > 0 {
			c.RSSI = rssi
		}
		all = append(all, c)
	}
	slices.SortStableFunc(all, func(a, b Cell) int { return b.RSSI - a.RSSI })
	return all
}

// Cells returns the networks that cover a country and are up, strongest
// first. Signal levels and cell identities are derived from the network,
// so every run sees the same radio.
func (w *World) Cells(country string) []Cell {
	cells := w.cells(country)
	if len(cells) > 0 && len(w.coverage(country)) > 0 && &cells[0] == &w.coverage(country)[0] {
		cells = slices.Clone(cells) // the caller's own
	}
	return cells
}

// cells is Cells shared: while no network of the country is down, the
// country's coverage itself, which nobody may modify.
func (w *World) cells(country string) []Cell {
	all := w.coverage(country)
	w.mu.RLock()
	defer w.mu.RUnlock()
	if len(w.down) == 0 {
		return all
	}
	var cells []Cell
	for _, c := range all {
		if w.down[c.Network.Sid] {
			continue
		}
		if cells == nil {
			cells = make([]Cell, 0, len(all))
		}
		cells = append(cells, c)
	}
	return cells
}

// coverage is every cell of a country, strongest first, outages aside. It
// is worked out once per country: +CSQ and every scan ask for it.
func (w *World) coverage(country string) []Cell {
	w.mu.RLock()
	all, ok := w.cover[country]
	w.mu.RUnlock()
	if ok {
		return all
	}
	nets := w.catalog.InCountry(country)
	all = cellsOf(nets, 0)
	if len(nets) > 0 { // a country the catalog does not know is not remembered
		w.mu.Lock()
		if w.cover == nil {
			w.cover = make(map[string][]Cell)
		}
		w.cover[country] = all
		w.mu.Unlock()
	}
	return all
}

// cell returns the world's cell of a network at a place: shared, never
// modified; nil if the network does not cover the place.
func (w *World) cell(place string, p sim.PLMN) *Cell {
	all := w.coverage(place)
	for i := range all {
		if all[i].PLMN == p {
			return &all[i]
		}
	}
	return nil
}

// cells returns what this modem sees now. Callers hold m.mu.
func (m *Modem) cells() []Cell {
	if m.env.world == nil {
		return nil
	}
	cells := m.env.world.cells(m.st.country) // shared: changed only in a copy
	if m.st.rssi >= 0 {
		cells = slices.Clone(cells)
		for i := range cells {
			cells[i].RSSI = int(m.st.rssi)
		}
		if m.st.rssi == 0 {
			return nil // no coverage at all
		}
	}
	return cells
}

func (m *Modem) cellFor(p sim.PLMN) (Cell, bool) {
	for _, c := range m.cells() {
		if c.PLMN == p {
			return c, true
		}
	}
	return Cell{}, false
}

// selection is one run of network selection, which a command may await.
type selection struct {
	done   bool
	err    error
	notify func(error) // who waits for the outcome, if anyone
}

// startSelection runs network selection as +CFUN and +COPS say; its
// outcome is nil once registered, a *CMEError otherwise. Starting another
// selection abandons this one. Callers hold m.mu.
func (m *Modem) startSelection() *selection { return m.selectAfter(m.env.timing.Scan) }

// selectAfter is startSelection with a cell search of scan: 0 when the
// modem is still camped and only has to attach. Callers hold m.mu.
func (m *Modem) selectAfter(scan time.Duration) *selection {
	m.gen++
	m.abandonSelection()
	sel := &selection{}
	m.sel = sel
	g := m.gen
	m.st.detached, m.st.camped = false, false
	m.stopTimer(timerReg)
	switch {
	case m.st.cfun != 1:
		m.setReg(RegNotRegistered, nil, 0)
		m.endSelection(sel, cme(CMENotAllowed))
		return sel
	case m.st.copsMode == 2:
		// Deregistered: no serving cell, no PDP context, no cached authorisation.
		m.stopAuth()
		m.detachData()
		m.st.serving = nil
		m.setReg(RegNotRegistered, nil, 0)
		m.endSelection(sel, nil)
		return sel
	}
	m.detachData()
	m.st.serving = nil
	m.setReg(RegSearching, nil, 0)
	if scan == 0 {
		m.attachNext(g, m.candidates(), sel)
		return sel
	}
	m.after(timerReg, scan, func() {
		if g == m.gen {
			m.attachNext(g, m.candidates(), sel)
		}
	})
	return sel
}

// endSelection gives a selection its outcome, once; whoever awaits it
// hears of it from a fresh timer, without m.mu held. Callers hold m.mu.
func (m *Modem) endSelection(sel *selection, err error) {
	if sel.done {
		return
	}
	sel.done, sel.err = true, err
	if m.sel == sel {
		m.sel = nil
	}
	if n := sel.notify; n != nil {
		m.env.clock.AfterFunc(0, func() { n(err) })
	}
}

// cands are the networks a selection tries, best first: the cells the
// modem saw at the end of its scan (the world's shared slice, not a copy:
// a fleet that selects at once would otherwise hold a copy each) and
// which of them are candidates, one bit per cell. A country with more
// cells than bits has its candidates copied instead (own).
type cands struct {
	cells []Cell
	set   uint64 // bit i: cells[i] is a candidate
	own   bool   // cells are a copy, all of them candidates: set is unused
}

// empty reports whether no candidate is left.
func (c cands) empty() bool {
	if c.own {
		return len(c.cells) == 0
	}
	return c.set == 0
}

// first is the best candidate left; c is not empty.
func (c cands) first() Cell {
	if c.own {
		return c.cells[0]
	}
	return c.cells[bits.TrailingZeros64(c.set)]
}

// rest is c without its first candidate.
func (c cands) rest() cands {
	if c.own {
		c.cells = c.cells[1:]
	} else {
		c.set &= c.set - 1
	}
	return c
}

// candidatesOf are the cells of cells for which keep holds, in order.
func candidatesOf(cells []Cell, keep func(Cell) bool) cands {
	if len(cells) > 64 {
		c := cands{own: true}
		for _, cell := range cells {
			if keep(cell) {
				c.cells = append(c.cells, cell)
			}
		}
		return c
	}
	c := cands{cells: cells}
	for i := range cells {
		if keep(cells[i]) {
			c.set |= 1 << i
		}
	}
	return c
}

// candidates are the networks to try, best first. Callers hold m.mu.
func (m *Modem) candidates() cands {
	if m.st.copsMode == 1 || m.st.copsMode == 4 {
		manual := m.st.manualPLMN()
		found := false
		return candidatesOf(m.cells(), func(c Cell) bool {
			if found || c.PLMN != manual {
				return false
			}
			found = true // the first cell of the network, as cellFor finds
			return true
		})
	}
	return candidatesOf(m.cells(), func(c Cell) bool { return !m.st.isForbidden(c.PLMN) })
}

// attachNext tries the first candidate and, in automatic mode, the next
// ones after a rejection. Callers hold m.mu.
func (m *Modem) attachNext(g uint32, cands cands, sel *selection) {
	if cands.empty() {
		if m.st.copsMode == 4 {
			m.st.copsMode = 0 // manual/automatic falls back to automatic
			m.after(timerReg, m.env.timing.Scan, func() {
				if g == m.gen {
					m.attachNext(g, m.candidates(), sel)
				}
			})
			return
		}
		// Networks that came into sight during the attempts (one came back
		// up, the modem moved) are tried too; every network rejected is
		// forbidden by now, so this ends.
		if m.st.copsMode == 0 {
			if fresh := m.candidates(); !fresh.empty() {
				m.attachNext(g, fresh, sel)
				return
			}
		}
		if m.st.cause != 0 {
			m.setReg(RegDenied, nil, int(m.st.cause))
			m.endSelection(sel, cme(100+int(m.st.cause)))
		} else {
			m.setReg(RegNotRegistered, nil, 0)
			m.endSelection(sel, cme(CMENoNetwork))
		}
		return
	}
	plmn := cands.first().PLMN
	m.after(timerReg, m.env.timing.Attach, func() {
		if g != m.gen {
			return
		}
		// The radio may have changed since the scan: a network the modem
		// no longer sees (it went down, the modem moved or lost coverage)
		// cannot be attached to.
		c, ok := m.cellFor(plmn)
		if !ok {
			m.attachNext(g, cands.rest(), sel)
			return
		}
		_, err := m.env.core.AuthorizeAttach(m.card.ICCID, c.PLMN)
		switch {
		case err == nil:
			m.st.allow(c.PLMN)
			m.st.cause = 0
			// The world's own cell, shared by every modem there: a fleet
			// of registered modems does not carry a copy each.
			m.st.serving = m.env.world.cell(m.st.country, c.PLMN)
			if m.st.serving == nil {
				m.st.serving = &c
			}
			m.setReg(RegRoaming, m.st.serving, 0)
			m.env.stats.attached()
			m.armAuthCache()
			m.endSelection(sel, nil)
		case errors.Is(err, sim.ErrNetworkNotAllowed):
			m.st.forbid(c.PLMN)
			m.st.cause = CausePLMNNotAllowed
			m.env.stats.rejected(CausePLMNNotAllowed)
			m.setReg(RegSearching, nil, 0)
			if m.st.copsMode == 1 {
				m.setReg(RegDenied, nil, CausePLMNNotAllowed)
				m.endSelection(sel, cme(CMEPLMNNotAllowed))
				return
			}
			m.attachNext(g, cands.rest(), sel)
		default: // the SIM is new or inactive: no subscription to attach with
			m.st.cause = CauseEPSNonEPSNotAllowed
			m.env.stats.rejected(CauseEPSNonEPSNotAllowed)
			m.setReg(RegDenied, nil, CauseEPSNonEPSNotAllowed)
			m.endSelection(sel, cme(100+CauseEPSNonEPSNotAllowed))
		}
	})
}

// networkDetach is the network dropping the modem for reason err. Callers hold m.mu.
func (m *Modem) networkDetach(err error) {
	cause := CauseEPSNonEPSNotAllowed
	if errors.Is(err, sim.ErrNetworkNotAllowed) {
		cause = CausePLMNNotAllowed
		if m.st.serving != nil {
			m.st.forbid(m.st.serving.PLMN)
		}
	}
	m.detachData()
	if m.st.cgerep {
		m.urc("+CGEV: NW DETACH")
	}
	m.st.serving = nil
	m.st.cause = uint8(cause)
	m.env.stats.detached(cause)
	m.stopAuth()
	m.setReg(RegDenied, nil, cause)
	if cause == CausePLMNNotAllowed && m.st.copsMode == 0 {
		m.startSelection()
	}
}

// onEvent applies a control plane change: a SIM that became inactive is
// detached at once, a SIM that became usable attaches, a data session
// over its limit or without data is torn down. A network removed from the
// NAP keeps serving until the cached authorisation expires.
func (m *Modem) onEvent(e sim.Event) {
	switch e.Kind {
	case sim.EventSmsCommand:
		if e.ICCID == m.card.ICCID {
			m.smsEvent(e)
		}
		return
	case sim.EventIPCommand:
		if e.ICCID == m.card.ICCID {
			m.ipEvent(e)
		}
		return
	}
	if e.Kind == sim.EventSim && e.ICCID != m.card.ICCID {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.urcPort() == nil { // no host to tell
		return
	}
	m.reevaluate()
	if l := e.Limit; l != nil && l.Max > 0 {
		m.limitLater(l.EnforcedAt(m.card.ICCID))
	}
}

// limitLater re-checks data when a new data limit reaches the SIM at at,
// after the Fleet-wide event: the limit is spread over the SIMs. One timer
// per modem: with changes closer than the spread, the earliest one wins and
// the control plane's event once every SIM enforces the change covers the
// rest. Callers hold m.mu.
func (m *Modem) limitLater(at time.Time) {
	d := at.Sub(m.env.clock.Now())
	if d <= 0 || (m.timer(timerLimit) != nil && at.UnixNano() >= m.rareOf().limitAt) {
		return
	}
	m.after(timerLimit, d, m.reevaluate)
	m.rareOf().limitAt = at.UnixNano() // after: stopping the previous timer may drop rare
}

// reevaluate re-checks registration and data with the core. Callers hold m.mu.
func (m *Modem) reevaluate() {
	if m.env.core == nil {
		return
	}
	if s := m.st.serving; s != nil && m.st.reg.Registered() {
		if _, err := m.env.core.AuthorizeAttach(m.card.ICCID, s.PLMN); err != nil && !errors.Is(err, sim.ErrNetworkNotAllowed) {
			m.networkDetach(err)
			return
		}
		if m.activeContexts() > 0 {
			if err := m.authorizeData(); err != nil {
				m.dropData()
			}
		}
		return
	}
	if m.st.cfun == 1 && !m.st.detached && (m.st.copsMode == 0 || m.st.copsMode == 4) && m.timer(timerReg) == nil {
		m.st.cause = 0
		m.startSelection()
	}
}

// setReg changes the registration state and reports it. Callers hold m.mu.
func (m *Modem) setReg(stat RegState, c *Cell, cause int) {
	changed := m.st.reg != stat
	m.st.reg = stat
	if !changed {
		return
	}
	for _, k := range []regKind{regC, regCG, regCE} {
		if n := m.st.regN(k); n > 0 {
			m.urc(m.regLine(k, n, false))
		}
	}
}

type regKind uint8

const (
	regC regKind = iota
	regCG
	regCE
)

func (k regKind) name() string { return [...]string{"+CREG", "+CGREG", "+CEREG"}[k] }

// regLine formats +CREG/+CGREG/+CEREG: the read answer (with <n>) or the
// unsolicited form, with what n asks for. Callers hold m.mu.
func (m *Modem) regLine(k regKind, n int, read bool) string {
	// The fields, formatted into one stack buffer: field i is
	// buf[ends[i-1]:ends[i]]; empty trailing fields are left out.
	var buf [128]byte
	var ends [12]int
	b := append(buf[:0], k.name()...)
	b = append(b, ": "...)
	nf := 0
	field := func(b []byte) []byte {
		ends[nf] = len(b)
		nf++
		return append(b, ',')
	}
	if read {
		b = field(strconv.AppendInt(b, int64(n), 10))
	}
	b = field(strconv.AppendInt(b, int64(m.st.reg), 10))
	if n >= 2 {
		if s := m.st.serving; s != nil && m.st.reg.Registered() {
			b = field(append(appendHex(append(b, '"'), uint64(s.TAC), 4), '"'))
			b = field(append(appendHex(append(b, '"'), uint64(s.CI), 8), '"'))
			b = field(strconv.AppendInt(b, int64(m.env.profile.CatM1AcT()), 10))
		} else {
			b = field(field(field(b)))
		}
		if k == regCG {
			b = field(b)
		}
		denied := m.st.reg == RegDenied
		switch n {
		case 3:
			if denied {
				b = field(append(b, '0'))
				b = field(strconv.AppendInt(b, int64(m.st.cause), 10))
			}
		case 4, 5:
			if n == 5 && denied {
				b = field(append(b, '0'))
				b = field(strconv.AppendInt(b, int64(m.st.cause), 10))
			} else {
				b = field(field(b))
			}
			b = field(append(b, m.psmActive()...))
			b = field(append(b, m.psmTAU()...))
		}
	}
	// Drop the empty fields at the end, as the unsolicited forms do.
	for nf > 1 && ends[nf-1] == ends[nf-2]+1 {
		nf--
	}
	return string(b[:ends[nf-1]])
}

// appendHex appends v as upper-case hex of at least width digits.
func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789ABCDEF"
	var t [16]byte
	i := len(t)
	for v > 0 || i > len(t)-width {
		i--
		t[i] = digits[v&15]
		v >>= 4
	}
	return append(b, t[i:]...)
}

func (m *Modem) psmActive() string {
	if psm := m.st.psm(); psm.mode == 1 && psm.active != "" {
		return quote(psm.active)
	}
	return ""
}

func (m *Modem) psmTAU() string {
	if psm := m.st.psm(); psm.mode == 1 && psm.tau != "" {
		return quote(psm.tau)
	}
	return ""
}

// activate brings up a PDP context once the core allows data. Callers hold m.mu.
func (m *Modem) activate(cid int) error {
	ctxt := m.st.contexts.get(cid)
	if ctxt == nil {
		return cme(CMEIncorrectParameters)
	}
	if !m.st.reg.Registered() {
		return cme(CMENoNetwork)
	}
	if err := m.authorizeData(); err != nil {
		return cme(CMEServiceNotSubscr)
	}
	if !ctxt.active {
		ctxt.active = true
		ctxt.addr = m.sessionAddress(cid)
	}
	return nil
}

// sessionAddress is the address of a context coming up: the SIM's data
// session address from the core's pool, shared by all its contexts, or,
// with a core that assigns none, a stable one of the CGNAT range.
// Callers hold m.mu.
func (m *Modem) sessionAddress(cid int) ipv4 {
	if addr, _ := m.sessionAddr(); addr != 0 {
		return addr
	}
	if ipc := m.ipCore(); ipc != nil {
		if addr, err := ipc.AssignAddress(m.card.ICCID); err == nil && addr.Is4() {
			return ipv4From(addr)
		}
	}
	return cgnatAddr(m.imsi(), cid)
}

// deactivate takes a context down, with the sockets on it; the SIM's data
// session ends with its last context. Callers hold m.mu.
func (m *Modem) deactivate(cid int) {
	p := m.st.contexts.get(cid)
	if p == nil || !p.active {
		return
	}
	if m.sock != nil {
		for _, s := range m.sock.socks {
			if s != nil && s.cid == cid {
				m.dropSocket(s)
			}
		}
		delete(m.sock.owned, cid)
	}
	p.active, p.addr = false, 0
	m.contextDown(cid) // a port carrying it (another port deactivated it) loses it
	if m.activeContexts() == 0 {
		if ipc := m.ipCore(); ipc != nil {
			ipc.ReleaseAddress(m.card.ICCID)
		}
	}
}

func (m *Modem) activeContexts() int {
	n := 0
	for c := range m.st.contexts.all {
		if c.active {
			n++
		}
	}
	return n
}

// detachData deactivates every context (the modem left the network).
// Callers hold m.mu.
func (m *Modem) detachData() {
	m.dataLost() // sockets close with the data session
	for c := range m.st.contexts.all {
		c.active, c.addr = false, 0
	}
	m.endAllData(resNoCarrier)
}

// dropData is the network deactivating the data session. Callers hold m.mu.
func (m *Modem) dropData() {
	m.dataLost() // sockets close with the data session: +QIURC: "pdpdeact"
	for c := range m.st.contexts.all {
		cid := c.cid
		if c.active {
			c.active, c.addr = false, 0
			if m.st.cgerep {
				m.urc(fmt.Sprintf("+CGEV: NW PDN DEACT %d", cid))
			}
		}
	}
	m.endAllData(resNoCarrier)
}

// cgnatAddr is the carrier-grade NAT address of a context, stable per IMSI.
func cgnatAddr(imsi string, cid int) ipv4 {
	h := sha256.Sum256([]byte(fmt.Sprintf("fleetsim/ip/%s/%d", imsi, cid)))
	return ipv4From(netip.AddrFrom4([4]byte{100, 64 + h[0]%64, h[1], 1 + h[2]%254}))
}

// UseData moves up and down bytes over the modem's data session, as a
// device's traffic does: it needs an active PDP context and the core's
// permission, and counts toward usage and the data limit.
func (m *Modem) UseData(ctx context.Context, up, down int64) error {
	m.mu.Lock()
	if m.activeContexts() == 0 || m.st.serving == nil {
		m.mu.Unlock()
		return cme(CMENoNetwork)
	}
	if err := m.authorizeData(); err != nil {
		m.dropData()
		m.mu.Unlock()
		return err
	}
	plmn := m.st.serving.PLMN
	m.mu.Unlock()
	if !m.charge(ctx, plmn, up, down) { // cut where the Fleet's limit is reached
		m.mu.Lock()
		m.dropData()
		m.mu.Unlock()
		return sim.ErrDataLimitReached
	}
	return nil
}
