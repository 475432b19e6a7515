package sim

import (
	"fmt"
	"testing"
	"time"
)

// TestSpreadDelay: a SIM's delay for a change is the same every time,
// within 0..max, at most typical for about nine SIMs in ten, and not the
// same for every SIM.
func TestSpreadDelay(t *testing.T) {
	const typical, max = 5 * time.Minute, 15 * time.Minute
	within, distinct := 0, map[time.Duration]bool{}
	const n = 2000
	for i := range n {
		iccid := fmt.Sprintf("8988307%012d", i)
		d := SpreadDelay(42, iccid, typical, max)
		if d != SpreadDelay(42, iccid, typical, max) {
			t.Fatalf("%s: delay differs between calls", iccid)
		}
		if d < 0 || d > max {
			t.Fatalf("%s: delay %v outside 0..%v", iccid, d, max)
		}
		if d <= typical {
			within++
		}
		distinct[d] = true
	}
	if share := float64(within) / n; share < 0.85 || share > 0.95 {
		t.Errorf("%.2f of the SIMs within the typical delay, want about 0.9", share)
	}
	if len(distinct) < 100 {
		t.Errorf("only %d distinct delays over %d SIMs", len(distinct), n)
	}
	if SpreadDelay(42, "89883070000000000001", typical, max) == SpreadDelay(43, "89883070000000000001", typical, max) &&
		SpreadDelay(42, "89883070000000000002", typical, max) == SpreadDelay(43, "89883070000000000002", typical, max) {
		t.Error("the key does not change the delays")
	}
	l := LimitChange{MB: 5, At: time.Unix(0, 0), Typical: typical, Max: max, Key: 42}
	if got, want := l.EnforcedAt("x"), l.At.Add(SpreadDelay(42, "x", typical, max)); !got.Equal(want) {
		t.Errorf("EnforcedAt = %v, want %v", got, want)
	}
	if !l.Done().Equal(l.At.Add(max)) {
		t.Errorf("Done = %v", l.Done())
	}
}
