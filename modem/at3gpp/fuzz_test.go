package at3gpp

import (
	"strings"
	"testing"
)

// isPart reports whether s is a substring of v: a parser's strings are
// cut from its input, never made.
func isPart(v, s string) bool { return strings.Contains(v, s) }

func FuzzParseReg(f *testing.F) {
	for _, s := range []string{"+CEREG: 0,5", `+CEREG: 2,1,"1A2B","01A2B3C4",7`, `+CGREG: 3,1,"00C3","0000ABCD",7,"0A",0,0`} {
		f.Add(s, true)
	}
	f.Add(`+CEREG: 3,"1A2B","01A2B3C4",7,0,13`, false)
	f.Fuzz(func(t *testing.T, line string, read bool) {
		r, err := ParseRegLine(line, read)
		if err != nil {
			return
		}
		if read != (r.N >= 0) {
			t.Fatalf("%q: <n> %d in a read=%v line", line, r.N, read)
		}
		for _, s := range []string{r.Area, r.CI, r.RAC, r.ActiveTime, r.PeriodicTAU} {
			if !isPart(line, s) {
				t.Fatalf("%q: field %q not from the line", line, s)
			}
		}
		if r.AcT < -1 || r.Cause < -1 || r.CauseType < -1 {
			t.Fatalf("%q: %+v", line, r)
		}
		// The same fields under another command name parse the same (but
		// for +CGREG's <rac>).
		v, _ := cutName(line, r.Cmd.String())
		if r.Cmd != CGREG {
			r2, err := ParseReg(CREG+CEREG-r.Cmd, v, read)
			if err != nil || r2.Stat != r.Stat || r2.Cause != r.Cause {
				t.Fatalf("%q: %+v, %v as the other command", line, r2, err)
			}
		}
	})
}

func FuzzParseCOPS(f *testing.F) {
	for _, s := range []string{"0", `0,0,"ALDI Mobile",8`, `1,2,"26201",7`, `0,2,"23415"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		o, err := ParseCOPS(v)
		if err != nil {
			return
		}
		if !isPart(v, o.Oper) || o.Format < -1 || o.AcT < -1 || o.Mode < 0 {
			t.Fatalf("%q: %+v", v, o)
		}
	})
}

func FuzzParseCOPSList(f *testing.F) {
	for _, s := range []string{
		`(1,"SMART","SMART","51503",0),(3,"Globe Telecom-PH","GLOBE","51502",0),,(0,1,2,3,4),(0,1,2)`,
		`(2,"","","26201"),,(0-4),(0-2)`, `,,(0,1,2,3,4),(0,1,2)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		nets, err := ParseCOPSList(v)
		if err != nil {
			return
		}
		if len(nets) > strings.Count(v, "(") {
			t.Fatalf("%q: %d networks", v, len(nets))
		}
		for _, n := range nets {
			if !isPart(v, n.Long) || !isPart(v, n.Short) || !isPart(v, n.PLMN) || n.AcT < -1 {
				t.Fatalf("%q: %+v", v, n)
			}
		}
	})
}

func FuzzParseCSQ(f *testing.F) {
	for _, s := range []string{"20,99", "28, 0", "99,99", "31,7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCSQ(v)
		if err != nil {
			return
		}
		dbm, ok := c.DBm()
		if ok != (c.RSSI <= 31) || ok && (dbm < -113 || dbm > -51 || DBmRSSI(dbm) != c.RSSI) {
			t.Fatalf("%q: %+v, %d dBm", v, c, dbm)
		}
	})
}

func FuzzFinal(f *testing.F) {
	for _, s := range []string{"OK", "+CME ERROR: 30", "+CME ERROR: SIM busy", "+CMS ERROR: 500", "NO CARRIER", "CONNECT 1000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		err := FinalError(line)
		switch e := err.(type) {
		case *CMEError:
			if e.Code < 0 && CMEText(e.Code) != "" || e.Code >= 0 && e.Text != CMEText(e.Code) && e.Text != strings.TrimSpace(line[len("+CME ERROR:"):]) {
				t.Fatalf("%q: %+v", line, e)
			}
		case *CMSError:
		case Result:
			if e == ResultOK || e == ResultConnect {
				t.Fatalf("%q: %v as an error", line, e)
			}
		case nil:
			if !IsFinal(line) {
				t.Fatalf("%q: success from a line that is not final", line)
			}
		default:
			t.Fatalf("%q: %T", line, err)
		}
	})
}
