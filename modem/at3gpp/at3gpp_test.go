package at3gpp

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseReg(t *testing.T) {
	// none is a Reg with nothing after <stat>.
	none := func(c RegCommand, n int, st RegState) Reg {
		return Reg{Cmd: c, N: n, Stat: st, AcT: -1, CauseType: -1, Cause: -1}
	}
	with := func(r Reg, f func(*Reg)) Reg { f(&r); return r }
	for _, tc := range []struct {
		line string
		read bool
		want Reg
	}{
		{"+CEREG: 0,5", true, none(CEREG, 0, RegRoaming)},
		{"+CEREG: 4,0", true, none(CEREG, 4, RegNotRegistered)},
		{"+CEREG:2,2", true, none(CEREG, 2, RegSearching)},
		{"+CREG: 1", false, none(CREG, -1, RegHome)},
		{"+CEREG: 2", false, none(CEREG, -1, RegSearching)},
		{`+CEREG: 2,1,"1A2B","01A2B3C4",7`, true, with(none(CEREG, 2, RegHome), func(r *Reg) {
			r.Area, r.CI, r.AcT = "1A2B", "01A2B3C4", 7
		})},
		{`+CEREG: 5,"1A2B","01A2B3C4",7`, false, with(none(CEREG, -1, RegRoaming), func(r *Reg) {
			r.Area, r.CI, r.AcT = "1A2B", "01A2B3C4", 7
		})},
		{`+CEREG: 3,"1A2B","01A2B3C4",7,0,13`, false, with(none(CEREG, -1, RegDenied), func(r *Reg) {
			r.Area, r.CI, r.AcT, r.CauseType, r.Cause = "1A2B", "01A2B3C4", 7, 0, 13
		})},
		{`+CEREG: 3,3,,,,0,11`, true, with(none(CEREG, 3, RegDenied), func(r *Reg) { r.CauseType, r.Cause = 0, 11 })},
		{`+CEREG: 4,1,"00C3","0000ABCD",9,,,"00100100","01000111"`, true, with(none(CEREG, 4, RegHome), func(r *Reg) {
			r.Area, r.CI, r.AcT, r.ActiveTime, r.PeriodicTAU = "00C3", "0000ABCD", 9, "00100100", "01000111"
		})},
		{`+CGREG: 3,1,"00C3","0000ABCD",7,"0A",0,0`, true, with(none(CGREG, 3, RegHome), func(r *Reg) {
			r.Area, r.CI, r.AcT, r.RAC, r.CauseType, r.Cause = "00C3", "0000ABCD", 7, "0A", 0, 0
		})},
		{`+CREG: 2,5,"00C3","0000ABCD",7`, true, with(none(CREG, 2, RegRoaming), func(r *Reg) {
			r.Area, r.CI, r.AcT = "00C3", "0000ABCD", 7
		})},
	} {
		t.Run(tc.line, func(t *testing.T) {
			got, err := ParseRegLine(tc.line, tc.read)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	for _, tc := range []struct {
		line string
		read bool
	}{
		{"+CEREG: ", false}, {"+CEREG: 2", true}, {"+CEREG: x,1", true}, {"+CEREG: 1,", true},
		{`+CEREG: 1,"1A2B`, false}, {"+CEREG: 1,,,x", false}, {"+COPS: 0", false}, {"+CEREG: 256", false},
	} {
		_, err := ParseRegLine(tc.line, tc.read)
		assert.ErrorIs(t, err, ErrSyntax, "%q", tc.line)
	}
}

func TestRegState(t *testing.T) {
	for st, reg := range map[RegState]bool{
		RegNotRegistered: false, RegHome: true, RegSearching: false, RegDenied: false, RegUnknown: false,
		RegRoaming: true, RegHomeSMSOnly: true, RegRoamingSMSOnly: true, RegEmergencyOnly: false,
		RegHomeNoCSFB: true, RegRoamingNoCSFB: true, 90: false,
	} {
		assert.Equal(t, reg, st.Registered(), "%v", st)
	}
	assert.Equal(t, "registered, roaming", RegRoaming.String())
	assert.Equal(t, "stat 90", RegState(90).String())
}

func TestParseCOPS(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want Operator
	}{
		{"0", Operator{Mode: 0, Format: -1, AcT: -1}},
		{`0,0,"ALDI Mobile",8`, Operator{Mode: 0, Format: 0, Oper: "ALDI Mobile", AcT: 8}},
		{`1,2,"26201",7`, Operator{Mode: 1, Format: 2, Oper: "26201", AcT: 7}},
		{`0,2,"23415"`, Operator{Mode: 0, Format: 2, Oper: "23415", AcT: -1}},
	} {
		got, err := ParseCOPS(tc.v)
		require.NoError(t, err, tc.v)
		assert.Equal(t, tc.want, got, tc.v)
	}
	for _, v := range []string{"", "x", `0,x,"a"`, `0,0,"a",x`, `0,0,"a`} {
		_, err := ParseCOPS(v)
		assert.ErrorIs(t, err, ErrSyntax, "%q", v)
	}
}

func TestParseCOPSList(t *testing.T) {
	got, err := ParseCOPSList(`(1,"SMART","SMART","51503",0),(3,"Globe Telecom-PH","GLOBE","51502",0),,(0,1,2,3,4),(0,1,2)`)
	require.NoError(t, err)
	assert.Equal(t, []Network{
		{Stat: NetAvailable, Long: "SMART", Short: "SMART", PLMN: "51503", AcT: 0},
		{Stat: NetForbidden, Long: "Globe Telecom-PH", Short: "GLOBE", PLMN: "51502", AcT: 0},
	}, got)
	got, err = ParseCOPSList(`(2,"","","26201"),,(0-4),(0-2)`)
	require.NoError(t, err)
	assert.Equal(t, []Network{{Stat: NetCurrent, PLMN: "26201", AcT: -1}}, got)
	got, err = ParseCOPSList(`,,(0,1,2,3,4),(0,1,2)`) // nothing in range
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.Equal(t, "forbidden", NetForbidden.String())
	for _, v := range []string{`(1,"a","b")`, `(x,"a","b","c")`, `1,"a","b","c"`, `(1,"a","b","c"`, `(1,"a","b","c",x)`} {
		_, err := ParseCOPSList(v)
		assert.ErrorIs(t, err, ErrSyntax, "%q", v)
	}
}

func TestParseCSQ(t *testing.T) {
	for v, want := range map[string]CSQ{"20,99": {20, 99}, "28, 0": {28, 0}, "99,99": {99, 99}, "0,7": {0, 7}} {
		got, err := ParseCSQ(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"", "20", "32,0", "20,8", "20,99,1", "-1,0", `"20",99`} {
		_, err := ParseCSQ(v)
		assert.ErrorIs(t, err, ErrSyntax, "%q", v)
	}
	for rssi, want := range map[int]int{0: -113, 1: -111, 2: -109, 30: -53, 31: -51} {
		got, ok := CSQ{RSSI: rssi}.DBm()
		assert.True(t, ok)
		assert.Equal(t, want, got, "rssi %d", rssi)
		assert.Equal(t, rssi, DBmRSSI(want), "dBm %d", want)
	}
	_, ok := CSQ{RSSI: 99}.DBm()
	assert.False(t, ok)
	assert.Equal(t, 0, DBmRSSI(-130))
	assert.Equal(t, 31, DBmRSSI(-40))
}

func TestCMEError(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want CMEError
		msg  string
	}{
		{" 10", CMEError{10, "SIM not inserted"}, "+CME ERROR: 10 (SIM not inserted)"},
		{"SIM not inserted", CMEError{10, "SIM not inserted"}, "+CME ERROR: 10 (SIM not inserted)"},
		{"incorrect parameters", CMEError{50, "incorrect parameters"}, "+CME ERROR: 50 (incorrect parameters)"},
		{"Illegal MS.", CMEError{103, "Illegal MS."}, "+CME ERROR: 103 (Illegal MS.)"},
		{"999", CMEError{999, ""}, "+CME ERROR: 999"},
		{"vendor trouble", CMEError{-1, "vendor trouble"}, "+CME ERROR: vendor trouble"},
	} {
		got := ParseCMEError(tc.s)
		assert.Equal(t, tc.want, *got, tc.s)
		assert.Equal(t, tc.msg, got.Error(), tc.s)
	}
	// The modem's side: a code only, its text from the table.
	assert.Equal(t, "+CME ERROR: 111 (PLMN not allowed)", (&CMEError{Code: CMEPLMNNotAllowed}).Error())
	assert.Equal(t, "Incorrect parameters", (&CMEError{Code: 50}).Verbose())
	assert.Equal(t, "unknown", (&CMEError{Code: 999}).Verbose())
	// The union of what modem and hw knew, in 27.007's words.
	for code, text := range map[int]string{
		17: "SIM PIN2 required", 18: "SIM PUK2 required", 108: "GPRS services and non-GPRS services not allowed",
		115: "No Suitable Cells In Location Area", 126: "insufficient resources", 127: "missing or unknown APN",
		149: "PDP authentication failure", 50: "Incorrect parameters",
	} {
		assert.Equal(t, text, CMEText(code), "code %d", code)
	}
	assert.Empty(t, CMEText(9))
	for i := 1; i < len(cmeTable); i++ {
		require.Less(t, cmeTable[i-1].code, cmeTable[i].code, "cmeTable is sorted")
	}
	for i := 1; i < len(cmsTable); i++ {
		require.Less(t, cmsTable[i-1].code, cmsTable[i].code, "cmsTable is sorted")
	}
}

func TestCMSError(t *testing.T) {
	e := ParseCMSError("321")
	assert.Equal(t, CMSError{321, "invalid memory index"}, *e)
	assert.Equal(t, "+CMS ERROR: 321 (invalid memory index)", e.Error())
	assert.Equal(t, CMSError{-1, "bad thing"}, *ParseCMSError(" bad thing "))
	assert.Equal(t, "Short message transfer rejected", (&CMSError{Code: CMSTransferRejected}).Verbose())
	assert.Equal(t, "unknown error", (&CMSError{Code: 777}).Verbose())
	c, ok := CMSCode("Memory Full")
	assert.True(t, ok)
	assert.Equal(t, CMSMemoryFull, c)
}

func TestFinal(t *testing.T) {
	for _, tc := range []struct {
		line  string
		final bool
		err   error
	}{
		{"OK", true, nil}, {"CONNECT", true, nil}, {"CONNECT 150000000", true, nil},
		{"ERROR", true, ResultError}, {"NO CARRIER", true, ResultNoCarrier}, {"BUSY", true, ResultBusy},
		{"NO ANSWER", true, ResultNoAnswer}, {"NO DIALTONE", true, ResultNoDialtone},
		{"+CEREG: 5", false, ResultError}, {"RING", false, ResultError}, {"OKAY", false, ResultError},
	} {
		assert.Equal(t, tc.final, IsFinal(tc.line), tc.line)
		assert.Equal(t, tc.err, FinalError(tc.line), tc.line)
	}
	var cme *CMEError
	require.True(t, IsFinal("+CME ERROR: 30"))
	require.ErrorAs(t, FinalError("+CME ERROR: 30"), &cme)
	assert.Equal(t, CMENoNetwork, cme.Code)
	var cms *CMSError
	require.ErrorAs(t, FinalError("+CMS ERROR: 500"), &cms)
	assert.Equal(t, CMSUnknown, cms.Code)
	wrapped := errors.Join(errors.New("dial"), ResultNoCarrier)
	assert.ErrorIs(t, wrapped, ResultNoCarrier)
	assert.Equal(t, "NO CARRIER", ResultNoCarrier.Error())
}

// The parsers do not allocate.
func TestParsersDoNotAllocate(t *testing.T) {
	var sink any
	allocs := testing.AllocsPerRun(100, func() {
		r, _ := ParseRegLine(`+CEREG: 2,5,"1A2B","01A2B3C4",7`, true)
		o, _ := ParseCOPS(`0,2,"26201",7`)
		c, _ := ParseCSQ("20,99")
		sink = r.Stat == RegRoaming && o.AcT == 7 && c.RSSI == 20 && IsFinal("OK")
	})
	_ = sink
	assert.Zero(t, allocs)
}
