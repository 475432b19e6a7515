package sim

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// simRec is a Sim as the control plane keeps it: 96 bytes, with the
// account and Fleet SIDs interned (Control.ids), the ICCID by card, times
// as Unix nanoseconds, and the billing period reduced to its start, type
// and account (its SID and end are derived: see Control.period). The rare
// parts, a unique name and a pending update, are kept beside the records.
// simOf makes the Sim of a record, and recOf the record of a Sim.
type simRec struct {
	sid         sid16
	base        sid16 // SID of the first settings update, if recBase
	seq         int64
	created     int64
	updated     int64
	periodStart int64
	dataUsed    int64
	account     uint32 // in Control.ids
	fleet       uint32 // in Control.ids; 0 for none
	periodAcct  uint32 // in Control.ids: the account the period belongs to
	card        int32  // see Control.cardRef
	readyData   uint32 // saturates
	readySMS    uint8  // saturates
	status      SimStatus
	period      periodKind
	flags       recFlags
}

// periodKind is the type of a record's billing period.
type periodKind uint8

const (
	noPeriod periodKind = iota
	readyPeriod
	activePeriod
)

// inPeriod reports, without calendar arithmetic, that now is surely
// before the end of the record's billing period, which it has: a calendar
// month lasts 27 days at the least, even across a daylight saving change.
func (r *simRec) inPeriod(now time.Time) bool {
	bound := int64(periodMonths(r.periodType())) * 27 * 24 * int64(time.Hour)
	return r.periodStart != noTime && r.periodStart <= math.MaxInt64-bound && now.UnixNano() < r.periodStart+bound
}

// periodType is the type of the record's billing period, if it has one.
func (r *simRec) periodType() PeriodType {
	if r.period == activePeriod {
		return PeriodActive
	}
	return PeriodReady
}

type recFlags uint8

const (
	recBase         recFlags = 1 << iota // has a first settings update
	recUsageCurrent                      // dataUsed counts in the stored period
)

// noTime stands for the zero time.Time in a record.
const noTime = math.MinInt64

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// periodMonths is how long a billing period of the type lasts.
func periodMonths(typ PeriodType) int {
	if typ == PeriodReady {
		return ReadyPeriodMonths
	}
	return 1
}

// simTable holds the Sim records in creation order (Seq increasing), with
// an open-addressed index by SID. The records are kept in chunks of a fixed
// size, so that a growing fleet neither copies them nor leaves spare
// capacity behind.
type simTable struct {
	chunks  [][]simRec // recChunk records each but the last
	n       int
	slots   []int32 // record index + 1, or 0 for an empty slot; a power of two, at most half full
	names   map[sid16]string
	pending map[sid16]*SimUpdate
	maxSeq  int64
}

const recChunk = 1024

// at returns record i.
func (t *simTable) at(i int32) *simRec { return &t.chunks[i/recChunk][i%recChunk] }

func (t *simTable) len() int { return t.n }

func (t *simTable) slot(sid sid16) int {
	h := (binary.LittleEndian.Uint64(sid[:8]) ^ binary.LittleEndian.Uint64(sid[8:])) * 0x9e3779b97f4a7c15
	return int(h >> 32)
}

// find returns the index of the record with this SID.
func (t *simTable) find(sid sid16) (int32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := len(t.slots) - 1
	for i := t.slot(sid) & mask; ; i = (i + 1) & mask {
		j := t.slots[i]
		if j == 0 {
			return 0, false
		}
		if t.at(j-1).sid == sid {
			return j - 1, true
		}
	}
}

// lookup returns the index of the record of the Sim with this SID.
func (t *simTable) lookup(sid string) (int32, bool) {
	b, ok := parseSid16("HS", sid)
	if !ok {
		return 0, false
	}
	return t.find(b)
}

// add appends a record that is not in the table yet.
func (t *simTable) add(r simRec) int32 {
	if t.n%recChunk == 0 {
		t.chunks = append(t.chunks, make([]simRec, 0, recChunk))
	}
	last := &t.chunks[len(t.chunks)-1]
	*last = append(*last, r)
	t.n++
	if 2*t.n > len(t.slots) {
		t.reindex()
	} else {
		t.insert(int32(t.n - 1))
	}
	t.maxSeq = max(t.maxSeq, r.seq)
	return int32(t.n - 1)
}

