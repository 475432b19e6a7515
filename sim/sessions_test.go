package sim

import "testing"

// TestSessionSet: cards join and leave the set one by one, physical and
// eSIM profiles' alike, and a card never set is not in it.
func TestSessionSet(t *testing.T) {
	var s sessionSet
	cards := []int{0, 63, 64, 1000, maxCards - 1, esimCardBase, esimCardBase + 65}
	for _, i := range cards {
		if s.has(i) {
			t.Fatalf("card %d in the empty set", i)
		}
		s.set(i, true)
	}
	for _, i := range cards {
		if !s.has(i) {
			t.Fatalf("card %d not in the set", i)
		}
	}
	for _, i := range []int{1, 62, 65, 999, 1001, esimCardBase + 1, esimCardBase + 64, esimCardBase + 1000} {
		if s.has(i) {
			t.Fatalf("card %d in the set, never added", i)
		}
	}
	s.set(esimCardBase+1000, false) // beyond what was grown: nothing to do
	for _, i := range cards {
		s.set(i, false)
		if s.has(i) {
			t.Fatalf("card %d still in the set after leaving", i)
		}
	}
}
