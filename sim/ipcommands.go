package sim

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

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
		t.put("ip", m.Sid, m, func() { c.ips.set(m.Sid, m, m.Seq); c.stats.ip.add(m.Direction, m.Status) })
		sid, iccid := m.Sid, m.SimICCID
		t.event(Event{Kind: EventIPCommand, Sid: sid, ICCID: iccid})
		t.after = append(t.after, func() { c.sendIPCommand(sid) })
		return nil
	})
	return m, err
}

// IPSendWindow is how long a queued MT IP Command that no modem took
// stays queued before it fails: the SIM is not attached (Twilio sends
// asynchronously and reports 83401).
const IPSendWindow = time.Second

// sendIPCommand runs once a queued MT IP Command was offered to the SIM's
// modem (EventIPCommand), which reports it with IPCommandDone at once. If
// no modem took it, it fails after IPSendWindow.
func (c *Control) sendIPCommand(sid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.ips.get(sid); c.closed || m == nil || m.Status != CommandQueued {
		return
	}
	c.timers[sid] = c.cfg.clock.AfterFunc(IPSendWindow, func() {
		c.mu.Lock()
		delete(c.timers, sid)
		c.mu.Unlock()
		c.cfg.logger.Info("IP Command failed", "sid", sid, "code", CodeIPNotAttached)
		_ = c.IPCommandDone(context.Background(), sid, "", false)
	})
}

// CodeIPNotAttached is Twilio's error for an IP Command to a SIM without a
// data session: nothing was sent.
const CodeIPNotAttached = 83401

// IPCommandPayload returns the device port and the datagram of a queued
// mobile-terminated IP Command: a text payload as its UTF-8 bytes, a
// binary one decoded from base64.
func (c *Control) IPCommandPayload(sid string) (int, []byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := c.ips.get(sid)
	if m == nil || m.Direction != DirectionToSim || m.Status != CommandQueued {
		return 0, nil, notFound("no queued IP Command %s", sid)
	}
	if m.PayloadType == "binary" {
		b, err := base64.StdEncoding.DecodeString(m.Payload)
		return m.DevicePort, b, err
	}
	return m.DevicePort, []byte(m.Payload), nil
}

// IPCommandDone records a queued MT IP Command as sent to the device at
// deviceIP, or as failed, and calls its callback. Twilio has no delivered
// status for IP Commands: UDP gives no receipt.
func (c *Control) IPCommandDone(ctx context.Context, sid, deviceIP string, sent bool) error {
	return c.write(ctx, func(t *txn) error {
		m := c.ips.get(sid)
		if m == nil || m.Direction != DirectionToSim {
			return notFound("no IP Command %s for a SIM", sid)
		}
		if m.Status != CommandQueued {
			return nil
		}
		cp := *m
		cp.Status, cp.DateUpdated = CommandFailed, c.Now()
		if sent {
			cp.Status, cp.DeviceIP = CommandSent, deviceIP
		}
		t.put("ip", cp.Sid, &cp, func() { c.ips.set(cp.Sid, &cp, cp.Seq); c.stats.ip.add(cp.Direction, cp.Status) })
		if cp.CallbackURL != "" {
			c.ipHook(t, &cp, cp.CallbackURL, cp.CallbackMethod)
		}
		return nil
	})
}

// ReceiveIPCommand records a datagram the device at deviceIP sent from
// devicePort to the IP Commands gateway as a received from_sim IP Command,
// its payload base64, and calls the Fleet's ip_commands_url. Only the
// first MaxIPPayload bytes are kept, as a longer datagram arrives
// fragmented upstream.
func (c *Control) ReceiveIPCommand(ctx context.Context, iccid, deviceIP string, devicePort int, payload []byte) (*IPCommand, error) {
	if len(payload) > MaxIPPayload {
		payload = payload[:MaxIPPayload]
	}
	var m *IPCommand
	err := c.write(ctx, func(t *txn) error {
		s := c.simForCard(iccid)
		if s == nil {
			return notFound("no Sim is registered for ICCID %s", iccid)
		}
		now := c.Now()
		m = &IPCommand{
			Sid: c.newSid("HG"), AccountSid: s.AccountSid, SimSid: s.Sid, SimICCID: s.ICCID,
			Status: CommandReceived, Direction: DirectionFromSim, DeviceIP: deviceIP, DevicePort: devicePort,
			PayloadType: "binary", Payload: base64.StdEncoding.EncodeToString(payload),
			DateCreated: now, DateUpdated: now, Seq: c.nextSeq(),
		}
		t.put("ip", m.Sid, m, func() { c.ips.set(m.Sid, m, m.Seq); c.stats.ip.add(m.Direction, m.Status) })
		if f := c.fleets.get(s.FleetSid); f != nil && f.IPCommandsURL != "" {
			c.ipHook(t, m, f.IPCommandsURL, f.IPCommandsMethod)
		}
		return nil
	})
	return m, err
}