func (t *simTable) insert(i int32) {
	mask := len(t.slots) - 1
	j := t.slot(t.at(i).sid) & mask
	for t.slots[j] != 0 {
		j = (j + 1) & mask
	}
	t.slots[j] = i + 1
}

// reindex rebuilds the SID index.
func (t *simTable) reindex() {
	n := 16
	for n < 2*t.n {
		n *= 2
	}
	t.slots = make([]int32, n)
	for i := range t.n {
		t.insert(int32(i))
	}
}

// sortOrder puts records loaded from the store in creation order. It
// returns where each record went: moved[old] is its new index.
func (t *simTable) sortOrder() (moved []int32) {
	idx := make([]int32, t.n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(t.at(a).seq, t.at(b).seq) })
	old := t.chunks
	at := func(i int32) *simRec { return &old[i/recChunk][i%recChunk] }
	t.chunks, t.n = nil, 0
	moved = make([]int32, len(idx))
	for i, j := range idx {
		if t.n%recChunk == 0 {
			t.chunks = append(t.chunks, make([]simRec, 0, recChunk))
		}
		t.chunks[len(t.chunks)-1] = append(t.chunks[len(t.chunks)-1], *at(j))
		t.n++
		moved[j] = int32(i)
	}
	t.reindex()
	return moved
}

// search returns the index of the first record whose Seq is above seq.
func (t *simTable) search(seq int64) int {
	return sort.Search(t.n, func(i int) bool { return t.at(int32(i)).seq > seq })
}

// intern returns the index of an account or Fleet SID in c.ids.
func (c *Control) intern(sid string) uint32 {
	if i, ok := c.idIdx[sid]; ok {
		return i
	}
	i := uint32(len(c.ids))
	c.ids = append(c.ids, sid)
	c.idIdx[sid] = i
	return i
}

// simOf makes the Sim of record i, a new one that the caller may change.
// Callers hold c.mu.
func (c *Control) simOf(i int32) *Sim {
	r := c.sims.at(i)
	s := &Sim{
		Sid: r.sid.sid("HS"), AccountSid: c.ids[r.account], UniqueName: c.sims.names[r.sid],
		ICCID: c.iccidOf(r.card), FleetSid: c.ids[r.fleet], Status: r.status,
		DateCreated: fromUnixNano(r.created), DateUpdated: fromUnixNano(r.updated), Seq: r.seq,
		Pending: c.sims.pending[r.sid], DataUsed: r.dataUsed,
		ReadyData: int64(r.readyData), ReadySMS: int(r.readySMS),
	}
	if r.period != noPeriod {
		typ := r.periodType()
		start := fromUnixNano(r.periodStart)
		s.Period = newPeriod(s.Sid, c.ids[r.periodAcct], typ, start, addMonths(start, periodMonths(typ)))
		if r.flags&recUsageCurrent != 0 {
			s.UsageStart = start
		}
	}
	return s
}

// recOf makes the record of s. With check, it verifies that what the
// record derives (the billing period's SID and end) is what s holds: s
// comes from the store.
func (c *Control) recOf(s *Sim, check bool) (simRec, error) {
	sid, ok := parseSid16("HS", s.Sid)
	if !ok {
		return simRec{}, fmt.Errorf("Sim SID %q is not HS and 32 lower-case hex digits", s.Sid)
	}
	card, err := c.cardRef(s.ICCID)
	if err != nil {
		return simRec{}, err
	}
	r := simRec{
		sid: sid, seq: s.Seq, created: unixNano(s.DateCreated), updated: unixNano(s.DateUpdated),
		dataUsed: s.DataUsed, account: c.intern(s.AccountSid), fleet: c.intern(s.FleetSid), card: card,
		readyData: uint32(min(max(s.ReadyData, 0), math.MaxUint32)), readySMS: uint8(min(max(s.ReadySMS, 0), math.MaxUint8)),
		status: s.Status, periodStart: noTime,
	}
	if p := s.Period; p != nil {
		switch p.Type {
		case PeriodReady:
			r.period = readyPeriod
		case PeriodActive:
			r.period = activePeriod
		default:
			return simRec{}, fmt.Errorf("billing period type %q", p.Type)
		}
		r.periodStart, r.periodAcct = unixNano(p.Start), c.intern(p.AccountSid)
		if s.UsageStart.Equal(p.Start) {
			r.flags |= recUsageCurrent
		}
		if check {
			want := newPeriod(s.Sid, p.AccountSid, p.Type, p.Start, addMonths(p.Start, periodMonths(p.Type)))
			if p.Sid != want.Sid || p.SimSid != s.Sid || !p.End.Equal(want.End) || !p.DateCreated.Equal(p.Start) || !p.DateUpdated.Equal(p.Start) {
				return simRec{}, fmt.Errorf("billing period %s is not the one the Sim's start and type make", p.Sid)
			}
		}
	}
	return r, nil
}

