package sim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Thresholds of the automatic ready→active move, from the Sim seed page.
const (
	ReadyDataThreshold = 250 * 1024 // bytes
	ReadySMSThreshold  = 5
	ReadyPeriodMonths  = 3
)

var (
	registrationCodeRE = regexp.MustCompile(`^[0-9]{10}$`)
	sidLikeRE          = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
)

// baseSettings are the packages of every SIM's first settings update,
// shared by all (never modified).
var baseSettings = []SettingsPackage{{
	Name: "base-settings", Version: "1.0.0",
	MoreInfo: "https://twilio.com/docs/iot/supersim/settings-packages/base-settings",
}}

// RegisterSim claims an inventory card for the account: the Sim is created
// with status new and no Fleet.
func (c *Control) RegisterSim(ctx context.Context, acct *Account, iccid, code string) (*Sim, error) {
	switch {
	case iccid == "" && code == "":
		return nil, errorf(CodeRegistrationMissing, http.StatusBadRequest, "Missing required parameters Iccid and RegistrationCode")
	case iccid == "":
		return nil, errorf(CodeRegistrationMissing, http.StatusBadRequest, "Missing required parameter Iccid")
	case code == "":
		return nil, errorf(CodeRegistrationMissing, http.StatusBadRequest, "Missing required parameter RegistrationCode")
	}
	var s *Sim
	err := c.write(ctx, func(t *txn) error {
		card, ok := c.cardByICCID(iccid)
		if !ok || !registrationCodeRE.MatchString(code) || subtle.ConstantTimeCompare([]byte(card.RegistrationCode), []byte(code)) != 1 {
			return errorf(CodeRegistrationInvalid, http.StatusBadRequest, "The ICCID and registration code do not match a Super SIM that can be registered")
		}
		if i, ok := c.simIndex(iccid); ok {
			if r := c.sims.at(i); c.ids[r.account] == acct.Sid {
				return errorf(CodeAlreadyRegistered, http.StatusConflict, "The Super SIM is already registered to this account as %s", r.sid.sid("HS"))
			}
			return errorf(CodeRegistrationInvalid, http.StatusBadRequest, "The ICCID and registration code do not match a Super SIM that can be registered")
		}
		now := c.Now()
		s = &Sim{
			Sid:         c.newSid("HS"),
			AccountSid:  acct.Sid,
			ICCID:       iccid,
			Status:      StatusNew,
			DateCreated: now,
			DateUpdated: now,
			Seq:         c.nextSeq(),
		}
		// The first settings update is kept in the Sim (see baseUpdate);
		// the store has it as a settings record like any other. A store
		// that keeps nothing needs only its SID and Seq in the record
		// (what putSettings would fold): a million registrations made
		// the update, its SID text and a Sim to check it against each.
		base, seq := c.newSid16(), c.nextSeq()
		if t.discard {
			t.apply = append(t.apply, func() { c.setBase(c.keepSim(s), base, seq) })
			return nil
		}
		c.putSim(t, s)
		u := &SettingsUpdate{
			Sid:           base.sid("OB"),
			ICCID:         iccid,
			SimSid:        s.Sid,
			Status:        SettingsSuccessful,
			Packages:      baseSettings,
			DateCompleted: now, DateCreated: now, DateUpdated: now,
			Seq: seq,
		}
		t.put("settings", u.Sid, u, func() { c.putSettings(u) })
		return nil
	})
	return s, err
}

// Sim returns the Sim addressed by SID or unique name, as of now.
func (c *Control) Sim(acct *Account, ref string) (*Sim, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, err := c.findSim(acct, ref)
	if err != nil {
		return nil, err
	}
	return c.view(s, c.Now()), nil
}

