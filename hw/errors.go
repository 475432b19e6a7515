package hw

import (
	"errors"
	"fmt"

	"github.com/warthog618/modem/at"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// Sentinel errors of the client. Errors returned by Client.Command wrap one
// of these, a *CMEError or a *CMSError; test them with errors.Is and
// errors.As.
var (
	// ErrTimeout: the modem did not finish the command within its timeout.
	// The client resynchronises before the next command, so a late reply
	// is never taken for that command's answer.
	ErrTimeout = errors.New("hw: command timed out")
	// ErrError: the modem answered ERROR. It wraps at3gpp.ResultError,
	// the plain ERROR the virtual modem's side knows.
	ErrError = fmt.Errorf("hw: modem answered %w", at3gpp.ResultError)
	// ErrDisconnected: the port is gone (unplugged, closed by the far end)
	// and the client has not reconnected yet.
	ErrDisconnected = errors.New("hw: port disconnected")
	// ErrRebooted: the modem restarted (RDY or POWERED DOWN) while the
	// command was in progress.
	ErrRebooted = errors.New("hw: modem restarted during the command")
	// ErrNotSynced: after a timeout the client could not get the modem to
	// answer a probe, so it does not know which reply belongs to what.
	ErrNotSynced = errors.New("hw: modem not in sync")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("hw: client closed")
	// ErrNoCarrier: a dial or data command ended with NO CARRIER, BUSY,
	// NO ANSWER or NO DIALTONE.
	ErrNoCarrier = errors.New("hw: no carrier")
)

// CMEError is a +CME ERROR final result (3GPP TS 27.007 §9.2): mobile
// termination errors, in numeric (AT+CMEE=1) or verbose (AT+CMEE=2) form.
// Code is -1 when a verbose text is not one 27.007 has; Text is the
// standard text for a known code, or what the modem said. It is the type
// the virtual modem and the scenario firmware use too.
type CMEError = at3gpp.CMEError

// CMSError is a +CMS ERROR final result (27.005 §3.2.5), from SMS commands,
// with Code and Text as in CMEError.
type CMSError = at3gpp.CMSError

// fromAT maps an error of the at package to the client's own.
func fromAT(err error) error {
	var cme at.CMEError
	var cms at.CMSError
	var conn at.ConnectError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &cme):
		return at3gpp.ParseCMEError(string(cme))
	case errors.As(err, &cms):
		return at3gpp.ParseCMSError(string(cms))
	case errors.As(err, &conn):
		if res, ok := at3gpp.FinalError(string(conn)).(at3gpp.Result); ok && res != at3gpp.ResultError {
			return fmt.Errorf("%w: %w", ErrNoCarrier, res) // errors.Is(err, at3gpp.ResultBusy) holds
		}
		return fmt.Errorf("%w: %s", ErrNoCarrier, string(conn))
	case errors.Is(err, at.ErrError):
		return ErrError
	case errors.Is(err, at.ErrDeadlineExceeded):
		return ErrTimeout
	}
	return err
}
