package scenario

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetsim/fleetsim/scenario/report"
)

// TestSMSCommandsRoundTrip: an SMS Command sent to a group through the API
// reaches each device's firmware, which reads it with AT+CMGR and answers
// with AT+CMGS to 000; the API then lists both, and the trace shows the
// bytes the firmware typed.
func TestSMSCommandsRoundTrip(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	rep := runText(t, `
name: sms
duration: 30m
control:
  naps: [{name: uk, networks: [GB]}]
  fleets: [{name: f, nap: uk}]
devices:
  - {name: q, count: 3, module: bg96, fleet: f, location: GB, sms: {reply: "ok 1"}}
  - {name: s, count: 3, module: sim7080, fleet: f, location: GB, sms: {every: 10m, text: "hello"}}
timeline:
  - {at: 5m, sms: {group: q, text: reboot}}
  - {at: 5m, sms: {group: s, text: reboot}}
expect:
  - {name: delivered, sms_commands: {direction: to_sim, status: delivered, count: "== 6"}}
  - {name: fast, sms_commands: {direction: to_sim, status: delivered, latency: {p: 100, max: "<= 2s"}}}
  - {name: replies, group: q, sms_commands: {direction: from_sim, status: received, count: "== 3"}}
  - {name: reports, group: s, sms_commands: {direction: from_sim, status: received, count: "== 9"}}
`, Options{Trace: &trace})
	var buf bytes.Buffer
	report.WriteSummary(&buf, rep, false)
	assert.True(t, rep.Passed, "%s", buf.String())
	tr := trace.String()
	for _, want := range []string{
		`[q/0] < +CMTI: \"SM\",0`, `[q/0] > AT+CMGR=0\r`, `[q/0] < reboot\r\n`, `[q/0] > AT+CMGD=0\r`, `[q/0] > AT+CMGS=\"000\"\r`, `[q/0] > ok 1\x1a`,
		`[s/0] > hello\x1a`,
	} {
		assert.Contains(t, tr, want)
	}
	assert.Equal(t, 3, strings.Count(tr, `[s/0] > hello\x1a`), "a report every 10m for 30m")
}
