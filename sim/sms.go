package sim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Command payload limits.
const (
	MaxSmsPayload = 160  // characters
	MaxIPPayload  = 1300 // bytes
)

// SMS Command delivery. Twilio keeps trying to deliver a mobile-terminated
// command for up to 24 hours, for devices that are not online yet; the
// simulated network tries at once and then every SmsRetryInterval until
// the SIM's modem takes the SMS or SmsValidity has passed.
const (
	SmsValidity      = 24 * time.Hour
	SmsRetryInterval = time.Minute
)

// SmsCommandsNumber is the number a device sends SMS Commands to, and the
// originating address of the SMS Commands it receives.
const SmsCommandsNumber = "000"

// The simulator's own codes for SMS Commands a device cannot send: Twilio
// publishes none for them.
const (
	CodeSmsCommandsDisabled = 83730 // the SIM's Fleet has sms_commands_enabled=false, or no Fleet
	CodeSmsDestination      = 83731 // an MO SMS to another number than 000
)

// Sentinels for mobile-originated SMS the network refuses.
var (
	ErrSmsCommandsDisabled = &Error{Code: CodeSmsCommandsDisabled, Status: http.StatusForbidden, Message: "SMS Commands are disabled for the SIM's Fleet"}
	ErrSmsDestination      = &Error{Code: CodeSmsDestination, Status: http.StatusForbidden, Message: "a Super SIM can send SMS to the SMS Commands number 000 only"}
)

// CreateSmsCommand queues a mobile-terminated SMS Command for a Sim. The
// first delivery attempt follows at once; see SmsValidity.
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
		t.put("sms", m.Sid, m, func() { c.sms.set(m.Sid, m, m.Seq); c.stats.sms.add(m.Direction, m.Status) })
		sid := m.Sid
		t.after = append(t.after, func() { c.attemptSms(sid) })
		return nil
	})
	return m, err
}

// attemptSms is one delivery attempt of a mobile-terminated SMS Command: it
// fails the command when it can never be delivered (no Fleet, a Fleet
// without SMS Commands, or SmsValidity passed), and otherwise tells the
// SIM's modem (EventSmsCommand) and arms the next attempt. The modem, if
// it is registered, takes the SMS (SmsCommandForDevice) and reports it
// stored (SmsDelivered), which ends the attempts.
func (c *Control) attemptSms(sid string) {
	err := c.write(context.Background(), func(t *txn) error {
		delete(c.timers, sid)
		m := c.sms.get(sid)
		if m == nil || m.Direction != DirectionToSim || (m.Status != CommandQueued && m.Status != CommandSent) {
			return nil
		}
		s := c.getSim(m.SimSid)
		if s == nil {
			return nil
		}
		now := c.Now()
		expires := m.DateCreated.Add(SmsValidity)
		f := c.fleets.get(s.FleetSid)
		if f == nil || !f.SmsCommandsEnabled || !now.Before(expires) {
			c.putSmsStatus(t, m, CommandFailed, now)
			return nil
		}
		c.armSmsTimer(sid, min(SmsRetryInterval, expires.Sub(now)))
		iccid := s.ICCID
		t.event(Event{Kind: EventSmsCommand, Sid: sid, ICCID: iccid})
		return nil
	})
	if err != nil {
		c.cfg.logger.Error("SMS Command delivery attempt", "sms", sid, "err", err)
	}
}

// armSmsTimer schedules the next delivery attempt. Callers hold c.mu.
func (c *Control) armSmsTimer(sid string, d time.Duration) {
	if c.closed {
		return
	}
	if t, ok := c.timers[sid]; ok {
		t.Stop()
	}
	c.timers[sid] = c.cfg.clock.AfterFunc(max(0, d), func() { c.attemptSms(sid) })
}

// stopSmsTimer ends the delivery attempts. Callers hold c.mu.
func (c *Control) stopSmsTimer(sid string) {
	if t, ok := c.timers[sid]; ok {
		t.Stop()
		delete(c.timers, sid)
	}
}

// resumeSmsCommands re-arms the delivery attempts of the mobile-terminated
// commands still queued or sent, as after loading the state from a store.
// Callers hold c.mu.
func (c *Control) resumeSmsCommands() {
	for _, m := range c.sms.all() {
		if m.Direction == DirectionToSim && (m.Status == CommandQueued || m.Status == CommandSent) {
			c.armSmsTimer(m.Sid, 0)
		}
	}
}

// putSmsStatus stores a copy of m with a new status and calls its
// callback. Callers hold c.mu inside a write.
func (c *Control) putSmsStatus(t *txn, m *SmsCommand, status string, now time.Time) *SmsCommand {
	cp := *m
	cp.Status, cp.DateUpdated = status, now
	t.put("sms", cp.Sid, &cp, func() { c.sms.set(cp.Sid, &cp, cp.Seq); c.stats.sms.add(cp.Direction, cp.Status) })
	if status == CommandDelivered || status == CommandFailed {
		c.stopSmsTimer(cp.Sid)
	}
	if cp.CallbackURL != "" {
		c.smsHook(t, &cp, cp.CallbackURL, cp.CallbackMethod)
	}
	return &cp
}

