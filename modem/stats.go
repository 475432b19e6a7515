package modem

import "sync/atomic"

// Stats counts what a set of modems' radios did: attaches, and the
// network's rejections and detaches by EMM cause. Modems given the same
// Stats (Config.Stats, FleetConfig.Stats) add to it with atomic adds and
// never wait on it; a reader such as a metrics collector reads it at any
// time. The zero value is ready to use.
type Stats struct {
	attaches   atomic.Uint64
	rejections [256]atomic.Uint64 // by EMM cause (TS 24.301 Annex A: one octet)
	detaches   [256]atomic.Uint64
}

// Attaches is how many attaches the network accepted.
func (s *Stats) Attaches() uint64 { return s.attaches.Load() }

// Rejections is how many attach attempts the network rejected, by EMM
// cause; causes never seen are absent.
func (s *Stats) Rejections() map[int]uint64 { return nonZero(&s.rejections) }

// Detaches is how many times the network detached a registered modem, by
// EMM cause; causes never seen are absent.
func (s *Stats) Detaches() map[int]uint64 { return nonZero(&s.detaches) }

func nonZero(a *[256]atomic.Uint64) map[int]uint64 {
	out := make(map[int]uint64)
	for i := range a {
		if n := a[i].Load(); n > 0 {
			out[i] = n
		}
	}
	return out
}

// The modem's side: nil Stats count nothing.

func (s *Stats) attached() {
	if s != nil {
		s.attaches.Add(1)
	}
}

func (s *Stats) rejected(cause int) {
	if s != nil {
		s.rejections[uint8(cause)].Add(1)
	}
}

func (s *Stats) detached(cause int) {
	if s != nil {
		s.detaches[uint8(cause)].Add(1)
	}
}

// Registration is the modem's registration state now, the <stat> of
// +CEREG.
func (m *Modem) Registration() RegState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.reg
}
