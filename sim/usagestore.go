package sim

import (
	"bytes"
	"math"
	"slices"
	"time"
)

// Usage is kept per SIM in a few fixed-size buckets, bounded as virtual
// time advances: hourly for the last usageStore.hourly, then per UTC day
// for the last usageStore.daily, then per calendar month. UsageRecords
// answers every Granularity from them; a bucket that is coarser than the
// query counts where its first hour of use falls.
const (
	DefaultUsageHourly = 24 * time.Hour
	DefaultUsageDaily  = 92 * 24 * time.Hour // the longest window of Granularity day
)

// WithUsageRetention sets how long usage is kept per hour (at least an
// hour) and then per day (at least as long) before it is kept per month.
// The defaults are DefaultUsageHourly and DefaultUsageDaily.
func WithUsageRetention(hourly, daily time.Duration) Option {
	return func(o *config) { o.usageHourly, o.usageDaily = hourly, daily }
}

// usageSpan is how much time a bucket covers.
type usageSpan uint8

const (
	spanHour usageSpan = iota
	spanDay
	spanMonth
)

// usageBucket is a SIM's usage on one network, for one owner and Fleet,
// over an hour, a UTC day or a calendar month (32 bytes).
type usageBucket struct {
	up, down int64
	at       int32  // hours since the Unix epoch: the first hour of use
	attr     uint32 // index in usageStore.attrs: the owner and Fleet at the time
	sms      int32
	net      uint16 // index in the catalog
	span     usageSpan
}

// hour is the bucket's first hour of use.
func (b *usageBucket) hour() time.Time { return time.Unix(int64(b.at)*3600, 0).UTC() }

// period is the start of the bucket's span, as hours since the epoch.
func (b *usageBucket) period() int32 { return spanStart(b.at, b.span) }

func spanStart(at int32, span usageSpan) int32 {
	switch span {
	case spanDay:
		return at - at%24
	case spanMonth:
		t := time.Unix(int64(at)*3600, 0).UTC()
		return int32(time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Unix() / 3600)
	}
	return at
}

// usageAttr is who a bucket's usage belongs to: the owner account and the
// Fleet at the time of use.
type usageAttr struct{ account, fleet string }

// usageStore is the usage of every SIM.
type usageStore struct {
	hourly, daily time.Duration
	bySim         []simUsage // by Sim record (simTable)
	attrs         []usageAttr
	attrIdx       map[usageAttr]uint32
	sims          []int32 // the Sims with usage, in the order of their SIDs; rebuilt when stale
	stale         bool
	// The last attribution attrOf looked up, by the interned SIDs
	// (Control.ids): a fleet's SIMs ask for the same one over and over.
	lastIDs  [2]uint32
	lastAttr uint32
	hasLast  bool
	// The first hour of all use added: no bucket is older, so while the
	// daily retention reaches back to it no day bucket turns into a month
	// one (math.MaxInt32: none yet).
	oldest int32
}

// simUsage is a SIM's buckets, oldest first, and the first hour of the
// newest (when it has any): a SIM's first use in an hour makes a bucket
// without reading the others' memory to find one of that hour. The first
// rolled buckets are the day and month buckets the last roll-up made, and
// the rest are hourly (-1: not known), so that a roll-up reads only the
// buckets it changes.
type simUsage struct {
	bs     []usageBucket
	last   int32
	rolled int32
}

func newUsageStore(hourly, daily time.Duration) *usageStore {
	return &usageStore{hourly: max(hourly, time.Hour), daily: max(daily, hourly, time.Hour),
		attrIdx: make(map[usageAttr]uint32), oldest: math.MaxInt32}
}

func (u *usageStore) attr(account, fleet string) uint32 {
	k := usageAttr{account, fleet}
	if i, ok := u.attrIdx[k]; ok {
		return i
	}
	i := uint32(len(u.attrs))
	u.attrs = append(u.attrs, k)
	u.attrIdx[k] = i
	return i
}

