package modem

import (
	"errors"
	"strconv"
	"strings"
)

// Kind is the form of a command: AT+X, AT+X?, AT+X=?, AT+X=<args>.
type Kind uint8

// Command forms.
const (
	KindExec Kind = iota
	KindRead
	KindTest
	KindSet
)

// Command is one command of a command line.
type Command struct {
	Name string // upper case: "+COPS", "E", "&F", "S3", "D", "I"
	Kind Kind
	Args []Arg // for KindSet; for basic commands, the number or dial string. Read-only: it may be shared (see oneArg)
}

// Arg is one parameter of a set command.
type Arg struct {
	Value  string // without quotes
	Quoted bool
}

// Empty reports whether the parameter was left out ("AT+X=1,,3").
func (a Arg) Empty() bool { return a.Value == "" && !a.Quoted }

// ErrSyntax is a command line that does not parse.
var ErrSyntax = errors.New("modem: command line syntax error")

// ParseLine splits the body of a command line (what follows "AT") into
// commands: basic commands one after the other ("E0V1"), extended commands
// ("+CSQ", "&F", "$X", "^X") ended by ";" or the end of the line, and a dial
// command that takes the rest of the line.
func ParseLine(body string) ([]Command, error) { return parseLine(nil, body) }

// parseLine is ParseLine appending to cmds, whose array a session reuses
// from line to line.
func parseLine(cmds []Command, body string) ([]Command, error) {
	p := parser{s: body}
	for {
		p.skipSpace()
		if p.eof() {
			return cmds, nil
		}
		c, err := p.command()
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) peek() byte { return p.s[p.i] }

func (p *parser) skipSpace() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == ';') {
		p.i++
	}
}

