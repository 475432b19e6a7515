// Package at3gpp is the AT vocabulary that both ends of a cellular modem's
// serial line share: registration states (3GPP TS 27.007 <stat>), the
// +CME ERROR and +CMS ERROR codes and texts (27.007 §9.2, 27.005 §3.2.5),
// the V.250 final result codes, and parsers for the answers hosts read
// most (+CREG/+CGREG/+CEREG, +COPS, +CSQ).
//
// The virtual modem (package modem) writes this vocabulary, the serial
// client (package hw) and the scenario firmware read it; none of them
// keeps its own copy. The package imports only the standard library, and
// its parsers do not allocate except to return a list.
package at3gpp
