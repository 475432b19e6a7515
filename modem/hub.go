package modem

import (
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

	mu sync.RWMutex
	// byICCID holds the modems whose ICCID is 19 digits under its
	// number (iccidKey): a key of one word, not a string's two. The rest
	// are in byText.
	byICCID map[uint64]*Modem
	byText  map[string]*Modem
	all     []*Modem // in joining order; nil where a modem left
	holes   int
	closed  bool
}

// NewHub subscribes to core's events.
func NewHub(core Core) *Hub {
	h := &Hub{byICCID: make(map[uint64]*Modem)}
	h.unsub = core.Subscribe(h.deliver)
	return h
}

// Close ends the hub's subscription; modems leaving after it cost nothing
// (close the hub before a fleet's modems).
func (h *Hub) Close() {
	h.unsub()
	h.mu.Lock()
	h.closed = true
	h.all, h.byICCID, h.byText = nil, nil, nil
	h.mu.Unlock()
}

// join makes m hear the hub's events until it leaves.
func (h *Hub) join(m *Modem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if k, ok := iccidKey(m.card.ICCID); ok {
		h.byICCID[k] = m
	} else {
		if h.byText == nil {
			h.byText = make(map[string]*Modem)
		}
		h.byText[m.card.ICCID] = m
	}
	h.all = append(h.all, m)
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
	if k, ok := iccidKey(m.card.ICCID); ok {
		if h.byICCID[k] == m {
			delete(h.byICCID, k)
		}
	} else if h.byText[m.card.ICCID] == m {
		delete(h.byText, m.card.ICCID)
	}
	h.all[i] = nil
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
	if k, ok := iccidKey(iccid); ok {
		return h.byICCID[k]
	}
	return h.byText[iccid]
}

// iccidKey is the number a 19-digit ICCID (what the control plane
// issues) spells; it fits in 64 bits, and one length means no two ICCIDs
// share a number.
func iccidKey(iccid string) (uint64, bool) {
	if len(iccid) != 19 {
		return 0, false
	}
	var k uint64
	for i := 0; i < len(iccid); i++ {
		c := iccid[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		k = k*10 + uint64(c-'0')
	}
	return k, true
}
