package sim

import (
	"context"
	"net/http"
	"time"
)

// Fleet data limit range in MB, and the default of the Fleet create parameters.
const (
	MinDataLimit     = 1
	MaxDataLimit     = 2_000_000
	DefaultDataLimit = 1000
)

// FleetParams are the parameters of a Fleet create or update; nil fields
// take their default on create and stay unchanged on update.
type FleetParams struct {
	NetworkAccessProfile *string
	UniqueName           *string
	DataEnabled          *bool // create only: immutable afterwards
	DataLimit            *int
	IPCommandsURL        *string
	IPCommandsMethod     *string
	SmsCommandsEnabled   *bool // create only
	SmsCommandsURL       *string
	SmsCommandsMethod    *string
}

func (p *FleetParams) validate() error {
	if p.UniqueName != nil {
		if err := checkUniqueName(*p.UniqueName); err != nil {
			return err
		}
	}
	if p.DataLimit != nil && (*p.DataLimit < MinDataLimit || *p.DataLimit > MaxDataLimit) {
		return invalidParam("DataLimit must be between %d and %d MB", MinDataLimit, MaxDataLimit)
	}
	for _, u := range []struct {
		name string
		v    *string
	}{{"IpCommandsUrl", p.IPCommandsURL}, {"SmsCommandsUrl", p.SmsCommandsURL}} {
		if u.v != nil {
			if err := checkURL(u.name, *u.v); err != nil {
				return err
			}
		}
	}
	for _, m := range []struct {
		name string
		v    *string
	}{{"IpCommandsMethod", p.IPCommandsMethod}, {"SmsCommandsMethod", p.SmsCommandsMethod}} {
		if m.v != nil {
			v, err := callbackMethod(m.name, *m.v)
			if err != nil {
				return err
			}
			*m.v = v
		}
	}
	return nil
}

