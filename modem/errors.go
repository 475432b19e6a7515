package modem

import (
	"errors"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// CMEError is a final result "+CME ERROR: <code>" of 3GPP TS 27.007 §9.2,
// the one type the modem, the hw client and the scenario firmware share.
// The modem makes it with a Code only and writes it as plain ERROR, the
// number or the text (the profile's own, else 27.007's) as AT+CMEE says.
type CMEError = at3gpp.CMEError

// ErrError is the plain final result ERROR (a syntax error, an unknown
// command, a line too long).
var ErrError = errors.New("ERROR")

// 27.007 §9.2 codes the modem uses, named in the shared vocabulary.
const (
	CMEPhoneFailure        = at3gpp.CMEPhoneFailure
	CMENotAllowed          = at3gpp.CMENotAllowed
	CMENotSupported        = at3gpp.CMENotSupported
	CMESIMNotInserted      = at3gpp.CMESIMNotInserted
	CMENotFound            = at3gpp.CMENotFound
	CMETextTooLong         = at3gpp.CMETextTooLong
	CMENoNetwork           = at3gpp.CMENoNetwork
	CMENetworkTimeout      = at3gpp.CMENetworkTimeout
	CMEIncorrectParameters = at3gpp.CMEIncorrectParameters
	CMEUnknown             = at3gpp.CMEUnknown
	CMEPLMNNotAllowed      = at3gpp.CMEPLMNNotAllowed    // EMM cause #11
	CMERoamingNotAllowed   = at3gpp.CMERoamingNotAllowed // EMM cause #13
	CMEServiceNotSubscr    = at3gpp.CMEServiceNotSubscr  // ESM cause #33
	CMEUnspecifiedGPRS     = at3gpp.CMEUnspecifiedGPRS
)

func cme(code int) error { return &CMEError{Code: code} }
