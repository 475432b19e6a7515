package metrics

import (
	"context"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Store wraps s so that every commit is observed (ObserveCommit): give the
// result to sim.New in place of s. A DiscardStore stays itself: the
// control plane skips encoding for it, and it commits nothing to time.
func (m *Metrics) Store(s sim.Store) sim.Store {
	if s == sim.Store(sim.DiscardStore{}) {
		return s
	}
	return &observedStore{Store: s, m: m}
}

type observedStore struct {
	sim.Store
	m *Metrics
}

func (s *observedStore) Commit(ctx context.Context, batch []sim.Record) error {
	start := time.Now()
	err := s.Store.Commit(ctx, batch)
	if err == nil {
		s.m.ObserveCommit(time.Since(start), len(batch))
	}
	return err
}
