package sim

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// UsageReport is what a modem's network reports about one SIM's traffic.
type UsageReport struct {
	ICCID    string
	PLMN     PLMN
	Upload   int64 // bytes from the device
	Download int64 // bytes to the device
	SMS      int   // SMS Commands sent or received
	// Card is the key of the card with ICCID (see Control.CardKey), if
	// the reporter has it: the ICCID is not resolved again then.
	Card CardKey
}

// AuthorizeAttach decides whether the SIM with this ICCID may attach to the
// network with this PLMN, as the core network does on an attach request.
// It returns the catalog Network on success, and ErrSimNew, ErrSimInactive
// or ErrNetworkNotAllowed otherwise.
//
// The decision also drives the SIM's over-the-air settings updates (see
// ScheduleSettingsUpdate): a SIM the network accepts starts downloading the
// updates scheduled for it, and a SIM the core refuses (it went inactive)
// interrupts the update it was installing.
func (c *Control) AuthorizeAttach(iccid string, plmn PLMN) (Network, error) {
	nw, simSid, ota, err := c.authorizeAttach(iccid, plmn)
	if ota {
		c.advanceSettings(simSid, err == nil)
	}
	return nw, err
}

// authorizeAttach is AuthorizeAttach's decision. It reports ota=true when
// the decision changes one of the SIM's settings updates.
func (c *Control) authorizeAttach(iccid string, plmn PLMN) (nw Network, simSid string, ota bool, err error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	r, _, err := c.serving(iccid)
	if r == nil {
		return Network{}, "", false, err
	}
	if len(c.settings.order) > 0 {
		// Only over-the-air updates change here: a Sim's first one is done.
		simSid = r.sid.sid("HS")
	}
	if err != nil {
		return Network{}, simSid, simSid != "" && c.hasSettings(simSid, SettingsInProgress), err
	}
	nw, ok := c.catalog.ByPLMN(plmn)
	if !ok {
		return Network{}, simSid, false, ErrNetworkNotAllowed
	}
	f := c.fleets.get(c.ids[r.fleet])
	if f == nil {
		return Network{}, simSid, false, ErrNetworkNotAllowed
	}
	if nap := c.naps.get(f.NAPSid); nap == nil || !nap.Allows(nw.Sid) {
		return Network{}, simSid, false, ErrNetworkNotAllowed
	}
	return nw, simSid, simSid != "" && c.hasSettings(simSid, SettingsScheduled), nil
}

// AuthorizeData decides whether the SIM may move data now: its Fleet must
// have data enabled and the SIM must be under the data limit the network
// enforces at this moment.
func (c *Control) AuthorizeData(iccid string) error {
	_, err := c.DataAllowance(iccid)
	return err
}

// AuthorizeCardData is AuthorizeData of the card k (see CardKey), or of
// the card with this ICCID if k is the zero CardKey.
func (c *Control) AuthorizeCardData(k CardKey, iccid string) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, err := c.allowanceOf(k, iccid)
	return err
}

// DataAllowance is how many bytes the SIM may still move before it reaches
// the data limit the network enforces at this moment (a limit still
// propagating is not enforced yet). It is never 0 without an error:
// ErrDataLimitReached once the limit is used up, ErrDataDisabled, or why
// the SIM is not served. The network cuts a session where the allowance
// runs out, so no SIM consumes more than its Fleet's limit.
func (c *Control) DataAllowance(iccid string) (int64, error) {
	return c.CardAllowance(CardKey{}, iccid)
}

// CardAllowance is DataAllowance of the card k (see CardKey), or of the
// card with this ICCID if k is the zero CardKey.
func (c *Control) CardAllowance(k CardKey, iccid string) (int64, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.allowanceOf(k, iccid)
}

// allowanceOf is CardAllowance. Callers hold c.mu.
func (c *Control) allowanceOf(k CardKey, iccid string) (int64, error) {
	i, ok := c.simIndexOf(k, iccid)
	return c.allowanceAt(i, ok, iccid, c.Now())
}

