package modem

// Fuzz targets of the AT engine: the line reader, the command line parser
// and a whole served modem. Seed corpora live in testdata/fuzz/<FuzzName>.
//
//	go test -run '^$' -fuzz '^FuzzSession$' -fuzztime 45s ./modem/

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzHang is how long one FuzzSession input may take before it counts as a hang.
const fuzzHang = 30 * time.Second

// atSeeds are realistic command lines, without their line end.
var atSeeds = []string{
	"AT", "ATE0", "ATE1V1Q0", "ATV0", "ATQ1", "ATZ", "AT&F", "ATI", "ATS3?", "ATS3=13", "ATS5=8", "ATS3=64",
	"AT+CMEE=2", "AT+CGMI;+CGMM;+CGMR;+CGSN", "AT+CIMI", "AT+CCID", "AT+QCCID", "AT+CPIN?", "AT+GCAP",
	"AT+CFUN?", "AT+CFUN=0", "AT+CFUN=1", "AT+CFUN=4", "AT+CFUN=1,1", "AT+COPS?", "AT+COPS=?", "AT+COPS=0",
	`AT+COPS=1,2,"23415"`, `AT+COPS=1,2,"23430",8`, "AT+COPS=2", "AT+COPS=3,2", `AT+COPS=4,0,"Vodafone"`,
	"AT+CREG=2;+CGREG=2;+CEREG=5", "AT+CEREG?", "AT+CSQ", "AT+CESQ", `AT+CGDCONT=1,"IP","super"`,
	`AT+CGDCONT=2,"IPV4V6","internet"`, "AT+CGDCONT?", "AT+CGATT?", "AT+CGATT=0", "AT+CGATT=1",
	"AT+CGACT=1,1", "AT+CGACT?", "AT+CGPADDR=1", "AT+CGEREP=1", "ATD*99#", "ATD*99***1#", `AT+CGDATA="PPP",1`,
	"ATO", "ATH", `AT+CPSMS=1,,,"00000100","00001111"`, `AT+CEDRXS=1,4,"0101"`, `AT+CSCS="IRA"`, "AT+CMGF=1",
	"AT+QNWINFO", "AT+QCSQ", `AT+QCFG="nwscanseq"`, `AT+QCFG="iotopmode",2,1`, `AT+QICSGP=1,1,"super"`,
	"AT+QIACT=1", "AT+QIACT?", "AT+QIDEACT=1", "AT+QSPN", "AT+QPOWD=1", "A/",
	"AT+CTZU=?;+CTZU=1;+CTZR=2;+CCLK?", "AT+WS46=?;+WS46?;+WS46=28", "AT+CNUM", `AT+CLCK="SC",2`,
	`AT+CUSD=1,"*100#",15`, "AT+CRSM=176,12258,0,0,10", "AT+CRSM=176", `AT+CSIM=10,"0020000100"`, `AT+CSIM=4,"00"`,
	"AT+IFC=2,2", "AT+CRC=1;+CCWA=1,2;+CLCC",
}

// lrEvent is one event of the line reader with the body it carried.
type lrEvent struct {
	kind lineEvent
	body string
}