// recState is the status and data counter of r at now, as view makes
// them, without making the Sim.
func (c *Control) recState(r *simRec, now time.Time) (SimStatus, int64) {
	if r.period == noPeriod {
		return r.status, r.dataUsed
	}
	if r.inPeriod(now) {
		if r.flags&recUsageCurrent == 0 {
			return r.status, 0
		}
		return r.status, r.dataUsed
	}
	status, start := r.status, fromUnixNano(r.periodStart)
	months := 1
	if r.period == readyPeriod {
		months = ReadyPeriodMonths
	}
	end := addMonths(start, months)
	if status == StatusReady && !now.Before(end) {
		status, start = StatusActive, end
		end = addMonths(start, 1)
	}
	for status == StatusActive && !now.Before(end) {
		start, end = end, addMonths(end, 1)
	}
	if r.flags&recUsageCurrent == 0 || start.UnixNano() != r.periodStart {
		return status, 0
	}
	return status, r.dataUsed
}

// getSim returns the Sim with this SID, or nil. Callers hold c.mu.
func (c *Control) getSim(sid string) *Sim {
	i, ok := c.sims.lookup(sid)
	if !ok {
		return nil
	}
	return c.simOf(i)
}

// simIndex returns the index of the record of the Sim registered from the
// card with this ICCID. Callers hold c.mu.
func (c *Control) simIndex(iccid string) (int32, bool) {
	ref, ok := c.findCard(iccid)
	if !ok {
		return 0, false
	}
	return c.simOfCard(ref)
}

// simIndexOf is simIndex of the card k, or of the card with this ICCID
// if k is the zero CardKey. Callers hold c.mu.
func (c *Control) simIndexOf(k CardKey, iccid string) (int32, bool) {
	if !k.ok {
		return c.simIndex(iccid)
	}
	return c.simOfCard(k.ref)
}

// simOfCard is simIndex of the card reference ref. Callers hold c.mu.
func (c *Control) simOfCard(ref int32) (int32, bool) {
	var i int32
	if ref >= 0 {
		i = c.cardSims[ref]
	} else {
		i = c.extraSims[-ref-1]
	}
	return i - 1, i > 0
}

// setSim stores s: a new Sim, or a new version of one, and returns the
// index of its record. A new version keeps the first settings update the
// record has (see foldBase). check: see recOf. Callers hold c.mu.
func (c *Control) setSim(s *Sim, check bool) (int32, error) {
	r, err := c.recOf(s, check)
	if err != nil {
		return 0, err
	}
	t := &c.sims
	i, ok := t.find(r.sid)
	if ok {
		old := t.at(i)
		r.base, r.flags = old.base, r.flags|old.flags&recBase
		*old = r
		t.maxSeq = max(t.maxSeq, r.seq)
	} else {
		i = t.add(r)
		if r.card >= 0 {
			c.cardSims[r.card] = i + 1
		} else {
			c.extraSims[-r.card-1] = i + 1
		}
	}
	setSide(&t.names, r.sid, s.UniqueName, s.UniqueName != "")
	setSide(&t.pending, r.sid, s.Pending, s.Pending != nil)
	return i, nil
}

// setSide sets or deletes k in a side map. A map that empties is
// dropped, so that a burst (a whole fleet's pending updates) leaves no
// memory behind: maps do not shrink.
func setSide[V any](m *map[sid16]V, k sid16, v V, keep bool) {
	switch {
	case keep:
		if *m == nil {
			*m = make(map[sid16]V)
		}
		(*m)[k] = v
	case *m != nil:
		delete(*m, k)
		if len(*m) == 0 {
			*m = nil
		}
	}
}

