package sim

import (
	"context"
	"encoding/base64"
	"net/url"
	"time"
	"unicode/utf8"
)

// Command payload limits.
const (
	MaxSmsPayload = 160  // characters
	MaxIPPayload  = 1300 // bytes
)

// CreateSmsCommand queues a mobile-terminated SMS Command for a Sim.
func (c *Control) CreateSmsCommand(ctx context.Context, acct *Account, simRef, payload, callbackURL, method string) (*SmsCommand, error) {
	switch {
	case simRef == "":
		return nil, invalidParam("Missing required parameter Sim")
	case payload == "":
		return nil, invalidParam("Missing required parameter Payload")
	case utf8.RuneCountInString(payload) > MaxSmsPayload:
		return nil, invalidParam("Payload must be at most %d characters", MaxSmsPayload)
	}
	method, err := callbackMethod("CallbackMethod", method)
	if err != nil {
		return nil, err
	}
	if err := checkURL("CallbackUrl", callbackURL); err != nil {
		return nil, err
	}
	var m *SmsCommand
	err = c.write(ctx, func(t *txn) error {
		s, err := c.findSim(acct, simRef)
		if err != nil || s.AccountSid != acct.Sid {
			return invalidParam("Sim %s was not found", simRef)
		}
		now := c.Now()
		m = &SmsCommand{
			Sid: c.newSid("HC"), AccountSid: acct.Sid, SimSid: s.Sid, Payload: payload,
			Status: CommandQueued, Direction: DirectionToSim,
			CallbackURL: callbackURL, CallbackMethod: method,
			DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		t.put("sms", m.Sid, m, func() { c.sms.set(m.Sid, m, m.Seq) })
		return nil
	})
	return m, err
}

// SmsCommand returns one SMS Command.
func (c *Control) SmsCommand(acct *Account, sid string) (*SmsCommand, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := c.sms.get(sid)
	if m == nil || m.AccountSid != acct.Sid {
		return nil, notFound("The requested resource /SmsCommands/%s was not found", sid)
	}
	return m, nil
}

// ListSmsCommands lists the account's SMS Commands.
func (c *Control) ListSmsCommands(acct *Account, simRef, status, direction string) ([]*SmsCommand, error) {
	if err := oneOf("Status", status, CommandQueued, CommandSent, CommandDelivered, CommandReceived, CommandFailed); err != nil {
		return nil, err
	}
	if err := oneOf("Direction", direction, DirectionToSim, DirectionFromSim); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	simSid, ok := c.simFilter(acct, simRef)
	if !ok {
		return nil, nil
	}
	return c.sms.filter(func(m *SmsCommand) bool {
		return m.AccountSid == acct.Sid && (simSid == "" || m.SimSid == simSid) &&
			(status == "" || m.Status == status) && (direction == "" || m.Direction == direction)
	}), nil
}

// simFilter resolves an optional Sim list filter. Callers hold c.mu.
func (c *Control) simFilter(acct *Account, ref string) (string, bool) {
	if ref == "" {
		return "", true
	}
	s, err := c.findSim(acct, ref)
	if err != nil {
		return "", false
	}
	return s.Sid, true
}

func oneOf(param, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return invalidParam("%s %q is not one of %v", param, v, allowed)
}

// IPCommandParams are the parameters of an IP Command create.
type IPCommandParams struct {
	Sim            string
	Payload        string
	DevicePort     int
	PayloadType    string
	CallbackURL    string
	CallbackMethod string
}

// CreateIPCommand queues a mobile-terminated IP Command for a Sim.
func (c *Control) CreateIPCommand(ctx context.Context, acct *Account, p IPCommandParams) (*IPCommand, error) {
	if p.PayloadType == "" {
		p.PayloadType = "text"
	}
	switch {
	case p.Sim == "":
		return nil, invalidParam("Missing required parameter Sim")
	case p.Payload == "":
		return nil, invalidParam("Missing required parameter Payload")
	case p.DevicePort < 1 || p.DevicePort > 65535:
		return nil, invalidParam("DevicePort must be between 1 and 65535")
	}
	if err := oneOf("PayloadType", p.PayloadType, "text", "binary"); err != nil {
		return nil, err
	}
	size := len(p.Payload)
	if p.PayloadType == "binary" {
		b, err := base64.StdEncoding.DecodeString(p.Payload)
		if err != nil {
			return nil, invalidParam("Payload must be base64 for PayloadType binary")
		}
		size = len(b)
	}
	if size > MaxIPPayload {
		return nil, invalidParam("Payload must be at most %d bytes", MaxIPPayload)
	}
	method, err := callbackMethod("CallbackMethod", p.CallbackMethod)
	if err != nil {
		return nil, err
	}
	if err := checkURL("CallbackUrl", p.CallbackURL); err != nil {
		return nil, err
	}
	var m *IPCommand
	err = c.write(ctx, func(t *txn) error {
		s, err := c.findSim(acct, p.Sim)
		if err != nil || s.AccountSid != acct.Sid {
			return invalidParam("Sim %s was not found", p.Sim)
		}
		now := c.Now()
		m = &IPCommand{
			Sid: c.newSid("HG"), AccountSid: acct.Sid, SimSid: s.Sid, SimICCID: s.ICCID,
			Status: CommandQueued, Direction: DirectionToSim, DevicePort: p.DevicePort,
			PayloadType: p.PayloadType, Payload: p.Payload,
			CallbackURL: p.CallbackURL, CallbackMethod: method,
			DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		t.put("ip", m.Sid, m, func() { c.ips.set(m.Sid, m, m.Seq) })
		return nil
	})
	return m, err
}

// IPCommand returns one IP Command.
func (c *Control) IPCommand(acct *Account, sid string) (*IPCommand, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := c.ips.get(sid)
	if m == nil || m.AccountSid != acct.Sid {
		return nil, notFound("The requested resource /IpCommands/%s was not found", sid)
	}
	return m, nil
}

// ListIPCommands lists the account's IP Commands.
func (c *Control) ListIPCommands(acct *Account, simRef, iccid, status, direction string) ([]*IPCommand, error) {
	if err := oneOf("Status", status, CommandQueued, CommandSent, CommandReceived, CommandFailed); err != nil {
		return nil, err
	}
	if err := oneOf("Direction", direction, DirectionToSim, DirectionFromSim); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	simSid, ok := c.simFilter(acct, simRef)
	if !ok {
		return nil, nil
	}
	return c.ips.filter(func(m *IPCommand) bool {
		return m.AccountSid == acct.Sid && (simSid == "" || m.SimSid == simSid) && (iccid == "" || m.SimICCID == iccid) &&
			(status == "" || m.Status == status) && (direction == "" || m.Direction == direction)
	}), nil
}

// eSIM profile statuses.
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

// SimIPAddresses lists the IP addresses of a Sim configured for VPN; the
// simulator has no VPN, so the list is empty for every Sim.
func (c *Control) SimIPAddresses(acct *Account, simRef string) ([]string, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if _, err := c.findSim(acct, simRef); err != nil {
		return nil, err
	}
	return nil, nil
}
