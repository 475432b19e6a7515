package sim

import (
	"context"
	"errors"
	"sort"
	"sync"
)

// Record is one stored resource: its kind (e.g. "sim"), its ID and its JSON
// encoding. A Record with nil Data deletes the resource.
type Record struct {
	Kind string
	ID   string
	Data []byte
}

// Store keeps the control plane's state durable. Commit applies every record
// of a batch or none of them, and returns only once the batch is durable:
// the API acknowledges a write only after its Commit returned nil.
type Store interface {
	// Load calls fn for every stored record.
	Load(ctx context.Context, fn func(Record) error) error
	// Commit stores a batch atomically.
	Commit(ctx context.Context, batch []Record) error
	Close() error
}

// DiscardStore is a Store that keeps nothing: for runs whose state is
// thrown away and never reloaded, such as a scenario's. A Control over it
// does not even encode what it would store.
type DiscardStore struct{}

// Load implements Store: there is nothing to load.
func (DiscardStore) Load(context.Context, func(Record) error) error { return nil }

// Commit implements Store: the batch is dropped.
func (DiscardStore) Commit(context.Context, []Record) error { return nil }

// Close implements Store.
func (DiscardStore) Close() error { return nil }

// MemStore is a Store that keeps records in memory: for tests and for runs
// whose state may be thrown away.
type MemStore struct {
	mu   sync.Mutex
	recs map[[2]string][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{recs: make(map[[2]string][]byte)} }

// Load implements Store, in kind and ID order.
func (m *MemStore) Load(ctx context.Context, fn func(Record) error) error {
	m.mu.Lock()
	keys := make([][2]string, 0, len(m.recs))
	for k := range m.recs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	recs := make([]Record, len(keys))
	for i, k := range keys {
		recs[i] = Record{Kind: k[0], ID: k[1], Data: m.recs[k]}
	}
	m.mu.Unlock()
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Commit implements Store.
func (m *MemStore) Commit(ctx context.Context, batch []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range batch {
		if r.Data == nil {
			delete(m.recs, [2]string{r.Kind, r.ID})
		} else {
			m.recs[[2]string{r.Kind, r.ID}] = append([]byte(nil), r.Data...)
		}
	}
	return nil
}

// Close implements Store.
func (m *MemStore) Close() error { return nil }

// SharedStore is a Store that several control planes, in one process or
// several (replicas), share as one service: each write runs under a lock
// held across all of them, after catching up with what the others
// committed, and every commit is one numbered change in a change log that
// the others replay, the Events it raised included.
type SharedStore interface {
	Store
	// Snapshot is Load that also returns the version of the state it read:
	// that of the last change it includes.
	Snapshot(ctx context.Context, fn func(Record) error) (version int64, err error)
	// Begin starts a write: it waits until no other write runs anywhere,
	// keeps the others out until the SharedTx ends, and returns the changes
	// committed after version since, in order.
	Begin(ctx context.Context, since int64) (SharedTx, []Change, error)
	// Changes returns the changes committed after version since, in order.
	Changes(ctx context.Context, since int64) ([]Change, error)
	// Version returns the version of the last committed change.
	Version(ctx context.Context) (int64, error)
	// Watch calls wake whenever another replica may have committed, and
	// now and then regardless, until ctx is done.
	Watch(ctx context.Context, wake func())
}

// SharedTx is a write begun on a SharedStore.
type SharedTx interface {
	// Commit stores recs and the encoded events they raised as one change
	// and returns its version; the lock is released.
	Commit(ctx context.Context, recs []Record, events []byte) (version int64, err error)
	// Rollback ends the write without a change; the lock is released.
	Rollback(ctx context.Context)
}

// Change is one commit of a SharedStore.
type Change struct {
	Version int64
	Records []Record
	Events  []byte // as given to SharedTx.Commit
}

// ErrChangesTrimmed is returned by a SharedStore when the changes after a
// version are no longer kept: the replica must reload.
var ErrChangesTrimmed = errors.New("the change log no longer holds the changes this replica needs: restart it to reload the state")