// allowanceAt is allowance of the card's Sim record i, if ok (see
// simIndex), now. Callers hold c.mu.
func (c *Control) allowanceAt(i int32, ok bool, iccid string, now time.Time) (int64, error) {
	r, used, err := c.servingAt(i, ok, now)
	if err != nil {
		return 0, err
	}
	f := c.fleets.get(c.ids[r.fleet])
	if f == nil || !f.DataEnabled {
		return 0, ErrDataDisabled
	}
	left := int64(f.EnforcedLimitMB(iccid, now))*MB - used
	if left <= 0 {
		return 0, ErrDataLimitReached
	}
	return left, nil
}

// simForCard returns the current view of the Sim registered from a card.
// Callers hold c.mu.
func (c *Control) simForCard(iccid string) *Sim {
	i, ok := c.simIndex(iccid)
	if !ok {
		return nil
	}
	return c.view(c.simOf(i), c.Now())
}

// inService returns the Sim of a card if the network serves it: a card
// with no Sim, or a new one, is ErrSimNew; an inactive one ErrSimInactive.
// Callers hold c.mu.
func (c *Control) inService(iccid string) (*Sim, error) {
	s := c.simForCard(iccid)
	switch {
	case s == nil || s.Status == StatusNew:
		return s, ErrSimNew
	case s.Status == StatusInactive:
		return s, ErrSimInactive
	}
	return s, nil
}

// serving is inService without making the Sim: the record of the card's
// Sim, if any, and its data counter now. Callers hold c.mu.
func (c *Control) serving(iccid string) (*simRec, int64, error) {
	i, ok := c.simIndex(iccid)
	return c.servingAt(i, ok, c.Now())
}

// servingAt is serving of the card's Sim record i, if ok (see simIndex),
// now. Callers hold c.mu.
func (c *Control) servingAt(i int32, ok bool, now time.Time) (*simRec, int64, error) {
	if !ok {
		return nil, 0, ErrSimNew
	}
	r := c.sims.at(i)
	status, used := c.recState(r, now)
	switch status {
	case StatusNew:
		return r, used, ErrSimNew
	case StatusInactive:
		return r, used, ErrSimInactive
	}
	return r, used, nil
}

// RecordUsage adds traffic to a SIM's usage records, its data limit counter
// and its progress toward the automatic ready→active move.
func (c *Control) RecordUsage(ctx context.Context, r UsageReport) error {
	nw, err := c.checkUsage(r)
	if err != nil {
		return err
	}
	if c.discard && c.shared == nil {
		return c.recordUsageInPlace(r)
	}
	return c.write(ctx, func(t *txn) error {
		key, ok := c.simIndexOf(r.Card, r.ICCID)
		if !ok {
			return notFound("no Sim is registered for ICCID %s", r.ICCID)
		}
		cur := c.view(c.simOf(key), c.Now())
		now := c.Now()
		s := clone(cur)
		bytes := r.Upload + r.Download
		s.DataUsed += bytes
		if s.Status == StatusReady {
			s.ReadyData += bytes
			s.ReadySMS += r.SMS
			if s.ReadyData >= ReadyDataThreshold || s.ReadySMS >= ReadySMSThreshold {
				s.Status = StatusActive
				s.Period = c.period(s, PeriodActive, now, addMonths(now, 1))
				s.DataUsed, s.UsageStart = 0, now
				s.DateUpdated = now
			}
		}
		c.putSim(t, s)
		attr := c.usage.attr(s.AccountSid, s.FleetSid)
		net := uint16(c.catalog.byPLMN[r.PLMN])
		hour := int32(now.Unix() / 3600)
		if c.discard {
			t.apply = append(t.apply, func() { c.usage.add(key, hour, attr, net, r.Upload, r.Download, r.SMS, now) })
			return nil
		}
		// The store keeps the hour's totals as a Usage record.
		u := &Usage{
			AccountSid: s.AccountSid, SimSid: s.Sid, FleetSid: s.FleetSid,
			NetworkSid: nw.Sid, IsoCountry: nw.IsoCountry, Hour: now.Truncate(time.Hour),
			Upload: r.Upload, Download: r.Download, SMS: r.SMS,
		}
		if b, ok := c.usage.find(key, hour, attr, net); ok {
			u.Upload += b.up
			u.Download += b.down
			u.SMS += int(b.sms)
		}
		t.put("usage", u.key(), u, func() {
			c.usage.add(key, hour, attr, net, r.Upload, r.Download, r.SMS, now)
			c.stats.metered(r.Upload, r.Download)
		})
		return nil
	})
}

