package modem

// Engine tests: every command through a served modem, with the exact bytes
// a host reads where practical, and the network rules of the real control
// plane behind it. Tests about timing run on the virtual clock.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// step is one exchange of a table row: what the host sends, and either the
// exact bytes it then reads (want, possibly empty) or a regular expression
// the output up to the next final result must match in full (re).
type step struct {
	send string
	want string
	re   string
}

// row is one subtest: a fresh harness and its steps. Placeholders {IMEI},
// {ICCID} and {IMSI} stand for card 0's values.
type row struct {
	name  string
	opts  []harnessOption
	steps []step
}

// okLine is the verbose final result OK; resp frames information lines before it.
const okLine = "\r\nOK\r\n"

func resp(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	return b.String() + okLine
}

func cmeErr(s string) string { return "\r\n+CME ERROR: " + s + "\r\n" }

// runRows runs each row in its own parallel subtest with its own harness.
func runRows(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, r.opts...)
			h.run(r.steps)
		})
	}
}

// run performs steps in order.
func (h *harness) run(steps []step) {
	h.t.Helper()
	rep := strings.NewReplacer("{IMEI}", IMEI(0), "{ICCID}", h.card.ICCID, "{IMSI}", h.card.IMSI)
	for i, s := range steps {
		send := rep.Replace(s.send)
		if s.re != "" {
			h.send(send)
			got := h.readFinal(send)
			re := regexp.MustCompile(`\A(?:` + rep.Replace(s.re) + `)\z`)
			if !re.MatchString(got) {
				h.t.Fatalf("step %d %q: got %q, want a match of %q", i, send, got, re)
			}
			continue
		}
		h.send(send)
		if want := rep.Replace(s.want); want != "" {
			h.expect(want)
		}
	}
}

// ---- V.250 --------------------------------------------------------------------

func TestV250(t *testing.T) {
	t.Parallel()
	garbage := func(n int) string {
		r := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, 0, n)
		for len(b) < n {
			c := byte(r.UintN(256))
			if c != 'A' && c != 'a' {
				b = append(b, c)
			}
		}
		return string(b)
	}
	runRows(t, []row{
		{name: "AT", steps: []step{{send: "AT\r", want: okLine}}},
		{name: "at", steps: []step{{send: "at\r", want: okLine}}},
		{name: "aT and At", steps: []step{{send: "aT\r", want: okLine}, {send: "At\r", want: okLine}}},
		{name: "LF ends a line", steps: []step{{send: "AT\n", want: okLine}, {send: "AT\r\n", want: okLine}}},
		{name: "empty lines", steps: []step{{send: "\r\r\n\nAT\r", want: okLine}}},
		{name: "spaces", steps: []step{{send: "AT \r", want: okLine}, {send: "AT E0 V1\r", want: okLine}}},
		{name: "backspace edits", steps: []step{{send: "AT+CGMX\bI\r", want: resp("Quectel")}}},
		{name: "E1 echoes the command", steps: []step{
			{send: "ATE1\r", want: okLine},
			{send: "AT+CGMI\r", want: "AT+CGMI\r" + resp("Quectel")},
			{send: "at+csq;+cgmi\r", want: "at+csq;+cgmi\r" + resp("+CSQ: 24,99", "Quectel")},
			{send: "ATE0\r", want: "ATE0\r" + okLine},
			{send: "AT\r", want: okLine},
		}},
		{name: "E without number is E0", steps: []step{{send: "ATE1\r", want: okLine}, {send: "ATE\r", want: "ATE\r" + okLine}, {send: "AT\r", want: okLine}}},
		{name: "E2 and E? are errors", steps: []step{{send: "ATE2\r", want: "\r\nERROR\r\n"}, {send: "ATE?\r", want: "\r\nERROR\r\n"}}},
		{name: "V0 numeric results", steps: []step{
			{send: "ATV0\r", want: "0\r"},
			{send: "AT\r", want: "0\r"},
			{send: "AT+XYZ\r", want: "4\r"},
			{send: "AT+CGMI\r", want: "Quectel\r\n0\r"},
			{send: "AT+CFUN=9\r", want: "+CME ERROR: 50\r\n"},
			{send: "ATV1\r", want: okLine},
		}},
		{name: "Q1 suppresses results", steps: []step{
			{send: "ATQ1\r"},
			{send: "AT\r"},
			{send: "AT+XYZ\r"},
			{send: "AT+CFUN=9\r"},
			{send: "AT+CGMI\r"},
			{send: "ATQ0\r", want: "\r\nQuectel\r\n" + okLine},
			{send: "AT+XYZ\r", want: "\r\nERROR\r\n"},
		}},
		{name: "ATZ", steps: []step{
			{send: "ATS7=99;V0\r", want: "0\r"},
			{send: "ATZ\r", want: okLine},
			{send: "ATS7?\r", want: "ATS7?\r" + resp("050")},
		}},
		{name: "AT&F", steps: []step{
			{send: "AT+CMEE=2;+CMGF=1;+CSCS=\"IRA\"\r", want: okLine},
			{send: "AT&F\r", want: okLine},
			{send: "AT+CMEE?;+CMGF?;+CSCS?\r", want: "AT+CMEE?;+CMGF?;+CSCS?\r" + resp("+CMEE: 1", "+CMGF: 0", `+CSCS: "GSM"`)},
		}},
		{name: "ATI", steps: []step{{send: "ATI\r", want: resp("Quectel", "BG96", "Revision: BG96MAR02A07M1G")}}},
		{name: "ATI generic", opts: []harnessOption{withProfile("generic")}, steps: []step{{send: "ATI\r", want: resp("fleetsim", "LTE-M", "Revision: fleetsim-1.0")}}},
		{name: "S registers read", steps: []step{
			{send: "ATS3?\r", want: resp("013")},
			{send: "ATS4?\r", want: resp("010")},
			{send: "ATS5?\r", want: resp("008")},
			{send: "ATS12?\r", want: resp("050")},
			{send: "ATS3=?\r", want: resp("S3: (0-127)")},
		}},
		{name: "S register set", steps: []step{
			{send: "ATS7=120\r", want: okLine},
			{send: "ATS7?\r", want: resp("120")},
			{send: "ATS7=128\r", want: "\r\nERROR\r\n"},
			{send: "ATS256?\r", want: "\r\nERROR\r\n"},
		}},
		{name: "S3 changes the line end", steps: []step{
			{send: "ATS3=64\r", want: "@\nOK@\n"}, // the result of the line already uses it
			{send: "AT@", want: "@\nOK@\n"},
			{send: "AT+CGMI@", want: "@\nQuectel@\n@\nOK@\n"},
			{send: "AT\n", want: "@\nOK@\n"}, // LF still ends a line
			{send: "ATS3=13@", want: okLine},
			{send: "AT\r", want: okLine},
		}},
		{name: "S4 changes the line feed", steps: []step{
			{send: "ATS4=33\r", want: "\r!OK\r!"},
			{send: "ATS4=10\r", want: okLine},
		}},
		{name: "S5 changes backspace", steps: []step{
			{send: "ATS5=35\r", want: okLine},
			{send: "AT+CGMX#I\r", want: resp("Quectel")},
		}},
		{name: "A/ repeats", steps: []step{
			{send: "AT+CGMI\r", want: resp("Quectel")},
			{send: "A/", want: resp("Quectel")},
			{send: "a/", want: resp("Quectel")},
			{send: "AT+XYZ\r", want: "\r\nERROR\r\n"},
			{send: "A/", want: "\r\nERROR\r\n"},
		}},
		{name: "A/ repeats the harness's last line", steps: []step{{send: "A/", want: resp("+CEREG: 0,5")}}},
		{name: "several commands one final result", steps: []step{
			{send: "AT+CSQ;+CREG?\r", want: resp("+CSQ: 24,99", "+CREG: 0,5")},
			{send: "ATE0V1+CMEE=1;+CGMM;S3?\r", want: resp("BG96", "013")},
		}},
		{name: "unknown command abandons the rest", steps: []step{
			{send: "AT+XYZ;S7=99\r", want: "\r\nERROR\r\n"},
			{send: "ATS7?\r", want: resp("050")},
			{send: "ATS7=51;+XYZ;S7=52\r", want: "\r\nERROR\r\n"}, // what came first ran
			{send: "ATS7?\r", want: resp("051")},
			{send: "AT+CGMI;+XYZ\r", want: "\r\nQuectel\r\n\r\nERROR\r\n"}, // with its information
		}},
		{name: "syntax error runs nothing", steps: []step{
			{send: "ATS7=77;+CSQ!\r", want: "\r\nERROR\r\n"},
			{send: "ATS7?\r", want: resp("050")},
			{send: "AT+CGDCONT=2,\"IP\r", want: "\r\nERROR\r\n"},
		}},
		{name: "CMEE forms", steps: []step{
			{send: "AT+CMEE?\r", want: resp("+CMEE: 1")},
			{send: "AT+CFUN=9\r", want: cmeErr("50")},
			{send: "AT+CMEE=0\r", want: okLine},
			{send: "AT+CFUN=9\r", want: "\r\nERROR\r\n"},
			{send: "AT+CMEE=2\r", want: okLine},
			{send: "AT+CFUN=9\r", want: cmeErr("Incorrect parameters")},
			{send: "AT+XYZ\r", want: "\r\nERROR\r\n"}, // unknown commands stay plain ERROR
			{send: "AT+CMEE=3\r", want: cmeErr("Incorrect parameters")},
			{send: "AT+CMEE=?\r", want: resp("+CMEE: (0-2)")},
			{send: "AT+CMEE=1;V0\r", want: "0\r"},
			{send: "AT+CFUN=9\r", want: "+CME ERROR: 50\r\n"},
		}},
		{name: "line over MaxLine", steps: []step{
			{send: "AT" + strings.Repeat("1", MaxLine+1) + "\r", want: "\r\nERROR\r\n"},
			{send: "AT\r", want: okLine},
			{send: "AT" + strings.Repeat(" ", MaxLine) + "\r", want: okLine}, // exactly MaxLine is a line
		}},
		{name: "64 KB line", steps: []step{
			{send: "AT+" + strings.Repeat("X", 64<<10) + "\r", want: "\r\nERROR\r\n"},
			{send: "AT+CGMI\r", want: resp("Quectel")},
		}},
		{name: "long line echoed up to the cap", steps: []step{
			{send: "ATE1\r", want: okLine},
			{send: "AT" + strings.Repeat("1", MaxLine+10) + "\r", want: "AT" + strings.Repeat("1", MaxLine) + "\r\r\nERROR\r\n"},
		}},
		{name: "garbage and NULs", steps: []step{
			{send: garbage(10000) + "\x00\x00\x00A\x00T\x00\r", want: okLine},
			{send: "\xff\xfeAx\x00AT+CGMI\r", want: resp("Quectel")},
		}},
		{name: "garbage with echo", steps: []step{
			{send: "ATE1\r", want: okLine},
			{send: "\x01\x02zz\x00AT\r", want: "AT\r" + okLine}, // only the command line is echoed
		}},
		{name: "harmless V.250 commands", steps: []step{{send: "AT&C1&D2&K0&WX4L0M0\r", want: okLine}}},
	})
}

