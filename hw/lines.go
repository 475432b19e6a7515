package hw

import (
	"strings"
	"unicode/utf8"
)

// MaxLine is the longest line the client accepts from a modem; the rest of
// a longer line is discarded up to its end, and the client carries on.
// An AT+COPS=? answer listing a dozen networks is well under 2 KiB.
const MaxLine = 8192

// framerState is where the framer is within a line.
type framerState uint8

const (
	frText     framerState = iota // inside a line (or between lines)
	frOverflow                    // past MaxLine: discarding up to the next terminator
	frPrompt                      // after a data prompt: skipping the blanks that follow it
)

// framer turns the bytes a modem sends into lines: a line ends at CR or
// LF (so CR LF, LF CR and lone terminators all work); empty lines are
// skipped. Control characters other than tab and bytes that are not
// UTF-8 are noise and are dropped, so garbage at a baud-rate change or a
// reboot does not corrupt the line around it. Fed one byte or a whole
// chunk at a time it emits the same lines.
//
// While prompt is set (a command that prompts for data is waiting for
// its prompt), a '>' or '@' at the start of a line is a line of its own
// at once, as modules send the prompt without a terminator ("> " for
// AT+CMGS, AT+QISEND and AT+CASEND, "@" for u-blox's AT+USOST), and the
// blanks after it are dropped.
type framer struct {
	st       framerState
	buf      []byte
	overflow int  // lines cut at MaxLine so far
	prompt   bool // a data prompt may come; cleared by the prompt
	prompts  int  // prompts emitted so far
}

// feed frames b and calls emit for every complete, non-empty line. The
// string passed to emit is a copy.
func (f *framer) feed(b []byte, emit func(string)) {
	for _, c := range b {
		switch {
		case f.st == frPrompt && c == ' ':
			continue
		case f.prompt && len(f.buf) == 0 && f.st != frOverflow && (c == '>' || c == '@'):
			f.st, f.prompt = frPrompt, false
			f.prompts++
			emit(string(c))
			continue
		case f.st == frPrompt:
			f.st = frText
		}
		switch {
		case c == '\r' || c == '\n':
			if f.st == frText && len(f.buf) > 0 {
				if l := clean(f.buf); l != "" { // blanks only: an empty line
					emit(l)
				}
			}
			f.buf, f.st = f.buf[:0], frText
		case f.st == frOverflow:
		case c < 0x20 && c != '\t', c == 0x7f:
			// noise
		case len(f.buf) >= MaxLine:
			f.st = frOverflow
			f.overflow++
		default:
			f.buf = append(f.buf, c)
		}
	}
}

// clean returns the line with invalid UTF-8 removed and surrounding
// blanks trimmed.
func clean(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	return strings.TrimSpace(s)
}

// finalKind is how a line ends a command.
type finalKind uint8

const (
	notFinal finalKind = iota
	finalOK
	finalError   // ERROR, +CME ERROR, +CMS ERROR
	finalConnect // CONNECT after ATD
	finalCarrier // NO CARRIER, BUSY, NO ANSWER, NO DIALTONE after ATD
)

// final classifies line as a final result code of a command with ID id
// (see cmdID), as at's parser does.
func final(line, id string) finalKind {
	switch {
	case line == "OK":
		return finalOK
	case strings.HasPrefix(line, "ERROR"), strings.HasPrefix(line, "+CME ERROR:"), strings.HasPrefix(line, "+CMS ERROR:"):
		return finalError
	case !strings.HasPrefix(id, "D"):
		return notFinal
	case strings.HasPrefix(line, "CONNECT"):
		return finalConnect
	case line == "NO CARRIER", line == "BUSY", line == "NO ANSWER", line == "NO DIALTONE":
		return finalCarrier
	}
	return notFinal
}

// cmdID is the part of a command (without AT) before '=' or '?', upper
// case: "+CEREG" for "+cereg?", as the at package identifies info lines.
func cmdID(cmd string) string {
	if i := strings.IndexAny(cmd, "=?"); i >= 0 {
		cmd = cmd[:i]
	}
	return strings.ToUpper(cmd)
}

// defaultURCs are the unsolicited result codes of 27.007 and of the
// modules fleetsim knows that arrive at any time, by prefix.
var defaultURCs = []string{
	"+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CGEV:", "+CPIN:", "+CFUN:",
	"+CMTI:", "+CMT:", "+CDS:", "+CBM:", "+CUSD:", "+CIEV:", "+CRING:", "RING",
	"+CTZV:", "+CTZE:", "+CTZEU:", "+CSCON:", "+CEDRXP:", "+CCIOTOPTI:",
	"RDY", "APP RDY", "POWERED DOWN", "NORMAL POWER DOWN", "NO CARRIER",
	"+QIND:", "+QUSIM:", "+QIURC:", "+QPSMTIMER:", "+QMTSTAT:", "+QMTRECV:",
	"+CPSMSTATUS:", "+UUPSDA:", "+UUPSDD:", "^SYSSTART", "+SYSSTART",
	"+APP PDP:", "+CADATAIND:", "+CASTATE:", "+UUSORF:", "+UUSORD:", "+UUSOCL:",
}

// rebootURC reports whether line says that the modem (re)started or
// powered down.
func rebootURC(line string) bool {
	switch line {
	case "RDY", "POWERED DOWN", "NORMAL POWER DOWN", "^SYSSTART", "+SYSSTART":
		return true
	}
	return false
}

// regIDs are the registration commands whose read answer and URC share a
// prefix.
var regIDs = map[string]bool{"+CREG": true, "+CGREG": true, "+CEREG": true, "+C5GREG": true}

// regReadShape reports whether a +CxREG line is the answer to a read
// (<n>,<stat>[,...]) rather than an indication (<stat>[,<lac/tac>,...]):
// an answer has at least two fields and its second is a bare number; an
// indication has one field or a quoted (or empty) area code second.
func regReadShape(line string) bool {
	i := strings.IndexByte(line, ':')
	if i < 0 {
		return false
	}
	fields := strings.Split(strings.TrimSpace(line[i+1:]), ",")
	if len(fields) < 2 {
		return false
	}
	f := strings.TrimSpace(fields[1])
	if f == "" {
		return false
	}
	for _, c := range f {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// unsolicited reports whether line is an indication rather than part of
// the answer to the pending command with ID id ("" if none). urcs are the
// prefixes taken for indications.
func unsolicited(line, id string, urcs []string) bool {
	match := false
	for _, p := range urcs {
		if p != "" && strings.HasPrefix(line, p) {
			match = true
			break
		}
	}
	if !match {
		return false
	}
	switch {
	case id == "":
		return true
	case strings.HasPrefix(id, "D") && line == "NO CARRIER":
		return false // the dial's final result
	case strings.HasPrefix(line, id+":"):
		if regIDs[id] {
			return !regReadShape(line)
		}
		return false // the answer to the query, which looks like the URC
	}
	return true
}
