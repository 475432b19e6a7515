package modem

import (
	"errors"
	"reflect"
	"testing"
)

// TestParseLine checks how a command line body (what follows "AT") splits
// into commands.
func TestParseLine(t *testing.T) {
	t.Parallel()
	q := func(v string) Arg { return Arg{Value: v, Quoted: true} }
	a := func(v string) Arg { return Arg{Value: v} }
	tests := []struct {
		name string
		body string
		want []Command
		err  error
	}{
		{"empty", "", nil, nil},
		{"spaces only", "   ", nil, nil},
		{"basic chain", "E0V1", []Command{{Name: "E", Args: []Arg{a("0")}}, {Name: "V", Args: []Arg{a("1")}}}, nil},
		{"basic without number", "EQ", []Command{{Name: "E"}, {Name: "Q"}}, nil},
		{"basic lower case", "e1v0", []Command{{Name: "E", Args: []Arg{a("1")}}, {Name: "V", Args: []Arg{a("0")}}}, nil},
		{"basic with spaces", " E0 V1 ", []Command{{Name: "E", Args: []Arg{a("0")}}, {Name: "V", Args: []Arg{a("1")}}}, nil},
		{"basic read", "E?", []Command{{Name: "E", Kind: KindRead}}, nil},
		{"ampersand", "&F", []Command{{Name: "&F"}}, nil},
		{"ampersand with number", "&D2&C1", []Command{{Name: "&D", Args: []Arg{a("2")}}, {Name: "&C", Args: []Arg{a("1")}}}, nil},
		{"ampersand lower case", "&f", []Command{{Name: "&F"}}, nil},
		{"ampersand alone", "&", nil, ErrSyntax},
		{"S set", "S3=13", []Command{{Name: "S3", Kind: KindSet, Args: []Arg{a("13")}}}, nil},
		{"S read", "S3?", []Command{{Name: "S3", Kind: KindRead}}, nil},
		{"S test", "S3=?", []Command{{Name: "S3", Kind: KindTest}}, nil},
		{"S exec", "S7", []Command{{Name: "S7"}}, nil},
		{"S lower case", "s5?", []Command{{Name: "S5", Kind: KindRead}}, nil},
		{"S chained", "S7=50S10?E0", []Command{{Name: "S7", Kind: KindSet, Args: []Arg{a("50")}}, {Name: "S10", Kind: KindRead}, {Name: "E", Args: []Arg{a("0")}}}, nil},
		{"S without number", "S=3", nil, ErrSyntax},
		{"S set without value", "S3=", nil, ErrSyntax},
		{"dial", "D*99***1#", []Command{{Name: "D", Kind: KindSet, Args: []Arg{a("*99***1#")}}}, nil},
		{"dial takes the rest", "D*99#;+CSQ", []Command{{Name: "D", Kind: KindSet, Args: []Arg{a("*99#;+CSQ")}}}, nil},
		{"dial after basic", "E0D*99#", []Command{{Name: "E", Args: []Arg{a("0")}}, {Name: "D", Kind: KindSet, Args: []Arg{a("*99#")}}}, nil},
		{"dial trimmed", "D *99# ", []Command{{Name: "D", Kind: KindSet, Args: []Arg{a("*99#")}}}, nil},
		{"dial empty", "D", []Command{{Name: "D", Kind: KindSet, Args: []Arg{a("")}}}, nil},
		{"extended exec", "+CSQ", []Command{{Name: "+CSQ"}}, nil},
		{"extended read", "+CREG?", []Command{{Name: "+CREG", Kind: KindRead}}, nil},
		{"extended test", "+COPS=?", []Command{{Name: "+COPS", Kind: KindTest}}, nil},
		{"extended set", "+CFUN=1,1", []Command{{Name: "+CFUN", Kind: KindSet, Args: []Arg{a("1"), a("1")}}}, nil},
		{"extended lower case", "+cgdcont?", []Command{{Name: "+CGDCONT", Kind: KindRead}}, nil},
		{"extended vendor prefixes", "$QCPDPP;^SYSINFO;%XSYSTEMMODE?;#SIMDET=?", []Command{{Name: "$QCPDPP"}, {Name: "^SYSINFO"}, {Name: "%XSYSTEMMODE", Kind: KindRead}, {Name: "#SIMDET", Kind: KindTest}}, nil},
		{"extended chain", "+CSQ;+CREG?", []Command{{Name: "+CSQ"}, {Name: "+CREG", Kind: KindRead}}, nil},
		{"extended chain trailing separator", "+CSQ;", []Command{{Name: "+CSQ"}}, nil},
		{"extended chain with spaces", "+CSQ ; +CREG? ;", []Command{{Name: "+CSQ"}, {Name: "+CREG", Kind: KindRead}}, nil},
		{"basic after extended", "+CMEE=2;E1", []Command{{Name: "+CMEE", Kind: KindSet, Args: []Arg{a("2")}}, {Name: "E", Args: []Arg{a("1")}}}, nil},
		{"extended after basic", "E0+CSQ", []Command{{Name: "E", Args: []Arg{a("0")}}, {Name: "+CSQ"}}, nil},
		{"quoted", `+CGDCONT=1,"IP","super"`, []Command{{Name: "+CGDCONT", Kind: KindSet, Args: []Arg{a("1"), q("IP"), q("super")}}}, nil},
		{"quoted comma and space", `+X="a, b",c`, []Command{{Name: "+X", Kind: KindSet, Args: []Arg{q("a, b"), a("c")}}}, nil},
		{"quoted semicolon", `+X="a;b";+CSQ`, []Command{{Name: "+X", Kind: KindSet, Args: []Arg{q("a;b")}}, {Name: "+CSQ"}}, nil},
		{"quoted empty", `+X=""`, []Command{{Name: "+X", Kind: KindSet, Args: []Arg{q("")}}}, nil},
		{"quoted keeps case", `+COPS=1,0,"Vodafone"`, []Command{{Name: "+COPS", Kind: KindSet, Args: []Arg{a("1"), a("0"), q("Vodafone")}}}, nil},
		{"quoted then suffix", `+QCFG="nwscanseq"?`, []Command{{Name: "+QCFG", Kind: KindSet, Args: []Arg{q("nwscanseq?")}}}, nil},
		{"unquoted spaces dropped", "+X= 1 , 2 ", []Command{{Name: "+X", Kind: KindSet, Args: []Arg{a("1"), a("2")}}}, nil},
		{"empty args", "+X=1,,3", []Command{{Name: "+X", Kind: KindSet, Args: []Arg{a("1"), a(""), a("3")}}}, nil},
		{"empty set", "+X=", []Command{{Name: "+X", Kind: KindSet, Args: []Arg{a("")}}}, nil},
		{"trailing empty arg", "+X=1,", []Command{{Name: "+X", Kind: KindSet, Args: []Arg{a("1"), a("")}}}, nil},
		{"name with punctuation", "+QCFG_X.Y-Z?", []Command{{Name: "+QCFG_X.Y-Z", Kind: KindRead}}, nil},
		{"space before form", "+CSQ ?", []Command{{Name: "+CSQ", Kind: KindRead}}, nil},
		{"unterminated quote", `+X="abc`, nil, ErrSyntax},
		{"unterminated quote later", `+X=1;+Y="`, nil, ErrSyntax},
		{"plus alone", "+", nil, ErrSyntax},
		{"plus then separator", "+;", nil, ErrSyntax},
		{"dollar alone", "$", nil, ErrSyntax},
		{"garbage", "!!", nil, ErrSyntax},
		{"digit first", "0", nil, ErrSyntax},
		{"junk after read", "+CSQ?x", nil, ErrSyntax},
		{"junk after name", "+CSQ*", nil, ErrSyntax},
		{"junk after test", "+CSQ=?1", nil, ErrSyntax},
		{"junk in chain", "E0!V1", nil, ErrSyntax},
		{"control byte", "+CSQ\x01", nil, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine(tt.body)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseLine(%q) error %v, want %v", tt.body, err, tt.err)
			}
			if err != nil {
				if got != nil {
					t.Errorf("ParseLine(%q) = %+v with the error, want nil", tt.body, got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLine(%q)\n got %+v\nwant %+v", tt.body, got, tt.want)
			}
		})
	}
}