// ---- identification --------------------------------------------------------

func TestIdentification(t *testing.T) {
	t.Parallel()
	if imei := IMEI(0); len(imei) != 15 || !sim.LuhnValid(imei) {
		t.Fatalf("IMEI(0) = %q: want 15 digits with a valid Luhn check digit", imei)
	}
	runRows(t, []row{
		{name: "+CGMI", steps: []step{{send: "AT+CGMI\r", want: resp("Quectel")}}},
		{name: "+GMI", steps: []step{{send: "AT+GMI\r", want: resp("Quectel")}}},
		{name: "+CGMM", steps: []step{{send: "AT+CGMM\r", want: resp("BG96")}}},
		{name: "+GMM", steps: []step{{send: "AT+GMM\r", want: resp("BG96")}}},
		{name: "+CGMR", steps: []step{{send: "AT+CGMR\r", want: resp("BG96MAR02A07M1G")}}},
		{name: "+GMR", steps: []step{{send: "AT+GMR\r", want: resp("BG96MAR02A07M1G")}}},
		{name: "+QGMR", steps: []step{{send: "AT+QGMR\r", want: resp("BG96MAR02A07M1G_01.019.01.019")}}},
		{name: "+CGSN", steps: []step{{send: "AT+CGSN\r", want: resp("{IMEI}")}}},
		{name: "+CGSN=1", steps: []step{{send: "AT+CGSN=1\r", want: resp(`+CGSN: "{IMEI}"`)}}},
		{name: "+GSN", steps: []step{{send: "AT+GSN\r", want: resp("{IMEI}")}}},
		{name: "+GCAP", steps: []step{{send: "AT+GCAP\r", want: resp("+GCAP: +CGSM")}}},
		{name: "+CIMI", steps: []step{{send: "AT+CIMI\r", want: resp("{IMSI}")}}},
		{name: "+CCID", steps: []step{{send: "AT+CCID\r", want: resp("+CCID: {ICCID}")}}},
		{name: "+ICCID", steps: []step{{send: "AT+ICCID\r", want: resp("+ICCID: {ICCID}")}}},
		{name: "+QCCID", steps: []step{{send: "AT+QCCID\r", want: resp("+QCCID: {ICCID}")}}},
		{name: "test forms", steps: []step{{send: "AT+CGMI=?;+CGSN=?;+CIMI=?\r", want: okLine}}},
		{name: "read form is an error", steps: []step{{send: "AT+CGMI?\r", want: cmeErr("50")}}},
		{name: "+CPIN?", steps: []step{{send: "AT+CPIN?\r", want: resp("+CPIN: READY")}}},
		{name: "+CPIN= any PIN", steps: []step{{send: "AT+CPIN=\"1234\"\r", want: okLine}, {send: "AT+CPIN=?\r", want: okLine}}},
		{name: "+QINISTAT", steps: []step{{send: "AT+QINISTAT\r", want: resp("+QINISTAT: 7")}}},
		{name: "generic", opts: []harnessOption{withProfile("generic")}, steps: []step{
			{send: "AT+CGMI;+CGMM;+CGMR\r", want: resp("fleetsim", "LTE-M", "fleetsim-1.0")},
			{send: "AT+CCID\r", want: resp("+CCID: {ICCID}")},
			{send: "AT+QCCID\r", want: "\r\nERROR\r\n"}, // a Quectel command
		}},
		{name: "bg95", opts: []harnessOption{withProfile("bg95")}, steps: []step{
			{send: "AT+CGMM;+CGMR\r", want: resp("BG95-M3", "BG95M3LAR02A03")},
			{send: "AT+QNWINFO\r", want: resp(`+QNWINFO: "eMTC","23415","LTE BAND 3",5313`)},
		}},
	})
}

// ---- settings and vendor commands --------------------------------------------

