package sim

import "time"

// Clock is where the control plane gets its time from. The server runs on
// the wall clock; a scenario runs the same code on virtual time.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

// WallClock is the Clock of the real world.
type WallClock struct{}

// Now returns the current UTC time.
func (WallClock) Now() time.Time { return time.Now().UTC() }

// AfterFunc wraps time.AfterFunc.
func (WallClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Handler receives the events of a Scheduler: Fire runs when one falls
// due, with the word it was scheduled with.
type Handler interface {
	Fire(arg uint64)
}

// Scheduler is a Clock that also runs events without a timer or a closure
// per event (vclock.Clock): Schedule calls h.Fire(arg) once d has passed,
// in the order of AfterFunc's timers (due time, then creation). Such an
// event cannot be stopped: the handler tells a stale one by its word. On
// such a clock the control plane keeps a Sim's pending update as an event,
// not a timer (see armSimTimer).
type Scheduler interface {
	Clock
	Schedule(d time.Duration, h Handler, arg uint64)
}
