package at3gpp

import (
	"errors"
	"strconv"
	"strings"
)

// ErrSyntax is what the parsers' errors wrap: the line is not what the
// command answers.
var ErrSyntax = errors.New("malformed")

// SyntaxError is a line a parser could not read.
type SyntaxError struct {
	Cmd  string // "+CEREG"
	Line string // the value that failed
	Want string // what was expected where it failed
}

func (e *SyntaxError) Error() string {
	return "at3gpp: " + e.Cmd + ": malformed " + strconv.Quote(e.Line) + ": want " + e.Want
}

func (e *SyntaxError) Unwrap() error { return ErrSyntax }

func syntaxErr(cmd, line, want string) error { return &SyntaxError{Cmd: cmd, Line: line, Want: want} }

// cutName cuts "+NAME:" and the blanks after it off a line.
func cutName(line, name string) (string, bool) {
	v, ok := strings.CutPrefix(line, name)
	if !ok {
		return "", false
	}
	v, ok = strings.CutPrefix(v, ":")
	return strings.TrimLeft(v, " "), ok
}

// field is one comma-separated value, unquoted and trimmed.
type field struct {
	s      string
	quoted bool
}

// uint reads a number 0..max.
func (f field) uint(max int) (int, error) {
	if f.quoted || f.s == "" || len(f.s) > 6 {
		return 0, ErrSyntax
	}
	n := 0
	for i := 0; i < len(f.s); i++ {
		c := f.s[i]
		if c < '0' || c > '9' {
			return 0, ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	if n > max {
		return 0, ErrSyntax
	}
	return n, nil
}

// optUint reads a number that may be left out: -1 when it is.
func (f field) optUint(max int) (int, error) {
	if f.s == "" && !f.quoted {
		return -1, nil
	}
	return f.uint(max)
}

// scanner splits an information line's value into fields at the commas
// outside quotes and brackets, without allocating. A quoted field comes
// back without its quotes; a bracketed group whole, brackets included.
type scanner struct {
	s    string
	i    int
	done bool
	bad  bool // an unterminated quote or bracket
}

// next returns the next field; ok is false past the last one. An empty
// value has one empty field.
func (sc *scanner) next() (field, bool) {
	if sc.done {
		return field{}, false
	}
	s, start := sc.s, sc.i
	inQ, depth := false, 0
	i := start
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			inQ = !inQ
		case inQ:
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case c == ',' && depth == 0:
			sc.i = i + 1
			return makeField(s[start:i]), true
		}
	}
	if inQ || depth > 0 {
		sc.bad = true
	}
	sc.done = true
	return makeField(s[start:i]), true
}

func makeField(s string) field {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && strings.IndexByte(s[1:len(s)-1], '"') < 0 {
		return field{s: s[1 : len(s)-1], quoted: true}
	}
	return field{s: s}
}