// ChargeData is what the network does with data a SIM moves: it lets
// through what DataAllowance allows of r's upload, then of its download,
// records that as RecordUsage does, and reports whether all of it fit. A
// SIM the network does not serve moves nothing. The error is
// RecordUsage's.
func (c *Control) ChargeData(ctx context.Context, r UsageReport) (fits bool, err error) {
	if !c.discard || c.shared != nil {
		left, err := c.CardAllowance(r.Card, r.ICCID)
		r, fits = chargeable(r, left, err)
		if r.Upload+r.Download > 0 {
			return fits, c.RecordUsage(ctx, r)
		}
		return fits, nil
	}
	// One write holds what DataAllowance and RecordUsage would do apart.
	c.mu.Lock()
	defer c.mu.Unlock()
	key, ok := c.simIndexOf(r.Card, r.ICCID)
	now := c.Now()
	left, err := c.allowanceAt(key, ok, r.ICCID, now)
	r, fits = chargeable(r, left, err)
	if r.Upload+r.Download == 0 {
		return fits, nil
	}
	net, err := c.checkUsageNet(r)
	if err != nil {
		return fits, err
	}
	return fits, c.recordUsageAt(key, ok, r, net, now)
}

// checkUsage returns the network of a usage report, or why it is not one.
func (c *Control) checkUsage(r UsageReport) (Network, error) {
	i, err := c.checkUsageNet(r)
	if err != nil {
		return Network{}, err
	}
	return c.catalog.nets[i], nil
}

// checkUsageNet is checkUsage with the network's index in the catalog.
func (c *Control) checkUsageNet(r UsageReport) (int, error) {
	if r.Upload < 0 || r.Download < 0 || r.SMS < 0 {
		return 0, invalidParam("usage must not be negative")
	}
	i, ok := c.catalog.byPLMN[r.PLMN]
	if !ok {
		return 0, notFound("no catalog network has PLMN %s", r.PLMN)
	}
	return i, nil
}

// chargeable is the part of r that fits in the allowance left (err: none).
func chargeable(r UsageReport, left int64, err error) (UsageReport, bool) {
	fits := err == nil && r.Upload+r.Download <= left
	if !fits {
		r.Upload = min(r.Upload, left)
		r.Download = min(r.Download, left-r.Upload)
	}
	return r, fits
}

// recordUsageInPlace is RecordUsage when the store keeps nothing and no
// replica shares the state: the write updates the Sim's record in place,
// as putSim would store the Sim RecordUsage makes, without making it.
func (c *Control) recordUsageInPlace(r UsageReport) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	key, ok := c.simIndexOf(r.Card, r.ICCID)
	return c.recordUsageAt(key, ok, r, c.catalog.byPLMN[r.PLMN], c.Now())
}

// recordUsageAt is recordUsageInPlace of the card's Sim record key, if ok
// (see simIndex), on the catalog's network net, now. Callers hold c.mu
// for writing.
func (c *Control) recordUsageAt(key int32, ok bool, r UsageReport, net int, now time.Time) error {
	if c.closed {
		return errorf(20503, http.StatusServiceUnavailable, "the control plane is shutting down")
	}
	if e := c.fault.Load(); e != nil {
		return e
	}
	if !ok {
		return notFound("no Sim is registered for ICCID %s", r.ICCID)
	}
	rec := c.sims.at(key)
	v := c.recView(*rec, now)
	bytes := r.Upload + r.Download
	v.dataUsed += bytes
	if v.status == StatusReady {
		readyData, readySMS := int64(v.readyData)+bytes, int(v.readySMS)+r.SMS
		if readyData >= ReadyDataThreshold || readySMS >= ReadySMSThreshold {
			v.status, v.period, v.periodStart, v.periodAcct = StatusActive, activePeriod, unixNano(now), v.account
			v.dataUsed, v.flags = 0, v.flags|recUsageCurrent
			v.updated = unixNano(now)
		}
		v.readyData = uint32(min(max(readyData, 0), math.MaxUint32))
		v.readySMS = uint8(min(max(readySMS, 0), math.MaxUint8))
	}
	*rec = v
	c.usage.add(key, int32(now.Unix()/3600), c.usage.attrOf(v.account, v.fleet, c.ids), uint16(net), r.Upload, r.Download, r.SMS, now)
	return nil
}

