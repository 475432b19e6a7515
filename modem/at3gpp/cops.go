package at3gpp

import "strconv"

// Operator is the +COPS read answer: <mode>[,<format>,<oper>[,<AcT>]]
// (27.007 §7.3). Format and AcT are -1 when not given (nothing selected).
type Operator struct {
	Mode   int    // 0 automatic, 1 manual, 2 deregistered, 4 manual then automatic
	Format int    // 0 long name, 1 short name, 2 numeric MCC+MNC
	Oper   string // in Format
	AcT    int
}

// ParseCOPS parses the value of a +COPS read answer, after "+COPS: ".
func ParseCOPS(v string) (Operator, error) {
	o := Operator{Format: -1, AcT: -1}
	sc := scanner{s: v}
	f, _ := sc.next()
	var err error
	if o.Mode, err = f.uint(255); err != nil {
		return o, syntaxErr("+COPS", v, "<mode>")
	}
	for i := 0; ; i++ {
		f, ok := sc.next()
		if !ok {
			break
		}
		switch i {
		case 0:
			if o.Format, err = f.optUint(255); err != nil {
				return o, syntaxErr("+COPS", v, "<format>")
			}
		case 1:
			o.Oper = f.s
		case 2:
			if o.AcT, err = f.optUint(255); err != nil {
				return o, syntaxErr("+COPS", v, "<AcT>")
			}
		}
	}
	if sc.bad {
		return o, syntaxErr("+COPS", v, "a closing quote")
	}
	return o, nil
}

// NetStat is the <stat> of a network in the +COPS test answer.
type NetStat uint8

const (
	NetUnknown   NetStat = 0
	NetAvailable NetStat = 1
	NetCurrent   NetStat = 2
	NetForbidden NetStat = 3
)

var netStatText = [...]string{"unknown", "available", "current", "forbidden"}

func (s NetStat) String() string {
	if int(s) < len(netStatText) {
		return netStatText[s]
	}
	return "stat " + strconv.Itoa(int(s))
}

// Network is one entry of the +COPS test answer:
// (<stat>,long alphanumeric <oper>,short alphanumeric <oper>,numeric <oper>[,<AcT>]).
type Network struct {
	Stat              NetStat
	Long, Short, PLMN string
	AcT               int // -1 when not given
}

// ParseCOPSList parses the value of a +COPS test answer, after "+COPS: ":
// the networks in range, then, after two commas, the supported modes and
// formats, which are not networks and are skipped.
func ParseCOPSList(v string) ([]Network, error) {
	var out []Network
	sc := scanner{s: v}
	for {
		f, ok := sc.next()
		if !ok || f.s == "" && !f.quoted {
			break // ",," ends the list of networks
		}
		g := f.s
		if f.quoted || len(g) < 2 || g[0] != '(' || g[len(g)-1] != ')' {
			return out, syntaxErr("+COPS", v, "a (<stat>,...) network")
		}
		n, err := parseNetwork(g[1 : len(g)-1])
		if err != nil {
			return out, syntaxErr("+COPS", v, err.Error())
		}
		out = append(out, n)
	}
	if sc.bad {
		return out, syntaxErr("+COPS", v, "a closing quote or bracket")
	}
	return out, nil
}

func parseNetwork(e string) (Network, error) {
	n := Network{AcT: -1}
	sc := scanner{s: e}
	f, _ := sc.next()
	st, err := f.uint(255)
	if err != nil {
		return n, errWant("<stat>")
	}
	n.Stat = NetStat(st)
	for i := 0; ; i++ {
		f, ok := sc.next()
		if !ok {
			if i < 3 {
				return n, errWant("three names")
			}
			break
		}
		switch i {
		case 0:
			n.Long = f.s
		case 1:
			n.Short = f.s
		case 2:
			n.PLMN = f.s
		case 3:
			if n.AcT, err = f.optUint(255); err != nil {
				return n, errWant("<AcT>")
			}
		}
	}
	if sc.bad {
		return n, errWant("a closing quote")
	}
	return n, nil
}

type errWant string

func (e errWant) Error() string { return string(e) }

// AcTName names an access technology <AcT> of +COPS and +CxREG as 27.007
// numbers them. (Quectel's BG9x number LTE Cat-M1 8 in +COPS: the caller
// knows its module.)
func AcTName(act int) string {
	switch act {
	case 0:
		return "GSM"
	case 1:
		return "GSM Compact"
	case 2:
		return "UTRAN"
	case 3:
		return "GSM w/EGPRS"
	case 4:
		return "UTRAN w/HSDPA"
	case 5:
		return "UTRAN w/HSUPA"
	case 6:
		return "UTRAN w/HSDPA and HSUPA"
	case 7:
		return "E-UTRAN"
	case 8:
		return "EC-GSM-IoT"
	case 9:
		return "E-UTRAN (NB-S1)"
	case 10:
		return "E-UTRA-5GCN"
	case 11:
		return "NR-5GCN"
	case 12:
		return "NG-RAN"
	case 13:
		return "E-UTRA-NR dual"
	}
	return strconv.Itoa(act)
}
