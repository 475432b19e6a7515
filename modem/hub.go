package modem

import (
	"hash/maphash"
	"slices"
	"sync"

	"github.com/fleetsim/fleetsim/sim"
)

// Hub delivers the core's events to many modems through one subscription:
// a Sim's change goes to the modem with that SIM only, a Fleet's or a NAP's
// to every modem, in the order the modems joined, so that runs replay
// identically. Without a hub each modem subscribes on its own, which costs
// every modem a call for every SIM's change: fine for a few, not for a
// fleet of thousands.
type Hub struct {
	unsub func()

	mu     sync.RWMutex
	all    []*Modem // in joining order; nil where a modem left
	index  hubIndex // all by ICCID
	holes  int
	closed bool
}

// NewHub subscribes to core's events.
func NewHub(core Core) *Hub {
	h := &Hub{index: hubIndex{seed: maphash.MakeSeed()}}
	h.unsub = core.Subscribe(h.deliver)
	return h
}

// Close ends the hub's subscription; modems leaving after it cost nothing
// (close the hub before a fleet's modems).
func (h *Hub) Close() {
	h.unsub()
	h.mu.Lock()
	h.closed = true
	h.all, h.index.slots = nil, nil
	h.mu.Unlock()
}

// join makes m hear the hub's events until it leaves; a modem that joins
// with the ICCID of one still there takes its SIM's events from it.
func (h *Hub) join(m *Modem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.all = append(h.all, m)
	h.index.put(h.all, int32(len(h.all)-1))
}

func (h *Hub) leave(m *Modem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	i := slices.Index(h.all, m) // a modem leaving before the hub closes is rare
	if i < 0 {
		return
	}
	h.all[i] = nil // its slot in the index finds nothing now
	h.holes++
	if h.holes > len(h.all)/2 { // compact, keeping the order
		kept := h.all[:0]
		for _, x := range h.all {
			if x != nil {
				kept = append(kept, x)
			}
		}
		clear(h.all[len(kept):])
		h.all, h.holes = kept, 0
		h.index.rebuild(h.all)
	}
}

func (h *Hub) deliver(e sim.Event) {
	if e.Kind == sim.EventSim || e.Kind == sim.EventSmsCommand || e.Kind == sim.EventIPCommand {
		h.mu.RLock()
		m := h.modemOf(e.ICCID)
		h.mu.RUnlock()
		if m != nil {
			m.onEvent(e)
		}
		return
	}
	h.mu.RLock()
	all := append([]*Modem(nil), h.all...)
	h.mu.RUnlock()
	for _, m := range all {
		if m != nil {
			m.onEvent(e)
		}
	}
}

// modemOf returns the modem with this ICCID, or nil. Callers hold h.mu.
func (h *Hub) modemOf(iccid string) *Modem {
	if i, ok := h.index.find(h.all, iccid); ok {
		return h.all[i]
	}
	return nil
}

// hubIndex finds a hub's modems by ICCID: an open-addressing hash table of
// their places in Hub.all, 4 bytes a slot where a map kept a modem in
// some 30. A slot whose modem left (nil in all) matches nothing; the
// table is rebuilt when all is compacted.
type hubIndex struct {
	seed  maphash.Seed
	slots []int32 // place+1 in all; 0 is free
	used  int     // slots not free
}

// find returns the place in all of the modem with this ICCID.
func (x *hubIndex) find(all []*Modem, iccid string) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for s := maphash.String(x.seed, iccid) & mask; ; s = (s + 1) & mask {
		v := x.slots[s]
		if v == 0 {
			return 0, false
		}
		if m := all[v-1]; m != nil && m.card.ICCID == iccid {
			return v - 1, true
		}
	}
}

// put indexes all[i], in place of a modem with its ICCID if one is there.
func (x *hubIndex) put(all []*Modem, i int32) {
	if 4*(x.used+1) > 3*len(x.slots) {
		x.grow(all)
	}
	iccid := all[i].card.ICCID
	mask := uint64(len(x.slots) - 1)
	for s := maphash.String(x.seed, iccid) & mask; ; s = (s + 1) & mask {
		v := x.slots[s]
		if v == 0 {
			x.slots[s] = i + 1
			x.used++
			return
		}
		if m := all[v-1]; m != nil && m.card.ICCID == iccid {
			x.slots[s] = i + 1
			return
		}
	}
}

// grow doubles the table (or makes it), leaving out the slots of modems
// that left.
func (x *hubIndex) grow(all []*Modem) {
	old := x.slots
	x.slots, x.used = make([]int32, max(16, 2*len(old))), 0
	for _, v := range old {
		if v != 0 && all[v-1] != nil {
			x.put(all, v-1)
		}
	}
}

// rebuild indexes all anew (after it was compacted).
func (x *hubIndex) rebuild(all []*Modem) {
	n := 16
	for 3*n < 4*len(all) {
		n *= 2
	}
	x.slots, x.used = make([]int32, n), 0
	for i := range all {
		x.put(all, int32(i))
	}
}
