package modem

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHubFindsByICCID: a SIM's event finds its modem whether the ICCID is
// the control plane's 19 digits (kept as a number) or anything else.
func TestHubFindsByICCID(t *testing.T) {
	h := &Hub{byICCID: make(map[uint64]*Modem)}
	iccids := []string{"8988307000000000017", "0988307000000000017", "89883070000000000171", "898830700000000001", "8988307x00000000017"}
	var ms []*Modem
	for _, id := range iccids {
		m := &Modem{card: card{ICCID: id}}
		h.join(m)
		ms = append(ms, m)
	}
	for i, id := range iccids {
		assert.Same(t, ms[i], h.modemOf(id), id)
	}
	assert.Nil(t, h.modemOf("988307000000000017"), "a leading zero counts")
	assert.Nil(t, h.modemOf("8988307000000000018"))
	for i, id := range iccids {
		h.leave(ms[i])
		assert.Nil(t, h.modemOf(id), id)
	}
}
