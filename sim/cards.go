package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// maxCards is the largest inventory: every 7-digit ICCID serial, so a
// sharded run of ten million devices has a card for each.
const maxCards = 10_000_000

// superSimPrefixes are the ICCID prefixes of Super SIMs.
var superSimPrefixes = [2]string{"8988307", "8988323"}

// GenerateCards returns the first n cards of the inventory made from seed.
// Card i is the same for a given seed however many cards are asked for, so
// a larger inventory extends a smaller one.
func GenerateCards(seed string, n int) []Card {
	cards := make([]Card, n)
	for i := range cards {
		cards[i] = generateCard(seed, i)
	}
	return cards
}

func generateCard(seed string, i int) Card {
	h := sha256.Sum256(fmt.Appendf(nil, "fleetsim/card/%s/%d", seed, i))
	digits := func(off, n int) string {
		v := binary.BigEndian.Uint64(h[off : off+8])
		return fmt.Sprintf("%0*d", n, v%pow10(n))
	}
	// ICCID: 7-digit issuer prefix, 4 seed digits, 7-digit serial, Luhn digit.
	// An eSIM profile's card (i from esimCardBase) has an 8-digit serial
	// (a 20-digit ICCID, never a physical card's) and its IMSI its own MNC.
	body := superSimPrefixes[h[31]&1] + digits(0, 4) + fmt.Sprintf("%07d", i)
	imsi := "732123" + digits(8, 2) + fmt.Sprintf("%07d", i)
	if i >= esimCardBase {
		imsi = "732124" + digits(8, 2) + fmt.Sprintf("%07d", i-esimCardBase)
	}
	return Card{
		Index:            i,
		ICCID:            body + string(rune('0'+LuhnDigit(body))),
		IMSI:             imsi,
		RegistrationCode: digits(16, 10),
	}
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// LuhnDigit returns the check digit that makes body+digit pass the Luhn check.
func LuhnDigit(body string) int { return luhnDigit(body) }

func luhnDigit[T string | []byte](body T) int {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

// LuhnValid reports whether a digit string passes the Luhn check.
func LuhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return LuhnDigit(s[:len(s)-1]) == int(s[len(s)-1]-'0')
}

// CardInfo is an inventory card with the Sim registered from it, if any.
type CardInfo struct {
	Card
	SimSid     string
	AccountSid string
}

// Cards returns the card inventory.
func (c *Control) Cards() []CardInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]CardInfo, c.inv.len())
	for i := range out {
		out[i].Card = c.inv.card(i)
		if j := c.cardSims[i]; j > 0 {
			r := c.sims.at(j - 1)
			out[i].SimSid, out[i].AccountSid = r.sid.sid("HS"), c.ids[r.account]
		}
	}
	return out
}

// Card returns card i of the inventory.
func (c *Control) Card(i int) (Card, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if i < 0 || i >= c.inv.len() {
		return Card{}, false
	}
	return c.inv.card(i), true
}

// CardByICCID returns the inventory card with this ICCID.
func (c *Control) CardByICCID(iccid string) (Card, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if i, ok := c.inv.find(iccid); ok {
		return c.inv.card(i), true
	}
	return Card{}, false
}
