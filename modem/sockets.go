package modem

// socketCommands are the Quectel TCP/IP commands (AT+QIOPEN and the
// others). On Quectel profiles they take precedence over the profile's own.
var socketCommands = map[string]Handler{}