func upper(b byte) byte {
	if b >= 'a' && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isNameChar(b byte) bool {
	b = upper(b)
	return b >= 'A' && b <= 'Z' || isDigit(b) || b == '_' || b == '.' || b == '-'
}

func (p *parser) command() (Command, error) {
	b := upper(p.peek())
	switch {
	case b == '+' || b == '$' || b == '^' || b == '%' || b == '#':
		return p.extended()
	case b == '&':
		p.i++
		if p.eof() {
			return Command{}, ErrSyntax
		}
		c := Command{Name: "&" + string(upper(p.peek()))}
		p.i++
		c.Args = p.number()
		return c, nil
	case b == 'D':
		p.i++
		dial := strings.TrimSpace(p.s[p.i:])
		p.i = len(p.s)
		return Command{Name: "D", Kind: KindSet, Args: oneArg(dial)}, nil
	case b == 'S':
		p.i++
		start := p.i
		for !p.eof() && isDigit(p.peek()) {
			p.i++
		}
		if start == p.i {
			return Command{}, ErrSyntax
		}
		c := Command{Name: "S" + p.s[start:p.i]}
		switch {
		case strings.HasPrefix(p.s[p.i:], "=?"):
			p.i += 2
			c.Kind = KindTest
		case strings.HasPrefix(p.s[p.i:], "?"):
			p.i++
			c.Kind = KindRead
		case strings.HasPrefix(p.s[p.i:], "="):
			p.i++
			c.Kind = KindSet
			c.Args = p.number()
			if c.Args == nil {
				return Command{}, ErrSyntax
			}
		}
		return c, nil
	case b >= 'A' && b <= 'Z':
		p.i++
		c := Command{Name: letters[b-'A' : b-'A'+1]} // not string(b), which allocates
		if !p.eof() && p.peek() == '?' {
			p.i++
			c.Kind = KindRead
			return c, nil
		}
		c.Args = p.number()
		return c, nil
	}
	return Command{}, ErrSyntax
}

// number reads the optional decimal parameter of a basic command.
func (p *parser) number() []Arg {
	start := p.i
	for !p.eof() && isDigit(p.peek()) {
		p.i++
	}
	if start == p.i {
		return nil
	}
	return oneArg(p.s[start:p.i])
}

// oneArg returns the argument list of one unquoted v: a shared one, which
// allocates nothing, for the values nearly every command line has (a
// digit, the packet data dial strings "*99#" and "*99***<cid>#").
func oneArg(v string) []Arg {
	switch {
	case len(v) == 1 && isDigit(v[0]):
		i := v[0] - '0'
		return digitArgs[i : i+1 : i+1]
	case v == "*99#":
		return dialArgs[0:1:1]
	case len(v) >= 8 && len(v) <= 9 && v[:6] == "*99***" && v[len(v)-1] == '#':
		if cid, ok := digits(v[6:len(v)-1], 2); ok && cid >= 1 && cid < uint64(len(dialArgs)) && v[6] != '0' {
			return dialArgs[cid : cid+1 : cid+1]
		}
	}
	return []Arg{{Value: v}}
}

// letters are the names of the basic commands.
const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// digitArgs and dialArgs are oneArg's shared lists.
var digitArgs, dialArgs = func() (d, dial []Arg) {
	for i := range 10 {
		d = append(d, Arg{Value: strconv.Itoa(i)})
	}
	dial = append(dial, Arg{Value: "*99#"})
	for cid := 1; cid <= 16; cid++ {
		dial = append(dial, Arg{Value: "*99***" + strconv.Itoa(cid) + "#"})
	}
	return d, dial
}()

func (p *parser) extended() (Command, error) {
	start := p.i
	p.i++
	for !p.eof() && isNameChar(p.peek()) {
		p.i++
	}
	if p.i == start+1 {
		return Command{}, ErrSyntax
	}
	c := Command{Name: strings.ToUpper(p.s[start:p.i])}
	p.skipBlanks()
	switch {
	case p.eof() || p.peek() == ';':
		c.Kind = KindExec
	case strings.HasPrefix(p.s[p.i:], "=?"):
		p.i += 2
		c.Kind = KindTest
	case p.peek() == '?':
		p.i++
		c.Kind = KindRead
	case p.peek() == '=':
		p.i++
		c.Kind = KindSet
		args, err := p.args()
		if err != nil {
			return Command{}, err
		}
		c.Args = args
	default:
		return Command{}, ErrSyntax
	}
	p.skipBlanks()
	if !p.eof() && p.peek() != ';' {
		return Command{}, ErrSyntax
	}
	return c, nil
}

func (p *parser) skipBlanks() {
	for !p.eof() && p.peek() == ' ' {
		p.i++
	}
}

// args reads comma-separated parameters up to ";" or the end of the line.
// Spaces outside quotes are dropped; a quoted string keeps everything.
// A parameter written plainly (1, "super") is a slice of the line; only
// one with spaces to drop or quotes in pieces is built anew.
func (p *parser) args() ([]Arg, error) {
	var args []Arg
	for {
		a, err := p.arg()
		if err != nil {
			return nil, err
		}
		if p.eof() || p.peek() == ';' {
			if args == nil && !a.Quoted {
				return oneArg(a.Value), nil
			}
			return append(args, a), nil
		}
		args = append(args, a)
		p.i++ // ","
	}
}

// arg reads one parameter, up to ",", ";" or the end of the line.
func (p *parser) arg() (Arg, error) {
	start := p.i
	// The plain forms: digits and letters, or one quoted string alone.
	if !p.eof() && p.peek() == '"' {
		end := strings.IndexByte(p.s[p.i+1:], '"')
		if end < 0 {
			return Arg{}, ErrSyntax
		}
		after := p.i + 1 + end + 1
		if after == len(p.s) || p.s[after] == ',' || p.s[after] == ';' {
			p.i = after
			return Arg{Value: p.s[start+1 : after-1], Quoted: true}, nil
		}
	} else {
		i := p.i
		for i < len(p.s) && p.s[i] != ',' && p.s[i] != ';' && p.s[i] != ' ' && p.s[i] != '"' {
			i++
		}
		if i == len(p.s) || p.s[i] == ',' || p.s[i] == ';' {
			p.i = i
			return Arg{Value: p.s[start:i]}, nil
		}
	}
	var cur strings.Builder
	quoted := false
	for {
		if p.eof() || p.peek() == ';' || p.peek() == ',' {
			return Arg{Value: cur.String(), Quoted: quoted}, nil
		}
		switch b := p.peek(); b {
		case '"':
			p.i++
			end := strings.IndexByte(p.s[p.i:], '"')
			if end < 0 {
				return Arg{}, ErrSyntax
			}
			cur.WriteString(p.s[p.i : p.i+end])
			p.i += end + 1
			quoted = true
		case ' ':
			p.i++
		default:
			p.i++
			cur.WriteByte(b)
		}
	}
}

// commonLines are the command lines firmware sends most, each kept once:
// a session that reads one takes its string from here instead of making
// one. Read only.
var commonLines = func() map[string]string {
	m := make(map[string]string)
	for _, l := range []string{
		"", "E0", "I", "+CEREG?", "+CREG?", "+CGREG?", "+COPS?", "+CSQ", "+CESQ", "+CPIN?", "+CFUN?",
		"+CGATT?", "+CGACT?", "+CGPADDR", "+CGPADDR=1", "+CCLK?", "+QCSQ", "+QNWINFO", "+CPSI?", "+CNACT?",
		"+COPS=0", "+COPS=2", "+COPS=3,2", "+CGATT=0", "+CGATT=1", "+CFUN=0", "+CFUN=1", "+CFUN=4",
		"+CFUN=1,1", "+CFUN=15", "+CREBOOT", "+CGACT=1,1", "+CGACT=0,1", "+CNACT=0,1", "+CNACT=0,0",
		"+CMEE=1", "+CMEE=2", "+CEREG=2", "D*99***1#", "D*99#", "O", "H", "+QIRD=0", "+CARECV=0,1460",
		"+CMGF=1", `+CMGL="ALL"`, `+CMGL="REC UNREAD"`, "+CIMI", "+CCID", "+GSN", "+CGSN",
		"E0;+CMEE=1;+CEREG=2;+COPS=3,2",
	} {
		m[l] = l
	}
	return m
}()

// lineString is body as a string: a common line's shared one, or a copy.
func lineString(body []byte) string {
	if s, ok := commonLines[string(body)]; ok {
		return s
	}
	return string(body)
}