// attrOf is attr of an account and Fleet SID interned at these indexes.
func (u *usageStore) attrOf(account, fleet uint32, ids []string) uint32 {
	k := [2]uint32{account, fleet}
	if !u.hasLast || u.lastIDs != k {
		u.lastIDs, u.lastAttr, u.hasLast = k, u.attr(ids[account], ids[fleet]), true
	}
	return u.lastAttr
}

// add adds usage in the hour at (hours since the epoch) and returns the
// hourly bucket's totals. now is when: buckets that fell out of their
// retention are rolled up when a new hour starts.
func (u *usageStore) add(sim int32, at int32, attr uint32, net uint16, up, down int64, sms int, now time.Time) usageBucket {
	u.oldest = min(u.oldest, at)
	for int(sim) >= len(u.bySim) {
		u.bySim = append(u.bySim, simUsage{})
	}
	su := &u.bySim[sim]
	bs := su.bs
	if len(bs) == 0 {
		u.stale = true
	}
	for i := len(bs) - 1; i >= 0 && at <= su.last && bs[i].at >= at; i-- {
		if b := &bs[i]; b.span == spanHour && b.at == at && b.attr == attr && b.net == net {
			b.up += up
			b.down += down
			b.sms += int32(sms)
			return *b
		}
	}
	nb := usageBucket{up: up, down: down, at: at, attr: attr, sms: int32(sms), net: net, span: spanHour}
	bs, rolled := u.rollUp(bs, su.rolled, now)
	i := len(bs)
	for i > 0 && bs[i-1].at > at {
		i--
	}
	if int32(i) < rolled {
		rolled = -1
	}
	su.rolled = rolled
	if len(bs) == 0 {
		bs = make([]usageBucket, 0, 1) // most SIMs use one network
	} else if len(bs) == cap(bs) {
		// Grow by a few buckets, not by half: most SIMs keep a steady
		// number of buckets once their hourly window is full.
		bs = append(make([]usageBucket, 0, len(bs)+4), bs...)
	}
	bs = slices.Insert(bs, i, nb)
	su.bs, su.last = bs, bs[len(bs)-1].at
	return nb
}

// rollUp moves the hourly buckets older than the hourly retention into day
// buckets, and the day buckets older than the daily retention into month
// buckets. bs is in the order of the buckets' first hours, as add and
// rollUp keep it, so only the buckets before hourCut can change: those
// after it are hourly buckets of the retention, which stay as they are.
//
// rolled is how many buckets the last roll-up left in front (see simUsage);
// rollUp returns the new count.
func (u *usageStore) rollUp(bs []usageBucket, rolled int32, now time.Time) ([]usageBucket, int32) {
	hourCut := int32(now.Add(-u.hourly).Unix() / 3600)
	dayCut := int32(now.Add(-u.daily).Unix() / 3600)
	if out, n, ok := rollHours(bs, rolled, hourCut, dayCut, u.oldest >= dayCut); ok {
		return out, n
	}
	return u.rollAll(bs, hourCut, dayCut)
}

// rollHours is rollUp when the buckets that roll are hourly buckets after
// the rolled ones, no day bucket turns into a month one, and so the rolled
// buckets, whose keys are distinct, stay as they are. It reports whether
// that is so. days is whether no bucket at all is older than dayCut.
func rollHours(bs []usageBucket, rolled, hourCut, dayCut int32, days bool) ([]usageBucket, int32, bool) {
	r := int(rolled)
	if r < 0 || r > len(bs) || !days && len(bs) > 0 && bs[0].at < dayCut || r > 0 && bs[r-1].at >= hourCut {
		return nil, 0, false
	}
	k := r
	for k < len(bs) && bs[k].at < hourCut {
		k++
	}
	if k == r {
		return bs, rolled, true
	}
	out := bs[:r]
	sorted := true
	for _, b := range bs[r:k] {
		b.span = spanDay
		p := b.period()
		merged := false
		for j := len(out) - 1; j >= 0; j-- {
			if o := &out[j]; o.span == spanDay && o.attr == b.attr && o.net == b.net && o.period() == p {
				o.up += b.up
				o.down += b.down
				o.sms += b.sms
				if b.at < o.at {
					o.at = b.at
					sorted = sorted && (j == 0 || out[j-1].at <= o.at)
				}
				merged = true
				break
			}
		}
		if !merged {
			sorted = sorted && (len(out) == 0 || out[len(out)-1].at <= b.at)
			out = append(out, b)
		}
	}
	if !sorted {
		slices.SortStableFunc(out, func(a, b usageBucket) int { return int(a.at) - int(b.at) })
	}
	n := int32(len(out))
	return append(out, bs[k:]...), n, true
}

