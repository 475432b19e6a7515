package sim

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// committer makes the batches of writes durable in the background, so that
// no reader or writer waits on the disk under Control.mu: a write applies
// its change in memory under the lock, queues its records and releases
// the lock; the committer merges every batch queued meanwhile into one
// Store.Commit (group commit) and only then is each write acknowledged.
// Batches are queued under Control.mu, so they reach the store in the
// order their changes were applied.
//
// A failed Commit stops the control plane (fail-stop): memory then holds
// changes the store may not have, so every later request is refused with
// 503 (see Control.Err) until the process restarts and reloads what is
// durable. No write whose Commit failed is acknowledged.
type committer struct {
	store   Store
	observe func(time.Duration, int)

	mu      sync.Mutex
	queue   []*batch
	closing bool
	wake    chan struct{} // cap 1
	exited  chan struct{}
	fail    func(*Error) // called once, on the first failed Commit
	failed  *Error
}

// batch is one write's records, acknowledged by closing done.
type batch struct {
	recs []Record
	err  error
	done chan struct{}
}

// maxGroup bounds the number of writes merged into one Commit.
const maxGroup = 1024

func newCommitter(store Store, observe func(time.Duration, int), fail func(*Error)) *committer {
	k := &committer{store: store, observe: observe, fail: fail, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	go k.run()
	return k
}

// enqueue queues recs and returns the batch to wait on. It never blocks.
func (k *committer) enqueue(recs []Record) *batch {
	b := &batch{recs: recs, done: make(chan struct{})}
	k.mu.Lock()
	k.queue = append(k.queue, b)
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	return b
}

func (k *committer) run() {
	defer close(k.exited)
	for {
		k.mu.Lock()
		n := min(len(k.queue), maxGroup)
		group := k.queue[:n:n]
		k.queue = k.queue[n:]
		closing := k.closing
		k.mu.Unlock()
		if len(group) == 0 {
			if closing {
				return
			}
			<-k.wake
			continue
		}
		k.commit(group)
	}
}

func (k *committer) commit(group []*batch) {
	var err error
	if k.failed != nil {
		err = k.failed
	} else {
		recs := group[0].recs
		if len(group) > 1 {
			recs = merge(group)
		}
		start := time.Now()
		err = k.store.Commit(context.Background(), recs)
		if k.observe != nil {
			k.observe(time.Since(start), len(group))
		}
		if err != nil {
			k.failed = errorf(20503, http.StatusServiceUnavailable, "the control plane's state store failed: %v", err)
			k.fail(k.failed)
			err = k.failed
		}
	}
	for _, b := range group {
		b.err = err
		close(b.done)
	}
}

// merge concatenates the records of a group, keeping only the last record
// of a resource: the state after the group is the same, with fewer rows
// written.
func merge(group []*batch) []Record {
	type key struct{ kind, id string }
	last := make(map[key]int)
	var all []Record
	for _, b := range group {
		for _, r := range b.recs {
			k := key{r.Kind, r.ID}
			if i, ok := last[k]; ok {
				all[i].Data, all[i].Kind = nil, "" // superseded
			}
			last[k] = len(all)
			all = append(all, r)
		}
	}
	out := all[:0]
	for _, r := range all {
		if r.Kind != "" {
			out = append(out, r)
		}
	}
	return out
}

// close commits what is queued and stops the committer.
func (k *committer) close() {
	k.mu.Lock()
	k.closing = true
	k.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
	<-k.exited
}
