package sim

import (
	"context"
	"net/http"
	"slices"
)

// CreateNAP creates a Network Access Profile allowing the given networks.
func (c *Control) CreateNAP(ctx context.Context, acct *Account, uniqueName *string, networks []string) (*NAP, error) {
	if uniqueName != nil {
		if err := checkUniqueName(*uniqueName); err != nil {
			return nil, err
		}
	}
	for _, sid := range networks {
		if _, ok := c.catalog.Network(sid); !ok {
			return nil, invalidParam("Network %s was not found", sid)
		}
	}
	var n *NAP
	err := c.write(ctx, func(t *txn) error {
		now := c.Now()
		n = &NAP{Sid: c.newSid("HA"), AccountSid: acct.Sid, DateCreated: now, DateUpdated: now, Seq: c.nextSeq()}
		if uniqueName != nil && *uniqueName != "" {
			if _, taken := c.names[nameKey("nap", acct.Sid, *uniqueName)]; taken {
				return errorf(CodeConflict, http.StatusConflict, "Another Network Access Profile on the account already uses the unique name %q", *uniqueName)
			}
			n.UniqueName = *uniqueName
		}
		for _, sid := range networks {
			if !n.Allows(sid) {
				n.Networks = append(n.Networks, NAPNetwork{NetworkSid: sid, Seq: c.nextSeq(), Added: now})
			}
		}
		c.putNAP(t, n)
		return nil
	})
	return n, err
}

// NAP returns the Network Access Profile addressed by SID or unique name.
func (c *Control) NAP(acct *Account, ref string) (*NAP, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.findNAP(acct, ref)
}

func (c *Control) findNAP(acct *Account, ref string) (*NAP, error) {
	n := c.naps.get(ref)
	if n == nil {
		if sid, ok := c.names[nameKey("nap", acct.Sid, ref)]; ok {
			n = c.naps.get(sid)
		}
	}
	if n == nil || n.AccountSid != acct.Sid {
		return nil, notFound("The requested resource /NetworkAccessProfiles/%s was not found", ref)
	}
	return n, nil
}

// ListNAPs returns the account's Network Access Profiles.
func (c *Control) ListNAPs(acct *Account) []*NAP {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.naps.filter(func(n *NAP) bool { return n.AccountSid == acct.Sid })
}

// UpdateNAP changes a Network Access Profile's unique name.
func (c *Control) UpdateNAP(ctx context.Context, acct *Account, ref string, uniqueName *string) (*NAP, error) {
	if uniqueName != nil {
		if err := checkUniqueName(*uniqueName); err != nil {
			return nil, err
		}
	}
	var n *NAP
	err := c.write(ctx, func(t *txn) error {
		cur, err := c.findNAP(acct, ref)
		if err != nil {
			return err
		}
		cp := *cur
		n = &cp
		if uniqueName != nil && *uniqueName != n.UniqueName {
			if _, taken := c.names[nameKey("nap", acct.Sid, *uniqueName)]; taken && *uniqueName != "" {
				return errorf(CodeConflict, http.StatusConflict, "Another Network Access Profile on the account already uses the unique name %q", *uniqueName)
			}
			n.UniqueName = *uniqueName
		}
		n.DateUpdated = c.Now()
		c.putNAP(t, n)
		return nil
	})
	return n, err
}

// NAPEntry is a Network of a NAP's allow list.
type NAPEntry struct {
	Network
	NAPSid string
	Seq    int64
}

// NAPNetworks returns a NAP's allow list in the order networks were added.
func (c *Control) NAPNetworks(acct *Account, napRef string) ([]NAPEntry, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n, err := c.findNAP(acct, napRef)
	if err != nil {
		return nil, err
	}
	out := make([]NAPEntry, 0, len(n.Networks))
	for _, e := range n.Networks {
		nw, _ := c.catalog.Network(e.NetworkSid)
		out = append(out, NAPEntry{Network: nw, NAPSid: n.Sid, Seq: e.Seq})
	}
	return out, nil
}

// NAPNetwork returns one Network of a NAP's allow list.
func (c *Control) NAPNetwork(acct *Account, napRef, networkSid string) (NAPEntry, error) {
	entries, err := c.NAPNetworks(acct, napRef)
	if err != nil {
		return NAPEntry{}, err
	}
	for _, e := range entries {
		if e.Sid == networkSid {
			return e, nil
		}
	}
	return NAPEntry{}, notFound("The requested resource /NetworkAccessProfiles/%s/Networks/%s was not found", napRef, networkSid)
}

// AddNAPNetwork allows a network in a NAP. Every Fleet using the NAP sees
// the change.
func (c *Control) AddNAPNetwork(ctx context.Context, acct *Account, napRef, networkSid string) (NAPEntry, error) {
	if networkSid == "" {
		return NAPEntry{}, invalidParam("Missing required parameter Network")
	}
	nw, ok := c.catalog.Network(networkSid)
	if !ok {
		return NAPEntry{}, invalidParam("Network %s was not found", networkSid)
	}
	var e NAPEntry
	err := c.write(ctx, func(t *txn) error {
		cur, err := c.findNAP(acct, napRef)
		if err != nil {
			return err
		}
		if cur.Allows(networkSid) {
			return errorf(CodeConflict, http.StatusConflict, "Network %s is already in Network Access Profile %s", networkSid, cur.Sid)
		}
		n := *cur
		now := c.Now()
		entry := NAPNetwork{NetworkSid: networkSid, Seq: c.nextSeq(), Added: now}
		n.Networks = append(slices.Clip(n.Networks), entry)
		n.DateUpdated = now
		c.putNAP(t, &n)
		e = NAPEntry{Network: nw, NAPSid: n.Sid, Seq: entry.Seq}
		t.event(Event{Kind: EventNAP, Sid: n.Sid})
		return nil
	})
	return e, err
}

// RemoveNAPNetwork removes a network from a NAP's allow list. Modems
// attached to it keep service (see AuthorizeAttach); new attaches are refused.
func (c *Control) RemoveNAPNetwork(ctx context.Context, acct *Account, napRef, networkSid string) error {
	return c.write(ctx, func(t *txn) error {
		cur, err := c.findNAP(acct, napRef)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(cur.Networks, func(e NAPNetwork) bool { return e.NetworkSid == networkSid })
		if i < 0 {
			return notFound("The requested resource /NetworkAccessProfiles/%s/Networks/%s was not found", napRef, networkSid)
		}
		n := *cur
		n.Networks = slices.Delete(slices.Clone(cur.Networks), i, i+1)
		n.DateUpdated = c.Now()
		c.putNAP(t, &n)
		t.event(Event{Kind: EventNAP, Sid: n.Sid})
		return nil
	})
}
