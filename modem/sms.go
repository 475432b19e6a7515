package modem

// smsCommands are the 3GPP TS 27.005 SMS commands, in text and PDU mode.
// They take precedence over the standard set.
var smsCommands = map[string]Handler{}