func TestSettings(t *testing.T) {
	t.Parallel()
	runRows(t, []row{
		{name: "+CSCS", steps: []step{
			{send: "AT+CSCS?\r", want: resp(`+CSCS: "GSM"`)},
			{send: "AT+CSCS=\"IRA\"\r", want: okLine},
			{send: "AT+CSCS?\r", want: resp(`+CSCS: "IRA"`)},
			{send: "AT+CSCS=\"ucs2\"\r", want: okLine},
			{send: "AT+CSCS?\r", want: resp(`+CSCS: "UCS2"`)},
			{send: "AT+CSCS=\"EBCDIC\"\r", want: cmeErr("50")},
			{send: "AT+CSCS=?\r", want: resp(`+CSCS: ("GSM","IRA","UCS2","HEX","8859-1")`)},
		}},
		// 27.007 §7.6 and BG96 AT Commands Manual §6.5: a data-only
		// module still answers AT+CLIP, which hosts set up regardless.
		{name: "+CLIP", steps: []step{
			{send: "AT+CLIP=?\r", want: resp("+CLIP: (0,1)")},
			{send: "AT+CLIP?\r", want: resp("+CLIP: 0,1")},
			{send: "AT+CLIP=1\r", want: okLine},
			{send: "AT+CLIP?\r", want: resp("+CLIP: 1,1")},
			{send: "AT+CLIP=2\r", want: cmeErr("50")},
		}},
		{name: "+CMGF", steps: []step{
			{send: "AT+CMGF?\r", want: resp("+CMGF: 0")},
			{send: "AT+CMGF=1\r", want: okLine},
			{send: "AT+CMGF?\r", want: resp("+CMGF: 1")},
			{send: "AT+CMGF=2\r", want: cmeErr("50")},
			{send: "AT+CMGF=x\r", want: cmeErr("50")},
			{send: "AT+CMGF=?\r", want: resp("+CMGF: (0-1)")},
		}},
		{name: "+CPSMS", steps: []step{
			{send: "AT+CPSMS?\r", want: resp(`+CPSMS: 0,,,"",""`)},
			{send: "AT+CPSMS=1,,,\"00000100\",\"00001111\"\r", want: okLine},
			{send: "AT+CPSMS?\r", want: resp(`+CPSMS: 1,,,"00000100","00001111"`)},
			{send: "AT+CEREG=4;+CEREG?\r", want: resp(`+CEREG: 4,5,"F07B","062C5758",8,,,"00001111","00000100"`)},
			{send: "AT+CPSMS=1,,,\"0000010\"\r", want: cmeErr("50")},
			{send: "AT+CPSMS=3\r", want: cmeErr("50")},
			{send: "AT+CPSMS=2\r", want: okLine}, // disable and discard the timers
			{send: "AT+CPSMS?\r", want: resp(`+CPSMS: 0,,,"",""`)},
			{send: "AT+CPSMS=?\r", want: resp(`+CPSMS: (0-2),,,("00000000"-"11111111"),("00000000"-"11111111")`)},
		}},
		{name: "+CEDRXS", steps: []step{
			{send: "AT+CEDRXS?\r", want: resp("+CEDRXS: 0")},
			{send: "AT+CEDRXS=1,4,\"0101\"\r", want: okLine},
			{send: "AT+CEDRXS?\r", want: resp(`+CEDRXS: 4,"0101"`)},
			{send: "AT+CEDRXS=2\r", want: okLine},
			{send: "AT+CEDRXS?\r", want: resp(`+CEDRXS: 4,"0000"`)},
			{send: "AT+CEDRXS=1,6\r", want: cmeErr("50")},
			{send: "AT+CEDRXS=1,4,\"01012\"\r", want: cmeErr("50")},
			{send: "AT+CEDRXS=3\r", want: okLine},
			{send: "AT+CEDRXS?\r", want: resp("+CEDRXS: 0")},
			{send: "AT+CEDRXS=?\r", want: resp(`+CEDRXS: (0-3),(4,5),("0000"-"1111")`)},
		}},
		{name: "+CGEREP", steps: []step{
			{send: "AT+CGEREP?\r", want: resp("+CGEREP: 0,0")},
			{send: "AT+CGEREP=1\r", want: okLine},
			{send: "AT+CGEREP?\r", want: resp("+CGEREP: 1,0")},
			{send: "AT+CGEREP=3\r", want: cmeErr("50")},
		}},
		{name: "+QNWINFO", steps: []step{
			{send: "AT+QNWINFO\r", want: resp(`+QNWINFO: "CAT-M1","23415","LTE BAND 3",5313`)},
			{send: "AT+COPS=2\r", want: okLine},
			{send: "AT+QNWINFO\r", want: resp("+QNWINFO: No Service")},
		}},
		{name: "+QCSQ", steps: []step{
			{send: "AT+QCSQ\r", want: resp(`+QCSQ: "CAT-M1",-65,-82,170,-4`)},
			{send: "AT+QCSQ=?\r", want: resp(`+QCSQ: "NOSERVICE","GSM","CAT-M1","CAT-NB1"`)},
			{send: "AT+CFUN=0\r", want: okLine},
			{send: "AT+QCSQ\r", want: resp(`+QCSQ: "NOSERVICE"`)},
		}},
		{name: "+QSPN", steps: []step{{send: "AT+QSPN\r", want: resp(`+QSPN: "Vodafone","Vodafone","",0,"23415"`)}}},
		{name: "+QCFG nwscanseq", steps: []step{
			{send: "AT+QCFG=\"nwscanseq\"\r", want: resp(`+QCFG: "nwscanseq",020301`)},
			{send: "AT+QCFG=\"nwscanseq\"?\r", want: resp(`+QCFG: "nwscanseq",020301`)},
			{send: "AT+QCFG=\"nwscanseq\",0201\r", want: okLine},
			{send: "AT+QCFG=\"NWSCANSEQ\"\r", want: resp(`+QCFG: "nwscanseq",0201`)},
			{send: "AT+QCFG=\"nwscanseq\",021\r", want: cmeErr("50")},
			{send: "AT+QCFG=\"nwscanseq\",0209\r", want: cmeErr("50")},
		}},
		{name: "+QCFG iotopmode", steps: []step{
			{send: "AT+QCFG=\"iotopmode\"\r", want: resp(`+QCFG: "iotopmode",0`)},
			{send: "AT+QCFG=\"iotopmode\"?\r", want: resp(`+QCFG: "iotopmode",0`)},
			{send: "AT+QCFG=\"iotopmode\",2,1\r", want: okLine},
			{send: "AT+QCFG=\"iotopmode\"\r", want: resp(`+QCFG: "iotopmode",2`)},
			{send: "AT+QCFG=\"iotopmode\",3\r", want: cmeErr("50")},
		}},
		{name: "+QCFG nwscanmode and band", steps: []step{
			{send: "AT+QCFG=\"nwscanmode\",3\r", want: okLine},
			{send: "AT+QCFG=\"nwscanmode\"\r", want: resp(`+QCFG: "nwscanmode",3`)},
			{send: "AT+QCFG=\"nwscanmode\",2\r", want: cmeErr("50")},
			{send: "AT+QCFG=\"band\"\r", want: resp(`+QCFG: "band",0xf,0x100002000000000f0e189f,0x10004200000000090e189f`)},
		}},
		{name: "+QCFG unknown", steps: []step{
			{send: "AT+QCFG=\"nope\"\r", want: cmeErr("50")},
			{send: "AT+QCFG\r", want: cmeErr("50")},
		}},
		{name: "settings a host sends and forgets", steps: []step{
			{send: "AT+CTZR=1;+CTZU=1;+CNMI=2,1;+CSMS=0;+CPMS=\"ME\";+CSCA=\"+4477\"\r", want: "\r\n+CSMS: 1,1,1\r\n\r\n+CPMS: 0,50,0,20,0,20\r\n\r\nOK\r\n"},
		}},
	})
}

// ---- radio and registration ----------------------------------------------------

// gbCells are the cells of GB as the harness modem sees them, strongest
// first: long name, short name, PLMN. The harness NAP allows Vodafone only,
// so EE and O2 reject the first attach.
var gbCells = [][3]string{
	{"EE", "EE", "23430"}, {"O2", "O2", "23402"}, {"Vodafone", "Vodafone", "23415"},
	{"Lycamobile", "Lycamobi", "23426"}, {"Virgin Mobile", "Virgin M", "23431"},
	{"3", "3", "23420"}, {"BT Mobile", "BT Mobil", "23400"},
}

// scanLine is the AT+COPS=? answer over gbCells with these stats.
func scanLine(act int, stats ...string) string {
	var b strings.Builder
	b.WriteString("+COPS: ")
	for i, c := range gbCells {
		fmt.Fprintf(&b, "(%s,%q,%q,%q,%d),", stats[i], c[0], c[1], c[2], act)
	}
	return b.String() + ",(0,1,2,3,4),(0,1,2)"
}