// TestArgEmpty checks that only a left-out parameter is empty.
func TestArgEmpty(t *testing.T) {
	t.Parallel()
	cmds, err := ParseLine(`+X=,"",0`)
	if err != nil {
		t.Fatal(err)
	}
	args := cmds[0].Args
	if len(args) != 3 || !args[0].Empty() || args[1].Empty() || args[2].Empty() {
		t.Fatalf("Empty() of %+v: want true, false, false", args)
	}
}

// TestLineReader checks the line syntax: what starts and ends a command
// line, editing, repeats, NULs and the length cap.
func TestLineReader(t *testing.T) {
	t.Parallel()
	type ev struct {
		kind lineEvent
		body string
	}
	run := func(in string, max int) (evs []ev, echo string) {
		r := newLineReader(max)
		for i := 0; i < len(in); i++ {
			e, echoed := r.feed(in[i], '\r', '\b')
			if echoed {
				echo += in[i : i+1]
			}
			switch e {
			case evLine:
				evs = append(evs, ev{e, string(r.body)})
			case evRepeat, evOverflow:
				evs = append(evs, ev{e, ""})
			}
		}
		return evs, echo
	}
	tests := []struct {
		name, in string
		max      int
		want     []ev
		echo     string
	}{
		{"AT", "AT\r", 8, []ev{{evLine, ""}}, "AT\r"},
		{"lower case", "at+csq\r", 8, []ev{{evLine, "+csq"}}, "at+csq\r"},
		{"mixed case", "aT\rAt\r", 8, []ev{{evLine, ""}, {evLine, ""}}, "aT\rAt\r"},
		{"LF ends a line, not echoed", "ATE0\n", 8, []ev{{evLine, "E0"}}, "ATE0"},
		{"CRLF", "AT\r\nAT\r\n", 8, []ev{{evLine, ""}, {evLine, ""}}, "AT\rAT\r"},
		{"garbage before", "xyz\x01\xffAT\r", 8, []ev{{evLine, ""}}, "AT\r"},
		{"A then garbage", "AxAT\r", 8, []ev{{evLine, ""}}, "AAT\r"},
		{"AA", "AAT\r", 8, []ev{{evLine, ""}}, "AAT\r"},
		{"repeat", "A/", 8, []ev{{evRepeat, ""}}, "A/"},
		{"repeat lower case", "a/", 8, []ev{{evRepeat, ""}}, "a/"},
		{"NULs dropped", "A\x00T\x00+\x00X\r", 8, []ev{{evLine, "+X"}}, "AT+X\r"},
		{"backspace", "ATE1\b0\r", 8, []ev{{evLine, "E0"}}, "ATE1\b0\r"},
		{"backspace on empty body", "AT\b\bE\r", 8, []ev{{evLine, "E"}}, "AT\b\bE\r"},
		{"exactly max", "AT12345678\r", 8, []ev{{evLine, "12345678"}}, "AT12345678\r"},
		{"over max", "AT123456789\rAT\r", 8, []ev{{evOverflow, ""}, {evLine, ""}}, "AT12345678\rAT\r"},
		{"backspace at max", "AT12345678\b9\r", 8, []ev{{evLine, "12345679"}}, "AT12345678\b9\r"},
		{"no line end", "AT+CSQ", 8, nil, "AT+CSQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, echo := run(tt.in, tt.max)
			if !reflect.DeepEqual(evs, tt.want) {
				t.Errorf("events %+v, want %+v", evs, tt.want)
			}
			if echo != tt.echo {
				t.Errorf("echo %q, want %q", echo, tt.echo)
			}
		})
	}
}

// TestOneArgIsTheValueItIsGiven checks that oneArg's shared lists hold
// exactly the value asked for, and that a command line of them allocates
// nothing but its commands.
func TestOneArgIsTheValueItIsGiven(t *testing.T) {
	for _, v := range []string{"0", "7", "9", "10", "*99#", "*99***1#", "*99***16#", "*99***17#",
		"*99***0#", "*99***01#", "*99***1", "*99**1#", "*98***1#", "x", ""} {
		got := oneArg(v)
		if len(got) != 1 || got[0] != (Arg{Value: v}) || cap(got) != 1 {
			t.Errorf("oneArg(%q) = %#v (cap %d)", v, got, cap(got))
		}
	}
	cmds := make([]Command, 0, 4)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := parseLine(cmds[:0], "E0V1D*99***1#"); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("parseLine allocates %v times", n)
	}
}