// CreateFleet creates a Fleet with the seed's defaults for what p leaves out.
func (c *Control) CreateFleet(ctx context.Context, acct *Account, p FleetParams) (*Fleet, error) {
	if p.NetworkAccessProfile == nil || *p.NetworkAccessProfile == "" {
		return nil, invalidParam("Missing required parameter NetworkAccessProfile")
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	var f *Fleet
	err := c.write(ctx, func(t *txn) error {
		nap, err := c.findNAP(acct, *p.NetworkAccessProfile)
		if err != nil {
			return invalidParam("NetworkAccessProfile %s was not found", *p.NetworkAccessProfile)
		}
		now := c.Now()
		f = &Fleet{
			Sid:                c.newSid("HF"),
			AccountSid:         acct.Sid,
			DataEnabled:        true,
			DataLimit:          DefaultDataLimit,
			DataMetering:       "payg",
			SmsCommandsEnabled: true,
			SmsCommandsMethod:  http.MethodPost,
			IPCommandsMethod:   http.MethodPost,
			NAPSid:             nap.Sid,
			DateCreated:        now,
			DateUpdated:        now,
			Seq:                c.nextSeq(),
		}
		if p.DataEnabled != nil {
			f.DataEnabled = *p.DataEnabled
		}
		if p.SmsCommandsEnabled != nil {
			f.SmsCommandsEnabled = *p.SmsCommandsEnabled
		}
		if err := c.applyFleetParams(f, p, now, true); err != nil {
			return err
		}
		f.Limits = []LimitChange{{MB: f.DataLimit, At: now}}
		c.putFleet(t, f)
		return nil
	})
	return f, err
}

// applyFleetParams sets the mutable fields. Callers hold c.mu.
func (c *Control) applyFleetParams(f *Fleet, p FleetParams, now time.Time, creating bool) error {
	if p.UniqueName != nil && *p.UniqueName != f.UniqueName {
		if _, taken := c.names[nameKey("fleet", f.AccountSid, *p.UniqueName)]; taken && *p.UniqueName != "" {
			return errorf(CodeConflict, http.StatusConflict, "Another Fleet on the account already uses the unique name %q", *p.UniqueName)
		}
		f.UniqueName = *p.UniqueName
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&f.IPCommandsURL, p.IPCommandsURL)
	set(&f.IPCommandsMethod, p.IPCommandsMethod)
	set(&f.SmsCommandsURL, p.SmsCommandsURL)
	set(&f.SmsCommandsMethod, p.SmsCommandsMethod)
	if p.DataLimit != nil && *p.DataLimit != f.DataLimit {
		f.DataLimit = *p.DataLimit
		if !creating {
			f.Limits = c.limitChange(f, now)
		}
	}
	return nil
}

// limitChange appends the new limit, enforced once it has propagated, and
// drops the changes it supersedes.
func (c *Control) limitChange(f *Fleet, now time.Time) []LimitChange {
	var kept []LimitChange
	for i, l := range f.Limits {
		// Keep the last limit already enforced and every one still propagating.
		enforcedNow := !now.Before(l.Done())
		supersededNow := i+1 < len(f.Limits) && !now.Before(f.Limits[i+1].Done())
		if !enforcedNow || !supersededNow {
			kept = append(kept, l)
		}
	}
	return append(kept, c.newLimit(f, now))
}

// newLimit is the Fleet's new data limit set at now, as the network will
// enforce it: after the propagation delay, or spread over the SIMs.
func (c *Control) newLimit(f *Fleet, now time.Time) LimitChange {
	if c.cfg.spreadMax <= 0 {
		return LimitChange{MB: f.DataLimit, At: now.Add(c.cfg.propagation)}
	}
	key := c.cfg.spreadSeed ^ uint64(now.UnixNano())*0x9e3779b97f4a7c15
	for i := 0; i < len(f.Sid); i++ {
		key = (key ^ uint64(f.Sid[i])) * 0x100000001b3
	}
	return LimitChange{MB: f.DataLimit, At: now, Typical: c.cfg.propagation, Max: c.cfg.spreadMax, Key: key}
}

// Fleet returns the Fleet addressed by SID or unique name.
func (c *Control) Fleet(acct *Account, ref string) (*Fleet, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.findFleet(acct, ref)
}

func (c *Control) findFleet(acct *Account, ref string) (*Fleet, error) {
	return c.findFleetIn(acct.Sid, ref)
}

func (c *Control) findFleetIn(account, ref string) (*Fleet, error) {
	f := c.fleets.get(ref)
	if f == nil {
		if sid, ok := c.names[nameKey("fleet", account, ref)]; ok {
			f = c.fleets.get(sid)
		}
	}
	if f == nil || f.AccountSid != account {
		return nil, notFound("The requested resource /Fleets/%s was not found", ref)
	}
	return f, nil
}

// ListFleets returns the account's Fleets, optionally only those using a NAP.
func (c *Control) ListFleets(acct *Account, nap string) ([]*Fleet, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	napSid := ""
	if nap != "" {
		n, err := c.findNAP(acct, nap)
		if err != nil {
			return nil, nil
		}
		napSid = n.Sid
	}
	return c.fleets.filter(func(f *Fleet) bool {
		return f.AccountSid == acct.Sid && (napSid == "" || f.NAPSid == napSid)
	}), nil
}

// UpdateFleet updates a Fleet. A new data limit is enforced after the
// propagation delay; the API shows it at once.
func (c *Control) UpdateFleet(ctx context.Context, acct *Account, ref string, p FleetParams) (*Fleet, error) {
	p.DataEnabled, p.SmsCommandsEnabled = nil, nil
	if err := p.validate(); err != nil {
		return nil, err
	}
	var f *Fleet
	err := c.write(ctx, func(t *txn) error {
		cur, err := c.findFleet(acct, ref)
		if err != nil {
			return err
		}
		cp := *cur
		f = &cp
		now := c.Now()
		if p.NetworkAccessProfile != nil {
			nap, err := c.findNAP(acct, *p.NetworkAccessProfile)
			if err != nil {
				return invalidParam("NetworkAccessProfile %s was not found", *p.NetworkAccessProfile)
			}
			f.NAPSid = nap.Sid
		}
		if err := c.applyFleetParams(f, p, now, false); err != nil {
			return err
		}
		f.DateUpdated = now
		c.putFleet(t, f)
		var limit *LimitChange
		if f.DataLimit != cur.DataLimit && len(f.Limits) > 0 {
			l := f.Limits[len(f.Limits)-1]
			limit = &l
		}
		t.event(Event{Kind: EventFleet, Sid: f.Sid, Limit: limit})
		if limit != nil {
			// The network enforces the new limit once it has propagated:
			// tell the modems then too, so data over it stops at that
			// moment. With a spread, each modem also hears it at its own
			// time from the change in the first event.
			// (A replica that replays the change arms the same timer: see
			// armLimitEvent.)
			t.after = append(t.after, func() { c.armLimitEvent(f.Sid, limit) })
		}
		return nil
	})
	return f, err
}