// recView is the record of view(simOf(r), now), made from the record.
func (c *Control) recView(r simRec, now time.Time) simRec {
	if r.period == noPeriod {
		return r
	}
	if r.inPeriod(now) { // nothing rolls: only the data counter may start
		if r.flags&recUsageCurrent == 0 {
			r.dataUsed, r.flags = 0, r.flags|recUsageCurrent
		}
		return r
	}
	start := fromUnixNano(r.periodStart)
	usageStart := int64(noTime)
	if r.flags&recUsageCurrent != 0 {
		usageStart = r.periodStart
	}
	end := addMonths(start, periodMonths(r.periodType()))
	if r.status == StatusReady && !now.Before(end) {
		r.status, r.period, r.periodAcct = StatusActive, activePeriod, r.account
		r.periodStart, r.updated = unixNano(end), unixNano(end)
		start, end = end, addMonths(end, 1)
	}
	for r.status == StatusActive && !now.Before(end) {
		r.period, r.periodAcct, r.periodStart = activePeriod, r.account, unixNano(end)
		start, end = end, addMonths(end, 1)
	}
	if usageStart != unixNano(start) {
		r.dataUsed, r.flags = 0, r.flags|recUsageCurrent
	}
	return r
}

// loadUsage adds a Usage record read from the store.
func (c *Control) loadUsage(u *Usage) {
	i, ok := c.catalog.bySid[u.NetworkSid]
	if !ok {
		c.cfg.logger.Warn("state: usage on a network the catalog does not have is left out", "sim", u.SimSid, "network", u.NetworkSid, "hour", u.Hour, "bytes", u.Upload+u.Download)
		return
	}
	key, ok := c.sims.lookup(u.SimSid)
	if !ok && c.loading {
		c.usageLoaded = append(c.usageLoaded, u) // before its Sim: see finishLoad
		return
	}
	if !ok {
		c.cfg.logger.Warn("state: usage of a Sim the state does not have is left out", "sim", u.SimSid, "network", u.NetworkSid, "hour", u.Hour, "bytes", u.Upload+u.Download)
		return
	}
	c.usage.add(key, int32(u.Hour.Unix()/3600), c.usage.attr(u.AccountSid, u.FleetSid), uint16(i), u.Upload, u.Download, u.SMS, c.Now())
}

// BillingPeriods returns the Sim's current or most recent billing period,
// if it belongs to the Sim's present account.
func (c *Control) BillingPeriods(acct *Account, simRef string) ([]*BillingPeriod, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, err := c.findSim(acct, simRef)
	if err != nil {
		return nil, err
	}
	v := c.view(s, c.Now())
	if v.Period == nil || v.Period.AccountSid != v.AccountSid {
		return nil, nil
	}
	return []*BillingPeriod{v.Period}, nil
}

// UsageQuery are the parameters of the UsageRecords list.
type UsageQuery struct {
	Sim, Fleet, Network, IsoCountry string
	Group                           string // "", sim, fleet, network, isoCountry
	Granularity                     string // "", hour, day, all
	Start, End                      *time.Time
}

// UsageRecord is one record of the UsageRecords list.
type UsageRecord struct {
	AccountSid string
	SimSid     string
	FleetSid   string
	NetworkSid string
	IsoCountry string
	Start, End time.Time
	Upload     int64
	Download   int64
}

// The simulated data price: PricePerMB in BilledUnit for every 1,000,000
// bytes (the OpenAPI examples bill 300,000 bytes as 0.03 USD), billed to the
// micro-unit.
const (
	PricePerMB = 0.10
	BilledUnit = "USD"
	// bytesPerMicro is how many bytes cost one millionth of BilledUnit.
	bytesPerMicro = 10
)

var (
	networkSidRE = regexp.MustCompile(`^HW[0-9a-fA-F]{32}$`)
	simSidRE     = regexp.MustCompile(`^HS[0-9a-fA-F]{32}$`)
	isoCountryRE = regexp.MustCompile(`^[A-Za-z]{2}$`)
)