func TestRegistrationRead(t *testing.T) {
	t.Parallel()
	const loc = `"F07B","062C5758",8`
	runRows(t, []row{
		{name: "+CREG n=0..5", steps: []step{
			{send: "AT+CREG?\r", want: resp("+CREG: 0,5")},
			{send: "AT+CREG=1;+CREG?\r", want: resp("+CREG: 1,5")},
			{send: "AT+CREG=2;+CREG?\r", want: resp("+CREG: 2,5," + loc)},
			{send: "AT+CREG=3;+CREG?\r", want: resp("+CREG: 3,5," + loc)},
			{send: "AT+CREG=4;+CREG?\r", want: resp("+CREG: 4,5," + loc)},
			{send: "AT+CREG=5;+CREG?\r", want: resp("+CREG: 5,5," + loc)},
			{send: "AT+CREG=6\r", want: cmeErr("50")},
			{send: "AT+CREG=?\r", want: resp("+CREG: (0-5)")},
		}},
		{name: "+CGREG n=0..5", steps: []step{
			{send: "AT+CGREG?\r", want: resp("+CGREG: 0,5")},
			{send: "AT+CGREG=1;+CGREG?\r", want: resp("+CGREG: 1,5")},
			{send: "AT+CGREG=2;+CGREG?\r", want: resp("+CGREG: 2,5," + loc)},
			{send: "AT+CGREG=3;+CGREG?\r", want: resp("+CGREG: 3,5," + loc)},
			{send: "AT+CGREG=4;+CGREG?\r", want: resp("+CGREG: 4,5," + loc)},
			{send: "AT+CGREG=5;+CGREG?\r", want: resp("+CGREG: 5,5," + loc)},
			{send: "AT+CGREG=?\r", want: resp("+CGREG: (0-5)")},
		}},
		{name: "+CEREG n=0..5", steps: []step{
			{send: "AT+CEREG?\r", want: resp("+CEREG: 0,5")},
			{send: "AT+CEREG=1;+CEREG?\r", want: resp("+CEREG: 1,5")},
			{send: "AT+CEREG=2;+CEREG?\r", want: resp("+CEREG: 2,5," + loc)},
			{send: "AT+CEREG=3;+CEREG?\r", want: resp("+CEREG: 3,5," + loc)},
			{send: "AT+CEREG=4;+CEREG?\r", want: resp("+CEREG: 4,5," + loc)},
			{send: "AT+CEREG=5;+CEREG?\r", want: resp("+CEREG: 5,5," + loc)},
			{send: "AT+CEREG=-1\r", want: cmeErr("50")},
			{send: "AT+CEREG=?\r", want: resp("+CEREG: (0-5)")},
		}},
		{name: "PSM timers in n=4 and n=5", steps: []step{
			{send: "AT+CPSMS=1,,,\"00000100\",\"00001111\"\r", want: okLine},
			{send: "AT+CEREG=5;+CEREG?\r", want: resp("+CEREG: 5,5," + loc + `,,,"00001111","00000100"`)},
			{send: "AT+CGREG=4;+CGREG?\r", want: resp("+CGREG: 4,5," + loc + `,,,,"00001111","00000100"`)},
			{send: "AT+CEREG=3;+CEREG?\r", want: resp("+CEREG: 3,5," + loc)},
		}},
		{name: "+CSQ and +CESQ", steps: []step{
			{send: "AT+CSQ\r", want: resp("+CSQ: 24,99")},
			{send: "AT+CSQ=?\r", want: resp("+CSQ: (0-31,99),(0-7,99)")},
			{send: "AT+CESQ\r", want: resp("+CESQ: 99,99,255,255,22,59")},
			{send: "AT+CESQ=?\r", want: resp("+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)")},
		}},
		{name: "+COPS read formats", steps: []step{
			{send: "AT+COPS?\r", want: resp(`+COPS: 0,0,"Vodafone",8`)},
			{send: "AT+COPS=3,2\r", want: okLine},
			{send: "AT+COPS?\r", want: resp(`+COPS: 0,2,"23415",8`)},
			{send: "AT+COPS=3,1;+COPS?\r", want: resp(`+COPS: 0,1,"Vodafone",8`)},
			{send: "AT+COPS=3\r", want: cmeErr("50")},
			{send: "AT+COPS=3,3\r", want: cmeErr("50")},
			{send: "AT+COPS\r", want: cmeErr("50")},
		}},
		{name: "+COPS=? marks current and forbidden", steps: []step{
			{send: "AT+COPS=?\r", want: resp(scanLine(8, "3", "3", "2", "3", "3", "3", "3"))},
		}},
		{name: "+COPS=? generic AcT", opts: []harnessOption{withProfile("generic")}, steps: []step{
			{send: "AT+COPS=?\r", want: resp(scanLine(7, "3", "3", "2", "3", "3", "3", "3"))},
			{send: "AT+COPS?\r", want: resp(`+COPS: 0,0,"Vodafone",7`)},
		}},
		{name: "+COPS manual", steps: []step{
			{send: "AT+COPS=1,2,\"23415\"\r", want: okLine},
			{send: "AT+COPS?\r", want: resp(`+COPS: 1,2,"23415",8`)},
			{send: "AT+COPS=1,0,\"Vodafone\"\r", want: okLine},
			{send: "AT+COPS?\r", want: resp(`+COPS: 1,0,"Vodafone",8`)},
			{send: "AT+COPS=1,1,\"Nowhere\"\r", want: cmeErr("30")},
			{send: "AT+COPS=1,2\r", want: cmeErr("50")},
		}},
		{name: "+COPS AcT bg96", steps: []step{
			{send: "AT+COPS=1,2,\"23415\",8\r", want: okLine},
			{send: "AT+COPS=1,2,\"23415\",7\r", want: okLine},
			{send: "AT+COPS=1,2,\"23415\",9\r", want: cmeErr("30")},
			{send: "AT+COPS=1,2,\"23415\",0\r", want: cmeErr("30")},
		}},
		{name: "+COPS AcT generic", opts: []harnessOption{withProfile("generic")}, steps: []step{
			{send: "AT+COPS=1,2,\"23415\",7\r", want: okLine},
			{send: "AT+COPS=1,2,\"23415\",8\r", want: cmeErr("30")},
			{send: "AT+COPS=1,2,\"23415\",9\r", want: cmeErr("30")},
		}},
		{name: "+COPS forbidden network", steps: []step{
			{send: "AT+CEREG=3\r", want: okLine},
			{send: "AT+COPS=1,2,\"23430\"\r", want: "\r\n+CEREG: 2\r\n\r\n+CEREG: 3,,,,0,11\r\n" + cmeErr("111")},
			{send: "AT+CEREG?\r", want: resp("+CEREG: 3,3,,,,0,11")},
			{send: "AT+CEREG=2;+CEREG?\r", want: resp("+CEREG: 2,3")},
			{send: "AT+CEREG=5;+CEREG?\r", want: resp("+CEREG: 5,3,,,,0,11")},
			{send: "AT+COPS?\r", want: resp("+COPS: 1")},
			{send: "AT+CGATT?\r", want: resp("+CGATT: 0")},
		}},
		{name: "+COPS manual not in range", steps: []step{
			{send: "AT+COPS=1,2,\"26202\"\r", want: cmeErr("30")},
			{send: "AT+CEREG?\r", want: resp("+CEREG: 0,0")},
		}},
		{name: "+COPS manual not in range after a rejection", steps: []step{
			{send: "AT+COPS=1,2,\"23430\"\r", want: cmeErr("111")},
			{send: "AT+COPS=1,2,\"26202\"\r", want: cmeErr("30")}, // not the earlier #11
			{send: "AT+CEREG?\r", want: resp("+CEREG: 0,0")},
		}},
		{name: "+COPS=2 deregisters", steps: []step{
			{send: "AT+CGACT=1,1\r", want: okLine},
			{send: "AT+COPS=2\r", want: okLine},
			{send: "AT+COPS?;+CEREG?;+CGATT?\r", want: resp("+COPS: 2", "+CEREG: 0,0", "+CGATT: 0")},
			{send: "AT+CGACT?;+CGPADDR=1\r", want: resp("+CGACT: 1,0", "+CGPADDR: 1")},
			{send: "AT+QNWINFO;+QCSQ\r", want: resp("+QNWINFO: No Service", `+QCSQ: "NOSERVICE"`)},
			{send: "ATD*99#\r", want: "\r\nNO CARRIER\r\n"},
		}},
	})
}

// TestCOPSAfterNAPChange shows a network rejected with #11 stays forbidden
// (3) in the scan after the NAP allows it, until a power cycle, while a
// network the NAP newly allows and never tried is available (1).
func TestCOPSAfterNAPChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, p := range []sim.PLMN{plmnEEUK, {MCC: "234", MNC: "26"}} {
		nw, _ := h.ctl.Catalog().ByPLMN(p)
		if _, err := h.ctl.AddNAPNetwork(h.ctx, h.acct, h.nap.Sid, nw.Sid); err != nil {
			t.Fatal(err)
		}
	}
	h.run([]step{
		{send: "AT+COPS=?\r", want: resp(scanLine(8, "3", "3", "2", "1", "3", "3", "3"))},
		{send: "AT+COPS=1,2,\"23430\"\r", want: okLine}, // manual selection tries a forbidden network
		{send: "AT+COPS=?\r", want: resp(scanLine(8, "2", "3", "1", "1", "3", "3", "3"))},
	})
}

// TestRegistrationURCs checks the unsolicited forms of +CREG, +CGREG and
// +CEREG for n=1..5 as the modem leaves and rejoins the network.
func TestRegistrationURCs(t *testing.T) {
	t.Parallel()
	const loc = `"F07B","062C5758",8`
	for n := 1; n <= 5; n++ {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.run([]step{
				{send: fmt.Sprintf("AT+CREG=%d;+CGREG=%[1]d;+CEREG=%[1]d\r", n), want: okLine},
				{send: "AT+COPS=2\r", want: "\r\n+CREG: 0\r\n\r\n+CGREG: 0\r\n\r\n+CEREG: 0\r\n" + okLine},
				{send: "AT+COPS=0\r", want: "\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n\r\n+CEREG: 2\r\n" + okLine},
			})
			want := "\r\n+CREG: 5\r\n\r\n+CGREG: 5\r\n\r\n+CEREG: 5\r\n"
			if n >= 2 {
				want = "\r\n+CREG: 5," + loc + "\r\n\r\n+CGREG: 5," + loc + "\r\n\r\n+CEREG: 5," + loc + "\r\n"
			}
			h.expect(want)
			h.run([]step{{send: "AT+CEREG=0;+CREG=0;+CGREG=0;+COPS=2\r", want: okLine}})
		})
	}
}

// TestCFUN checks that the radio leaves the network at +CFUN=0 and 4 and
// registers again at +CFUN=1.
func TestCFUN(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run([]step{
		{send: "AT+CFUN?\r", want: resp("+CFUN: 1")},
		{send: "AT+CFUN=?\r", want: resp("+CFUN: (0,1,4),(0,1)")},
		{send: "AT+CEREG=1\r", want: okLine},
		{send: "AT+CFUN=0\r", want: "\r\n+CEREG: 0\r\n" + okLine},
		{send: "AT+CFUN?;+CEREG?;+CSQ;+COPS?\r", want: resp("+CFUN: 0", "+CEREG: 1,0", "+CSQ: 99,99", "+COPS: 0")},
		{send: "AT+COPS=?\r", want: cmeErr("3")},
		{send: "AT+CGATT=1\r", want: cmeErr("3")},
		{send: "AT+CFUN=4\r", want: okLine},
		{send: "AT+CFUN?\r", want: resp("+CFUN: 4")},
		{send: "AT+CFUN=1\r", want: "\r\n+CEREG: 2\r\n" + okLine},
	})
	h.expect("\r\n+CEREG: 5\r\n")
	h.run([]step{
		{send: "AT+CEREG?;+CFUN?\r", want: resp("+CEREG: 1,5", "+CFUN: 1")},
		{send: "AT+CFUN=2\r", want: cmeErr("50")},
		{send: "AT+CFUN=1,2\r", want: cmeErr("50")},
		{send: "AT+CFUN=1\r", want: okLine}, // already on: nothing happens
		{send: "AT+CEREG?\r", want: resp("+CEREG: 1,5")},
	})
}

