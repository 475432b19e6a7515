package modem

import (
	"errors"
	"fmt"
)

// CMEError is a final result "+CME ERROR: <code>" of 3GPP TS 27.007 §9.2.
// It is written as plain ERROR, the number or the text, as AT+CMEE says.
type CMEError struct{ Code int }

func (e *CMEError) Error() string { return fmt.Sprintf("+CME ERROR: %d (%s)", e.Code, CMEText(e.Code)) }

// ErrError is the plain final result ERROR (a syntax error, an unknown
// command, a line too long).
var ErrError = errors.New("ERROR")

// 27.007 §9.2 codes the modem uses.
const (
	CMEPhoneFailure        = 0
	CMENotAllowed          = 3
	CMENotSupported        = 4
	CMESIMNotInserted      = 10
	CMENotFound            = 22
	CMETextTooLong         = 24
	CMENoNetwork           = 30
	CMENetworkTimeout      = 31
	CMEIncorrectParameters = 50
	CMEUnknown             = 100
	CMEPLMNNotAllowed      = 111 // EMM cause #11
	CMERoamingNotAllowed   = 113 // EMM cause #13
	CMEServiceNotSubscr    = 133 // ESM cause #33
	CMEUnspecifiedGPRS     = 148
)

func cme(code int) error { return &CMEError{Code: code} }

var cmeTexts = map[int]string{
	0: "phone failure", 1: "no connection to phone", 2: "phone-adaptor link reserved",
	3: "operation not allowed", 4: "operation not supported", 5: "PH-SIM PIN required",
	10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure",
	14: "SIM busy", 15: "SIM wrong", 16: "incorrect password", 20: "memory full",
	21: "invalid index", 22: "not found", 23: "memory failure", 24: "text string too long",
	25: "invalid characters in text string", 26: "dial string too long",
	27: "invalid characters in dial string", 30: "no network service", 31: "network timeout",
	32: "network not allowed - emergency calls only", 50: "Incorrect parameters", 100: "unknown",
	103: "Illegal MS", 106: "Illegal ME", 107: "GPRS services not allowed", 108: "GPRS and non-GPRS services not allowed",
	111: "PLMN not allowed", 112: "Location area not allowed",
	113: "Roaming not allowed in this location area", 115: "No suitable cells in location area",
	126: "insufficient resources", 127: "missing or unknown APN",
	132: "service option not supported", 133: "requested service option not subscribed",
	134: "service option temporarily out of order", 148: "unspecified GPRS error",
}

// CMEText is the verbose text of a +CME ERROR code.
func CMEText(code int) string {
	if t, ok := cmeTexts[code]; ok {
		return t
	}
	return "unknown"
}