// ipHook calls target after the change commits with the parameters of an
// IP Command webhook. Callers hold c.mu inside a write.
//
// Twilio does not publish the parameter list (twilio-behaviour.md §2): a
// captured MO webhook held Payload (base64) and SimUniqueName. The
// simulator sends the resource's fields in Twilio's naming, the SID as
// IpCommandSid, for MO webhooks and MT callbacks alike.
func (c *Control) ipHook(t *txn, m *IPCommand, target, method string) {
	acct := c.accounts.get(m.AccountSid)
	if acct == nil {
		return
	}
	var name string
	if s := c.getSim(m.SimSid); s != nil {
		name = s.UniqueName
	}
	params := url.Values{
		"AccountSid": {m.AccountSid}, "ApiVersion": {"v1"}, "IpCommandSid": {m.Sid},
		"SimSid": {m.SimSid}, "SimIccid": {m.SimICCID}, "SimUniqueName": {name},
		"Status": {m.Status}, "Direction": {m.Direction},
		"DeviceIp": {m.DeviceIP}, "DevicePort": {strconv.Itoa(m.DevicePort)},
		"PayloadType": {m.PayloadType}, "Payload": {m.Payload},
	}
	if method == "" {
		method = "POST"
	}
	token, kind := acct.AuthToken, WebhookIPCommandStatus
	if m.Direction == DirectionFromSim {
		kind = WebhookFleetIPCommand
	}
	t.after = append(t.after, func() { c.hooks.sendEvent(kind, token, target, method, params) })
}

// IPCommand returns one IP Command.
func (c *Control) IPCommand(acct *Account, sid string) (*IPCommand, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return owned(&c.ips, acct, sid, func(m *IPCommand) string { return m.AccountSid }, "IpCommands")
}

// ListIPCommands lists the account's IP Commands.
func (c *Control) ListIPCommands(acct *Account, simRef, iccid, status, direction string) ([]*IPCommand, error) {
	l, err := c.IPCommandPages(acct, simRef, iccid, status, direction)
	if err != nil {
		return nil, err
	}
	return All(l), nil
}

// IPCommandPages is ListIPCommands a page at a time.
func (c *Control) IPCommandPages(acct *Account, simRef, iccid, status, direction string) (List[*IPCommand], error) {
	if err := commandQuery(status, direction, CommandQueued, CommandSent, CommandReceived, CommandFailed); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	match, ok := c.commandMatch(acct, simRef, status, direction)
	if !ok {
		return emptyList[*IPCommand](), nil
	}
	return tableList[IPCommand]{c, &c.ips, func(m *IPCommand, _ time.Time) (*IPCommand, bool) {
		return m, match(m.AccountSid, m.SimSid, m.Status, m.Direction) && (iccid == "" || m.SimICCID == iccid)
	}}, nil
}

// SimIPAddresses lists the address of the Sim's data session while it
// has one (the simulator has no VPN, so that is all there is).
func (c *Control) SimIPAddresses(acct *Account, simRef string) ([]string, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, err := c.findSim(acct, simRef)
	if err != nil {
		return nil, err
	}
	if card, ok := c.cardByICCID(s.ICCID); ok && c.sessions.has(card.Index) {
		return []string{sessionAddr(card.Index).String()}, nil
	}
	return nil, nil
}

// sessionBase is where data session addresses start: the SIM of card i
// gets sessionBase+1+i, in the carrier-grade NAT range 100.64.0.0/10 and
// clear of the gateways in 100.64.0.0/16.
var sessionBase = binary.BigEndian.Uint32(net.IPv4(100, 65, 0, 0).To4())

// sessionAddr is the data session address of the SIM of card i.
func sessionAddr(i int) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], sessionBase+1+uint32(i))
	return netip.AddrFrom4(a)
}

// AssignAddress starts the data session of the SIM with this ICCID and
// returns its PDP address: one per card, the same every session, so a
// run replays identically.
func (c *Control) AssignAddress(iccid string) (netip.Addr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	card, ok := c.cardByICCID(iccid)
	if !ok || c.simForCard(iccid) == nil {
		return netip.Addr{}, notFound("no Sim is registered for ICCID %s", iccid)
	}
	c.sessions.set(card.Index, true)
	return sessionAddr(card.Index), nil
}

// ReleaseAddress ends the SIM's data session.
func (c *Control) ReleaseAddress(iccid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if card, ok := c.cardByICCID(iccid); ok {
		c.sessions.set(card.Index, false)
	}
}

// sessionSet is a set of cards by index, a bit each: the physical cards',
// then the eSIM profiles' (from esimCardBase).
type sessionSet [2][]uint64

// bit is where card i's bit is: its set, word and mask.
func (s *sessionSet) bit(i int) (int, int, uint64) {
	k := 0
	if i >= esimCardBase {
		k, i = 1, i-esimCardBase
	}
	return k, i / 64, 1 << (i % 64)
}

func (s *sessionSet) has(i int) bool {
	k, w, b := s.bit(i)
	return w < len(s[k]) && s[k][w]&b != 0
}

func (s *sessionSet) set(i int, on bool) {
	k, w, b := s.bit(i)
	switch {
	case on && w >= len(s[k]):
		s[k] = append(s[k], make([]uint64, w+1-len(s[k]))...)
		fallthrough
	case on:
		s[k][w] |= b
	case w < len(s[k]):
		s[k][w] &^= b
	}
}