// refLines is the line syntax written a second way, over a whole input: a
// line starts at "AT" (any case, after any "A"s), "A/" repeats, a line ends
// at s3 or LF, s5 deletes, a body past max bytes is discarded to the end,
// NULs do not exist. It returns the events and the echo.
func refLines(in []byte, s3, s5 byte, max int) (evs []lrEvent, echo []byte) {
	data := bytes.ReplaceAll(in, []byte{0}, nil)
	isA := func(c byte) bool { return c == 'A' || c == 'a' }
	for i := 0; i < len(data); {
		j := slices.IndexFunc(data[i:], isA)
		if j < 0 {
			break
		}
		i += j
		for i < len(data) && isA(data[i]) {
			echo = append(echo, data[i])
			i++
		}
		if i == len(data) {
			break
		}
		c := data[i]
		i++
		switch c {
		case '/':
			echo = append(echo, c)
			evs = append(evs, lrEvent{kind: evRepeat})
			continue
		case 'T', 't':
			echo = append(echo, c)
		default:
			continue
		}
		end := i
		for end < len(data) && data[end] != s3 && data[end] != '\n' {
			end++
		}
		var body []byte
		over := false
		for _, b := range data[i:end] {
			switch {
			case b == s5:
				echo = append(echo, b)
				if !over && len(body) > 0 {
					body = body[:len(body)-1]
				}
			case over:
			case len(body) == max:
				over = true
			default:
				echo = append(echo, b)
				body = append(body, b)
			}
		}
		if end == len(data) {
			break // unterminated
		}
		if data[end] == s3 {
			echo = append(echo, s3)
		}
		if over {
			evs = append(evs, lrEvent{kind: evOverflow})
		} else {
			evs = append(evs, lrEvent{kind: evLine, body: string(body)})
		}
		i = end + 1
	}
	return evs, echo
}

// FuzzLineReader feeds the line reader one byte at a time and checks it
// against refLines over the whole input at once: same events, same echo,
// and a body that never passes the cap nor reallocates.
func FuzzLineReader(f *testing.F) {
	for _, s := range atSeeds {
		f.Add([]byte(s+"\r"), byte('\r'), byte('\b'), uint8(40))
	}
	f.Add([]byte("AT12345678\rAT123456789\r\nA/aT\x00E1\b0\n"), byte('\r'), byte('\b'), uint8(8))
	f.Add([]byte("xxAAt+csq@AT\r@"), byte('@'), byte('#'), uint8(3))
	f.Add([]byte("AT\x00\x00\xff\xfe\r\n\n\rAA/"), byte(0), byte(0), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, s3, s5 byte, m uint8) {
		max := int(m)%80 + 1
		r := newLineReader(max)
		var evs []lrEvent
		var echo []byte
		for _, b := range in {
			ev, e := r.feed(b, s3, s5)
			if len(r.body) > max {
				t.Fatalf("body of %d bytes (cap %d) with max %d", len(r.body), cap(r.body), max)
			}
			if e {
				echo = append(echo, b)
			}
			switch ev {
			case evLine:
				evs = append(evs, lrEvent{kind: evLine, body: string(r.body)})
			case evRepeat, evOverflow:
				evs = append(evs, lrEvent{kind: ev})
			}
		}
		wantEvs, wantEcho := refLines(in, s3, s5, max)
		if !reflect.DeepEqual(evs, wantEvs) {
			t.Fatalf("events byte by byte %q\nwhole input %q", evs, wantEvs)
		}
		if !bytes.Equal(echo, wantEcho) {
			t.Fatalf("echo byte by byte %q\nwhole input %q", echo, wantEcho)
		}
	})
}

