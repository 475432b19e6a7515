package sim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The statuses of an ESimProfile. A profile is created reserving (the
// reservation starts at once, as the OpenAPI createWithCallback example
// shows), becomes available when the SM-DP+ holds it, downloaded when an
// eUICC has fetched it and installed when the eUICC has installed and
// enabled it; failed ends a reservation or download that went wrong.
// ESimNew exists in the enum but is never observed in the simulator.
const (
	ESimNew        = "new"
	ESimReserving  = "reserving"
	ESimAvailable  = "available"
	ESimDownloaded = "downloaded"
	ESimInstalled  = "installed"
	ESimFailed     = "failed"
	// SmdpPlusAddress is the simulated SM-DP+ server.
	SmdpPlusAddress = "https://smdp.fleetsim.invalid"
)

// Simulator's own codes for what an eUICC meets at the SM-DP+.
const (
	CodeESimUnavailable = 83708 // no profile in a state the request needs
	CodeESimWrongEID    = 83709 // the profile is reserved for another eUICC
)

var (
	// ErrESimUnavailable: no eSIM profile is ready for the operation.
	ErrESimUnavailable = &Error{Code: CodeESimUnavailable, Status: http.StatusConflict, Message: "no eSIM profile is ready for this operation"}
	// ErrESimWrongEID: the profile is reserved for another eUICC.
	ErrESimWrongEID = &Error{Code: CodeESimWrongEID, Status: http.StatusForbidden, Message: "the eSIM profile is reserved for another eUICC"}
)

// esimCardBase is where eSIM profiles take their cards in the inventory
// stream, far above the physical cards.
const esimCardBase = 900_000

// CreateESimProfile reserves an eSIM profile. The reservation completes
// after the update delay: a new Sim is created and the profile is available.
func (c *Control) CreateESimProfile(ctx context.Context, acct *Account, eid string, matchingID bool, callbackURL, method string) (*ESimProfile, error) {
	if eid == "" && !matchingID {
		return nil, invalidParam("Either Eid or GenerateMatchingId=true is required")
	}
	method, err := callbackMethod("CallbackMethod", method)
	if err != nil {
		return nil, err
	}
	if err := checkURL("CallbackUrl", callbackURL); err != nil {
		return nil, err
	}
	var p *ESimProfile
	err = c.write(ctx, func(t *txn) error {
		now := c.Now()
		p = &ESimProfile{
			Sid: c.newSid("HP"), AccountSid: acct.Sid, Status: ESimReserving, EID: eid,
			CallbackURL: callbackURL, CallbackMethod: method,
			Due: now.Add(c.cfg.updateDelay), DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		if matchingID {
			p.MatchingID = c.newSid("")[:20]
		}
		t.put("esim", p.Sid, p, func() {
			c.esims.set(p.Sid, p, p.Seq)
			c.armESimTimer(p.Sid, p.Due)
		})
		return nil
	})
	return p, err
}

func (c *Control) armESimTimer(sid string, due time.Time) {
	if c.closed {
		return
	}
	c.timers[sid] = c.cfg.clock.AfterFunc(max(0, due.Sub(c.Now())), func() { c.completeESim(sid) })
}

// completeESim ends a reservation: the profile's card becomes known to the
// network, a new Sim (status new) is created for it and the profile is
// available.
func (c *Control) completeESim(sid string) {
	err := c.write(context.Background(), func(t *txn) error {
		delete(c.timers, sid)
		cur := c.esims.get(sid)
		if cur == nil || cur.Status != ESimReserving {
			return nil
		}
		now := c.Now()
		p := *cur
		card := generateCard(c.cfg.cardSeed, esimCardBase+int(p.Seq))
		s := &Sim{
			Sid: c.newSid("HS"), AccountSid: p.AccountSid, ICCID: card.ICCID, Status: StatusNew,
			DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		c.putSim(t, s)
		p.ICCID, p.SimSid, p.Status = card.ICCID, s.Sid, ESimAvailable
		p.SmdpPlusAddress = SmdpPlusAddress
		p.ActivationCode = "LPA:1$smdp.fleetsim.invalid$" + p.MatchingID
		p.DateUpdated = now
		c.putESim(t, &p)
		t.apply = append(t.apply, func() { c.byICCIDESim(card) })
		return nil
	})
	if err != nil {
		c.cfg.logger.Error("completing eSIM reservation", "profile", sid, "err", err)
	}
}

// putESim stores a profile and, after the commit, calls its callback with
// the new status: the profile's fields in UpperCamelCase.
func (c *Control) putESim(t *txn, p *ESimProfile) {
	t.put("esim", p.Sid, p, func() { c.esims.set(p.Sid, p, p.Seq) })
	if p.CallbackURL == "" {
		return
	}
	acct := c.accounts.get(p.AccountSid)
	params := url.Values{
		"AccountSid": {p.AccountSid}, "EsimProfileSid": {p.Sid}, "Status": {p.Status},
		"Iccid": {p.ICCID}, "SimSid": {p.SimSid}, "Eid": {p.EID},
	}
	if p.Status == ESimFailed {
		params.Set("ErrorCode", p.ErrorCode)
		params.Set("ErrorMessage", p.ErrorMessage)
	}
	t.after = append(t.after, func() {
		c.hooks.sendEvent(WebhookESimProfile, acct.AuthToken, p.CallbackURL, p.CallbackMethod, params)
	})
}

// byICCIDESim makes an eSIM profile's card known to the network. Callers hold c.mu.
func (c *Control) byICCIDESim(card Card) {
	if _, ok := c.cardByICCID(card.ICCID); !ok {
		if c.esimCards == nil {
			c.esimCards = make(map[string]Card)
		}
		c.esimCards[card.ICCID] = card
	}
}

// ESimCard returns the card of the eSIM profile with this ICCID once the
// profile is available, downloaded or installed: what a virtual eUICC
// holds after downloading the profile.
func (c *Control) ESimCard(iccid string) (Card, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.esimByICCID(iccid)
	card, ok := c.cardByICCID(iccid)
	if p == nil || !ok || (p.Status != ESimAvailable && p.Status != ESimDownloaded && p.Status != ESimInstalled) {
		return Card{}, false
	}
	return card, true
}

// esimByICCID returns the profile of an ICCID. Callers hold c.mu.
func (c *Control) esimByICCID(iccid string) *ESimProfile {
	if iccid == "" {
		return nil
	}
	ps := c.esims.filter(func(p *ESimProfile) bool { return p.ICCID == iccid })
	if len(ps) == 0 {
		return nil
	}
	return ps[0]
}

// DownloadESimProfile is an eUICC with this EID downloading a profile from
// the SM-DP+: the one named by matchingID (the activation code method) or,
// without one, the oldest available profile reserved for the EID (the
// default SM-DP+ method). The profile becomes downloaded, its callback is
// called, and the card it carries is returned. A profile reserved for
// another EID answers ErrESimWrongEID; none available, ErrESimUnavailable.
// A matching-ID profile downloaded by an eUICC is bound to its EID.
func (c *Control) DownloadESimProfile(ctx context.Context, eid, matchingID string) (*ESimProfile, Card, error) {
	if eid == "" {
		return nil, Card{}, invalidParam("the eUICC's EID is required")
	}
	var out *ESimProfile
	var card Card
	err := c.write(ctx, func(t *txn) error {
		var cur *ESimProfile
		for _, p := range c.esims.all() {
			if matchingID != "" && p.MatchingID == matchingID || matchingID == "" && p.EID == eid && p.Status == ESimAvailable {
				cur = p
				break
			}
		}
		if cur == nil || cur.Status != ESimAvailable {
			return ErrESimUnavailable
		}
		if cur.EID != "" && cur.EID != eid {
			return ErrESimWrongEID
		}
		p := *cur
		p.EID, p.Status, p.DateUpdated = eid, ESimDownloaded, c.Now()
		card, _ = c.cardByICCID(p.ICCID)
		c.putESim(t, &p)
		out = &p
		return nil
	})
	return out, card, err
}

// InstallESimProfile is the eUICC with this EID installing and enabling
// the downloaded profile with this ICCID: the profile becomes installed
// and its callback is called.
func (c *Control) InstallESimProfile(ctx context.Context, eid, iccid string) (*ESimProfile, error) {
	return c.esimStep(ctx, eid, iccid, ESimDownloaded, func(p *ESimProfile) { p.Status = ESimInstalled })
}

// FailESimProfile is the eUICC with this EID reporting that it could not
// download or install the profile with this ICCID (available or
// downloaded): the profile becomes failed with the error and its callback
// is called. The profile's Sim stays, but nothing can download it again.
func (c *Control) FailESimProfile(ctx context.Context, eid, iccid, code, message string) (*ESimProfile, error) {
	if code == "" {
		return nil, invalidParam("an error code is required")
	}
	return c.esimStep(ctx, eid, iccid, "", func(p *ESimProfile) {
		p.Status, p.ErrorCode, p.ErrorMessage = ESimFailed, code, message
	})
}

// esimStep moves the eUICC's profile on from status from ("" for available
// or downloaded).
func (c *Control) esimStep(ctx context.Context, eid, iccid, from string, step func(*ESimProfile)) (*ESimProfile, error) {
	var out *ESimProfile
	err := c.write(ctx, func(t *txn) error {
		cur := c.esimByICCID(iccid)
		if cur == nil {
			return ErrESimUnavailable
		}
		if cur.EID != "" && cur.EID != eid {
			return ErrESimWrongEID
		}
		if from != "" && cur.Status != from || from == "" && cur.Status != ESimAvailable && cur.Status != ESimDownloaded {
			return ErrESimUnavailable
		}
		p := *cur
		step(&p)
		p.EID, p.DateUpdated = eid, c.Now()
		c.putESim(t, &p)
		out = &p
		return nil
	})
	return out, err
}

// ESimProfile returns one eSIM profile.
func (c *Control) ESimProfile(acct *Account, sid string) (*ESimProfile, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return owned(&c.esims, acct, sid, func(p *ESimProfile) string { return p.AccountSid }, "ESimProfiles")
}

// ListESimProfiles lists the account's eSIM profiles.
func (c *Control) ListESimProfiles(acct *Account, eid, simSid, status string) ([]*ESimProfile, error) {
	l, err := c.ESimProfilePages(acct, eid, simSid, status)
	if err != nil {
		return nil, err
	}
	return All(l), nil
}

// ESimProfilePages is ListESimProfiles a page at a time.
func (c *Control) ESimProfilePages(acct *Account, eid, simSid, status string) (List[*ESimProfile], error) {
	if err := oneOf("Status", status, ESimNew, ESimReserving, ESimAvailable, ESimDownloaded, ESimInstalled, ESimFailed); err != nil {
		return nil, err
	}
	return tableList[ESimProfile]{c, &c.esims, func(p *ESimProfile, _ time.Time) (*ESimProfile, bool) {
		return p, p.AccountSid == acct.Sid && (eid == "" || p.EID == eid) && (simSid == "" || p.SimSid == simSid) && (status == "" || p.Status == status)
	}}, nil
}

// The statuses of a SettingsUpdate, and its over-the-air timing: an update
// starts (in-progress) when its SIM is accepted on a network, and succeeds
// once the SIM has stayed on the network for SettingsStageDuration. A SIM
// the core refuses meanwhile (it was made inactive) interrupts the attempt:
// the update is scheduled again for the next attach, or failed (no longer
// retried) after MaxSettingsAttempts attempts.
const (
	SettingsScheduled     = "scheduled"
	SettingsInProgress    = "in-progress"
	SettingsSuccessful    = "successful"
	SettingsFailed        = "failed"
	SettingsStageDuration = 30 * time.Second
	MaxSettingsAttempts   = 3
)

// otaSid is the SID of the Sim's n-th over-the-air settings update (from
// 1). The SIDs are derived, so the control plane finds a Sim's updates
// without an index: it probes n = 1, 2, … until one is missing.
func otaSid(simSid string, n int) string {
	h := sha256.Sum256([]byte(simSid + "/settings/" + strconv.Itoa(n)))
	return "OB" + hex.EncodeToString(h[:16])
}

// otaUpdates returns the Sim's over-the-air settings updates, oldest first.
// Callers hold c.mu.
func (c *Control) otaUpdates(simSid string) []*SettingsUpdate {
	var out []*SettingsUpdate
	for n := 1; ; n++ {
		u := c.settings.get(otaSid(simSid, n))
		if u == nil {
			return out
		}
		out = append(out, u)
	}
}

// hasSettings reports whether one of the Sim's updates has this status
// now. Callers hold c.mu.
func (c *Control) hasSettings(simSid, status string) bool {
	now := c.Now()
	for n := 1; ; n++ {
		u := c.settings.get(otaSid(simSid, n))
		if u == nil {
			return false
		}
		if settingsView(u, now).Status == status {
			return true
		}
	}
}

// settingsView returns u as it is at now: an attempt whose stage has run
// its time has succeeded. The stored u is not modified.
func settingsView(u *SettingsUpdate, now time.Time) *SettingsUpdate {
	if u.Status != SettingsInProgress || now.Before(u.Due) {
		return u
	}
	v := *u
	v.Status, v.DateCompleted, v.DateUpdated = SettingsSuccessful, u.Due, u.Due
	return &v
}

// ScheduleSettingsUpdate queues an over-the-air update of the Sim's
// settings packages, as Twilio does when it changes a SIM's configuration.
// It is scheduled until the SIM is next accepted on a network.
func (c *Control) ScheduleSettingsUpdate(ctx context.Context, acct *Account, simRef string, pkgs []SettingsPackage) (*SettingsUpdate, error) {
	if len(pkgs) == 0 {
		return nil, invalidParam("at least one settings package is required")
	}
	pkgs = append([]SettingsPackage(nil), pkgs...)
	for i, p := range pkgs {
		if p.Name == "" || p.Version == "" {
			return nil, invalidParam("settings package %d needs a name and a version", i+1)
		}
		if p.MoreInfo == "" {
			pkgs[i].MoreInfo = "https://twilio.com/docs/iot/supersim/settings-packages/" + url.PathEscape(p.Name)
		}
	}
	var u *SettingsUpdate
	err := c.write(ctx, func(t *txn) error {
		s, err := c.findSim(acct, simRef)
		if err != nil {
			return err
		}
		now := c.Now()
		u = &SettingsUpdate{
			Sid: otaSid(s.Sid, len(c.otaUpdates(s.Sid))+1), ICCID: s.ICCID, SimSid: s.Sid,
			Status: SettingsScheduled, Packages: pkgs,
			DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		t.put("settings", u.Sid, u, func() { c.settings.set(u.Sid, u, u.Seq) })
		return nil
	})
	return u, err
}

// advanceSettings moves the Sim's over-the-air updates on after the core
// accepted (attached) or refused the SIM.
func (c *Control) advanceSettings(simSid string, attached bool) {
	err := c.write(context.Background(), func(t *txn) error {
		now := c.Now()
		for _, cur := range c.otaUpdates(simSid) {
			u := *settingsView(cur, now)
			switch {
			case u.Status != cur.Status: // succeeded: make it durable
			case attached && u.Status == SettingsScheduled:
				u.Status, u.Due = SettingsInProgress, now.Add(SettingsStageDuration)
				u.Attempts++
			case !attached && u.Status == SettingsInProgress:
				u.Status = SettingsScheduled
				if u.Attempts >= MaxSettingsAttempts {
					u.Status = SettingsFailed
				}
			default:
				continue
			}
			if u.Status != SettingsSuccessful {
				u.DateUpdated = now
			}
			t.put("settings", u.Sid, &u, func() { c.settings.set(u.Sid, &u, u.Seq) })
		}
		return nil
	})
	if err != nil {
		c.cfg.logger.Error("advancing settings updates", "sim", simSid, "err", err)
	}
}

// ListSettingsUpdates lists the settings updates of the account's SIMs, in
// creation order; the history follows a SIM to its new account.
func (c *Control) ListSettingsUpdates(acct *Account, simRef, status string) ([]*SettingsUpdate, error) {
	l, err := c.SettingsUpdatePages(acct, simRef, status)
	if err != nil {
		return nil, err
	}
	return All(l), nil
}

// SettingsUpdatePages is ListSettingsUpdates a page at a time.
func (c *Control) SettingsUpdatePages(acct *Account, simRef, status string) (List[*SettingsUpdate], error) {
	if err := oneOf("Status", status, SettingsScheduled, SettingsInProgress, SettingsSuccessful, SettingsFailed); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	simSid, ok := c.simFilter(acct, simRef)
	if !ok {
		return emptyList[*SettingsUpdate](), nil
	}
	ota := tableList[SettingsUpdate]{c, &c.settings, func(u *SettingsUpdate, now time.Time) (*SettingsUpdate, bool) {
		s := c.getSim(u.SimSid)
		if s == nil || s.AccountSid != acct.Sid || (simSid != "" && u.SimSid != simSid) {
			return nil, false
		}
		v := settingsView(u, now)
		return v, status == "" || v.Status == status
	}}
	if status != "" && status != SettingsSuccessful {
		return ota, nil
	}
	var sim sid16
	if simSid != "" {
		sim, _ = parseSid16("HS", simSid)
	}
	base := simList[*SettingsUpdate]{c, 1, func(r *simRec) bool {
		return r.flags&recBase != 0 && c.ids[r.account] == acct.Sid && (simSid == "" || r.sid == sim)
	}, func(s *Sim, _ time.Time) (*SettingsUpdate, bool) {
		i, _ := c.sims.lookup(s.Sid)
		return baseUpdate(c.sims.at(i), s), true
	}}
	return mergeList[*SettingsUpdate]{base, ota}, nil
}
