package sim

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

// owned returns the resource sid of a table if the account owns it, and
// Twilio's 404 for path otherwise. Callers hold c.mu.
func owned[T any](t *table[T], acct *Account, sid string, accountOf func(*T) string, path string) (*T, error) {
	v := t.get(sid)
	if v == nil || accountOf(v) != acct.Sid {
		return nil, notFound("The requested resource /%s/%s was not found", path, sid)
	}
	return v, nil
}

// commandQuery checks the Status and Direction filters of a Commands list.
func commandQuery(status, direction string, statuses ...string) error {
	if err := oneOf("Status", status, statuses...); err != nil {
		return err
	}
	return oneOf("Direction", direction, DirectionToSim, DirectionFromSim)
}

// commandMatch is the filter of a Commands list: the account's commands,
// for a Sim, in a status and a direction ("" for any); ok is false when
// simRef names no Sim of the account. Callers hold c.mu.
func (c *Control) commandMatch(acct *Account, simRef, status, direction string) (match func(account, sim, st, dir string) bool, ok bool) {
	simSid, ok := c.simFilter(acct, simRef)
	return func(account, sim, st, dir string) bool {
		return account == acct.Sid && (simSid == "" || sim == simSid) && (status == "" || st == status) && (direction == "" || dir == direction)
	}, ok
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
