package modem

// lineState is where the command line reader is in V.250's line syntax.
type lineState uint8

const (
	stIdle     lineState = iota // between lines: everything up to an "A" is ignored
	stA                         // after "A": "T" starts a line, "/" repeats the last one
	stLine                      // inside "AT...": collecting the body up to S3
	stOverflow                  // the body passed the length cap: discarding up to S3
)

// lineEvent is what one input byte completes.
type lineEvent uint8

const (
	evNone     lineEvent = iota
	evLine               // a command line ended: body holds what follows "AT"
	evRepeat             // "A/": run the previous line again
	evOverflow           // a command line ended after passing the cap
)

// lineReader turns bytes into command lines, one byte at a time, so a line
// fed byte by byte and in one chunk gives the same events. Its buffer grows
// to the longest line seen (at most max) and is then reused; it survives
// any input: NULs and bytes outside command lines are dropped.
type lineReader struct {
	st   lineState
	body []byte // the current line after "AT", at most max bytes
	max  int
}

func newLineReader(max int) *lineReader {
	return &lineReader{max: max} // the buffer grows on use: most modems idle
}

// feed consumes one byte. s3 ends a line (LF does too, so that hosts
// ending lines with LF or CRLF work) and s5 deletes the previous character.
// echo reports whether the byte belongs to a command line and is echoed.
func (r *lineReader) feed(b, s3, s5 byte) (ev lineEvent, echo bool) {
	if b == 0 {
		return evNone, false
	}
	switch r.st {
	case stIdle:
		if b == 'A' || b == 'a' {
			r.st = stA
			return evNone, true
		}
		return evNone, false
	case stA:
		switch b {
		case 'T', 't':
			r.st, r.body = stLine, r.body[:0]
			return evNone, true
		case '/':
			r.st = stIdle
			return evRepeat, true
		case 'A', 'a':
			return evNone, true
		}
		r.st = stIdle
		return evNone, false
	case stLine, stOverflow:
		switch {
		case b == s3 || b == '\n':
			ev := evLine
			if r.st == stOverflow {
				ev = evOverflow
			}
			r.st = stIdle
			return ev, b == s3
		case b == s5:
			if r.st == stLine && len(r.body) > 0 {
				r.body = r.body[:len(r.body)-1]
			}
			return evNone, true
		case r.st == stOverflow:
			return evNone, false
		case len(r.body) == r.max:
			r.st = stOverflow
			return evNone, false
		}
		r.body = append(r.body, b)
		return evNone, true
	}
	return evNone, false
}