// reindexCards rebuilds the index of Sims by card after the records moved.
func (c *Control) reindexCards() {
	clear(c.cardSims)
	clear(c.extraSims)
	for i := range int32(c.sims.len()) {
		if r := c.sims.at(i); r.card >= 0 {
			c.cardSims[r.card] = int32(i) + 1
		} else {
			c.extraSims[-r.card-1] = int32(i) + 1
		}
	}
}

// simList pages the Sims in creation order, at positions off past their
// Seqs: keep selects records (cheaply, before a Sim is made of them), pick
// what to list for a Sim, as of now.
type simList[T any] struct {
	c    *Control
	off  int64
	keep func(r *simRec) bool
	pick func(s *Sim, now time.Time) (T, bool)
}

func (l simList[T]) After(pos int64, n int) ([]T, []int64) {
	l.c.mu.RLock()
	defer l.c.mu.RUnlock()
	return l.walk(l.c.sims.search(pos-l.off), 1, n)
}

func (l simList[T]) Before(pos int64, n int) ([]T, []int64) {
	l.c.mu.RLock()
	defer l.c.mu.RUnlock()
	out, ps := l.walk(l.c.sims.search(pos-1-l.off)-1, -1, n)
	slices.Reverse(out)
	slices.Reverse(ps)
	return out, ps
}

// walk collects up to n items from record index i on, a step (1 or -1)
// at a time, with their positions. Callers hold c.mu.
func (l simList[T]) walk(i, step, n int) ([]T, []int64) {
	now := l.c.Now()
	t := &l.c.sims
	var out []T
	var ps []int64
	for ; i >= 0 && i < t.n && len(out) < n; i += step {
		if r := t.at(int32(i)); l.keep(r) {
			if v, ok := l.pick(l.c.simOf(int32(i)), now); ok {
				out = append(out, v)
				ps = append(ps, r.seq+l.off)
			}
		}
	}
	return out, ps
}

// A Sim's card is a reference: the index of an inventory card, or for
// cards outside the inventory (eSIM profiles' cards, and those of Sims
// stored by a control plane with another inventory) -1 - its index in
// c.extra.

// A CardKey is a card as the core knows it, resolved from its ICCID once
// (see Control.CardKey), so that the calls a modem makes for every event
// need not parse and check the ICCID again. The zero CardKey is none:
// calls given it resolve the ICCID.
type CardKey struct {
	ref int32 // the card's reference, if ok
	ok  bool
}

// CardKey returns the key of the card with this ICCID, valid as long as
// c: the zero CardKey while the card is not one a Sim may have (an eSIM
// profile's card before its Sim is made).
func (c *Control) CardKey(iccid string) CardKey {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ref, ok := c.findCard(iccid)
	return CardKey{ref: ref, ok: ok}
}

// findCard returns the reference of the card with this ICCID, if a Sim may
// have it. Callers hold c.mu.
func (c *Control) findCard(iccid string) (int32, bool) {
	if i, ok := c.inv.find(iccid); ok {
		return int32(i), true
	}
	if i, ok := c.extraIdx[iccid]; ok {
		return -i - 1, true
	}
	return 0, false
}

// cardRef returns the reference of the card with this ICCID, making one
// outside the inventory if needed. Callers hold c.mu.
func (c *Control) cardRef(iccid string) (int32, error) {
	if ref, ok := c.findCard(iccid); ok {
		return ref, nil
	}
	if iccid == "" {
		return 0, fmt.Errorf("the Sim has no ICCID")
	}
	if c.extraIdx == nil {
		c.extraIdx = make(map[string]int32)
	}
	i := int32(len(c.extra))
	c.extra = append(c.extra, iccid)
	c.extraSims = append(c.extraSims, 0)
	c.extraIdx[iccid] = i
	return -i - 1, nil
}

// iccidOf is the ICCID of a card reference.
func (c *Control) iccidOf(ref int32) string {
	if ref >= 0 {
		return c.inv.iccid(int(ref))
	}
	return c.extra[-ref-1]
}
