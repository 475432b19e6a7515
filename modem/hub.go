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

	mu      sync.RWMutex
	byICCID map[string]*Modem
	all     []*Modem // in joining order; nil where a modem left
	holes   int
	closed  bool
}

// NewHub subscribes to core's events.
func NewHub(core Core) *Hub {
	h := &Hub{byICCID: make(map[string]*Modem)}
	h.unsub = core.Subscribe(h.deliver)
	return h
}

// Close ends the hub's subscription; modems leaving after it cost nothing
// (close the hub before a fleet's modems).
func (h *Hub) Close() {
	h.unsub()
	h.mu.Lock()
	h.closed = true
	h.all, h.byICCID = nil, nil
	h.mu.Unlock()
}

// join makes m hear the hub's events until it leaves.
func (h *Hub) join(m *Modem) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.byICCID[m.card.ICCID] = m
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
	if h.byICCID[m.card.ICCID] == m {
		delete(h.byICCID, m.card.ICCID)
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
		m := h.byICCID[e.ICCID]
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
