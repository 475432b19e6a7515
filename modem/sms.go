package modem

import "github.com/fleetsim/fleetsim/sim"

// smsCommands are the 3GPP TS 27.005 SMS commands, in text and PDU mode.
// They take precedence over the standard set.
var smsCommands = map[string]Handler{}

// smsEvent handles an SMS Command the network has for this modem's SIM.
func (m *Modem) smsEvent(e sim.Event) {}
