package modem

import "testing"

// TestHostProbes answers the 27.007 commands a host's modem manager sends
// while it sets a BG96 up (ModemManager's probing, enabling and voice
// set-up), byte for byte. A bare OK to a test form, or ERROR where the
// module answers, made ModemManager crash or think a feature missing.
// References: 3GPP TS 27.007 (section per row) and the Quectel BG96 AT
// Commands Manual V2.3, chapter named per row.
func TestHostProbes(t *testing.T) {
	t.Parallel()
	runRows(t, []row{
		// 27.007 §8.41; BG96 manual, Network Service Commands, AT+CTZU.
		{name: "+CTZU", steps: []step{
			{send: "AT+CTZU=?\r", want: resp("+CTZU: (0,1)")},
			{send: "AT+CTZU?\r", want: resp("+CTZU: 0")},
			{send: "AT+CTZU=1\r", want: okLine},
			{send: "AT+CTZU?\r", want: resp("+CTZU: 1")},
			{send: "AT+CTZU=3\r", want: cmeErr("50")},
		}},
		// 27.007 §8.40; BG96 manual, Network Service Commands, AT+CTZR.
		{name: "+CTZR", steps: []step{
			{send: "AT+CTZR=?\r", want: resp("+CTZR: (0-2)")},
			{send: "AT+CTZR?\r", want: resp("+CTZR: 0")},
			{send: "AT+CTZR=2\r", want: okLine},
			{send: "AT+CTZR?\r", want: resp("+CTZR: 2")},
			{send: "AT+CTZR=3\r", want: cmeErr("50")},
		}},
		// 27.007 §8.15: +CCLK: "yy/MM/dd,hh:mm:ss±zz".
		{name: "+CCLK", steps: []step{
			{send: "AT+CCLK?\r", re: `\r\n\+CCLK: "\d\d/\d\d/\d\d,\d\d:\d\d:\d\d\+00"\r\n\r\nOK\r\n`},
			{send: "AT+CCLK=?\r", want: okLine},
		}},
		// 27.005/27.007 §5.9 +WS46 on a BG9x: GSM, E-UTRAN, both; read
		// follows AT+QCFG="nwscanmode" (0 automatic, 3 LTE only).
		{name: "+WS46 bg96", steps: []step{
			{send: "AT+WS46=?\r", want: resp("+WS46: (12,28,30)")},
			{send: "AT+WS46?\r", want: resp("+WS46: 30")},
			{send: "AT+QCFG=\"nwscanmode\",3\r", want: okLine},
			{send: "AT+WS46?\r", want: resp("+WS46: 28")},
			{send: "AT+WS46=12\r", want: okLine},
			{send: "AT+QCFG=\"nwscanmode\"\r", want: resp(`+QCFG: "nwscanmode",1`)},
			{send: "AT+WS46=22\r", want: cmeErr("50")},
		}},
		{name: "+WS46 generic", opts: []harnessOption{withProfile("generic")}, steps: []step{
			{send: "AT+WS46=?\r", want: resp("+WS46: (28)")},
			{send: "AT+WS46?\r", want: resp("+WS46: 28")},
			{send: "AT+WS46=25\r", want: cmeErr("50")},
		}},
		// 27.007 §7.1; BG96 manual, Phonebook Commands, AT+CNUM: a Super
		// SIM has no MSISDN, so no +CNUM line.
		{name: "+CNUM", steps: []step{
			{send: "AT+CNUM\r", want: okLine},
			{send: "AT+CNUM=?\r", want: okLine},
		}},
		// 27.007 §7.4; BG96 manual, (U)SIM Related Commands, AT+CLCK.
		{name: "+CLCK", steps: []step{
			{send: "AT+CLCK=?\r", want: resp(`+CLCK: ("SC","AO","OI","OX","AI","IR","AB","AG","AC","FD","PN","PU","PP")`)},
			{send: "AT+CLCK=\"SC\",2\r", want: resp("+CLCK: 0")},
			{send: "AT+CLCK=\"pn\",2\r", want: resp("+CLCK: 0")},
			{send: "AT+CLCK=\"SC\",0,\"1234\"\r", want: okLine},
			{send: "AT+CLCK=\"SC\",1,\"1234\"\r", want: cmeErr("3")},
			{send: "AT+CLCK=\"XX\",2\r", want: cmeErr("50")},
		}},
		// 27.007 §7.15; BG96 manual, Supplementary Service Commands, AT+CUSD.
		{name: "+CUSD", steps: []step{
			{send: "AT+CUSD=?\r", want: resp("+CUSD: (0-2)")},
			{send: "AT+CUSD?\r", want: resp("+CUSD: 0")},
			{send: "AT+CUSD=1\r", want: okLine},
			{send: "AT+CUSD?\r", want: resp("+CUSD: 1")},
			{send: "AT+CUSD=1,\"*100#\",15\r", want: okLine + "\r\n+CUSD: 4\r\n"},
			{send: "AT+CUSD=3\r", want: cmeErr("50")},
		}},
		// 27.007 §8.18; BG96 manual, (U)SIM Related Commands, AT+CRSM: EF AD
		// gives a 3-digit MNC for 732 123; absent files are 6A82.
		{name: "+CRSM", steps: []step{
			{send: "AT+CRSM=176,28589,0,0,4\r", want: resp(`+CRSM: 144,0,"00000003"`)},
			{send: "AT+CRSM=176,28486,0,0,17\r", want: resp("+CRSM: 106,130")},
			{send: "AT+CRSM=178,28478,1,4,0\r", want: resp("+CRSM: 109,0")},
			{send: "AT+CRSM=?\r", want: okLine},
		}},
		// 27.007 §8.17; BG96 manual, (U)SIM Related Commands, AT+CSIM: the
		// PIN/PUK counters as VERIFY/UNBLOCK without data report them.
		{name: "+CSIM", steps: []step{
			{send: "AT+CSIM=10,\"0020000100\"\r", want: resp(`+CSIM: 4,"63C3"`)},
			{send: "AT+CSIM=10,\"002C000100\"\r", want: resp(`+CSIM: 4,"63CA"`)},
			{send: "AT+CSIM=10,\"0020008100\"\r", want: resp(`+CSIM: 4,"63C3"`)},
			{send: "AT+CSIM=10,\"00A4000C02\"\r", want: resp(`+CSIM: 4,"6D00"`)},
			{send: "AT+CSIM=8,\"0020000100\"\r", want: cmeErr("50")},
		}},
		// V.250 / BG96 manual, Serial Interface Control Commands, AT+IFC.
		{name: "+IFC", steps: []step{
			{send: "AT+IFC=?\r", want: resp("+IFC: (0,2),(0,2)")},
			{send: "AT+IFC?\r", want: resp("+IFC: 0,0")},
			{send: "AT+IFC=2,2\r", want: okLine},
			{send: "AT+IFC?\r", want: resp("+IFC: 2,2")},
			{send: "AT+IFC=1,1\r", want: cmeErr("50")},
		}},
		// 27.007 §6.11, §7.12, §7.18; BG96 manual, Call Related and
		// Supplementary Service Commands.
		{name: "calls", steps: []step{
			{send: "AT+CRC=?\r", want: resp("+CRC: (0,1)")},
			{send: "AT+CRC=1;+CRC?\r", want: resp("+CRC: 1")},
			{send: "AT+CCWA=?\r", want: resp("+CCWA: (0,1)")},
			{send: "AT+CCWA=1\r", want: okLine},
			{send: "AT+CCWA?\r", want: resp("+CCWA: 1")},
			{send: "AT+CCWA=1,2\r", want: resp("+CCWA: 0,1")},
			{send: "AT+CLCC=?\r", want: okLine},
			{send: "AT+CLCC\r", want: okLine},
		}},
		// Forms the module does not have: +CGDATA has no read form
		// (27.007 §10.1.12); AT+QIDEACT=? lists the contexts (BG96 TCP/IP
		// Application Note, AT+QIDEACT).
		{name: "test and read forms", steps: []step{
			{send: "AT+CGDATA?\r", want: "\r\nERROR\r\n"},
			{send: "AT+QIDEACT=?\r", want: resp("+QIDEACT: (1-16)")},
		}},
	})
}

// TestCRSMICCID reads EF ICCID as a SIM stores it: swapped BCD.
func TestCRSMICCID(t *testing.T) {
	t.Parallel()
	if got, want := swappedBCD("8988307000001234567"), "988803070000214365F7"; got != want {
		t.Fatalf("swappedBCD = %q, want %q", got, want)
	}
	h := newHarness(t)
	h.run([]step{{send: "AT+CRSM=176,12258,0,0,10\r", want: resp(`+CRSM: 144,0,"` + swappedBCD(h.card.ICCID) + `"`)}})
}
