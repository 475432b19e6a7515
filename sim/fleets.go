package sim

import (
	"context"
	"net/http"
	"slices"
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

// MaxPropagatingLimits is how many data limit changes of a Fleet
// propagate at once. A change made while that many are propagating takes
// the place of the newest of them, which is then never enforced; so a
// Fleet's record holds at most this many changes and the one in force.
//
// Without a spread the replaced change had reached no SIM yet (a change
// reaches every SIM at once, after the propagation delay), so nothing the
// network enforced is undone: a burst of changes is enforced as its first
// MaxPropagatingLimits-1 and its last. With a spread, a SIM whose own delay
// for the replaced change was already over goes back to the change before
// it until the new one reaches it.
const MaxPropagatingLimits = 8

// limitChange returns the Fleet's limits with the new one set at now:
// enforced once it has propagated, after the changes it supersedes are
// dropped (see trimLimits and MaxPropagatingLimits).
func (c *Control) limitChange(f *Fleet, now time.Time) []LimitChange {
	kept := trimLimits(f.Limits, now)
	if propagating(kept, now) >= MaxPropagatingLimits {
		kept = kept[:len(kept)-1]
	}
	return append(kept, c.newLimit(f, now))
}

// trimLimits returns a new slice of the changes in ls (oldest first) that
// can still apply to a SIM at now or later: the newest that every SIM
// enforces, and those still propagating, at most MaxPropagatingLimits of
// them (the first ones and the newest, as limitChange would have kept them:
// a record stored before the bound loads as if it had been kept).
func trimLimits(ls []LimitChange, now time.Time) []LimitChange {
	start := 0
	for i, l := range ls {
		if !now.Before(l.Done()) { // every SIM enforces l: those before it are over
			start = i
		}
	}
	kept := make([]LimitChange, 0, min(len(ls)-start, MaxPropagatingLimits+1)+1)
	kept = append(kept, ls[start:]...)
	if n := propagating(kept, now); n > MaxPropagatingLimits {
		last := kept[len(kept)-1]
		kept = append(kept[:len(kept)-n+MaxPropagatingLimits-1], last)
	}
	return slices.Clip(kept)
}

// propagating counts the changes at the end of ls that some SIM does not
// enforce yet at now.
func propagating(ls []LimitChange, now time.Time) int {
	n := 0
	for i := len(ls) - 1; i >= 0 && now.Before(ls[i].Done()); i-- {
		n++
	}
	return n
}

// armLimitTimer tells the Fleet's modems, once the oldest change still
// propagating reaches every SIM, that the limit they enforce changed; then
// it arms for the next. One timer per Fleet, however many changes.
// Callers hold c.mu.
func (c *Control) armLimitTimer(sid string) {
	key := "limits " + sid
	if t, ok := c.timers[key]; ok {
		t.Stop()
		c.untime(key)
	}
	f := c.fleets.get(sid)
	if f == nil || c.closed {
		return
	}
	now := c.Now()
	i := len(f.Limits) - propagating(f.Limits, now)
	if i == len(f.Limits) {
		return
	}
	var t Timer
	t = c.cfg.clock.AfterFunc(f.Limits[i].Done().Sub(now), func() {
		c.mu.Lock()
		if c.timers[key] != t {
			c.mu.Unlock()
			return // stopped, or re-armed, since
		}
		c.untime(key)
		c.armLimitTimer(sid)
		c.mu.Unlock()
		c.publish(Event{Kind: EventFleet, Sid: sid})
	})
	c.timers[key] = t
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
			sid := f.Sid
			t.after = append(t.after, func() {
				c.mu.Lock()
				c.armLimitTimer(sid)
				c.mu.Unlock()
			})
		}
		return nil
	})
	return f, err
}
