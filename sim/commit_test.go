package sim_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/storetest"
)

// gateStore is a MemStore whose commits wait at a gate when it is closed,
// and fail once failing is set.
type gateStore struct {
	*sim.MemStore
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	waiting chan struct{} // a commit reached the closed gate
	failing bool
	batches [][]sim.Record
}

func (s *gateStore) Commit(ctx context.Context, batch []sim.Record) error {
	s.mu.Lock()
	gate, failing := s.gate, s.failing
	s.batches = append(s.batches, batch)
	s.mu.Unlock()
	if gate != nil {
		s.waiting <- struct{}{}
		<-gate
	}
	if failing {
		return errors.New("disk on fire")
	}
	return s.MemStore.Commit(ctx, batch)
}

// TestReadsDoNotWaitForCommits: while a write's commit is held up, reads
// and other writes' in-memory work go on; the write is acknowledged only
// once its commit is done, and writes queued meanwhile are committed
// together in one batch.
func TestReadsDoNotWaitForCommits(t *testing.T) {
	st := &gateStore{MemStore: sim.NewMemStore(), waiting: make(chan struct{}, 1)}
	ctx := context.Background()
	var mu sync.Mutex
	var groups []int
	ctl, err := sim.New(ctx, st, sim.WithCards("commit", 4), sim.WithCommitObserver(func(_ time.Duration, n int) {
		mu.Lock()
		groups = append(groups, n)
		mu.Unlock()
	}))
	require.NoError(t, err)
	defer ctl.Close()
	main := ctl.MainAccount()
	cards := ctl.Cards()

	st.mu.Lock()
	gate := make(chan struct{})
	st.gate = gate
	st.mu.Unlock()
	first := make(chan error, 1)
	go func() {
		_, err := ctl.RegisterSim(ctx, main, cards[0].ICCID, cards[0].RegistrationCode)
		first <- err
	}()
	<-st.waiting // the commit is under way, the lock is free

	// A read goes through; the change is visible in memory.
	sims, err := ctl.ListSims(main, sim.SimFilter{})
	require.NoError(t, err)
	assert.Len(t, sims, 1)
	select {
	case err := <-first:
		t.Fatalf("the write returned (%v) before its commit", err)
	default:
	}
	// Three more writes run and queue behind the held commit.
	var wg sync.WaitGroup
	for i := 1; i < 4; i++ {
		wg.Go(func() {
			_, err := ctl.RegisterSim(ctx, main, cards[i].ICCID, cards[i].RegistrationCode)
			assert.NoError(t, err)
		})
	}
	require.Eventually(t, func() bool {
		sims, _ := ctl.ListSims(main, sim.SimFilter{})
		return len(sims) == 4
	}, 5*time.Second, time.Millisecond)
	st.mu.Lock()
	st.gate = nil
	st.mu.Unlock()
	close(gate)
	require.NoError(t, <-first)
	wg.Wait()
	mu.Lock()
	assert.Equal(t, []int{1, 3}, groups[len(groups)-2:], "the three queued writes are one commit")
	mu.Unlock()

	// Everything acknowledged is in the store.
	n := 0
	require.NoError(t, st.Load(ctx, func(r sim.Record) error {
		if r.Kind == "sim" {
			n++
		}
		return nil
	}))
	assert.Equal(t, 4, n)
}

// TestFailedCommitStopsTheControlPlane: a write whose commit fails is not
// acknowledged, and the control plane then refuses every write and says
// why in Err and Sync (the API answers 503), since its memory is ahead of
// its store.
func TestFailedCommitStopsTheControlPlane(t *testing.T) {
	st := &gateStore{MemStore: sim.NewMemStore(), waiting: make(chan struct{}, 1)}
	ctx := context.Background()
	ctl, err := sim.New(ctx, st, sim.WithCards("commit", 2))
	require.NoError(t, err)
	defer ctl.Close()
	main := ctl.MainAccount()
	cards := ctl.Cards()
	require.NoError(t, ctl.Err())

	st.mu.Lock()
	st.failing = true
	st.mu.Unlock()
	_, err = ctl.RegisterSim(ctx, main, cards[0].ICCID, cards[0].RegistrationCode)
	var e *sim.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
	assert.ErrorContains(t, err, "disk on fire")

	st.mu.Lock()
	st.failing = false
	n := len(st.batches)
	st.mu.Unlock()
	_, err = ctl.RegisterSim(ctx, main, cards[1].ICCID, cards[1].RegistrationCode)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status)
	st.mu.Lock()
	assert.Len(t, st.batches, n, "no commit is tried after a failure")
	st.mu.Unlock()
	require.ErrorAs(t, ctl.Err(), &e)
	require.ErrorAs(t, ctl.Sync(ctx), &e)
}

// TestMemStore runs the store suite on MemStore.
func TestMemStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) func() sim.Store {
		st := sim.NewMemStore()
		return func() sim.Store { return st }
	})
}