// TestCGATT checks packet domain detach and attach.
func TestCGATT(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run([]step{
		{send: "AT+CGATT?\r", want: resp("+CGATT: 1")},
		{send: "AT+CGATT=?\r", want: resp("+CGATT: (0,1)")},
		{send: "AT+CGATT=0\r", want: okLine},
		{send: "AT+CGATT?;+CEREG?\r", want: resp("+CGATT: 0", "+CEREG: 0,0")},
		{send: "AT+CGATT=1\r", want: okLine}, // returns once attached
		{send: "AT+CGATT?;+CEREG?\r", want: resp("+CGATT: 1", "+CEREG: 0,5")},
		{send: "AT+CGATT=2\r", want: cmeErr("50")},
	})
}

// TestCGATTTiming: on every family, AT+CGATT=1 when attached answers OK
// at once (27.007 §10.1.9), and after the host's own AT+CGATT=0 it takes
// exactly Timing.Attach: the modem is still camped on its cell
// (24.301 §5.2.2.3.1), so no cell search. TinyGSM's SIMCom drivers detach
// before every connect; the search made gprsConnect 5 s instead of 2 s.
func TestCGATTTiming(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{"bg96", "bg95", "sim7080", "sim7000", "sara-r4"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withVClock(), withProfile(profile))
			h.send("AT+CGATT=1\r")
			h.expect(okLine) // no time passes on the virtual clock
			h.run([]step{{send: "AT+CGATT=0\r", want: okLine}})
			h.send("AT+CGATT=1\r")
			h.awaitTimer(h.timing.Attach)
			h.advance(h.timing.Attach - time.Nanosecond)
			if got := h.unread(); got != "" {
				t.Fatalf("AT+CGATT=1 answered %q before the attach time", got)
			}
			h.advance(time.Nanosecond)
			h.expect(okLine)
			h.run([]step{{send: "AT+CGATT?\r", want: resp("+CGATT: 1")}})

			// Detached while not registered (airplane mode in between): a full search.
			h.run([]step{{send: "AT+CGATT=0\r", want: okLine}, {send: "AT+CFUN=4\r", want: okLine}})
			h.run([]step{{send: "AT+CFUN=1\r", re: `^\r\nOK\r\n`}})
			h.send("AT+CGATT=1\r")
			h.awaitTimer(h.timing.Scan)
		})
	}
}

// TestSignal checks forced signal levels and loss of coverage.
func TestSignal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.m.SetSignal(31)
	h.run([]step{{send: "AT+CSQ;+CESQ\r", want: resp("+CSQ: 31,99", "+CESQ: 99,99,255,255,24,73")}})
	h.m.SetSignal(0)
	h.run([]step{{send: "AT+CSQ;+CESQ\r", want: resp("+CSQ: 99,99", "+CESQ: 99,99,255,255,255,255")}})
	h.waitReg(RegNotRegistered)
	h.m.SetSignal(-1)
	h.waitReg(RegRoaming)
	h.run([]step{{send: "AT+CSQ\r", want: resp("+CSQ: 24,99")}})
}

// ---- packet data -------------------------------------------------------------------

func TestPacketData(t *testing.T) {
	t.Parallel()
	const addr = `"100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d{1,3}\.\d{1,3}"`
	runRows(t, []row{
		{name: "+CGDCONT", steps: []step{
			{send: "AT+CGDCONT?\r", want: resp(`+CGDCONT: 1,"IP","super","0.0.0.0",0,0`)},
			{send: "AT+CGDCONT=?\r", want: resp(`+CGDCONT: (1-15),"IP",,,(0),(0)`, `+CGDCONT: (1-15),"IPV6",,,(0),(0)`, `+CGDCONT: (1-15),"IPV4V6",,,(0),(0)`)},
			{send: "AT+CGDCONT=2,\"ipv4v6\",\"internet\"\r", want: okLine},
			{send: "AT+CGDCONT?\r", want: resp(`+CGDCONT: 1,"IP","super","0.0.0.0",0,0`, `+CGDCONT: 2,"IPV4V6","internet","0.0.0.0",0,0`)},
			{send: "AT+CGDCONT=2\r", want: okLine}, // undefines it
			{send: "AT+CGDCONT?\r", want: resp(`+CGDCONT: 1,"IP","super","0.0.0.0",0,0`)},
			{send: "AT+CGDCONT=16,\"IP\"\r", want: cmeErr("50")},
			{send: "AT+CGDCONT=1,\"X25\"\r", want: cmeErr("50")},
			{send: "AT+CGDCONT=1,\"IP\"\r", want: okLine},
			{send: "AT+CGDCONT?\r", want: resp(`+CGDCONT: 1,"IP","","0.0.0.0",0,0`)},
		}},
		{name: "+CGACT and +CGPADDR", steps: []step{
			{send: "AT+CGACT?\r", want: resp("+CGACT: 1,0")},
			{send: "AT+CGPADDR=1\r", want: resp("+CGPADDR: 1")},
			{send: "AT+CGACT=1,1\r", want: okLine},
			{send: "AT+CGACT?\r", want: resp("+CGACT: 1,1")},
			{send: "AT+CGPADDR=1\r", re: `\r\n\+CGPADDR: 1,` + addr + `\r\n\r\nOK\r\n`},
			{send: "AT+CGPADDR\r", re: `\r\n\+CGPADDR: 1,` + addr + `\r\n\r\nOK\r\n`},
			{send: "AT+CGDCONT?\r", re: `\r\n\+CGDCONT: 1,"IP","super",` + addr + `,0,0\r\n\r\nOK\r\n`},
			{send: "AT+CGDCONT=1,\"IP\",\"other\"\r", want: cmeErr("3")}, // active contexts cannot change
			{send: "AT+CGACT=0,1\r", want: okLine},
			{send: "AT+CGACT?;+CGPADDR=1\r", want: resp("+CGACT: 1,0", "+CGPADDR: 1")},
			{send: "AT+CGACT=1,7\r", want: cmeErr("50")},
			{send: "AT+CGACT=2,1\r", want: cmeErr("50")},
			{send: "AT+CGACT=?;+CGPADDR=?\r", want: resp("+CGACT: (0,1)", "+CGPADDR: (1-15)")},
		}},
		{name: "+CGACT unknown APN", steps: []step{
			{send: "AT+CGDCONT=3,\"IP\",\"internet\"\r", want: okLine},
			{send: "AT+CGACT=1,3\r", want: cmeErr("127")},
			{send: "AT+CGDCONT=3,\"IP\",\"SUPER\"\r", want: okLine},
			{send: "AT+CGACT=1,3\r", want: okLine},
		}},
		{name: "+CGACT off the network", steps: []step{
			{send: "AT+CFUN=0\r", want: okLine},
			{send: "AT+CGACT=1,1\r", want: cmeErr("30")},
		}},
		{name: "Quectel contexts", steps: []step{
			{send: "AT+QICSGP=1\r", want: resp(`+QICSGP: 1,"super","","",0`)},
			{send: "AT+QICSGP=2,1,\"super\"\r", want: okLine},
			{send: "AT+QIACT=2\r", want: okLine},
			{send: "AT+QIACT?\r", re: `\r\n\+QIACT: 2,1,1,` + addr + `\r\n\r\nOK\r\n`},
			{send: "AT+QIDEACT=2;+QIACT?\r", want: okLine},
		}},
		{name: "dial needs the network", steps: []step{
			{send: "AT+CFUN=0\r", want: okLine},
			{send: "ATD*99#\r", want: "\r\nNO CARRIER\r\n"},
			{send: "ATD123;\r", want: "\r\nNO CARRIER\r\n"},
			{send: "AT\r", want: okLine},
		}},
		{name: "ATO without a session", steps: []step{{send: "ATO\r", want: "\r\nNO CARRIER\r\n"}, {send: "ATH\r", want: okLine}}},
	})
}

