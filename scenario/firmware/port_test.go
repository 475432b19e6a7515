package firmware

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

func TestIsInfo(t *testing.T) {
	for _, tc := range []struct {
		cmd, line string
		want      bool
	}{
		{"AT+CEREG?", "+CEREG: 2,5", true},
		{"AT+CEREG?", "+CEREG:2,5", true},
		{"at+cops?", "+COPS: 0,2,\"23415\",7", true},
		{`AT+COPS=1,2,"23430"`, "+COPS: 0", true},
		{"AT+CEREG?", "+CEREGX: 1", false},
		{"AT+CEREG?", "+CEREG", false},
		{"AT+COPS?", "+CEREG: 5", false},
		{"ATE0;+CMEE=1;+CEREG=2;+COPS=3,2", "+CEREG: 2", false},
		{"ATD*99***1#", "CONNECT", false},
		{"+++", "OK", false},
	} {
		assert.Equal(t, tc.want, isInfo(tc.cmd, tc.line), "%q after %q", tc.line, tc.cmd)
	}
}

// TestLinkPortAnswerAcrossWrites: an answer's information lines and its
// final result may come in separate writes; an indication between them
// goes to the firmware at once, the answer once the final result is in.
func TestLinkPortAnswerAcrossWrites(t *testing.T) {
	d := &Device{Group: &Group{Spec: &spec.Group{}, env: &Env{}}, State: at3gpp.RegRoaming, step: stepOperator}
	d.lp.cmd = "AT+COPS?"
	d.lp.inbox = &[]string{`+COPS: 0,2,"23415",7`, "+CEREG: 2"}
	d.handle()
	assert.Equal(t, at3gpp.RegSearching, d.State, "the indication is handled at once")
	assert.Equal(t, sim.PLMN{}, d.Net.PLMN(), "no answer before its final result")
	assert.Equal(t, []string{`+COPS: 0,2,"23415",7`}, *d.lp.inbox, "the information line waits")
	*d.lp.inbox = append(*d.lp.inbox, "OK")
	d.handle()
	assert.Equal(t, sim.PLMN{MCC: "234", MNC: "15"}, d.Net.PLMN())
	assert.Equal(t, stepNone, d.step)
	assert.Empty(t, d.lp.cmd)
	assert.Nil(t, d.lp.inbox)
}
