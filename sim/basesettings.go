package sim

import (
	"encoding/hex"
	"slices"
)

// sid16 is the 32 hex digits of a SID after its two-letter prefix.
type sid16 [16]byte

// parseSid16 decodes a SID with this prefix and 32 lower-case hex digits,
// the form newSid makes.
func parseSid16(prefix, sid string) (sid16, bool) {
	var b sid16
	if len(sid) != 34 || sid[:2] != prefix {
		return b, false
	}
	for i := 2; i < 34; i++ {
		if c := sid[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return b, false
		}
	}
	if _, err := hex.Decode(b[:], []byte(sid[2:])); err != nil {
		return b, false
	}
	return b, true
}

// sid returns the SID with this prefix.
func (b sid16) sid(prefix string) string {
	var buf [34]byte
	buf[0], buf[1] = prefix[0], prefix[1]
	hex.Encode(buf[2:], b[:])
	return string(buf[:])
}

// A Sim's first settings update, base-settings, is the same for every SIM
// but its SID: the Sim keeps only that SID, and baseUpdate makes the
// resource when it is read. The store holds it as a settings record like
// any other, so older and newer versions load the same state.

// isBaseUpdate reports whether u is the first settings update RegisterSim
// made for s.
func isBaseUpdate(s *Sim, u *SettingsUpdate) bool {
	return u.SimSid == s.Sid && u.ICCID == s.ICCID && u.Status == SettingsSuccessful &&
		slices.Equal(u.Packages, baseSettings) && u.Seq == s.Seq+1 && u.Attempts == 0 && u.Due.IsZero() &&
		u.DateCreated.Equal(s.DateCreated) && u.DateUpdated.Equal(s.DateCreated) && u.DateCompleted.Equal(s.DateCreated)
}

// baseUpdate returns the first settings update of s, whose record is r.
func baseUpdate(r *simRec, s *Sim) *SettingsUpdate {
	at := s.DateCreated
	return &SettingsUpdate{
		Sid: r.base.sid("OB"), ICCID: s.ICCID, SimSid: s.Sid, Status: SettingsSuccessful,
		Packages: baseSettings, DateCompleted: at, DateCreated: at, DateUpdated: at, Seq: s.Seq + 1,
	}
}

// putSettings puts a settings update in memory: a Sim's first one into the
// Sim, any other into the settings table. While loading, a first update
// read before its Sim waits for finishLoad. Callers hold c.mu.
func (c *Control) putSettings(u *SettingsUpdate) {
	if c.foldBase(u) {
		return
	}
	if c.loading {
		if _, ok := parseSid16("OB", u.Sid); ok && c.getSim(u.SimSid) == nil {
			c.baseLoaded = append(c.baseLoaded, u)
			return
		}
	}
	c.settings.set(u.Sid, u, u.Seq)
}

// foldBase keeps u in its Sim if it is the Sim's first update.
func (c *Control) foldBase(u *SettingsUpdate) bool {
	i, ok := c.sims.lookup(u.SimSid)
	if !ok {
		return false
	}
	r := c.sims.at(i)
	if r.flags&recBase != 0 || !isBaseUpdate(c.simOf(i), u) {
		return false
	}
	b, ok := parseSid16("OB", u.Sid)
	if !ok {
		return false
	}
	c.setBase(i, b, u.Seq)
	return true
}

// setBase keeps in Sim record i its first settings update, whose SID is
// b (prefix OB) and Seq seq. Callers hold c.mu.
func (c *Control) setBase(i int32, b sid16, seq int64) {
	r := c.sims.at(i)
	r.base, r.flags = b, r.flags|recBase
	c.sims.maxSeq = max(c.sims.maxSeq, seq)
}

// foldLoaded puts the first updates loaded before their Sims. Callers
// hold c.mu.
func (c *Control) foldLoaded() {
	for _, u := range c.baseLoaded {
		if !c.foldBase(u) {
			c.settings.set(u.Sid, u, u.Seq)
		}
	}
	c.baseLoaded = nil
}