// findSim resolves a Sim reference. The Sim is made for the caller (see
// simOf), which may change it. Callers hold c.mu.
func (c *Control) findSim(acct *Account, ref string) (*Sim, error) {
	s := c.getSim(ref)
	if s == nil {
		if sid, ok := c.names[nameKey("sim", acct.Sid, ref)]; ok {
			s = c.getSim(sid)
		}
	}
	if s == nil || !c.mayActOn(acct, s.AccountSid) {
		return nil, notFound("The requested resource /Sims/%s was not found", ref)
	}
	return s, nil
}

// SimByICCID returns the Sim registered from the card with this ICCID.
func (c *Control) SimByICCID(iccid string) (*Sim, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	i, ok := c.simIndex(iccid)
	if !ok {
		return nil, notFound("no Sim is registered for ICCID %s", iccid)
	}
	return c.view(c.simOf(i), c.Now()), nil
}

// SimFilter selects Sims in ListSims.
type SimFilter struct {
	Status string // a Sim status name; empty for any
	Fleet  string // Fleet SID or unique name
	ICCID  string
}

// ListSims returns the account's Sims that match f, in creation order.
func (c *Control) ListSims(acct *Account, f SimFilter) ([]*Sim, error) {
	l, err := c.SimPages(acct, f)
	if err != nil {
		return nil, err
	}
	return All(l), nil
}