// TestCGPADDRStable checks the CGNAT address is the same on every activation.
func TestCGPADDRStable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var addrs []string
	for range 2 {
		h.run([]step{{send: "AT+CGACT=1,1\r", want: okLine}})
		addrs = append(addrs, h.cmd("AT+CGPADDR=1"))
		h.run([]step{{send: "AT+CGACT=0,1\r", want: okLine}})
	}
	if addrs[0] != addrs[1] || !strings.Contains(addrs[0], `"100.`) {
		t.Fatalf("addresses %q, want one stable 100.64.0.0/10 address", addrs)
	}
}

// TestDataMode dials, moves data, escapes with +++ between guard times,
// resumes with ATO and hangs up, on the virtual clock.
func TestDataMode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	dial := func(line string) {
		t.Helper()
		h.send(line)
		h.awaitTimer(h.timing.Data)
		h.advance(h.timing.Data - time.Nanosecond)
		if got := h.unread(); got != "" {
			t.Fatalf("%q answered %q before the activation time", line, got)
		}
		h.advance(time.Nanosecond)
		h.expect("\r\nCONNECT\r\n")
	}
	usage := func() int64 {
		t.Helper()
		s, err := h.ctl.Sim(h.acct, h.simSid)
		if err != nil {
			t.Fatal(err)
		}
		return s.DataUsed
	}
	escape := func() {
		t.Helper()
		h.advance(escapeGuard)
		h.send("+++")
		h.awaitTimer(escapeGuard)
		h.advance(escapeGuard - time.Nanosecond)
		if got := h.unread(); got != "" || !h.dataMode() {
			t.Fatalf("escaped before the guard time after +++ (output %q)", got)
		}
		h.advance(time.Nanosecond)
		h.expect(okLine)
		if h.dataMode() {
			t.Fatal("still in data state after +++ and OK")
		}
	}

	dial("ATD*99#\r")
	if !h.dataMode() {
		t.Fatal("not in data state after CONNECT")
	}
	h.send("AT\rhello")
	h.sync()
	if got := usage(); got != 8 {
		t.Fatalf("data used %d bytes after 8 bytes of upload", got)
	}
	// +++ right after data is data: the guard time before it did not pass.
	h.send("+++")
	h.sync()
	h.advance(3 * escapeGuard)
	if got := h.unread(); got != "" || !h.dataMode() {
		t.Fatalf("+++ without the guard time before it escaped (output %q)", got)
	}
	// +++ followed by data within the guard time is data too.
	h.plusThenData()
	if got := h.unread(); got != "" || !h.dataMode() {
		t.Fatalf("+++x escaped (output %q)", got)
	}
	// A fourth + within the guard time cancels it as well.
	h.advance(escapeGuard)
	h.send("++++")
	h.sync()
	h.advance(3 * escapeGuard)
	if got := h.unread(); got != "" || !h.dataMode() {
		t.Fatalf("++++ escaped (output %q)", got)
	}

	escape()
	before := usage()
	h.run([]step{
		{send: "AT+CGACT?\r", want: resp("+CGACT: 1,1")}, // the session is kept
		{send: "ATO\r", want: "\r\nCONNECT\r\n"},
	})
	h.send("abc")
	h.sync()
	if got := usage(); got != before+3 {
		t.Fatalf("data used %d after ATO and 3 bytes, want %d", got, before+3)
	}
	escape()
	h.run([]step{
		{send: "ATH\r", want: okLine},
		{send: "AT+CGACT?\r", want: resp("+CGACT: 1,0")},
		{send: "ATO\r", want: "\r\nNO CARRIER\r\n"},
	})

	dial("ATD*99***1#\r")
	escape()
	h.run([]step{{send: "ATH\r", want: okLine}})
	dial("ATDT*99#\r") // a T (tone) modifier is ignored
	escape()
	h.run([]step{{send: "ATH\r", want: okLine}})
	dial("AT+CGDATA=\"PPP\",1\r")
	escape()
	h.run([]step{
		{send: "ATH\r", want: okLine},
		{send: "AT+CGDATA=?\r", want: resp(`+CGDATA: ("PPP")`)},
		{send: "AT+CGDATA=\"M-RAW\"\r", want: cmeErr("50")},
		{send: "AT+CGDATA=\"PPP\",16\r", want: cmeErr("50")},
	})
	h.send("ATD*99***2#\r") // an undefined context
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect("\r\nNO CARRIER\r\n")
	h.run([]step{{send: "ATDT*99#;\r", want: "\r\nNO CARRIER\r\n"}})
}

// TestDataModeNetworkDrop checks a data session ends with NO CARRIER when
// the network detaches the modem.
func TestDataModeNetworkDrop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	h.send("ATD*99#\r")
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect("\r\nCONNECT\r\n")
	h.setSimStatus("inactive", "")
	h.expect("\r\nNO CARRIER\r\n")
	if h.dataMode() {
		t.Fatal("still in data state after NO CARRIER")
	}
	h.run([]step{{send: "AT+CEREG?;+CGACT?\r", want: resp("+CEREG: 0,3", "+CGACT: 1,0")}})
}

// TestDataModeCutAtLimit checks a data session that crosses the Fleet's
// data limit is cut where the limit is reached: the SIM's usage ends at the
// limit, not at the end of the transfer that crossed it.
func TestDataModeCutAtLimit(t *testing.T) {
	t.Parallel()
	oneMB := 1
	h := newHarness(t, withVClock(), withControl(sim.WithLimitPropagation(0)), withFleet(func(p *sim.FleetParams) { p.DataLimit = &oneMB }))
	usage := func() int64 {
		t.Helper()
		s, err := h.ctl.Sim(h.acct, h.simSid)
		if err != nil {
			t.Fatal(err)
		}
		return s.DataUsed
	}
	h.send("AT+CGEREP=1;D*99#\r")
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect("\r\nCONNECT\r\n")
	chunk := strings.Repeat("x", 400_000)
	h.send(chunk)
	h.send(chunk)
	h.sync()
	if got := usage(); got != 800_000 {
		t.Fatalf("data used %d after 800,000 bytes", got)
	}
	h.send(chunk) // crosses the 1 MB limit
	h.sync()
	if got := usage(); got != sim.MB {
		t.Fatalf("data used %d after a transfer across the limit, want the limit %d", got, sim.MB)
	}
	h.expect("\r\nNO CARRIER\r\n\r\n+CGEV: NW PDN DEACT 1\r\n")
	if h.dataMode() {
		t.Fatal("still in data state after the limit was reached")
	}

	// The same through UseData: up to the limit, and no further.
	twoMB := 2
	if _, err := h.ctl.UpdateFleet(h.ctx, h.acct, h.fleet.Sid, sim.FleetParams{DataLimit: &twoMB}); err != nil {
		t.Fatal(err)
	}
	h.send("AT+CGACT=1,1\r")
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect(okLine)
	if err := h.m.UseData(h.ctx, 600_000, 600_000); !errors.Is(err, sim.ErrDataLimitReached) {
		t.Fatalf("UseData across the limit: %v, want ErrDataLimitReached", err)
	}
	if got := usage(); got != 2*sim.MB {
		t.Fatalf("data used %d after UseData across the limit, want %d", got, 2*sim.MB)
	}
	h.expect("\r\n+CGEV: NW PDN DEACT 1\r\n")
}

// ---- timing on the virtual clock ------------------------------------------------

// TestScanTakesScanTime checks AT+COPS=? answers exactly Timing.Scan after it arrives.
func TestScanTakesScanTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	h.send("AT+COPS=?\r")
	h.awaitTimer(h.timing.Scan)
	h.advance(h.timing.Scan - time.Nanosecond)
	if got := h.unread(); got != "" {
		t.Fatalf("AT+COPS=? answered %q before the scan time", got)
	}
	h.advance(time.Nanosecond)
	h.expect(resp(scanLine(8, "3", "3", "2", "3", "3", "3", "3")))
}

// TestPowerUp checks the boot indications come exactly Timing.Boot after a
// power cycle, then the modem registers.
func TestPowerUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	h.run([]step{{send: "AT+CFUN=1,1\r", want: okLine}})
	h.awaitTimer(h.timing.Boot)
	h.advance(h.timing.Boot - time.Nanosecond)
	if got := h.unread(); got != "" {
		t.Fatalf("output %q before the boot time", got)
	}
	h.advance(time.Nanosecond)
	h.expect("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n\r\nAPP RDY\r\n")
	h.run([]step{
		{send: "AT\r", want: "AT\r" + okLine}, // echo is on again
		{send: "ATE0;+CEREG?\r", want: "ATE0;+CEREG?\r" + resp("+CEREG: 0,2")},
	})
	h.advance(time.Minute)
	h.run([]step{{send: "AT+CEREG?\r", want: resp("+CEREG: 0,5")}})

	h.run([]step{{send: "AT+CFUN=0,1\r", want: okLine}}) // reboot into airplane mode
	h.awaitTimer(h.timing.Boot)
	h.advance(time.Minute)
	h.waitURC("+CFUN: 0") // the boot reports the functionality it booted into
	h.waitURC("APP RDY")
	h.run([]step{{send: "ATE0\r", want: "ATE0\r" + okLine}, {send: "AT+CFUN?;+CEREG?\r", want: resp("+CFUN: 0", "+CEREG: 0,0")}})
}

