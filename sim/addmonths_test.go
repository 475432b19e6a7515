package sim

import (
	"testing"
	"time"
)

// TestAddMonthsUTC: addMonths' shortcut for UTC times gives what the
// general steps give, over 30 years of hours and months either way.
func TestAddMonthsUTC(t *testing.T) {
	start := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 24*366*30; h += 7 {
		at := start.Add(time.Duration(h)*time.Hour + time.Duration(h%1000)*time.Millisecond)
		for _, n := range []int{-13, -1, 0, 1, 3, 12, 25} {
			if got, want := addMonths(at, n), addMonthsIn(at, n); !got.Equal(want) || got.Location() != want.Location() {
				t.Fatalf("addMonths(%v, %d) = %v, want %v", at, n, got, want)
			}
		}
	}
}