// rollAll is rollUp of any buckets, as the hour and day cuts say.
func (u *usageStore) rollAll(bs []usageBucket, hourCut, dayCut int32) ([]usageBucket, int32) {
	rolled := false
	k := 0 // bs[:k] is before hourCut
	for ; k < len(bs) && bs[k].at < hourCut; k++ {
		if bs[k].span == spanHour || bs[k].span == spanDay && bs[k].at < dayCut {
			rolled = true
		}
	}
	if !rolled {
		return bs, -1
	}
	out := bs[:0]
	// The period of each bucket of out, computed when first compared (a
	// month's takes a calendar): a merge keeps it. out never holds two
	// buckets of one span, owner, network and period, as a bucket is only
	// appended when none matches; so the first match is the only one, and
	// the search starts from the newest, where a rolled hour's day is.
	const unknown = math.MinInt32
	var periods [16]int32
	ps := periods[:0]
	for _, b := range bs[:k] {
		switch {
		case b.span == spanHour:
			b.span = spanDay
		case b.span == spanDay && b.at < dayCut:
			b.span = spanMonth
		}
		p := int32(unknown)
		merged := false
		for j := len(out) - 1; j >= 0; j-- {
			o := &out[j]
			if o.span != b.span || o.attr != b.attr || o.net != b.net {
				continue
			}
			if p == unknown {
				p = b.period()
			}
			if ps[j] == unknown {
				ps[j] = o.period()
			}
			if ps[j] == p {
				o.up += b.up
				o.down += b.down
				o.sms += b.sms
				o.at = min(o.at, b.at)
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, b)
			ps = append(ps, p)
		}
	}
	byHour := func(a, b usageBucket) int { return int(a.at) - int(b.at) }
	if !slices.IsSortedFunc(out, byHour) {
		slices.SortStableFunc(out, byHour)
	}
	n := int32(len(out))
	if slices.ContainsFunc(bs[k:], func(b usageBucket) bool { return b.span != spanHour }) {
		n = -1
	}
	return append(out, bs[k:]...), n // out ends at or before bs[k]: a forward copy
}

// sorted returns the SIMs with usage in the order of their SIDs (sids
// gives a record's). Callers hold c.mu for writing when the list is stale.
func (u *usageStore) sorted(sids *simTable) []int32 {
	if u.stale {
		var sims []int32
		for i, su := range u.bySim {
			if len(su.bs) > 0 {
				sims = append(sims, int32(i))
			}
		}
		// Lower-case hex keeps the order of the bytes.
		slices.SortFunc(sims, func(a, b int32) int { return bytes.Compare(sids.at(a).sid[:], sids.at(b).sid[:]) })
		u.sims, u.stale = sims, false
	}
	return u.sims
}

// moved follows the Sim records to their new indexes (see simTable.sortOrder).
func (u *usageStore) moved(to []int32) {
	if len(u.bySim) == 0 {
		return
	}
	bySim := make([]simUsage, len(to))
	for i, su := range u.bySim {
		bySim[to[i]] = su
	}
	u.bySim, u.stale = bySim, true
}

// of returns a SIM's buckets.
func (u *usageStore) of(sim int32) []usageBucket {
	if int(sim) < len(u.bySim) {
		return u.bySim[sim].bs
	}
	return nil
}

// find returns the hourly bucket of a SIM's usage, if there is one.
func (u *usageStore) find(sim int32, at int32, attr uint32, net uint16) (usageBucket, bool) {
	bs := u.of(sim)
	for i := len(bs) - 1; i >= 0 && bs[i].at >= at; i-- {
		if b := bs[i]; b.span == spanHour && b.at == at && b.attr == attr && b.net == net {
			return b, true
		}
	}
	return usageBucket{}, false
}
