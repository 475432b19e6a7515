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
