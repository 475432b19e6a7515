package hw

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/warthog618/modem/at"
)

// Sentinel errors of the client. Errors returned by Client.Command wrap one
// of these, a *CMEError or a *CMSError; test them with errors.Is and
// errors.As.
var (
	// ErrTimeout: the modem did not finish the command within its timeout.
	// The client resynchronises before the next command, so a late reply
	// is never taken for that command's answer.
	ErrTimeout = errors.New("hw: command timed out")
	// ErrError: the modem answered ERROR.
	ErrError = errors.New("hw: modem answered ERROR")
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
// Code is -1 when a verbose text is not one the client knows; Text is the
// standard text for a known code, or what the modem said.
type CMEError struct {
	Code int
	Text string
}

func (e *CMEError) Error() string {
	if e.Code < 0 {
		return "+CME ERROR: " + e.Text
	}
	if e.Text == "" {
		return fmt.Sprintf("+CME ERROR: %d", e.Code)
	}
	return fmt.Sprintf("+CME ERROR: %d (%s)", e.Code, e.Text)
}

// CMSError is a +CMS ERROR final result (27.005 §3.2.5), from SMS commands.
type CMSError struct {
	Code int // -1 when the modem gave text
	Text string
}

func (e *CMSError) Error() string {
	if e.Code < 0 {
		return "+CMS ERROR: " + e.Text
	}
	return fmt.Sprintf("+CMS ERROR: %d", e.Code)
}

// cmeTexts are the 27.007 §9.2 texts of the codes a cellular IoT module
// answers most, by code.
var cmeTexts = map[int]string{
	0: "phone failure", 1: "no connection to phone", 2: "phone-adaptor link reserved",
	3: "operation not allowed", 4: "operation not supported", 5: "PH-SIM PIN required",
	10: "SIM not inserted", 11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure",
	14: "SIM busy", 15: "SIM wrong", 16: "incorrect password", 17: "SIM PIN2 required",
	18: "SIM PUK2 required", 20: "memory full", 21: "invalid index", 22: "not found",
	23: "memory failure", 24: "text string too long", 25: "invalid characters in text string",
	26: "dial string too long", 27: "invalid characters in dial string", 30: "no network service",
	31: "network timeout", 32: "network not allowed - emergency calls only",
	50: "incorrect parameters", 100: "unknown",
	103: "Illegal MS", 106: "Illegal ME", 107: "GPRS services not allowed",
	111: "PLMN not allowed", 112: "Location area not allowed",
	113: "Roaming not allowed in this location area", 132: "service option not supported",
	133: "requested service option not subscribed", 134: "service option temporarily out of order",
	148: "unspecified GPRS error", 149: "PDP authentication failure",
}

// cmeCodes maps lower-case texts back to codes.
var cmeCodes = func() map[string]int {
	m := make(map[string]int, len(cmeTexts))
	for c, t := range cmeTexts {
		m[strings.ToLower(t)] = c
	}
	return m
}()

// newCMEError parses what follows "+CME ERROR:".
func newCMEError(s string) *CMEError {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return &CMEError{Code: n, Text: cmeTexts[n]}
	}
	if c, ok := cmeCodes[strings.ToLower(s)]; ok {
		return &CMEError{Code: c, Text: s}
	}
	return &CMEError{Code: -1, Text: s}
}

func newCMSError(s string) *CMSError {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return &CMSError{Code: n}
	}
	return &CMSError{Code: -1, Text: s}
}

// fromAT maps an error of the at package to the client's own.
func fromAT(err error) error {
	var cme at.CMEError
	var cms at.CMSError
	var conn at.ConnectError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &cme):
		return newCMEError(string(cme))
	case errors.As(err, &cms):
		return newCMSError(string(cms))
	case errors.As(err, &conn):
		return fmt.Errorf("%w: %s", ErrNoCarrier, string(conn))
	case errors.Is(err, at.ErrError):
		return ErrError
	case errors.Is(err, at.ErrDeadlineExceeded):
		return ErrTimeout
	}
	return err
}
