package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// inventory is the card inventory made from a seed, 8 bytes a card: what
// generateCard draws from its hash, packed (cardDraw). A card's ICCID
// carries its index (the 7-digit serial), so finding a card by ICCID is
// arithmetic.
type inventory struct {
	seed  string
	draws []cardDraw
}

// cardDraw packs a card's hashed digits: bit 0 the ICCID prefix, then 14
// bits of the ICCID's 4 seed digits, 7 bits of the IMSI's 2, and 34 bits of
// the 10-digit registration code.
type cardDraw uint64

func newInventory(seed string, n int) inventory {
	inv := inventory{seed: seed, draws: make([]cardDraw, n)}
	for i := range inv.draws {
		inv.draws[i] = drawCard(seed, i)
	}
	return inv
}

func drawCard(seed string, i int) cardDraw {
	h := sha256.Sum256(cardKey(seed, i))
	v := func(off, n int) uint64 { return binary.BigEndian.Uint64(h[off:off+8]) % pow10(n) }
	return cardDraw(uint64(h[31]&1) | v(0, 4)<<1 | v(8, 2)<<15 | v(16, 10)<<22)
}

func cardKey(seed string, i int) []byte {
	b := append([]byte("fleetsim/card/"), seed...)
	b = append(b, '/')
	return strconv.AppendInt(b, int64(i), 10)
}

func (d cardDraw) prefix() string       { return superSimPrefixes[d&1] }
func (d cardDraw) iccidDigits() uint64  { return uint64(d>>1) & (1<<14 - 1) }
func (d cardDraw) imsiDigits() uint64   { return uint64(d>>15) & (1<<7 - 1) }
func (d cardDraw) registration() uint64 { return uint64(d >> 22) }

// appendDigits appends v as n decimal digits, zero-padded.
func appendDigits(b []byte, v uint64, n int) []byte {
	for k := n - 1; k >= 0; k-- {
		b = append(b, byte('0'+v/pow10(k)%10))
	}
	return b
}

// appendICCID appends card i's ICCID: 7-digit issuer prefix, 4 seed
// digits, 7-digit serial, Luhn digit.
func (d cardDraw) appendICCID(b []byte, i int) []byte {
	start := len(b)
	b = append(b, d.prefix()...)
	b = appendDigits(b, d.iccidDigits(), 4)
	b = appendDigits(b, uint64(i), 7)
	return append(b, byte('0'+luhnDigit(b[start:])))
}

func (inv *inventory) len() int { return len(inv.draws) }

// iccid is card i's ICCID.
func (inv *inventory) iccid(i int) string {
	var buf [24]byte
	return string(inv.draws[i].appendICCID(buf[:0], i))
}

// card is card i, as generateCard makes it.
func (inv *inventory) card(i int) Card {
	d := inv.draws[i]
	var buf [24]byte
	imsi := appendDigits(append(buf[:0], "732123"...), d.imsiDigits(), 2)
	imsi = appendDigits(imsi, uint64(i), 7)
	return Card{
		Index: i, ICCID: inv.iccid(i), IMSI: string(imsi),
		RegistrationCode: string(appendDigits(nil, d.registration(), 10)),
	}
}

// find returns the index of the card with this ICCID.
func (inv *inventory) find(iccid string) (int, bool) {
	if len(iccid) != 19 {
		return 0, false
	}
	i := 0
	for k := 11; k < 18; k++ {
		c := iccid[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	if i >= len(inv.draws) {
		return 0, false
	}
	// The ICCID appendICCID makes, compared in place: the prefix, the 4
	// seed digits, and the Luhn digit of what precedes it.
	d := inv.draws[i]
	if iccid[:7] != d.prefix() {
		return 0, false
	}
	v := uint64(0)
	for k := 7; k < 11; k++ {
		c := iccid[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return i, v == d.iccidDigits() && int(iccid[18])-'0' == luhnDigit(iccid[:18])
}

// cardByICCID returns the inventory card, or the eSIM profile's card,
// with this ICCID. Callers hold c.mu.
func (c *Control) cardByICCID(iccid string) (Card, bool) {
	if i, ok := c.inv.find(iccid); ok {
		return c.inv.card(i), true
	}
	card, ok := c.esimCards[iccid]
	return card, ok
}
