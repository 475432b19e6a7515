package sim

import (
	"context"
	"net/url"
	"time"
)

const (
	ESimReserving = "reserving"
	ESimAvailable = "available"
	// SmdpPlusAddress is the simulated SM-DP+ server.
	SmdpPlusAddress = "https://smdp.fleetsim.invalid"
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
		t.put("esim", p.Sid, &p, func() {
			c.esims.set(p.Sid, &p, p.Seq)
			c.byICCIDESim(card)
		})
		acct := c.accounts.get(p.AccountSid)
		if p.CallbackURL != "" {
			t.after = append(t.after, func() {
				c.hooks.send(acct.AuthToken, p.CallbackURL, p.CallbackMethod, url.Values{
					"AccountSid": {p.AccountSid}, "EsimProfileSid": {p.Sid}, "Status": {p.Status},
					"Iccid": {p.ICCID}, "SimSid": {p.SimSid}, "Eid": {p.EID},
				})
			})
		}
		return nil
	})
	if err != nil {
		c.cfg.logger.Error("completing eSIM reservation", "profile", sid, "err", err)
	}
}

// byICCIDESim makes an eSIM profile's card known to the network. Callers hold c.mu.
func (c *Control) byICCIDESim(card Card) {
	if _, ok := c.byICCID[card.ICCID]; !ok {
		cp := card
		c.byICCID[card.ICCID] = &cp
	}
}

// ESimProfile returns one eSIM profile.
func (c *Control) ESimProfile(acct *Account, sid string) (*ESimProfile, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p := c.esims.get(sid)
	if p == nil || p.AccountSid != acct.Sid {
		return nil, notFound("The requested resource /ESimProfiles/%s was not found", sid)
	}
	return p, nil
}

// ListESimProfiles lists the account's eSIM profiles.
func (c *Control) ListESimProfiles(acct *Account, eid, simSid, status string) ([]*ESimProfile, error) {
	if err := oneOf("Status", status, "new", ESimReserving, ESimAvailable, "downloaded", "installed", "failed"); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.esims.filter(func(p *ESimProfile) bool {
		return p.AccountSid == acct.Sid && (eid == "" || p.EID == eid) && (simSid == "" || p.SimSid == simSid) && (status == "" || p.Status == status)
	}), nil
}

// ListSettingsUpdates lists the settings updates of the account's SIMs; the
// history follows a SIM to its new account.
func (c *Control) ListSettingsUpdates(acct *Account, simRef, status string) ([]*SettingsUpdate, error) {
	if err := oneOf("Status", status, "scheduled", "in-progress", "successful", "failed"); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	simSid, ok := c.simFilter(acct, simRef)
	if !ok {
		return nil, nil
	}
	return c.settings.filter(func(u *SettingsUpdate) bool {
		s := c.sims.get(u.SimSid)
		return s != nil && s.AccountSid == acct.Sid && (simSid == "" || u.SimSid == simSid) && (status == "" || u.Status == status)
	}), nil
}