// FuzzParseLine checks ParseLine never panics, that on success every
// command has a non-empty upper-case name and a well-formed shape, and that
// command names do not depend on the case of the line.
func FuzzParseLine(f *testing.F) {
	for _, s := range atSeeds {
		f.Add(strings.TrimPrefix(s, "AT"))
	}
	for _, s := range []string{"", "+", "&", "S", "S=1", `+X="a`, "+X=1,,3", "+X= 1 , \"a, b\" ;+Y?", "E0V1&FS3=13S3?D*99#", "+CSQ ?", "$X;^Y;%Z;#W=?", "&\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, err := ParseLine(body)
		if err != nil {
			if cmds != nil {
				t.Fatalf("commands %+v with error %v", cmds, err)
			}
			return
		}
		for i, c := range cmds {
			if c.Name == "" {
				t.Fatalf("command %d has no name: %+v", i, cmds)
			}
			if strings.ContainsAny(c.Name, "abcdefghijklmnopqrstuvwxyz") {
				t.Fatalf("command %d name %q is not upper case", i, c.Name)
			}
			if c.Kind > KindSet {
				t.Fatalf("command %d has kind %d", i, c.Kind)
			}
			switch c.Name[0] {
			case '+', '$', '^', '%', '#':
				if len(c.Name) < 2 || c.Kind == KindSet && len(c.Args) == 0 || c.Kind != KindSet && c.Args != nil {
					t.Fatalf("malformed extended command %+v", c)
				}
			case 'D':
				if c.Kind != KindSet || len(c.Args) != 1 || i != len(cmds)-1 {
					t.Fatalf("malformed dial %+v in %+v", c, cmds)
				}
			case 'S':
				if c.Kind == KindSet && len(c.Args) != 1 {
					t.Fatalf("malformed S-register command %+v", c)
				}
			}
		}
		if !isASCII(body) {
			return
		}
		for _, other := range []string{asciiCase(body, true), asciiCase(body, false)} {
			cmds2, err2 := ParseLine(other)
			if err2 != nil || len(cmds2) != len(cmds) {
				t.Fatalf("ParseLine(%q) = %+v, %v but ParseLine(%q) = %+v, %v", body, cmds, err, other, cmds2, err2)
			}
			for i := range cmds {
				if cmds[i].Name != cmds2[i].Name || cmds[i].Kind != cmds2[i].Kind || len(cmds[i].Args) != len(cmds2[i].Args) {
					t.Fatalf("ParseLine(%q) = %+v but ParseLine(%q) = %+v", body, cmds, other, cmds2)
				}
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func asciiCase(s string, up bool) string {
	if up {
		return strings.ToUpper(s)
	}
	return strings.ToLower(s)
}

// FuzzSession writes random bytes to a served modem on the virtual clock
// (time moves whenever the modem waits on it) and checks it never panics
// nor hangs, and answers AT with OK afterwards: it leaves data state with
// +++ between guard times if it is there, then ATZ and AT&F (in both
// letter cases, with LF line ends, so that no S3 or S5 setting can stop
// them all) restore the settings.
func FuzzSession(f *testing.F) {
	for _, s := range atSeeds {
		f.Add([]byte(s + "\r"))
	}
	f.Add([]byte(strings.Join(atSeeds, "\r") + "\r"))
	f.Add([]byte("ATD*99#\rhello+++AT\r"))
	f.Add([]byte("ATS3=65\rATQ1V0E0\nAT+CGACT=1,1A"))
	f.Add([]byte("ATS5=90\rAT+COPS=?\r\x00\xffAT+CFUN=1,1\r"))
	f.Add([]byte("AT" + strings.Repeat("x", MaxLine+5) + "\rA/"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 16<<10 {
			in = in[:16<<10]
		}
		// A hang the harness deadlines cannot catch (a stuck lock, a clock
		// that never settles) crashes the worker, so the fuzzer keeps the input.
		watchdog := time.AfterFunc(fuzzHang, func() {
			buf := make([]byte, 1<<20)
			panic(fmt.Sprintf("FuzzSession: input %q hung for %v\n%s", in, fuzzHang, buf[:runtime.Stack(buf, true)]))
		})
		t.Cleanup(func() { watchdog.Stop() }) // after the harness cleanup: it may hang too
		h := newHarness(t, withVClock())
		h.feed(in)
		h.feed([]byte("\r\n")) // ends a line in command state; data (resetting a +++) in data state
		if h.dataMode() {
			h.advance(escapeGuard)
			h.send("+++")
			h.awaitTimer(escapeGuard)
			h.advance(escapeGuard)
			if h.dataMode() {
				t.Fatal("+++ between guard times did not leave data state")
			}
		}
		h.feed([]byte("\nATZ\nATz\nAT&F\nAT&f\n"))
		h.send("AT\r")
		h.readUntil("AT\r\r\nOK\r\n")
	})
}
