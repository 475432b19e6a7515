package modem

import "github.com/fleetsim/fleetsim/sim"

// socketCommands are the Quectel TCP/IP commands (AT+QIOPEN and the
// others). On Quectel profiles they take precedence over the profile's own.
var socketCommands = map[string]Handler{}

// ipEvent handles an IP Command the network has for this modem's SIM.
func (m *Modem) ipEvent(e sim.Event) {}
