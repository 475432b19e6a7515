package at3gpp

import "strconv"

// RegState is a registration status: the <stat> of +CREG, +CGREG and
// +CEREG (27.007 §7.2, §10.1.20, §10.1.22).
type RegState uint8

// The 27.007 registration states.
const (
	RegNotRegistered  RegState = 0  // not registered, not searching
	RegHome           RegState = 1  // registered, home network
	RegSearching      RegState = 2  // not registered, searching or attaching
	RegDenied         RegState = 3  // registration denied
	RegUnknown        RegState = 4  // unknown (e.g. out of coverage)
	RegRoaming        RegState = 5  // registered, roaming
	RegHomeSMSOnly    RegState = 6  // registered for SMS only, home
	RegRoamingSMSOnly RegState = 7  // registered for SMS only, roaming
	RegEmergencyOnly  RegState = 8  // attached for emergency bearer services only
	RegHomeNoCSFB     RegState = 9  // registered for CSFB not preferred, home
	RegRoamingNoCSFB  RegState = 10 // registered for CSFB not preferred, roaming
)

var regStateText = [...]string{
	"not registered, not searching", "registered, home", "not registered, searching",
	"registration denied", "unknown", "registered, roaming", "registered for SMS only, home",
	"registered for SMS only, roaming", "emergency bearer services only",
	"registered for CSFB not preferred, home", "registered for CSFB not preferred, roaming",
}

// String is the state as 27.007 describes it.
func (s RegState) String() string {
	if int(s) < len(regStateText) {
		return regStateText[s]
	}
	return "stat " + strconv.Itoa(int(s))
}

// Registered reports whether s is a registration (home or roaming, in
// full, for SMS only or with CSFB not preferred).
func (s RegState) Registered() bool {
	switch s {
	case RegHome, RegRoaming, RegHomeSMSOnly, RegRoamingSMSOnly, RegHomeNoCSFB, RegRoamingNoCSFB:
		return true
	}
	return false
}

// RegCommand is one of the three registration commands; they share
// <n> and <stat> and differ in the fields that follow.
type RegCommand uint8

const (
	CREG  RegCommand = iota // circuit switched (27.007 §7.2)
	CGREG                   // GPRS (§10.1.20): <rac> after <AcT>, three PSM timers
	CEREG                   // EPS (§10.1.22): two PSM timers
)

var regCommandName = [...]string{"+CREG", "+CGREG", "+CEREG"}

// String is the command's name with its plus: "+CEREG".
func (c RegCommand) String() string {
	if int(c) < len(regCommandName) {
		return regCommandName[c]
	}
	return "+C?REG"
}

// Reg is a registration answer or indication. Numbers that were not given
// are -1, strings "".
type Reg struct {
	Cmd  RegCommand
	N    int      // <n> of the read form; -1 in an indication
	Stat RegState // <stat>
	// Area is <lac> (+CREG, +CGREG) or <tac> (+CEREG), CI <ci>: hex digits
	// as the modem wrote them, without quotes.
	Area, CI string
	AcT      int    // <AcT>, 27.007's numbering (see AcTName)
	RAC      string // +CGREG's <rac>
	// CauseType is <cause_type> (0: Cause is an EMM/GMM cause of 24.301
	// or 24.008 Annex A; 1: manufacturer specific), Cause <reject_cause>.
	CauseType, Cause int
	// ActiveTime and PeriodicTAU are the PSM timers (n=4, 5) as GPRS
	// Timer 2 and 3 bit strings; PeriodicTAU is <Periodic-RAU> for +CGREG.
	ActiveTime, PeriodicTAU string
}

// ParseReg parses the value of a registration line, after "+CEREG: ":
// the read answer (read true: <n>,<stat>[,...]) or the indication (read
// false: <stat>[,...]). Optional fields may be empty or missing.
func ParseReg(c RegCommand, v string, read bool) (Reg, error) {
	r := Reg{Cmd: c, N: -1, AcT: -1, CauseType: -1, Cause: -1}
	sc := scanner{s: v}
	if read {
		f, ok := sc.next()
		n, err := f.uint(255)
		if !ok || err != nil {
			return r, syntaxErr(c.String(), v, "<n>")
		}
		r.N = n
	}
	f, ok := sc.next()
	st, err := f.uint(255)
	if !ok || err != nil {
		return r, syntaxErr(c.String(), v, "<stat>")
	}
	r.Stat = RegState(st)
	// The fields after <stat>, by position.
	for i := 0; ; i++ {
		f, ok := sc.next()
		if !ok {
			break
		}
		pos := i
		if c != CGREG && i >= 3 {
			pos++ // no <rac>: count as +CGREG does
		}
		switch pos {
		case 0:
			r.Area = f.s
		case 1:
			r.CI = f.s
		case 2:
			if r.AcT, err = f.optUint(255); err != nil {
				return r, syntaxErr(c.String(), v, "<AcT>")
			}
		case 3:
			r.RAC = f.s
		case 4:
			if r.CauseType, err = f.optUint(255); err != nil {
				return r, syntaxErr(c.String(), v, "<cause_type>")
			}
		case 5:
			if r.Cause, err = f.optUint(1 << 16); err != nil {
				return r, syntaxErr(c.String(), v, "<reject_cause>")
			}
		case 6:
			r.ActiveTime = f.s
		case 7:
			r.PeriodicTAU = f.s
		}
	}
	if sc.bad {
		return r, syntaxErr(c.String(), v, "an unterminated quote or bracket")
	}
	return r, nil
}

// ParseRegLine parses a whole registration line, "+CREG: ...", "+CGREG:
// ..." or "+CEREG: ...", in the read form or as an indication.
func ParseRegLine(line string, read bool) (Reg, error) {
	for c, name := range regCommandName {
		if v, ok := cutName(line, name); ok {
			return ParseReg(RegCommand(c), v, read)
		}
	}
	return Reg{}, syntaxErr("+CxREG", line, "a +CREG, +CGREG or +CEREG line")
}