func usageErr(code int, format string, args ...any) *Error {
	return errorf(code, http.StatusBadRequest, format, args...)
}

// UsageRecords answers the UsageRecords list from the recorded usage.
func (c *Control) UsageRecords(acct *Account, q UsageQuery) ([]UsageRecord, error) {
	l, err := c.UsagePages(acct, q)
	if err != nil {
		return nil, err
	}
	return All(l), nil
}

// UsagePages is UsageRecords a page at a time.
func (c *Control) UsagePages(acct *Account, q UsageQuery) (List[UsageRecord], error) {
	now := c.Now()
	gran := cmp.Or(q.Granularity, "all")
	var step time.Duration
	switch gran {
	case "hour":
		step = time.Hour
	case "day":
		step = 24 * time.Hour
	case "all":
	default:
		return nil, usageErr(CodeUsageInvalid, "Granularity must be hour, day or all")
	}
	switch q.Group {
	case "", "sim", "fleet", "network", "isoCountry":
	default:
		return nil, usageErr(CodeUsageInvalid, "Group must be sim, fleet, network or isoCountry")
	}
	if q.Network != "" && !networkSidRE.MatchString(q.Network) {
		return nil, usageErr(CodeUsageInvalid, "Network must be the SID of a Network resource")
	}
	if q.IsoCountry != "" && !isoCountryRE.MatchString(q.IsoCountry) {
		return nil, usageErr(CodeUsageInvalid, "IsoCountry must be an ISO 3166-1 alpha-2 country code")
	}
	end := now
	if q.End != nil {
		end = q.End.UTC()
	} else if step > 0 {
		end = ceilTo(now, step)
	}
	start := addMonths(end, -1)
	if q.Start != nil {
		start = q.Start.UTC()
	}
	if !start.Before(end) {
		return nil, usageErr(CodeUsageInvalid, "StartTime must be before EndTime")
	}
	if step > 0 && (start.Truncate(step) != start || end.Truncate(step) != end) {
		if step == time.Hour {
			return nil, usageErr(CodeUsageNotHour, "StartTime and EndTime must fall on a UTC hour boundary for Granularity hour")
		}
		return nil, usageErr(CodeUsageNotDay, "StartTime and EndTime must fall on a UTC midnight boundary for Granularity day")
	}
	today := now.Truncate(24 * time.Hour)
	if start.Before(addMonths(today, -18)) {
		return nil, usageErr(CodeUsageTooOld, "StartTime must not be more than 18 months ago")
	}
	limit := map[string]time.Time{"all": addMonths(start, 18), "day": addMonths(start, 3), "hour": start.Add(31 * 24 * time.Hour)}[gran]
	if end.After(limit) {
		return nil, usageErr(CodeUsageTooLong, "The period is too long for Granularity %s", gran)
	}
	if q.Group == "sim" && end.Sub(start) > 31*24*time.Hour {
		return nil, usageErr(CodeUsageSimTooLong, "Usage grouped by sim may cover at most 31 days")
	}

	if q.Group == "sim" && q.Sim == "" {
		// One record per SIM and bucket: paged without computing the
		// others. The SIMs are read in the order of their SIDs.
		c.mu.Lock()
		sids := c.usage.sorted(&c.sims)
		c.mu.Unlock()
		c.mu.RLock()
		defer c.mu.RUnlock()
		uq, ok := c.usageQuery(acct, q, start, end, step)
		if !ok {
			return emptyList[UsageRecord](), nil
		}
		return &simUsageList{c: c, q: uq, sids: sids}, nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	uq, ok := c.usageQuery(acct, q, start, end, step)
	if !ok {
		return emptyList[UsageRecord](), nil
	}
	return SliceList(c.usageRecords(uq), nil), nil
}

// usageQuery is a validated UsageQuery with its references resolved.
type usageQuery struct {
	UsageQuery
	acct             string
	simSid, fleetSid string
	start, end       time.Time
	from, to         int32 // start and end in hours since the epoch
	step             time.Duration
	nets             []Network // the catalog
	ownAttrs         []bool    // by attr: the account's own usage in the Fleet asked for
}

// usageQuery resolves q's references. Callers hold c.mu.
func (c *Control) usageQuery(acct *Account, q UsageQuery, start, end time.Time, step time.Duration) (*usageQuery, bool) {
	uq := &usageQuery{UsageQuery: q, acct: acct.Sid, start: start, end: end, step: step, nets: c.catalog.nets,
		from: int32(start.Unix() / 3600), to: int32((end.Unix() + 3599) / 3600)}
	// The records are the account's own usage, so a Sim or Fleet given by
	// SID filters them even when it has since moved to another account: the
	// usage it incurred here stays here.
	if q.Sim != "" {
		if s, err := c.findSim(acct, q.Sim); err == nil {
			uq.simSid = s.Sid
		} else if simSidRE.MatchString(q.Sim) {
			uq.simSid = q.Sim
		} else {
			return nil, false
		}
	}
	if q.Fleet != "" {
		f, err := c.findFleet(acct, q.Fleet)
		if err != nil {
			return nil, false
		}
		uq.fleetSid = f.Sid
	}
	uq.ownAttrs = make([]bool, len(c.usage.attrs))
	for i, a := range c.usage.attrs {
		uq.ownAttrs[i] = a.account == acct.Sid && (uq.fleetSid == "" || a.fleet == uq.fleetSid)
	}
	return uq, true
}

// match reports whether the bucket counts toward the query, and the start
// of the record's time bucket it counts in.
func (q *usageQuery) match(b *usageBucket) (time.Time, bool) {
	if int(b.attr) >= len(q.ownAttrs) || !q.ownAttrs[b.attr] || b.at < q.from || b.at >= q.to {
		return time.Time{}, false
	}
	h := b.hour()
	if h.Before(q.start) || !h.Before(q.end) {
		return time.Time{}, false
	}
	nw := &q.nets[b.net]
	if (q.Network != "" && nw.Sid != q.Network) || (q.IsoCountry != "" && !strings.EqualFold(nw.IsoCountry, q.IsoCountry)) {
		return time.Time{}, false
	}
	if q.Group != "" && b.up+b.down == 0 {
		// An hour of SMS Commands only: grouped lists name only the
		// resources that used data.
		return time.Time{}, false
	}
	if q.step == 0 {
		return q.start, true
	}
	return h.Truncate(q.step), true
}

// record fills in a record's common fields.
func (q *usageQuery) record(r *UsageRecord, at time.Time) {
	r.AccountSid = q.acct
	r.Start, r.End = at, q.end
	if q.step > 0 {
		r.End = at.Add(q.step)
	}
	r.SimSid = cmp.Or(r.SimSid, q.simSid)
	r.FleetSid = cmp.Or(r.FleetSid, q.fleetSid)
	r.NetworkSid = cmp.Or(r.NetworkSid, q.Network)
	r.IsoCountry = cmp.Or(r.IsoCountry, q.IsoCountry)
}

// usageRecords computes every record of q: for one SIM, or for few
// groups (Fleets, networks, countries, time buckets). Callers hold c.mu.
func (c *Control) usageRecords(q *usageQuery) []UsageRecord {
	type key struct {
		at  time.Time
		dim string
	}
	sums := map[key]*UsageRecord{}
	visit := func(sim int32, bs []usageBucket) {
		for i := range bs {
			b := &bs[i]
			at, ok := q.match(b)
			if !ok {
				continue
			}
			var dim string
			switch q.Group {
			case "sim":
				dim = c.sims.at(sim).sid.sid("HS")
			case "fleet":
				dim = c.usage.attrs[b.attr].fleet
			case "network":
				dim = q.nets[b.net].Sid
			case "isoCountry":
				dim = q.nets[b.net].IsoCountry
			}
			k := key{at, dim}
			r := sums[k]
			if r == nil {
				r = &UsageRecord{}
				sums[k] = r
				switch q.Group {
				case "sim":
					r.SimSid = dim
				case "fleet":
					r.FleetSid = dim
				case "network":
					r.NetworkSid = dim
				case "isoCountry":
					r.IsoCountry = dim
				}
			}
			r.Upload += b.up
			r.Download += b.down
		}
	}
	if q.simSid != "" {
		if i, ok := c.sims.lookup(q.simSid); ok {
			visit(i, c.usage.of(i))
		}
	} else {
		for i, su := range c.usage.bySim {
			visit(int32(i), su.bs)
		}
	}
	if q.Group == "" {
		// Ungrouped lists have a record for every time bucket, used or not.
		for at := q.start; at.Before(q.end); at = at.Add(q.step) {
			if _, ok := sums[key{at, ""}]; !ok {
				sums[key{at, ""}] = &UsageRecord{}
			}
			if q.step == 0 {
				break
			}
		}
	}
	out := make([]UsageRecord, 0, len(sums))
	for k, r := range sums {
		q.record(r, k.at)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b UsageRecord) int {
		if d := a.Start.Compare(b.Start); d != 0 {
			return d
		}
		return cmp.Compare(a.SimSid+a.FleetSid+a.NetworkSid+a.IsoCountry, b.SimSid+b.FleetSid+b.NetworkSid+b.IsoCountry)
	})
	return out
}

