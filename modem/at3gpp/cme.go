package at3gpp

import (
	"slices"
	"strconv"
	"strings"
)

// CMEError is a +CME ERROR final result (27.007 §9.2): a mobile
// termination error, written as a number (AT+CMEE=1) or a text
// (AT+CMEE=2). Code is -1 for a text that is not in 27.007's table (a
// vendor's own). Text is what the modem said, or 27.007's text when it
// gave the number; a modem making the error leaves it empty, and writes
// plain ERROR, the number or the text (its own or 27.007's) as AT+CMEE
// says.
type CMEError struct {
	Code int
	Text string
}

// Error is "+CME ERROR: <code> (<text>)", with 27.007's text when the
// error has none of its own.
func (e *CMEError) Error() string { return errorString("+CME ERROR: ", e.Code, e.Text, CMEText) }

func errorString(prefix string, code int, text string, table func(int) string) string {
	if code < 0 {
		return prefix + text
	}
	if text == "" {
		text = table(code)
	}
	if text == "" {
		return prefix + strconv.Itoa(code)
	}
	return prefix + strconv.Itoa(code) + " (" + text + ")"
}

// Verbose is the error's text for AT+CMEE=2: its own, else 27.007's, else
// "unknown".
func (e *CMEError) Verbose() string { return verbose(e.Code, e.Text, CMEText, "unknown") }

func verbose(code int, text string, table func(int) string, unknown string) string {
	if text != "" {
		return text
	}
	if t := table(code); t != "" {
		return t
	}
	return unknown
}

// Codes of 27.007 §9.2 with a name, for the modem's handlers; CMEText has
// the texts of these and more.
const (
	CMEPhoneFailure        = 0
	CMENotAllowed          = 3
	CMENotSupported        = 4
	CMESIMNotInserted      = 10
	CMESIMPINRequired      = 11
	CMESIMFailure          = 13
	CMESIMBusy             = 14
	CMEIncorrectPassword   = 16
	CMEMemoryFull          = 20
	CMEInvalidIndex        = 21
	CMENotFound            = 22
	CMETextTooLong         = 24
	CMENoNetwork           = 30
	CMENetworkTimeout      = 31
	CMEIncorrectParameters = 50
	CMEUnknown             = 100
	CMEIllegalMS           = 103 // EMM/GMM cause #3
	CMEIllegalME           = 106 // #6
	CMEServicesNotAllowed  = 107 // #7
	CMEAllNotAllowed       = 108 // #8
	CMEPLMNNotAllowed      = 111 // #11
	CMEAreaNotAllowed      = 112 // #12
	CMERoamingNotAllowed   = 113 // #13
	CMENoSuitableCells     = 115 // #15
	CMEMissingAPN          = 127 // ESM cause #27
	CMEServiceNotSubscr    = 133 // ESM cause #33
	CMEUnspecifiedGPRS     = 148
	CMEPDPAuthFailure      = 149
)

type codeText struct {
	code int
	text string
}

// cmeTable is 27.007 §9.2 (§9.2.1 general, §9.2.2 GPRS and EPS), each text
// as 27.007 writes it, by code.
var cmeTable = []codeText{
	{0, "phone failure"}, {1, "no connection to phone"}, {2, "phone-adaptor link reserved"},
	{3, "operation not allowed"}, {4, "operation not supported"}, {5, "PH-SIM PIN required"},
	{6, "PH-FSIM PIN required"}, {7, "PH-FSIM PUK required"},
	{10, "SIM not inserted"}, {11, "SIM PIN required"}, {12, "SIM PUK required"}, {13, "SIM failure"},
	{14, "SIM busy"}, {15, "SIM wrong"}, {16, "incorrect password"}, {17, "SIM PIN2 required"},
	{18, "SIM PUK2 required"}, {20, "memory full"}, {21, "invalid index"}, {22, "not found"},
	{23, "memory failure"}, {24, "text string too long"}, {25, "invalid characters in text string"},
	{26, "dial string too long"}, {27, "invalid characters in dial string"},
	{30, "no network service"}, {31, "network timeout"}, {32, "network not allowed - emergency calls only"},
	{40, "network personalization PIN required"}, {41, "network personalization PUK required"},
	{42, "network subset personalization PIN required"}, {43, "network subset personalization PUK required"},
	{44, "service provider personalization PIN required"}, {45, "service provider personalization PUK required"},
	{46, "corporate personalization PIN required"}, {47, "corporate personalization PUK required"},
	{48, "hidden key required"}, {49, "EAP method not supported"}, {50, "Incorrect parameters"},
	{51, "command implemented but currently disabled"}, {52, "command aborted by user"},
	{100, "unknown"},
	{103, "Illegal MS"}, {106, "Illegal ME"}, {107, "GPRS services not allowed"},
	{108, "GPRS services and non-GPRS services not allowed"}, {111, "PLMN not allowed"},
	{112, "Location area not allowed"}, {113, "Roaming not allowed in this location area"},
	{114, "GPRS services not allowed in this PLMN"}, {115, "No Suitable Cells In Location Area"},
	{122, "Congestion"}, {126, "insufficient resources"}, {127, "missing or unknown APN"},
	{128, "unknown PDP address or PDP type"}, {129, "user authentication failed"},
	{130, "activation rejected by GGSN, Serving GW or PDN GW"}, {131, "activation rejected, unspecified"},
	{132, "service option not supported"}, {133, "requested service option not subscribed"},
	{134, "service option temporarily out of order"}, {148, "unspecified GPRS error"},
	{149, "PDP authentication failure"}, {150, "invalid mobile class"},
}

// CMEText is 27.007's text of a +CME ERROR code, "" for a code it has not.
func CMEText(code int) string { return lookupText(cmeTable, code) }

// CMECode is the code of a 27.007 +CME ERROR text, matched as modems vary
// it (case, blanks around, a final period); ok is false for a text not in
// the table.
func CMECode(text string) (code int, ok bool) { return lookupCode(cmeTable, text) }

// ParseCMEError reads what follows "+CME ERROR:": a number (Text is then
// 27.007's text, if it has one), or a text (Code -1 when 27.007 has not
// that text).
func ParseCMEError(s string) *CMEError {
	code, text := parseErr(cmeTable, s)
	return &CMEError{Code: code, Text: text}
}

func lookupText(t []codeText, code int) string {
	if i, ok := slices.BinarySearchFunc(t, code, func(e codeText, c int) int { return e.code - c }); ok {
		return t[i].text
	}
	return ""
}

func lookupCode(t []codeText, text string) (int, bool) {
	text = strings.TrimSuffix(strings.TrimSpace(text), ".")
	for _, e := range t {
		if strings.EqualFold(e.text, text) {
			return e.code, true
		}
	}
	return 0, false
}

func parseErr(t []codeText, s string) (int, string) {
	s = strings.TrimSpace(s)
	if n, err := (field{s: s}).uint(1 << 16); err == nil {
		return n, lookupText(t, n)
	}
	if c, ok := lookupCode(t, s); ok {
		return c, s
	}
	return -1, s
}