// SimPages is ListSims a page at a time; positions are the Sims' Seqs.
func (c *Control) SimPages(acct *Account, f SimFilter) (List[*Sim], error) {
	var status SimStatus
	if f.Status != "" {
		var ok bool
		if status, ok = ParseSimStatus(f.Status); !ok {
			return nil, invalidParam("Status must be one of new, ready, active, inactive, scheduled")
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	fleetSid := ""
	if f.Fleet != "" {
		fl, err := c.findFleet(acct, f.Fleet)
		if err != nil {
			return emptyList[*Sim](), nil
		}
		fleetSid = fl.Sid
	}
	return simList[*Sim]{c, 0, func(r *simRec) bool {
		return c.ids[r.account] == acct.Sid && (f.ICCID == "" || c.iccidOf(r.card) == f.ICCID) && (fleetSid == "" || c.ids[r.fleet] == fleetSid)
	}, func(s *Sim, now time.Time) (*Sim, bool) {
		v := c.view(s, now)
		return v, status == 0 || v.APIStatus() == status
	}}, nil
}

// SimParams are the parameters of a Sim update; nil fields are not updated.
type SimParams struct {
	UniqueName     *string
	Status         *string
	Fleet          *string // "" removes the Fleet
	AccountSid     *string
	CallbackURL    string
	CallbackMethod string
}

// UpdateSim updates a Sim. It reports accepted=true when the update is
// asynchronous: the Sim is then scheduled and completes after the update delay.
func (c *Control) UpdateSim(ctx context.Context, acct *Account, ref string, p SimParams) (sim *Sim, accepted bool, err error) {
	var target SimStatus
	if p.Status != nil {
		v, ok := ParseSimStatus(*p.Status)
		if !ok || (v != StatusReady && v != StatusActive && v != StatusInactive) {
			return nil, false, invalidParam("Status must be one of ready, active, inactive")
		}
		target = v
	}
	method, err := callbackMethod("CallbackMethod", p.CallbackMethod)
	if err != nil {
		return nil, false, err
	}
	if err := checkURL("CallbackUrl", p.CallbackURL); err != nil {
		return nil, false, err
	}
	if p.UniqueName != nil {
		if err := checkUniqueName(*p.UniqueName); err != nil {
			return nil, false, err
		}
	}
	err = c.write(ctx, func(t *txn) error {
		cur, err := c.findSim(acct, ref)
		if err != nil {
			return err
		}
		now := c.Now()
		s := c.view(cur, now) // cur is ours: no copy to change
		owner := s.AccountSid
		if p.AccountSid != nil && *p.AccountSid != s.AccountSid {
			if err := c.checkMove(acct, s, *p.AccountSid, p.Fleet != nil); err != nil {
				return err
			}
			owner = *p.AccountSid
		}
		fleetSid, fleetChange := s.FleetSid, false
		if p.Fleet != nil {
			fleetSid = ""
			if *p.Fleet != "" {
				f, err := c.findFleetIn(owner, *p.Fleet)
				if err != nil {
					return errorf(CodeFleetNotFound, http.StatusNotFound, "Fleet %s was not found", *p.Fleet)
				}
				fleetSid = f.Sid
			}
			fleetChange = fleetSid != s.FleetSid
		}
		statusChange := target != 0 && target != s.Status
		if s.Pending != nil {
			pendingFleet := s.FleetSid
			if s.Pending.SetFleet {
				pendingFleet = s.Pending.FleetSid
			}
			if p.Fleet != nil && fleetSid != pendingFleet {
				return errorf(CodeUpdateInProgress, http.StatusConflict, "The Sim's Fleet cannot change while an update is scheduled")
			}
			if target != 0 && target != s.Pending.Status {
				return errorf(CodeBadTransition, http.StatusConflict, "The Sim's status cannot change while an update is scheduled")
			}
			statusChange, fleetChange = false, false
		}
		async := false
		if statusChange {
			if !transitionAllowed(s.Status, target) {
				return errorf(CodeBadTransition, http.StatusConflict, "The Sim's status cannot change from %s to %s", s.Status, target)
			}
			if (s.Status == StatusNew || target.CanAttach()) && fleetSid == "" {
				return errorf(CodeNoFleet, http.StatusBadRequest, "The Sim cannot be activated without a Fleet: give a Fleet in the same request or assign one first")
			}
			async = true
		}
		if fleetChange && fleetSid == "" && s.Status.CanAttach() && !(statusChange && target == StatusInactive) {
			return errorf(CodeFleetRequired, http.StatusBadRequest, "The Fleet of a %s Sim cannot be removed: give another Fleet or set the status to inactive in the same request", s.Status)
		}
		if fleetChange && s.Status.CanAttach() {
			async = true
		}
		if p.UniqueName != nil && *p.UniqueName != s.UniqueName || owner != s.AccountSid {
			name := s.UniqueName
			if p.UniqueName != nil {
				name = *p.UniqueName
			}
			if sid, ok := c.names[nameKey("sim", owner, name)]; ok && name != "" && sid != s.Sid {
				return errorf(CodeSimNameTaken, http.StatusConflict, "Another Super SIM on the account already uses the unique name %q", name)
			}
			s.UniqueName = name
		}
		s.AccountSid = owner
		s.DateUpdated = now
		if async {
			to := s.Status
			if statusChange {
				to = target
			}
			s.Pending = c.shareUpdate(SimUpdate{
				Status: to, SetFleet: fleetChange, FleetSid: fleetSid,
				Due:         now.Add(c.cfg.updateDelay),
				CallbackURL: p.CallbackURL, CallbackMethod: method,
			})
			accepted = true
			c.putSimPending(t, s)
		} else {
			s.FleetSid = fleetSid
			c.putSim(t, s)
		}
		t.event(Event{Kind: EventSim, Sid: s.Sid, ICCID: s.ICCID})
		sim = s
		return nil
	})
	return sim, accepted, err
}

// shareUpdate returns a pending update equal to u: the one made last if
// it is, so that the updates of a whole fleet set up at one instant (same
// status, Fleet and due time) are one object. A SimUpdate is never
// modified once made. Callers hold c.mu.
func (c *Control) shareUpdate(u SimUpdate) *SimUpdate {
	if l := c.lastUpdate; l != nil && *l == u {
		return l
	}
	c.lastUpdate = &u
	return c.lastUpdate
}

// checkMove applies the seed's rules for moving a Sim to another account.
// Callers hold c.mu.
func (c *Control) checkMove(acct *Account, s *Sim, to string, fleetGiven bool) error {
	if !c.mayActOn(acct, to) {
		return invalidParam("AccountSid must be the requesting account or one of its subaccounts")
	}
	if s.Status != StatusNew && s.Status != StatusInactive {
		return errorf(CodeBadTransition, http.StatusConflict, "Only a new or inactive Sim can move to another account; this one is %s", s.APIStatus())
	}
	if s.Pending != nil {
		return errorf(CodeUpdateInProgress, http.StatusConflict, "The Sim cannot move while an update is scheduled")
	}
	if s.FleetSid != "" && !fleetGiven {
		return invalidParam("The Sim is assigned to a Fleet: give a Fleet of the new account, or an empty Fleet, in the same request")
	}
	return nil
}

// transitionAllowed is the seed's status machine for requested changes.
func transitionAllowed(from, to SimStatus) bool {
	switch from {
	case StatusNew:
		return to == StatusReady || to == StatusActive
	case StatusReady:
		return to == StatusActive
	case StatusActive:
		return to == StatusInactive
	case StatusInactive:
		return to == StatusActive
	}
	return false
}

// armSimTimer makes the pending update of Sim record i complete at due.
// On a Scheduler clock (a simulation's) that is an event of the clock's
// and nothing else: no timer, closure or map entry per Sim while a whole
// fleet's first updates are pending. An event cannot be stopped: when it
// fires, simDue completes the update only if it is still pending and due
// (a record re-armed later has a later event of its own). On another
// clock it is a timer, which a new one replaces. Callers hold c.mu.
func (c *Control) armSimTimer(i int32, due time.Time) {
	if c.closed {
		return
	}
	d := max(0, due.Sub(c.Now()))
	if s, ok := c.cfg.clock.(Scheduler); ok {
		s.Schedule(d, (*simDue)(c), uint64(i))
		return
	}
	sid := c.sims.at(i).sid.sid("HS")
	if t, ok := c.timers[sid]; ok {
		t.Stop()
	}
	c.timers[sid] = c.cfg.clock.AfterFunc(d, func() { c.completeSimUpdate(i, true) })
}

// simDue is the Handler of the events armSimTimer schedules: the word is
// the index of the Sim's record.
type simDue Control

func (h *simDue) Fire(arg uint64) {
	c, i := (*Control)(h), int32(arg)
	c.mu.RLock()
	p := c.sims.pending[c.sims.at(i).sid]
	due := !c.closed && p != nil && !p.Due.After(c.Now())
	c.mu.RUnlock()
	if due {
		c.completeSimUpdate(i, false)
	}
}

// completeSimUpdate finishes the scheduled update of Sim record i and
// calls its callback; timed: it forgets the update's timer.
func (c *Control) completeSimUpdate(i int32, timed bool) {
	err := c.write(context.Background(), func(t *txn) error {
		r := c.sims.at(i)
		if timed {
			c.untime(r.sid.sid("HS"))
		}
		if c.sims.pending[r.sid] == nil {
			return nil
		}
		now := c.Now()
		s := c.view(c.simOf(i), now) // simOf's Sim is ours: no copy to change
		p := s.Pending
		s.Pending = nil
		if p.SetFleet {
			s.FleetSid = p.FleetSid
		}
		if p.Status != s.Status {
			c.transition(s, p.Status, now)
		}
		s.DateUpdated = now
		c.putSim(t, s)
		acct := c.accounts.get(s.AccountSid)
		t.event(Event{Kind: EventSim, Sid: s.Sid, ICCID: s.ICCID})
		if p.CallbackURL != "" {
			t.after = append(t.after, func() {
				c.hooks.sendEvent(WebhookSimUpdate, acct.AuthToken, p.CallbackURL, p.CallbackMethod, url.Values{
					"SimSid": {s.Sid}, "SimUniqueName": {s.UniqueName},
					"SimStatus": {s.Status.String()}, "AccountSid": {s.AccountSid},
				})
			})
		}
		return nil
	})
	if err != nil {
		c.mu.RLock()
		sid := c.sims.at(i).sid.sid("HS")
		c.mu.RUnlock()
		c.cfg.logger.Error("completing Sim update", "sim", sid, "err", err)
	}
}

// transition moves s to status to at now, opening or reusing billing periods.
func (c *Control) transition(s *Sim, to SimStatus, now time.Time) {
	switch to {
	case StatusReady:
		s.Period = c.period(s, PeriodReady, now, addMonths(now, ReadyPeriodMonths))
	case StatusActive:
		if s.Period == nil || s.Period.Type != PeriodActive || !now.Before(s.Period.End) {
			s.Period = c.period(s, PeriodActive, now, addMonths(now, 1))
		}
	}
	s.Status = to
}

func (c *Control) period(s *Sim, typ PeriodType, start, end time.Time) *BillingPeriod {
	return newPeriod(s.Sid, s.AccountSid, typ, start, end)
}

// newPeriod makes a billing period: its SID is derived from the Sim's and
// the start, so that a Sim keeps no more than the start and type.
func newPeriod(simSid, acct string, typ PeriodType, start, end time.Time) *BillingPeriod {
	h := sha256.Sum256([]byte(simSid + "/" + start.Format(time.RFC3339Nano)))
	return &BillingPeriod{
		Sid: "HB" + hex.EncodeToString(h[:16]), AccountSid: acct, SimSid: simSid,
		Start: start, End: end, Type: typ, DateCreated: start, DateUpdated: start,
	}
}

// view returns s as it is at now: a ready SIM whose ready period ran out is
// active, an active SIM's billing period rolls monthly, and the data limit
// counter restarts with each period. The stored s is not modified.
func (c *Control) view(s *Sim, now time.Time) *Sim {
	if s.Period == nil {
		return s
	}
	v := s
	own := func() {
		if v == s {
			v = clone(s)
		}
	}
	if v.Status == StatusReady && !now.Before(v.Period.End) {
		own()
		at := v.Period.End
		v.Status = StatusActive
		v.Period = c.period(v, PeriodActive, at, addMonths(at, 1))
		v.DateUpdated = at
	}
	for v.Status == StatusActive && !now.Before(v.Period.End) {
		own()
		at := v.Period.End
		v.Period = c.period(v, PeriodActive, at, addMonths(at, 1))
	}
	if !v.UsageStart.Equal(v.Period.Start) {
		own()
		v.DataUsed, v.UsageStart = 0, v.Period.Start
	}
	return v
}

func clone(s *Sim) *Sim {
	cp := *s
	return &cp
}

// addMonths adds n calendar months, clamping to the end of a shorter month.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	if t.Location() == time.UTC {
		// Without daylight saving, the steps below are one time.Date.
		hh, mm, ss := t.Clock()
		return time.Date(y, m+time.Month(n), min(d, daysIn(y, m+time.Month(n))), hh, mm, ss, t.Nanosecond(), time.UTC)
	}
	return addMonthsIn(t, n)
}

// addMonthsIn is addMonths in any location.
func addMonthsIn(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// daysIn is the number of days of month m of year y (m may be out of
// 1..12: time.Date's normalisation).
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func checkUniqueName(name string) error {
	if len(name) > 64 {
		return invalidParam("UniqueName must be at most 64 characters")
	}
	// The store keeps names as JSON, which turns invalid UTF-8 into U+FFFD:
	// such a name would change, and could collide with another, on reload.
	if !utf8.ValidString(name) {
		return invalidParam("UniqueName must be valid UTF-8")
	}
	if sidLikeRE.MatchString(name) {
		return invalidParam("UniqueName must not look like a SID")
	}
	return nil
}

func callbackMethod(param, m string) (string, error) {
	switch strings.ToUpper(m) {
	case "", "POST":
		return http.MethodPost, nil
	case "GET":
		return http.MethodGet, nil
	}
	return "", invalidParam("%s must be GET or POST", param)
}

func checkURL(param, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidParam("%s must be an absolute http or https URL", param)
	}
	return nil
}
