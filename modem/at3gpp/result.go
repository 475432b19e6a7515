package at3gpp

import (
	"strconv"
	"strings"
)

// Result is a V.250 final result code, by its number (what ATV0 prints).
// A failing result is an error itself, so errors.Is(err, ResultNoCarrier)
// holds for an error that is or wraps it.
type Result uint8

// The V.250 result codes that end a command.
const (
	ResultOK         Result = 0
	ResultConnect    Result = 1
	ResultRing       Result = 2 // an indication, not a command's end
	ResultNoCarrier  Result = 3
	ResultError      Result = 4
	ResultNoDialtone Result = 6
	ResultBusy       Result = 7
	ResultNoAnswer   Result = 8
)

var resultText = [...]string{
	ResultOK: "OK", ResultConnect: "CONNECT", ResultRing: "RING", ResultNoCarrier: "NO CARRIER",
	ResultError: "ERROR", ResultNoDialtone: "NO DIALTONE", ResultBusy: "BUSY", ResultNoAnswer: "NO ANSWER",
}

// String is the verbose form (ATV1): "NO CARRIER".
func (r Result) String() string {
	if int(r) < len(resultText) && resultText[r] != "" {
		return resultText[r]
	}
	return "result " + strconv.Itoa(int(r))
}

func (r Result) Error() string { return r.String() }

// IsFinal reports whether a line (without its CR LF) ends a command: a
// V.250 final result (OK, CONNECT[ <text>], ERROR, NO CARRIER, BUSY, NO
// ANSWER, NO DIALTONE), +CME ERROR: or +CMS ERROR:.
func IsFinal(line string) bool {
	switch line {
	case "OK", "CONNECT", "ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
		return true
	}
	return strings.HasPrefix(line, "CONNECT ") || strings.HasPrefix(line, "+CME ERROR:") ||
		strings.HasPrefix(line, "+CMS ERROR:")
}

// FinalError is the outcome a final result line stands for: nil for OK
// and CONNECT, a *CMEError, a *CMSError, or the failing Result. A line
// that is not final (see IsFinal) is ResultError.
func FinalError(line string) error {
	switch line {
	case "OK", "CONNECT":
		return nil
	case "NO CARRIER":
		return ResultNoCarrier
	case "BUSY":
		return ResultBusy
	case "NO ANSWER":
		return ResultNoAnswer
	case "NO DIALTONE":
		return ResultNoDialtone
	}
	if v, ok := strings.CutPrefix(line, "+CME ERROR:"); ok {
		return ParseCMEError(v)
	}
	if v, ok := strings.CutPrefix(line, "+CMS ERROR:"); ok {
		return ParseCMSError(v)
	}
	if strings.HasPrefix(line, "CONNECT ") {
		return nil
	}
	return ResultError
}
