package at3gpp

// CMSError is a +CMS ERROR final result (27.005 §3.2.5), from an SMS
// command: 0..127 are RP causes of 24.011 Annex E.2, 128..255 TP causes of
// 23.040 §9.2.3.22, 300..500 the ME's own. Code and Text are as in
// CMEError.
type CMSError struct {
	Code int
	Text string
}

// Error is "+CMS ERROR: <code> (<text>)".
func (e *CMSError) Error() string { return errorString("+CMS ERROR: ", e.Code, e.Text, CMSText) }

// Verbose is the error's text for AT+CMEE=2: its own, else the table's,
// else "unknown error".
func (e *CMSError) Verbose() string { return verbose(e.Code, e.Text, CMSText, "unknown error") }

// Codes of 27.005 §3.2.5 and 24.011 with a name.
const (
	CMSTransferRejected   = 21  // RP cause #21
	CMSFacilityNotSubscr  = 50  // RP cause #50
	CMSMEFailure          = 300 // ME failure
	CMSNotAllowed         = 302 // operation not allowed
	CMSNotSupported       = 303 // operation not supported
	CMSInvalidPDUParam    = 304 // invalid PDU mode parameter
	CMSInvalidTextParam   = 305 // invalid text mode parameter
	CMSSIMNotInserted     = 310
	CMSMemoryFailure      = 320
	CMSInvalidMemoryIndex = 321 // invalid memory index
	CMSMemoryFull         = 322 // memory full
	CMSSMSCUnknown        = 330
	CMSNoNetwork          = 331 // no network service
	CMSNetworkTimeout     = 332
	CMSNoCNMAExpected     = 340
	CMSUnknown            = 500 // unknown error
)

// cmsTable holds the RP causes a network answers an MO SMS with (24.011
// Annex E.2) and 27.005 §3.2.5's ME and SIM errors, by code.
var cmsTable = []codeText{
	{1, "Unassigned (unallocated) number"}, {8, "Operator determined barring"}, {10, "Call barred"},
	{21, "Short message transfer rejected"}, {27, "Destination out of service"},
	{28, "Unidentified subscriber"}, {29, "Facility rejected"}, {30, "Unknown subscriber"},
	{38, "Network out of order"}, {41, "Temporary failure"}, {42, "Congestion"},
	{47, "Resources unavailable, unspecified"}, {50, "Requested facility not subscribed"},
	{69, "Requested facility not implemented"}, {111, "Protocol error, unspecified"},
	{127, "Interworking, unspecified"},
	{300, "ME failure"}, {301, "SMS service of ME reserved"}, {302, "operation not allowed"},
	{303, "operation not supported"}, {304, "invalid PDU mode parameter"},
	{305, "invalid text mode parameter"}, {310, "SIM not inserted"}, {311, "SIM PIN required"},
	{312, "PH-SIM PIN required"}, {313, "SIM failure"}, {314, "SIM busy"}, {315, "SIM wrong"},
	{316, "SIM PUK required"}, {317, "SIM PIN2 required"}, {318, "SIM PUK2 required"},
	{320, "memory failure"}, {321, "invalid memory index"}, {322, "memory full"},
	{330, "SMSC address unknown"}, {331, "no network service"}, {332, "network timeout"},
	{340, "no +CNMA acknowledgement expected"}, {500, "unknown error"},
}

// CMSText is the text of a +CMS ERROR code, "" for a code not in the table.
func CMSText(code int) string { return lookupText(cmsTable, code) }

// CMSCode is the code of a +CMS ERROR text, matched as CMECode matches.
func CMSCode(text string) (code int, ok bool) { return lookupCode(cmsTable, text) }

// ParseCMSError reads what follows "+CMS ERROR:", as ParseCMEError does.
func ParseCMSError(s string) *CMSError {
	code, text := parseErr(cmsTable, s)
	return &CMSError{Code: code, Text: text}
}
