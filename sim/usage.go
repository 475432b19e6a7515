package sim

import (
	"cmp"
	"context"
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
	s, err := c.inService(iccid)
	if s == nil {
		return Network{}, "", false, err
	}
	if err != nil {
		return Network{}, s.Sid, c.hasSettings(s.Sid, SettingsInProgress), err
	}
	nw, ok := c.catalog.ByPLMN(plmn)
	if !ok {
		return Network{}, s.Sid, false, ErrNetworkNotAllowed
	}
	f := c.fleets.get(s.FleetSid)
	if f == nil {
		return Network{}, s.Sid, false, ErrNetworkNotAllowed
	}
	if nap := c.naps.get(f.NAPSid); nap == nil || !nap.Allows(nw.Sid) {
		return Network{}, s.Sid, false, ErrNetworkNotAllowed
	}
	return nw, s.Sid, c.hasSettings(s.Sid, SettingsScheduled), nil
}

// AuthorizeData decides whether the SIM may move data now: its Fleet must
// have data enabled and the SIM must be under the data limit the network
// enforces at this moment.
func (c *Control) AuthorizeData(iccid string) error {
	_, err := c.DataAllowance(iccid)
	return err
}

// DataAllowance is how many bytes the SIM may still move before it reaches
// the data limit the network enforces at this moment (a limit still
// propagating is not enforced yet). It is never 0 without an error:
// ErrDataLimitReached once the limit is used up, ErrDataDisabled, or why
// the SIM is not served. The network cuts a session where the allowance
// runs out, so no SIM consumes more than its Fleet's limit.
func (c *Control) DataAllowance(iccid string) (int64, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, err := c.inService(iccid)
	if err != nil {
		return 0, err
	}
	f := c.fleets.get(s.FleetSid)
	if f == nil || !f.DataEnabled {
		return 0, ErrDataDisabled
	}
	left := int64(f.EnforcedLimitMB(iccid, c.Now()))*MB - s.DataUsed
	if left <= 0 {
		return 0, ErrDataLimitReached
	}
	return left, nil
}

// simForCard returns the current view of the Sim registered from a card.
// Callers hold c.mu.
func (c *Control) simForCard(iccid string) *Sim {
	sid, ok := c.simICCID[iccid]
	if !ok {
		return nil
	}
	return c.view(c.sims.get(sid), c.Now())
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

// RecordUsage adds traffic to a SIM's usage records, its data limit counter
// and its progress toward the automatic ready→active move.
func (c *Control) RecordUsage(ctx context.Context, r UsageReport) error {
	if r.Upload < 0 || r.Download < 0 || r.SMS < 0 {
		return invalidParam("usage must not be negative")
	}
	nw, ok := c.catalog.ByPLMN(r.PLMN)
	if !ok {
		return notFound("no catalog network has PLMN %s", r.PLMN)
	}
	return c.write(ctx, func(t *txn) error {
		cur := c.simForCard(r.ICCID)
		if cur == nil {
			return notFound("no Sim is registered for ICCID %s", r.ICCID)
		}
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
		u := &Usage{
			AccountSid: s.AccountSid, SimSid: s.Sid, FleetSid: s.FleetSid,
			NetworkSid: nw.Sid, IsoCountry: nw.IsoCountry, Hour: now.Truncate(time.Hour),
		}
		k := u.key()
		if old := c.usage[k]; old != nil {
			cp := *old
			u = &cp
		}
		u.Upload += r.Upload
		u.Download += r.Download
		u.SMS += r.SMS
		t.put("usage", k, u, func() { c.usage[k] = u; c.stats.metered(r.Upload, r.Download) })
		return nil
	})
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

	c.mu.RLock()
	defer c.mu.RUnlock()
	// The records are the account's own usage, so a Sim or Fleet given by
	// SID filters them even when it has since moved to another account: the
	// usage it incurred here stays here.
	var simSid, fleetSid string
	if q.Sim != "" {
		if s, err := c.findSim(acct, q.Sim); err == nil {
			simSid = s.Sid
		} else if simSidRE.MatchString(q.Sim) {
			simSid = q.Sim
		} else {
			return nil, nil
		}
	}
	if q.Fleet != "" {
		if f, err := c.findFleet(acct, q.Fleet); err == nil {
			fleetSid = f.Sid
		} else {
			return nil, nil
		}
	}
	bucket := func(t time.Time) time.Time {
		if step == 0 {
			return start
		}
		return t.Truncate(step)
	}
	type key struct {
		at  time.Time
		dim string
	}
	sums := map[key]*UsageRecord{}
	for _, u := range c.usage {
		if u.AccountSid != acct.Sid || u.Hour.Before(start) || !u.Hour.Before(end) ||
			(simSid != "" && u.SimSid != simSid) || (fleetSid != "" && u.FleetSid != fleetSid) ||
			(q.Network != "" && u.NetworkSid != q.Network) || (q.IsoCountry != "" && !strings.EqualFold(u.IsoCountry, q.IsoCountry)) {
			continue
		}
		if q.Group != "" && u.Upload+u.Download == 0 {
			// An hour of SMS Commands only: grouped lists name only the
			// resources that used data.
			continue
		}
		dim := map[string]string{"": "", "sim": u.SimSid, "fleet": u.FleetSid, "network": u.NetworkSid, "isoCountry": u.IsoCountry}[q.Group]
		k := key{bucket(u.Hour), dim}
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
		r.Upload += u.Upload
		r.Download += u.Download
	}
	if q.Group == "" {
		// Ungrouped lists have a record for every time bucket, used or not.
		for at := start; at.Before(end); at = at.Add(step) {
			if _, ok := sums[key{at, ""}]; !ok {
				sums[key{at, ""}] = &UsageRecord{}
			}
			if step == 0 {
				break
			}
		}
	}
	out := make([]UsageRecord, 0, len(sums))
	for k, r := range sums {
		r.AccountSid = acct.Sid
		r.Start, r.End = k.at, end
		if step > 0 {
			r.End = k.at.Add(step)
		}
		r.SimSid = cmp.Or(r.SimSid, simSid)
		r.FleetSid = cmp.Or(r.FleetSid, fleetSid)
		r.NetworkSid = cmp.Or(r.NetworkSid, q.Network)
		r.IsoCountry = cmp.Or(r.IsoCountry, q.IsoCountry)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b UsageRecord) int {
		if d := a.Start.Compare(b.Start); d != 0 {
			return d
		}
		return cmp.Compare(a.SimSid+a.FleetSid+a.NetworkSid+a.IsoCountry, b.SimSid+b.FleetSid+b.NetworkSid+b.IsoCountry)
	})
	return out, nil
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