// TestQPOWD: OK first, then POWERED DOWN, and the radio stays off.
func TestQPOWD(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run([]step{
		{send: "AT+QPOWD=1\r", want: okLine + "\r\nPOWERED DOWN\r\n"},
		{send: "AT+CFUN?;+CEREG?\r", want: resp("+CFUN: 0", "+CEREG: 0,0")},
	})
}

// TestPowerUpGeneric checks a generic modem prints nothing when it powers up.
func TestPowerUpGeneric(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock(), withProfile("generic"))
	h.run([]step{{send: "AT+CFUN=1,1\r", want: okLine}})
	h.awaitTimer(h.timing.Boot)
	h.advance(time.Minute)
	h.run([]step{{send: "AT+CEREG?\r", want: "AT+CEREG?\r" + resp("+CEREG: 0,5")}})
}

// TestAttachTiming checks an automatic selection takes a scan and one
// attach attempt per network tried: EE and O2 reject before Vodafone.
func TestAttachTiming(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	h.run([]step{
		{send: "AT+CEREG=3\r", want: okLine},
		{send: "AT+CFUN=1,1\r", want: okLine}, // forgets the forbidden networks
	})
	h.awaitTimer(h.timing.Boot)
	h.advance(h.timing.Boot)
	h.waitURC("APP RDY")
	h.run([]step{{send: "ATE0;+CEREG=3\r", want: "ATE0;+CEREG=3\r" + okLine}})
	start := h.clock.Now()
	h.advance(h.timing.Scan + 3*h.timing.Attach - time.Nanosecond)
	h.run([]step{{send: "AT+CEREG?\r", want: resp("+CEREG: 3,2")}})
	h.advance(time.Nanosecond)
	h.expect("\r\n+CEREG: 5,\"F07B\",\"062C5758\",8\r\n")
	if d := h.clock.Now().Sub(start); d != h.timing.Scan+3*h.timing.Attach {
		t.Fatalf("registration took %v", d)
	}
}

// ---- network rules through the control plane ------------------------------------

// TestSimNew checks a SIM that is only registered never attaches.
func TestSimNew(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock(), withSimStatus("new"))
	h.run([]step{
		{send: "AT+CEREG?\r", want: resp("+CEREG: 0,3")},
		{send: "AT+CEREG=3;+CEREG?\r", want: resp("+CEREG: 3,3,,,,0,8")},
	})
	h.advance(24 * time.Hour)
	h.run([]step{
		{send: "AT+CEREG?;+COPS?\r", want: resp("+CEREG: 3,3,,,,0,8", "+COPS: 0")},
		{send: "AT+CGACT=1,1\r"},
	})
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect(cmeErr("30"))
	// A scan lists the networks: the NAP is not the reason.
	h.send("AT+COPS=?\r")
	h.awaitTimer(h.timing.Scan)
	h.advance(h.timing.Scan)
	h.expect(resp(scanLine(8, "1", "1", "1", "1", "1", "1", "1")))
	// A manual attach is rejected the same way.
	h.send("AT+COPS=1,2,\"23415\"\r")
	h.awaitTimer(h.timing.Scan)
	h.advance(time.Minute)
	h.expect("\r\n+CEREG: 2\r\n\r\n+CEREG: 3,,,,0,8\r\n" + cmeErr("108"))
}

// TestSimInactive checks an inactive SIM never attaches either.
func TestSimInactive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock(), withSimStatus("inactive"))
	h.advance(24 * time.Hour)
	h.run([]step{{send: "AT+CEREG=3;+CEREG?;+CGATT?\r", want: resp("+CEREG: 3,3,,,,0,8", "+CGATT: 0")}})
}

// TestSimReady checks a ready SIM attaches and moves data like an active one.
func TestSimReady(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withSimStatus("ready"))
	h.run([]step{{send: "AT+CGACT=1,1\r", want: okLine}})
	if err := h.m.UseData(h.ctx, 1000, 1000); err != nil {
		t.Fatal(err)
	}
}

// TestSimStatusChange checks a SIM status change reaches the modem when the
// asynchronous update completes, not when it is accepted.
func TestSimStatusChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	h.run([]step{{send: "AT+CEREG=3;+CGEREP=1;+CGACT=1,1\r"}})
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect(okLine)
	inactive := "inactive"
	if _, accepted, err := h.ctl.UpdateSim(h.ctx, h.acct, h.simSid, sim.SimParams{Status: &inactive}); err != nil || !accepted {
		t.Fatalf("UpdateSim inactive: accepted %v, %v", accepted, err)
	}
	h.advance(sim.DefaultUpdateDelay - time.Nanosecond)
	h.run([]step{{send: "AT+CEREG?;+CGACT?\r", want: resp(`+CEREG: 3,5,"F07B","062C5758",8`, "+CGACT: 1,1")}})
	h.advance(time.Nanosecond)
	h.expect("\r\n+CGEV: NW DETACH\r\n\r\n+CEREG: 3,,,,0,8\r\n")
	h.run([]step{{send: "AT+CEREG?;+CGACT?\r", want: resp("+CEREG: 3,3,,,,0,8", "+CGACT: 1,0")}})
	h.advance(time.Hour)
	h.run([]step{{send: "AT+CEREG?\r", want: resp("+CEREG: 3,3,,,,0,8")}})

	active := "active"
	if _, _, err := h.ctl.UpdateSim(h.ctx, h.acct, h.simSid, sim.SimParams{Status: &active}); err != nil {
		t.Fatal(err)
	}
	h.expect("\r\n+CEREG: 2\r\n") // the modem looks at once, the network still refuses
	h.advance(sim.DefaultUpdateDelay - time.Nanosecond)
	h.run([]step{{send: "AT+CEREG?\r", want: resp("+CEREG: 3,2")}})
	h.advance(time.Minute)
	h.expect("\r\n+CEREG: 5,\"F07B\",\"062C5758\",8\r\n")
}

// TestDataDisabled checks a Fleet without data lets the SIM attach but not
// activate a context.
func TestDataDisabled(t *testing.T) {
	t.Parallel()
	off := false
	h := newHarness(t, withFleet(func(p *sim.FleetParams) { p.DataEnabled = &off }))
	h.run([]step{
		{send: "AT+CEREG?\r", want: resp("+CEREG: 0,5")},
		{send: "AT+CGACT=1,1\r", want: cmeErr("133")},
		{send: "AT+CMEE=2;+CGACT=1,1\r", want: cmeErr("requested service option not subscribed")},
		{send: "ATD*99#\r", want: "\r\nNO CARRIER\r\n"},
		{send: "AT+CGACT?\r", want: resp("+CGACT: 1,0")},
	})
	if err := h.m.UseData(h.ctx, 1, 1); err == nil {
		t.Fatal("UseData without an active context succeeded")
	}
}

// TestDataLimit checks the Fleet's data limit blocks data once used up and
// unblocks when the limit is raised.
func TestDataLimit(t *testing.T) {
	t.Parallel()
	oneMB := 1
	h := newHarness(t, withControl(sim.WithLimitPropagation(0)), withFleet(func(p *sim.FleetParams) { p.DataLimit = &oneMB }))
	h.run([]step{{send: "AT+CGEREP=1;+CGACT=1,1\r", want: okLine}})
	if err := h.m.UseData(h.ctx, sim.MB/2, sim.MB/2); err != nil {
		t.Fatalf("UseData within the limit: %v", err)
	}
	err := h.m.UseData(h.ctx, 1, 0)
	if !errors.Is(err, sim.ErrDataLimitReached) {
		t.Fatalf("UseData over the limit: %v, want ErrDataLimitReached", err)
	}
	h.expect("\r\n+CGEV: NW PDN DEACT 1\r\n")
	h.run([]step{
		{send: "AT+CGACT?;+CEREG?\r", want: resp("+CGACT: 1,0", "+CEREG: 0,5")}, // still attached
		{send: "AT+CGACT=1,1\r", want: cmeErr("133")},
		{send: "ATD*99#\r", want: "\r\nNO CARRIER\r\n"},
	})
	twoMB := 2
	if _, err := h.ctl.UpdateFleet(h.ctx, h.acct, h.fleet.Sid, sim.FleetParams{DataLimit: &twoMB}); err != nil {
		t.Fatal(err)
	}
	h.run([]step{{send: "AT+CGACT=1,1\r", want: okLine}})
	if err := h.m.UseData(h.ctx, 1000, 0); err != nil {
		t.Fatalf("UseData after raising the limit: %v", err)
	}
	// Lowering it below the usage drops the session at once.
	if _, err := h.ctl.UpdateFleet(h.ctx, h.acct, h.fleet.Sid, sim.FleetParams{DataLimit: &oneMB}); err != nil {
		t.Fatal(err)
	}
	h.expect("\r\n+CGEV: NW PDN DEACT 1\r\n")
}

