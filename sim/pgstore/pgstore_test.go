package pgstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/pgstore"
	"github.com/fleetsim/fleetsim/sim/pgstore/pgtest"
	"github.com/fleetsim/fleetsim/sim/storetest"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.StopShared()
	os.Exit(code)
}

func ptr[T any](v T) *T { return &v }

func TestStore(t *testing.T) {
	srv := pgtest.Shared(t)
	storetest.Run(t, func(t *testing.T) func() sim.Store {
		url := srv.NewDatabase(t)
		return func() sim.Store {
			st, err := pgstore.Open(context.Background(), url)
			require.NoError(t, err)
			return st
		}
	})
}

// replicas are control planes on one database sharing one virtual clock,
// as several serve processes would share a database and the wall clock.
type replicas struct {
	ctls    []*sim.Control
	clock   *vclock.Clock
	commits []*atomic.Int64 // commits each replica made
}

func newReplicas(t *testing.T, n int, opts ...sim.Option) *replicas {
	t.Helper()
	url := pgtest.Shared(t).NewDatabase(t)
	r := &replicas{clock: vclock.New(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))}
	for range n {
		st, err := pgstore.Open(context.Background(), url)
		require.NoError(t, err)
		var commits atomic.Int64
		ctl, err := sim.New(context.Background(), st, append([]sim.Option{
			sim.WithClock(r.clock), sim.WithCards("replicas", 20),
			sim.WithCommitObserver(func(time.Duration, int) { commits.Add(1) }),
		}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, ctl.Close()) })
		r.ctls = append(r.ctls, ctl)
		r.commits = append(r.commits, &commits)
	}
	return r
}

// TestReplicasShareOneMainAccount: replicas started on an empty database
// at once agree on one main account.
func TestReplicasShareOneMainAccount(t *testing.T) {
	url := pgtest.Shared(t).NewDatabase(t)
	ctls := make([]*sim.Control, 4)
	var wg sync.WaitGroup
	for i := range ctls {
		wg.Go(func() {
			st, err := pgstore.Open(context.Background(), url)
			if !assert.NoError(t, err) {
				return
			}
			ctl, err := sim.New(context.Background(), st)
			if assert.NoError(t, err) {
				ctls[i] = ctl
			}
		})
	}
	wg.Wait()
	for _, ctl := range ctls {
		require.NotNil(t, ctl)
		defer ctl.Close()
	}
	main := ctls[0].MainAccount()
	for _, ctl := range ctls[1:] {
		require.NoError(t, ctl.Sync(context.Background()))
		_, err := ctl.Authenticate(main.Sid, main.AuthToken)
		assert.NoError(t, err)
		assert.Equal(t, main.Sid, ctl.MainAccount().Sid)
	}
}

