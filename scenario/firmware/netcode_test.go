package firmware

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetsim/fleetsim/sim"
)

func TestNetCodeKeepsThePLMN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want sim.PLMN
	}{
		{"23415", sim.PLMN{MCC: "234", MNC: "15"}},
		{"310410", sim.PLMN{MCC: "310", MNC: "410"}},
		{"26201", sim.PLMN{MCC: "262", MNC: "01"}},
		{"262001", sim.PLMN{MCC: "262", MNC: "001"}},
		{"00101", sim.PLMN{MCC: "001", MNC: "01"}},
		{"", sim.PLMN{}},
		{"2341", sim.PLMN{}},
		{"2341x", sim.PLMN{}},
		{"2341500", sim.PLMN{}},
	} {
		c := ParseNetCode(tc.in)
		assert.Equal(t, tc.want, c.PLMN(), tc.in)
		assert.Equal(t, c, CodeOf(tc.want), tc.in)
		if tc.want != (sim.PLMN{}) {
			assert.Equal(t, tc.in, c.String())
		}
	}
	assert.NotEqual(t, ParseNetCode("26201"), ParseNetCode("262001"), "a 2- and a 3-digit MNC differ")
}
