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
