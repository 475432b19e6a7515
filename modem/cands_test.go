package modem

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetsim/fleetsim/sim"
)

// TestCandidatesShareTheCells checks that a selection's candidates are
// the kept cells in order, share the scanned slice when a bit set can say
// which, and are copied past 64 cells.
func TestCandidatesShareTheCells(t *testing.T) {
	mk := func(n int) []Cell {
		cells := make([]Cell, n)
		for i := range cells {
			cells[i].PLMN = sim.PLMN{MCC: "001", MNC: fmt.Sprintf("%03d", i)}
		}
		return cells
	}
	walk := func(c cands) (out []string) {
		for ; !c.empty(); c = c.rest() {
			out = append(out, c.first().PLMN.MNC)
		}
		return out
	}
	odd := func(c Cell) bool { return c.PLMN.MNC[2]%2 == 1 }

	cells := mk(8)
	c := candidatesOf(cells, odd)
	assert.Equal(t, []string{"001", "003", "005", "007"}, walk(c))
	assert.Same(t, &cells[0], &c.cells[0], "the scan's cells are shared, not copied")
	assert.Empty(t, walk(candidatesOf(cells, func(Cell) bool { return false })))

	big := mk(70)
	c = candidatesOf(big, func(c Cell) bool { return c.PLMN.MNC >= "060" })
	assert.Equal(t, []string{"060", "061", "062", "063", "064", "065", "066", "067", "068", "069"}, walk(c))
	assert.NotSame(t, &big[60], &c.cells[0], "past 64 cells the candidates are a copy")
	assert.Len(t, walk(candidatesOf(big, func(Cell) bool { return true })), 70, "every one of 70 cells is tried")
}