// TestReplicasNoLostUpdate: writers on two replicas add networks to one
// NAP at once; every addition is kept, as each write reads the other
// replica's changes under the store-wide lock before it changes the NAP.
func TestReplicasNoLostUpdate(t *testing.T) {
	r := newReplicas(t, 2)
	ctx := context.Background()
	a, b := r.ctls[0], r.ctls[1]
	main := a.MainAccount()
	nets := a.Catalog().Networks()
	require.GreaterOrEqual(t, len(nets), 40)
	nap, err := a.CreateNAP(ctx, main, ptr("shared"), []string{nets[0].Sid})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 1; i < 40; i++ {
		ctl := r.ctls[i%2]
		wg.Go(func() {
			_, err := ctl.AddNAPNetwork(ctx, main, nap.Sid, nets[i].Sid)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	for _, ctl := range []*sim.Control{a, b} {
		require.NoError(t, ctl.Sync(ctx))
		entries, err := ctl.NAPNetworks(main, "shared")
		require.NoError(t, err)
		assert.Len(t, entries, 40)
	}
}

// TestReplicasActivationAndEvents: a Sim activated through one replica is
// active on the other once the scheduled update ran, which exactly one
// replica does (one commit, one callback); the Events of each change reach
// a subscriber of the other replica without any request to it.
func TestReplicasActivationAndEvents(t *testing.T) {
	var callbacks atomic.Int64
	called := make(chan struct{}, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		callbacks.Add(1)
		called <- struct{}{}
	}))
	defer hook.Close()
	r := newReplicas(t, 2)
	ctx := context.Background()
	a, b := r.ctls[0], r.ctls[1]
	events := make(chan sim.Event, 100)
	cancel := b.Subscribe(func(e sim.Event) { events <- e })
	defer cancel()
	waitEvent := func(kind sim.EventKind, sid string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if e.Kind == kind && e.Sid == sid {
					return
				}
			case <-deadline:
				t.Fatalf("replica b heard no event %d for %s", kind, sid)
			}
		}
	}

	main := a.MainAccount()
	vf, _ := a.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	nap, err := a.CreateNAP(ctx, main, ptr("uk"), nil)
	require.NoError(t, err)
	fleet, err := a.CreateFleet(ctx, main, sim.FleetParams{NetworkAccessProfile: ptr("uk")})
	require.NoError(t, err)
	card := a.Cards()[0]
	s, err := a.RegisterSim(ctx, main, card.ICCID, card.RegistrationCode)
	require.NoError(t, err)
	_, accepted, err := a.UpdateSim(ctx, main, s.Sid, sim.SimParams{Status: ptr("active"), Fleet: ptr(fleet.Sid), CallbackURL: hook.URL})
	require.NoError(t, err)
	require.True(t, accepted)
	waitEvent(sim.EventSim, s.Sid) // b replayed the change
	require.NoError(t, b.Sync(ctx))
	assert.Equal(t, 2, r.clock.Pending(), "both replicas armed the scheduled update's timer")

	// Both replicas' timers fall due; one completes the update.
	before := r.commits[0].Load() + r.commits[1].Load()
	r.clock.Advance(sim.DefaultUpdateDelay)
	assert.Equal(t, int64(1), r.commits[0].Load()+r.commits[1].Load()-before, "one replica completed the update")
	for _, ctl := range []*sim.Control{a, b} {
		require.NoError(t, ctl.Sync(ctx))
		got, err := ctl.Sim(main, s.Sid)
		require.NoError(t, err)
		assert.Equal(t, sim.StatusActive, got.APIStatus())
	}
	waitEvent(sim.EventSim, s.Sid)

	// A NAP change through b reaches a's subscribers; through a, b's.
	heard := make(chan sim.Event, 10)
	cancelA := a.Subscribe(func(e sim.Event) { heard <- e })
	defer cancelA()
	_, err = b.AddNAPNetwork(ctx, main, nap.Sid, vf.Sid)
	require.NoError(t, err)
	select {
	case e := <-heard:
		assert.Equal(t, sim.Event{Kind: sim.EventNAP, Sid: nap.Sid}, e)
	case <-time.After(10 * time.Second):
		t.Fatal("replica a heard no EventNAP")
	}
	waitEvent(sim.EventNAP, nap.Sid) // b's own subscriber too
	_, err = a.UpdateFleet(ctx, main, fleet.Sid, sim.FleetParams{DataLimit: ptr(7)})
	require.NoError(t, err)
	waitEvent(sim.EventFleet, fleet.Sid)

	// The callback was sent once, by the replica that completed the update.
	select {
	case <-called:
	case <-time.After(10 * time.Second):
		t.Fatal("no callback")
	}
	assert.Equal(t, int64(1), callbacks.Load())
}

// TestReplicaReadsAfterWrite: once a write returned on one replica, a
// request to another (Sync, as the API does first) sees it.
func TestReplicaReadsAfterWrite(t *testing.T) {
	r := newReplicas(t, 2)
	ctx := context.Background()
	a, b := r.ctls[0], r.ctls[1]
	main := a.MainAccount()
	for i := range 20 {
		name := fmt.Sprintf("fleet-%d", i)
		nap, err := a.CreateNAP(ctx, main, &name, nil)
		require.NoError(t, err)
		require.NoError(t, b.Sync(ctx))
		got, err := b.NAP(main, name)
		require.NoError(t, err)
		assert.Equal(t, nap.Sid, got.Sid)
	}
}