// TestNAPRemovalAuthCache checks that removing the serving network from the
// NAP keeps an attached modem registered until the cached authorisation
// expires, then detaches it with #11 and forbids the network.
func TestNAPRemovalAuthCache(t *testing.T) {
	t.Parallel()
	const cache = time.Hour
	h := newHarness(t, withVClock(), withAuthCache(cache))
	attached, found := h.clock.lastArmed(cache)
	if !found {
		t.Fatal("no authorisation cache timer was armed at the attach")
	}
	h.run([]step{{send: "AT+CEREG=3;+CGEREP=1\r", want: "\r\nOK\r\n"}})
	if err := h.ctl.RemoveNAPNetwork(h.ctx, h.acct, h.nap.Sid, h.vf.Sid); err != nil {
		t.Fatal(err)
	}
	h.clock.AdvanceTo(attached.Add(cache - time.Nanosecond))
	h.run([]step{{send: "AT+CEREG?;+COPS?\r", want: resp(`+CEREG: 3,5,"F07B","062C5758",8`, `+COPS: 0,0,"Vodafone",8`)}})
	h.advance(time.Nanosecond)
	h.expect("\r\n+CGEV: NW DETACH\r\n\r\n+CEREG: 3,,,,0,11\r\n\r\n+CEREG: 2\r\n")
	h.advance(time.Minute) // every other network rejects too
	h.expect("\r\n+CEREG: 3,,,,0,11\r\n")
	h.send("AT+COPS=?\r")
	h.awaitTimer(h.timing.Scan)
	h.advance(h.timing.Scan)
	h.expect(resp(scanLine(8, "3", "3", "3", "3", "3", "3", "3")))

	// Allowed again, Vodafone stays forbidden until a power cycle: the
	// modem looks again but finds every network forbidden.
	if _, err := h.ctl.AddNAPNetwork(h.ctx, h.acct, h.nap.Sid, h.vf.Sid); err != nil {
		t.Fatal(err)
	}
	h.expect("\r\n+CEREG: 2\r\n")
	h.advance(time.Hour)
	h.expect("\r\n+CEREG: 0\r\n")
	h.run([]step{{send: "AT+CEREG?\r", want: resp("+CEREG: 3,0")}})
	h.run([]step{{send: "AT+CFUN=1,1\r", want: okLine}})
	h.awaitTimer(h.timing.Boot)
	h.advance(time.Minute)
	h.waitURC("APP RDY")
	h.run([]step{{send: "ATE0;+CEREG?\r", want: "ATE0;+CEREG?\r" + resp("+CEREG: 0,5")}})
}

// TestNAPRemovalWhileRegistering checks the NAP change applies to a new
// attach at once.
func TestNAPRemovalBeforeAttach(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withVClock())
	if err := h.ctl.RemoveNAPNetwork(h.ctx, h.acct, h.nap.Sid, h.vf.Sid); err != nil {
		t.Fatal(err)
	}
	h.send("AT+COPS=1,2,\"23415\"\r")
	h.awaitTimer(h.timing.Scan)
	h.advance(time.Minute)
	h.expect(cmeErr("111"))
}

// ---- the session as a whole ----------------------------------------------------------

// hostSession is a realistic host session with echo on: every command answers
// at once (nothing waits on the virtual clock).
var hostSession = strings.Join([]string{
	"ATE1",
	"AT",
	"at+cgmi;+cgmm",
	"ATI",
	"AT+CSQ;+CREG?",
	"AT+XYZ",
	"ATS3?",
	"\x00garbage\xff\r\n",
	"A/",
	"AT+CMEE=2",
	"AT+CFUN=7",
	"ATV0",
	"AT",
	"AT+CGMR",
	"ATV1",
	"ATQ1",
	"AT+CGSN",
	"ATQ0",
	"AT+CGDX\bCONT?",
	"AT" + strings.Repeat("9", MaxLine+100),
	"AT+CEREG=2;+CEREG?",
	"AT+COPS=3,2;+COPS?",
	"AT+QCFG=\"nwscanseq\"",
	"ATS3=64",
	"AT+CGMI@AT+CGMM\n",
	"ATS3=13@",
	"AT+CPIN?;+CIMI;+CCID",
	"AT+CGSN",
}, "\r") + "\r"

// TestSessionSplitting checks the session gives byte-identical output fed
// byte by byte and in one chunk.
func TestSessionSplitting(t *testing.T) {
	t.Parallel()
	run := func(chunk int) string {
		h := newHarness(t, withVClock())
		for i := 0; i < len(hostSession); i += chunk {
			h.send(hostSession[i:min(i+chunk, len(hostSession))])
		}
		return h.readUntil("AT+CGSN\r\r\n" + IMEI(0) + "\r\n" + okLine)
	}
	whole, bytewise, sevens := run(len(hostSession)), run(1), run(7)
	if whole != bytewise {
		t.Fatalf("output differs\n one chunk:    %q\n byte by byte: %q", whole, bytewise)
	}
	if whole != sevens {
		t.Fatalf("output differs\n one chunk:      %q\n 7-byte chunks: %q", whole, sevens)
	}
	for _, want := range []string{"AT\r" + okLine, "at+cgmi;+cgmm\r" + resp("Quectel", "BG96"), "A/" + resp("013"), "ATV0\r0\rAT\r0\r", "AT+CGMI@@\nQuectel@\n@\nOK@\n"} {
		if !strings.Contains(whole, want) {
			t.Errorf("output lacks %q:\n%q", want, whole)
		}
	}
}

// TestIndicationsBetweenResponses checks an indication never lands inside
// a response: registration changes keep coming while multi-line responses
// are written, and every response reads as one contiguous block.
func TestIndicationsBetweenResponses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.run([]step{{send: "AT+CREG=2;+CGREG=2;+CEREG=2\r", want: okLine}})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				h.m.SetSignal(0)
			} else {
				h.m.SetSignal(-1)
			}
			time.Sleep(200 * time.Microsecond) // pace the flapping, not a wait
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	urc := `\r\n\+C(?:E|G)?REG: \d(?:,"[^\r\n]*)?\r\n` // the unsolicited form: <stat>[,"<lac>"...]
	checks := []struct{ line, re string }{
		{"ATI", `\r\nQuectel\r\n\r\nBG96\r\n\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n`},
		{"AT+CGDCONT=?", `(?:\r\n\+CGDCONT: \(1-15\),"[A-Z0-9]+",,,\(0\),\(0\)\r\n){3}\r\nOK\r\n`},
		{"AT+CEREG?;+CREG?;+CGREG?;+CSQ;+CGMI;+CGMM", `\r\n\+CEREG: 2,\d[^\r\n]*\r\n\r\n\+CREG: 2,\d[^\r\n]*\r\n\r\n\+CGREG: 2,\d[^\r\n]*\r\n\r\n\+CSQ: \d+,99\r\n\r\nQuectel\r\n\r\nBG96\r\n\r\nOK\r\n`},
		{"AT+COPS=?", `\r\n\+COPS: [^\r\n]*\r\n\r\nOK\r\n`},
	}
	urcRE := regexp.MustCompile(urc)
	urcs := 0
	for i := 0; i < 120; i++ {
		c := checks[i%len(checks)]
		got := h.cmd(c.line)
		m := regexp.MustCompile(`\A((?:` + urc + `)*)` + c.re + `\z`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("%s: response not contiguous: %q", c.line, got)
		}
		urcs += len(urcRE.FindAllString(m[1], -1))
	}
	if urcs == 0 {
		t.Fatal("no indication came while the commands ran")
	}
}

// TestEchoFloodKept checks the echo of a line read one byte at a time is
// kept whole while the host is busy writing and reads only afterwards (a
// terminal's driver buffers far more than one line).
func TestEchoFloodKept(t *testing.T) {
	t.Parallel()
	m := New(Config{Card: sim.Card{ICCID: "8988307000000000001"}, Profile: Generic{}, Timing: Timing{Boot: time.Hour, Scan: time.Hour, Attach: time.Hour, Data: time.Hour}})
	defer m.Close()
	host, dev := net.Pipe()
	defer dev.Close()
	served := make(chan error, 1)
	go func() { served <- m.Serve(context.Background(), dev) }()
	line := "AT" + strings.Repeat("1", 1500) + "\r"
	host.SetDeadline(time.Now().Add(harnessWait))
	for i := 0; i < len(line); i++ {
		if _, err := host.Write([]byte{line[i]}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	want := line + "\r\nERROR\r\n"
	got := make([]byte, 0, len(want))
	buf := make([]byte, 4096)
	for len(got) < len(want) {
		n, err := host.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
	}
	if string(got) != want {
		t.Fatalf("read %d bytes, want the %d of the echo and ERROR", len(got), len(want))
	}
	host.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
