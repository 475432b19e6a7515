//go:build race

package scenario

// raceEnabled: the race detector slows the simulation ten-fold, so the
// largest scenarios run without it (make scenarios) instead.
const raceEnabled = true
