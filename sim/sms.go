package sim

import (
	"context"
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