// simUsageList is the list of a query grouped by SIM over every SIM: time
// buckets in order and, in each, the SIMs in the order of their SIDs. The
// record of SIM rank r in time bucket b is at position b*(len(sids)+1)+r+1.
type simUsageList struct {
	c    *Control
	q    *usageQuery
	sids []int32 // Sim records
}

func (l *simUsageList) buckets() int {
	if l.q.step == 0 {
		return 1
	}
	return int(l.q.end.Sub(l.q.start) / l.q.step)
}

// at returns the record of SIM rank r in time bucket b, if it has one.
// Callers hold c.mu.
func (l *simUsageList) at(b, r int) (UsageRecord, bool) {
	start := l.q.start.Add(time.Duration(b) * l.q.step)
	var rec UsageRecord
	found := false
	bs := l.c.usage.of(l.sids[r])
	for i := range bs {
		if at, ok := l.q.match(&bs[i]); ok && at.Equal(start) {
			rec.Upload += bs[i].up
			rec.Download += bs[i].down
			found = true
		}
	}
	if found {
		rec.SimSid = l.c.sims.at(l.sids[r]).sid.sid("HS")
		l.q.record(&rec, start)
	}
	return rec, found
}

func (l *simUsageList) After(pos int64, n int) ([]UsageRecord, []int64) {
	l.c.mu.RLock()
	defer l.c.mu.RUnlock()
	w := int64(len(l.sids)) + 1
	pos = max(pos, 0)
	b, r := int(pos/w), int(pos%w)
	var out []UsageRecord
	var ps []int64
	for nb := l.buckets(); b < nb && len(out) < n; b, r = b+1, 0 {
		for ; r < len(l.sids) && len(out) < n; r++ {
			if rec, ok := l.at(b, r); ok {
				out = append(out, rec)
				ps = append(ps, int64(b)*w+int64(r)+1)
			}
		}
	}
	return out, ps
}

