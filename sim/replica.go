package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// replica is the state of a Control over a SharedStore: one of several
// control planes, in one process or several, that serve as one.
//
// The protocol: a write begins a SharedTx, which waits for the store-wide
// lock and returns the changes other replicas committed since this one's
// version; under c.mu the replica replays them (records into memory, their
// Events to its subscribers), then runs the write's fn on the up-to-date
// state, releases c.mu and commits the records with the Events fn raised as
// the next change. Only once the commit succeeded are the records applied
// in memory and the version advanced; if the commit fails nothing is
// applied (if it did land after all, the next catch-up replays it). A read
// (Sync, before every API request) compares the store's version with its
// own and replays what it missed. Between requests a watcher replays
// changes as other replicas announce them, so that subscribers such as the
// virtual modems hear of them promptly. Timers are armed on every replica
// that knows of a pending change; the first to fire makes the change, the
// others find, after catching up, that there is nothing left to do.
type replica struct {
	store   SharedStore
	mu      sync.Mutex   // one write or catch-up at a time; before c.mu
	version atomic.Int64 // of the last change applied in memory
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// start runs the watcher that replays other replicas' changes.
func (c *Control) startReplica() {
	ctx, cancel := context.WithCancel(context.Background())
	r := c.shared
	r.cancel = cancel
	wake := make(chan struct{}, 1)
	r.wg.Go(func() {
		r.store.Watch(ctx, func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
	})
	r.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			if err := c.syncShared(ctx); err != nil && ctx.Err() == nil {
				c.cfg.logger.Warn("catching up with the other replicas", "err", err)
			}
		}
	})
}

func (c *Control) stopReplica() {
	if c.shared != nil && c.shared.cancel != nil {
		c.shared.cancel()
		c.shared.wg.Wait()
	}
}

// syncShared replays the changes other replicas made, if there are any.
func (c *Control) syncShared(ctx context.Context) error {
	r := c.shared
	v, err := r.store.Version(ctx)
	if err != nil {
		return storeUnavailable(err)
	}
	if v <= r.version.Load() {
		return nil
	}
	r.mu.Lock()
	changes, err := r.store.Changes(ctx, r.version.Load())
	if err != nil {
		r.mu.Unlock()
		return c.changesFailed(err)
	}
	c.mu.Lock()
	events, err := c.replay(changes)
	c.mu.Unlock()
	r.mu.Unlock()
	c.publishReplayed(events)
	return err
}

func (c *Control) changesFailed(err error) error {
	if errors.Is(err, ErrChangesTrimmed) {
		e := errorf(20503, http.StatusServiceUnavailable, "the control plane's state store failed: %v", err)
		c.stop(e)
		return e
	}
	return storeUnavailable(err)
}

func storeUnavailable(err error) error {
	return errorf(20503, http.StatusServiceUnavailable, "the control plane's state store is unavailable: %v", err)
}

// replay applies other replicas' changes in memory and returns the Events
// they raised. Callers hold the replica's mu and c.mu.
func (c *Control) replay(changes []Change) ([]Event, error) {
	r := c.shared
	var events []Event
	for _, ch := range changes {
		if ch.Version <= r.version.Load() {
			continue
		}
		for _, rec := range ch.Records {
			if err := c.applyRecord(rec, true); err != nil {
				// Memory no longer follows the store.
				e := errorf(20503, http.StatusServiceUnavailable, "the control plane's state store failed: replaying change %d: %v", ch.Version, err)
				c.stop(e)
				return events, e
			}
		}
		if len(ch.Events) > 0 {
			var evs []Event
			if err := json.Unmarshal(ch.Events, &evs); err != nil {
				c.cfg.logger.Error("replaying the events of a change", "version", ch.Version, "err", err)
			}
			events = append(events, evs...)
		}
		r.version.Store(ch.Version)
	}
	c.syncSeq()
	return events, nil
}

// publishReplayed raises other replicas' Events here. (Replaying a Fleet
// record re-arms the timer of its limits' end of propagation, as on the
// replica that set them: see applyRecord.)
func (c *Control) publishReplayed(events []Event) {
	for _, e := range events {
		c.publish(e)
	}
}

// writeShared is write over a SharedStore (see replica).
func (c *Control) writeShared(ctx context.Context, fn func(t *txn) error) error {
	r := c.shared
	ctx = context.WithoutCancel(ctx) // a write, once begun, ends by itself
	if err := c.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	tx, changes, err := r.store.Begin(ctx, r.version.Load())
	if err != nil {
		r.mu.Unlock()
		return c.changesFailed(err)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		tx.Rollback(ctx)
		r.mu.Unlock()
		return errorf(20503, http.StatusServiceUnavailable, "the control plane is shutting down")
	}
	replayed, err := c.replay(changes)
	t := txn{}
	if err == nil {
		err = fn(&t)
	}
	c.mu.Unlock()
	if err != nil || (len(t.recs) == 0 && len(t.events) == 0) {
		tx.Rollback(ctx)
		if err == nil {
			c.mu.Lock()
			for _, a := range t.apply {
				a()
			}
			c.mu.Unlock()
		}
		r.mu.Unlock()
		c.publishReplayed(replayed)
		if err != nil {
			return err
		}
		c.finish(&t)
		return nil
	}
	var events []byte
	if len(t.events) > 0 {
		if events, err = json.Marshal(t.events); err != nil {
			panic(fmt.Sprintf("sim: encoding events: %v", err))
		}
	}
	start := time.Now()
	v, err := tx.Commit(ctx, t.recs, events)
	if c.cfg.observe != nil {
		c.cfg.observe(time.Since(start), 1)
	}
	if err != nil {
		r.mu.Unlock()
		c.publishReplayed(replayed)
		return storeUnavailable(err)
	}
	c.mu.Lock()
	for _, a := range t.apply {
		a()
	}
	r.version.Store(v)
	c.mu.Unlock()
	r.mu.Unlock()
	c.publishReplayed(replayed)
	c.finish(&t)
	return nil
}

// replayUsage sets an hour's usage totals from another replica's record:
// the record holds the hour's totals, of which this replica may hold part
// already. Callers hold c.mu.
func (c *Control) replayUsage(u *Usage) {
	i, ok := c.catalog.bySid[u.NetworkSid]
	if !ok {
		c.loadUsage(u) // logs it
		return
	}
	key, ok := c.sims.lookup(u.SimSid)
	if !ok {
		c.loadUsage(u) // logs it
		return
	}
	hour, attr, net := int32(u.Hour.Unix()/3600), c.usage.attr(u.AccountSid, u.FleetSid), uint16(i)
	up, down, sms := u.Upload, u.Download, u.SMS
	if b, ok := c.usage.find(key, hour, attr, net); ok {
		up, down, sms = up-b.up, down-b.down, sms-int(b.sms)
	}
	c.usage.add(key, hour, attr, net, up, down, sms, c.Now())
}
