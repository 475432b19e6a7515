package sim

import (
	"context"
	"encoding/base64"
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
