package scenario

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/fleetsim/fleetsim/scenario/report"
)

// TestIPCommandsBothWays: each family's firmware opens a UDP socket to the
// IP Commands gateway with its own commands, sends a datagram every 10m
// (an IP Command from the SIM, received), reads the IP Command sent to its
// device port and answers it; the API lists both, and the trace shows the
// bytes the firmware wrote.
func TestIPCommandsBothWays(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	rep := runText(t, `
name: ip
duration: 30m
control:
  naps: [{name: eu, networks: [DE]}]
  fleets: [{name: f, nap: eu}]
devices:
  - {name: q, count: 2, module: bg96, fleet: f, location: DE, ip: {every: 10m, text: "t=21", port: 5683, reply: "ok"}}
  - {name: s, count: 2, module: sim7080, fleet: f, location: DE, ip: {every: 10m, text: "t=21", port: 5683, reply: "ok"}}
  - {name: o, count: 2, module: sim7000, fleet: f, location: DE, ip: {reply: "ok", port: 5683}}
  - {name: u, count: 2, module: sara-r4, fleet: f, location: DE, ip: {every: 10m, text: "t=21", port: 5683, reply: "ok"}}
timeline:
  - {at: 15m, ip: {group: q, text: reboot, port: 5683}}
  - {at: 15m, ip: {group: s, text: reboot, port: 5683}}
  - {at: 15m, ip: {group: o, text: reboot, port: 5683}}
  - {at: 15m, ip: {group: u, text: reboot, port: 5683}}
expect:
  - {name: sent, ip_commands: {direction: to_sim, status: sent, count: "== 8"}}
  - {name: q reports and replies, group: q, ip_commands: {direction: from_sim, status: received, count: "== 8"}}
  - {name: s reports and replies, group: s, ip_commands: {direction: from_sim, status: received, count: "== 8"}}
  - {name: o replies, group: o, ip_commands: {direction: from_sim, status: received, count: "== 2"}}
  - {name: u reports and replies, group: u, ip_commands: {direction: from_sim, status: received, count: "== 8"}}
`, Options{Trace: &trace})
	var buf bytes.Buffer
	report.WriteSummary(&buf, rep, false)
	assert.True(t, rep.Passed, "%s", buf.String())
	tr := trace.String()
	for _, want := range []string{
		`[q/0] > AT+QIACT=1\r`, `[q/0] > AT+QIOPEN=1,0,\"UDP\",\"100.64.0.1\",6969,5683,0\r`, `[q/0] > AT+QISEND=0,4\r`, `[q/0] > t=21`,
		`[q/0] < +QIURC: \"recv\",0`, `[q/0] > AT+QIRD=0\r`, `[q/0] < reboot\r\n`, `[q/0] > AT+QISEND=0,2\r`, `[q/0] > ok`,
		`[s/0] > AT+CNACT=0,1\r`, `[s/0] > AT+CACFG=\"LOCALPORT\",0,5683\r`, `[s/0] > AT+CAOPEN=0,0,\"UDP\",\"100.64.0.1\",6969\r`,
		`[s/0] > AT+CASEND=0,4\r`, `[s/0] < +CADATAIND: 0`, `[s/0] > AT+CARECV=0,1460\r`, `[s/0] < +CARECV: 6,reboot`, `[s/0] > AT+CASEND=0,2\r`,
		`[o/0] > AT+CNACT=1,\"super\"\r`, `[o/0] > AT+CAOPEN=0,\"UDP\",\"100.64.0.1\",6969\r`, `[o/0] > AT+CASEND=0,2\r`,
		`[u/0] > AT+USOCR=17,5683\r`, `[u/0] > AT+USOST=0,\"100.64.0.1\",6969,4\r`, `[u/0] < @`, `[u/0] < +UUSORF: 0,6`,
		`[u/0] > AT+USORF=0,1024\r`, `[u/0] < +USORF: 0,\"100.64.0.1\",6969,6,\"reboot\"`, `[u/0] > AT+USOST=0,\"100.64.0.1\",6969,2\r`,
	} {
		assert.Contains(t, tr, want)
	}
	assert.Equal(t, 3, strings.Count(tr, `[q/0] > t=21`), "a report every 10m for 30m")
	assert.NotContains(t, tr, "IP socket refused")
}

// TestIPOffWithoutGroupSetting: a group without ip: never touches sockets.
func TestIPOffWithoutGroupSetting(t *testing.T) {
	t.Parallel()
	var trace bytes.Buffer
	rep := runText(t, `
name: noip
duration: 20m
control:
  naps: [{name: eu, networks: [DE]}]
  fleets: [{name: f, nap: eu}]
devices:
  - {name: q, count: 2, module: bg96, fleet: f, location: DE, data: {every: 5m, bytes: 1KB}}
timeline:
  - {at: 10m, ip: {group: q, text: reboot, port: 5683}}
expect:
  - {name: sent, ip_commands: {direction: to_sim, status: sent, count: "== 2"}}
`, Options{Trace: &trace})
	assert.True(t, rep.Passed)
	for _, no := range []string{"AT+QIOPEN", "AT+QIRD", "AT+QISEND"} {
		assert.NotContains(t, trace.String(), no)
	}
}