// smsHook calls target after the change commits with the parameters of an
// SMS Command webhook. Callers hold c.mu inside a write.
//
// The parameters are the ten of a captured MO webhook (see
// twilio-behaviour.md §1): the SID goes as CommandSid and the body twice,
// as Command and Payload, as the old Commands API sent them. Twilio does
// not document the MT callback's; the simulator sends the same set.
func (c *Control) smsHook(t *txn, m *SmsCommand, target, method string) {
	acct := c.accounts.get(m.AccountSid)
	if acct == nil {
		return
	}
	var name string
	if s := c.getSim(m.SimSid); s != nil {
		name = s.UniqueName
	}
	params := url.Values{
		"AccountSid": {m.AccountSid}, "ApiVersion": {"v1"},
		"CommandSid": {m.Sid}, "Command": {m.Payload}, "Payload": {m.Payload}, "PayloadType": {"text"},
		"SimSid": {m.SimSid}, "SimUniqueName": {name},
		"Status": {m.Status}, "Direction": {m.Direction},
	}
	token, kind := acct.AuthToken, WebhookSmsCommandStatus
	if m.Direction == DirectionFromSim {
		kind = WebhookFleetSmsCommand
	}
	t.after = append(t.after, func() { c.hooks.sendEvent(kind, token, target, method, params) })
}

// SmsCommandForDevice hands a mobile-terminated SMS Command to the modem of
// the SIM with this ICCID, as the network sends it: a queued command
// becomes sent. The modem reports it stored with SmsDelivered.
func (c *Control) SmsCommandForDevice(ctx context.Context, iccid, sid string) (*SmsCommand, error) {
	var out *SmsCommand
	err := c.write(ctx, func(t *txn) error {
		m := c.sms.get(sid)
		if m == nil || m.Direction != DirectionToSim {
			return notFound("no SMS Command %s for a SIM", sid)
		}
		if s := c.getSim(m.SimSid); s == nil || s.ICCID != iccid {
			return notFound("SMS Command %s is not for ICCID %s", sid, iccid)
		}
		switch m.Status {
		case CommandQueued:
			out = c.putSmsStatus(t, m, CommandSent, c.Now())
		case CommandSent:
			out = m // a repeated attempt: the device did not confirm the last one
		default:
			return errorf(CodeConflict, http.StatusConflict, "SMS Command %s is %s", sid, m.Status)
		}
		return nil
	})
	return out, err
}

// SmsDelivered records that the SIM's modem stored the SMS of a command
// it took with SmsCommandForDevice: the command becomes delivered.
func (c *Control) SmsDelivered(ctx context.Context, iccid, sid string) error {
	return c.write(ctx, func(t *txn) error {
		m := c.sms.get(sid)
		if m == nil || m.Direction != DirectionToSim {
			return notFound("no SMS Command %s for a SIM", sid)
		}
		if s := c.getSim(m.SimSid); s == nil || s.ICCID != iccid {
			return notFound("SMS Command %s is not for ICCID %s", sid, iccid)
		}
		if m.Status != CommandSent {
			return errorf(CodeConflict, http.StatusConflict, "SMS Command %s is %s, not sent", sid, m.Status)
		}
		c.putSmsStatus(t, m, CommandDelivered, c.Now())
		return nil
	})
}

// SendMobileOriginated is an SMS the SIM with this ICCID sends to the
// number to: the SMS Commands number 000 only (ErrSmsDestination for any
// other), with SMS Commands enabled on its Fleet (ErrSmsCommandsDisabled).
// It creates a from_sim SmsCommand with status received and calls the
// Fleet's sms_commands_url, if it has one, with sms_commands_method.
func (c *Control) SendMobileOriginated(ctx context.Context, iccid, to, payload string) (*SmsCommand, error) {
	if strings.TrimPrefix(to, "+") != SmsCommandsNumber {
		return nil, ErrSmsDestination
	}
	if payload == "" || utf8.RuneCountInString(payload) > MaxSmsPayload {
		return nil, invalidParam("an SMS Command carries 1 to %d characters", MaxSmsPayload)
	}
	var m *SmsCommand
	err := c.write(ctx, func(t *txn) error {
		s, err := c.inService(iccid)
		if err != nil {
			return err
		}
		f := c.fleets.get(s.FleetSid)
		if f == nil || !f.SmsCommandsEnabled {
			return ErrSmsCommandsDisabled
		}
		now := c.Now()
		m = &SmsCommand{
			Sid: c.newSid("HC"), AccountSid: s.AccountSid, SimSid: s.Sid, Payload: payload,
			Status: CommandReceived, Direction: DirectionFromSim,
			DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		t.put("sms", m.Sid, m, func() { c.sms.set(m.Sid, m, m.Seq); c.stats.sms.add(m.Direction, m.Status) })
		if f.SmsCommandsURL != "" {
			method, _ := callbackMethod("SmsCommandsMethod", f.SmsCommandsMethod)
			c.smsHook(t, m, f.SmsCommandsURL, method)
		}
		return nil
	})
	return m, err
}

// SmsCommand returns one SMS Command.
func (c *Control) SmsCommand(acct *Account, sid string) (*SmsCommand, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return owned(&c.sms, acct, sid, func(m *SmsCommand) string { return m.AccountSid }, "SmsCommands")
}

// ListSmsCommands lists the account's SMS Commands.
func (c *Control) ListSmsCommands(acct *Account, simRef, status, direction string) ([]*SmsCommand, error) {
	l, err := c.SmsCommandPages(acct, simRef, status, direction)
	if err != nil {
		return nil, err
	}
	return All(l), nil
}

// SmsCommandPages is ListSmsCommands a page at a time.
func (c *Control) SmsCommandPages(acct *Account, simRef, status, direction string) (List[*SmsCommand], error) {
	if err := commandQuery(status, direction, CommandQueued, CommandSent, CommandDelivered, CommandReceived, CommandFailed); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	match, ok := c.commandMatch(acct, simRef, status, direction)
	if !ok {
		return emptyList[*SmsCommand](), nil
	}
	return tableList[SmsCommand]{c, &c.sms, func(m *SmsCommand, _ time.Time) (*SmsCommand, bool) {
		return m, match(m.AccountSid, m.SimSid, m.Status, m.Direction)
	}}, nil
}
