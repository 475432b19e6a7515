package modem

import (
	"sync"
	"testing"
)

func TestStatsCount(t *testing.T) {
	var none *Stats // a modem without Stats counts nothing, and does not fail
	none.attached()
	none.rejected(CausePLMNNotAllowed)
	none.detached(CauseEPSNonEPSNotAllowed)

	s := new(Stats)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				s.attached()
				s.rejected(CausePLMNNotAllowed)
			}
			s.detached(CauseEPSNonEPSNotAllowed)
		})
	}
	wg.Wait()
	if got := s.Attaches(); got != 800 {
		t.Errorf("Attaches = %d, want 800", got)
	}
	if got := s.Rejections(); len(got) != 1 || got[CausePLMNNotAllowed] != 800 {
		t.Errorf("Rejections = %v, want map[11:800]", got)
	}
	if got := s.Detaches(); len(got) != 1 || got[CauseEPSNonEPSNotAllowed] != 8 {
		t.Errorf("Detaches = %v, want map[8:8]", got)
	}
}

// BenchmarkStatsAttached is what an attach pays for being counted: one
// atomic add, with every core counting at once.
func BenchmarkStatsAttached(b *testing.B) {
	s := new(Stats)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.attached()
		}
	})
}