func (l *simUsageList) Before(pos int64, n int) ([]UsageRecord, []int64) {
	l.c.mu.RLock()
	defer l.c.mu.RUnlock()
	w := int64(len(l.sids)) + 1
	var out []UsageRecord
	var ps []int64
	if pos <= 1 {
		return nil, nil
	}
	last := pos - 2 // the position before pos, less one
	b, r := int(last/w), int(last%w)
	if nb := l.buckets(); b >= nb {
		b, r = nb-1, len(l.sids)-1
	}
	r = min(r, len(l.sids)-1)
	for ; b >= 0 && len(out) < n; b, r = b-1, len(l.sids)-1 {
		for ; r >= 0 && len(out) < n; r-- {
			if rec, ok := l.at(b, r); ok {
				out = append(out, rec)
				ps = append(ps, int64(b)*w+int64(r)+1)
			}
		}
	}
	slices.Reverse(out)
	slices.Reverse(ps)
	return out, ps
}

// Billed is the simulated amount billed for the record's traffic, in
// BilledUnit: PricePerMB per 1,000,000 bytes, rounded down to the micro-unit.
func (r UsageRecord) Billed() float64 {
	return float64((r.Upload+r.Download)/bytesPerMicro) / 1e6
}

func ceilTo(t time.Time, step time.Duration) time.Time {
	if tt := t.Truncate(step); !tt.Equal(t) {
		return tt.Add(step)
	}
	return t
}
