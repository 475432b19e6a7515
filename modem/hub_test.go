package modem

import (
	"fmt"
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHubFindsByICCID: a SIM's event finds its modem whether the ICCID is
// the control plane's 19 digits or anything else.
func TestHubFindsByICCID(t *testing.T) {
	h := &Hub{index: hubIndex{seed: maphash.MakeSeed()}}
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

// TestHubIndex: among thousands of modems joining and leaving, each
// ICCID finds the modem that joined with it last and is still there, and
// the fleet-wide order is the joining order.
func TestHubIndex(t *testing.T) {
	h := &Hub{index: hubIndex{seed: maphash.MakeSeed()}}
	const n = 5000
	ms := make([]*Modem, n)
	for i := range ms {
		ms[i] = &Modem{card: card{ICCID: fmt.Sprintf("89883070%011d", i)}}
		h.join(ms[i])
	}
	for i := 0; i < n; i += 3 { // a third leave
		h.leave(ms[i])
	}
	again := &Modem{card: card{ICCID: ms[1].card.ICCID}} // joins with a present one's ICCID
	h.join(again)
	for i := 0; i < n; i += 2 { // and then some more: the hub compacts
		h.leave(ms[i])
	}
	for i, m := range ms {
		want := m
		switch {
		case i == 1:
			want = again
		case i%2 == 0 || i%3 == 0:
			want = nil
		}
		if got := h.modemOf(m.card.ICCID); got != want {
			t.Fatalf("modem %d: found %p, want %p", i, got, want)
		}
	}
	var order []*Modem
	for _, m := range h.all {
		if m != nil {
			order = append(order, m)
		}
	}
	var want []*Modem
	for i, m := range ms {
		if i%2 != 0 && i%3 != 0 {
			want = append(want, m)
		}
	}
	want = append(want, again)
	assert.Equal(t, want, order)
	assert.Nil(t, h.modemOf("8988307099999999999"))
}
