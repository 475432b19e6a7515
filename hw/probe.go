package hw

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// ProbeResult is what a module says about itself, its SIM and its network.
// Fields the module would not give are empty; Errors says why.
type ProbeResult struct {
	Manufacturer  string        `json:"manufacturer,omitempty"`
	Model         string        `json:"model,omitempty"`
	Revision      string        `json:"revision,omitempty"`
	IMEI          string        `json:"imei,omitempty"`
	ICCID         string        `json:"iccid,omitempty"`
	IMSI          string        `json:"imsi,omitempty"`
	SIMState      string        `json:"sim_state,omitempty"`     // +CPIN?: READY, SIM PIN ...
	Functionality *int          `json:"functionality,omitempty"` // +CFUN?: 1 full, 4 airplane, 0 minimum
	EPS           *Registration `json:"eps_registration,omitempty"`
	CS            *Registration `json:"cs_registration,omitempty"`
	GPRS          *Registration `json:"gprs_registration,omitempty"`
	Operator      *Operator     `json:"operator,omitempty"`
	Signal        *Signal       `json:"signal,omitempty"`
	PDP           []PDPContext  `json:"pdp_contexts,omitempty"`
	Networks      []Network     `json:"networks,omitempty"` // with scan: the AT+COPS=? list
	Errors        []ProbeError  `json:"errors,omitempty"`
}

// ProbeError is a command of the probe that failed; the probe goes on.
type ProbeError struct {
	Command string `json:"command"`
	Error   string `json:"error"`
}

// RegStat is a registration status, <stat> of +CREG, +CGREG and +CEREG:
// the shared vocabulary's RegState.
type RegStat = at3gpp.RegState

const (
	RegNotSearching = at3gpp.RegNotRegistered
	RegHome         = at3gpp.RegHome
	RegSearching    = at3gpp.RegSearching
	RegDenied       = at3gpp.RegDenied
	RegUnknown      = at3gpp.RegUnknown
	RegRoaming      = at3gpp.RegRoaming
	RegHomeSMS      = at3gpp.RegHomeSMSOnly
	RegRoamingSMS   = at3gpp.RegRoamingSMSOnly
	RegEmergency    = at3gpp.RegEmergencyOnly
	RegHomeNoCSFB   = at3gpp.RegHomeNoCSFB
	RegRoamingCSFB  = at3gpp.RegRoamingNoCSFB
)

// Registration is the answer to AT+CxREG?.
type Registration struct {
	Mode            int     `json:"mode"` // <n>: which URCs are on
	Stat            RegStat `json:"stat"`
	StatText        string  `json:"stat_text"`
	Area            string  `json:"area,omitempty"` // <lac> or <tac>, hex
	CellID          string  `json:"cell_id,omitempty"`
	AcT             *int    `json:"act,omitempty"`
	RejectCauseType *int    `json:"reject_cause_type,omitempty"` // 0: EMM cause (24.301 annex A)
	RejectCause     *int    `json:"reject_cause,omitempty"`
}

// Operator is the answer to AT+COPS?.
type Operator struct {
	Mode    int    `json:"mode"` // 0 automatic, 1 manual, 2 deregistered, 4 manual/automatic
	Format  *int   `json:"format,omitempty"`
	Name    string `json:"name,omitempty"`
	AcT     *int   `json:"act,omitempty"`
	AcTText string `json:"act_text,omitempty"`
}

// Signal is the answer to AT+CSQ, and to AT+QCSQ on Quectel modules.
type Signal struct {
	RSSI    int    `json:"rssi"` // 0-31, 99 not known
	BER     int    `json:"ber"`
	DBm     *int   `json:"rssi_dbm,omitempty"`
	SysMode string `json:"sysmode,omitempty"` // +QCSQ: "CAT-M1", "NOSERVICE" ...
	QCSQ    []int  `json:"qcsq,omitempty"`    // +QCSQ values after sysmode (RSSI, RSRP, SINR, RSRQ for LTE)
}

// PDPContext is a context of AT+CGDCONT? with its state and addresses.
type PDPContext struct {
	CID       int      `json:"cid"`
	Type      string   `json:"type,omitempty"`
	APN       string   `json:"apn"`
	Active    *bool    `json:"active,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
}

// Network is one entry of the AT+COPS=? list.
type Network struct {
	Stat     int    `json:"stat"` // 0 unknown, 1 available, 2 current, 3 forbidden
	StatText string `json:"stat_text"`
	Long     string `json:"long"`
	Short    string `json:"short"`
	Numeric  string `json:"numeric"`
	AcT      *int   `json:"act,omitempty"`
	AcTText  string `json:"act_text,omitempty"`
}

// actText names an <AcT> of 27.007 (+COPS, +CxREG); Quectel BG9x use 8
// for LTE Cat-M1 and 9 for NB-IoT where 27.007 has 7 and 9.
func actText(act int, quectel bool) string {
	if quectel {
		switch act {
		case 0:
			return "GSM"
		case 8:
			return "LTE Cat-M1"
		case 9:
			return "LTE Cat-NB1"
		}
	}
	return at3gpp.AcTName(act)
}

// ProbeProgressEvery is how often Probe reports that a scan is still running.
const ProbeProgressEvery = 5 * time.Second

// Probe asks the module what it knows: identity, SIM, functionality,
// registration (with the EMM reject cause: AT+CEREG=3 is set for the read
// and the mode restored), operator, signal and PDP contexts; with scan it
// also lists the networks in range (AT+COPS=?, which takes up to the
// client's +COPS=? timeout, 180 s by default), calling progress (if not
// nil) as it goes. A command that fails is recorded in Errors and the
// probe goes on; Probe returns an error only when the modem cannot be
// talked to at all, with what it had found.
func Probe(ctx context.Context, c *Client, scan bool, progress func(string)) (*ProbeResult, error) {
	if progress == nil {
		progress = func(string) {}
	}
	p := &prober{ctx: ctx, c: c, r: &ProbeResult{}}
	r := p.r
	// A module that restarts under the probe (RDY in the middle of a
	// command) answers again once it is up: the client re-initialises it.
	var err error
	for range 3 {
		if _, err = c.Command(ctx, "AT"); !errors.Is(err, ErrRebooted) {
			break
		}
	}
	if err != nil {
		return r, err
	}
	r.Manufacturer = p.one("+CGMI", "")
	r.Model = p.one("+CGMM", "")
	r.Revision = p.one("+CGMR", "Revision")
	r.IMEI = p.one("+CGSN", "+CGSN")
	quectel := strings.Contains(strings.ToLower(r.Manufacturer), "quectel")
	if quectel {
		r.ICCID = p.one("+QCCID", "+QCCID")
	} else {
		r.ICCID = p.one("+CCID", "+CCID", "+ICCID")
	}
	r.IMSI = p.one("+CIMI", "+CIMI")
	r.SIMState = p.one("+CPIN?", "+CPIN")
	if v := p.one("+CFUN?", "+CFUN"); v != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(strings.Split(v, ",")[0])); err == nil {
			r.Functionality = &n
		}
	}
	r.EPS = p.epsRegistration()
	r.CS = p.registration(at3gpp.CREG)
	r.GPRS = p.registration(at3gpp.CGREG)
	if v := p.one("+COPS?", "+COPS"); v != "" {
		r.Operator = parseOperator(v, quectel)
	}
	if v := p.one("+CSQ", "+CSQ"); v != "" {
		r.Signal = parseCSQ(v)
		if quectel {
			if q := p.one("+QCSQ", "+QCSQ"); q != "" && r.Signal != nil {
				f := fields(q)
				if len(f) > 0 {
					r.Signal.SysMode = f[0].s
					for _, x := range f[1:] {
						if n, err := strconv.Atoi(x.s); err == nil {
							r.Signal.QCSQ = append(r.Signal.QCSQ, n)
						}
					}
				}
			}
		}
	}
	r.PDP = p.pdp()
	if p.fatal == nil && scan {
		timeout := c.timeoutFor("+COPS=?")
		progress(fmt.Sprintf("scanning for networks (AT+COPS=?, up to %v)", timeout))
		start := time.Now()
		stop := make(chan struct{})
		ticked := make(chan struct{})
		go func() {
			defer close(ticked)
			t := time.NewTicker(ProbeProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					progress(fmt.Sprintf("still scanning (%v)", time.Since(start).Round(time.Second)))
				case <-stop:
					return
				}
			}
		}()
		info, err := p.cmd("+COPS=?")
		close(stop)
		<-ticked
		if err == nil {
			r.Networks = parseScan(info, quectel)
			progress(fmt.Sprintf("scan done: %d networks in %v", len(r.Networks), time.Since(start).Round(time.Millisecond)))
		}
	}
	return r, p.fatal
}

// prober runs the probe's commands, recording failures.
type prober struct {
	ctx   context.Context
	c     *Client
	r     *ProbeResult
	fatal error
}

// cmd runs one command unless the probe has already met a fatal error.
func (p *prober) cmd(cmd string) ([]string, error) {
	if p.fatal != nil {
		return nil, p.fatal
	}
	info, err := p.c.Command(p.ctx, cmd)
	for retry := 0; errors.Is(err, ErrRebooted) && retry < 2; retry++ {
		info, err = p.c.Command(p.ctx, cmd) // the module restarted meanwhile: ask again
	}
	if err != nil {
		p.r.Errors = append(p.r.Errors, ProbeError{Command: "AT" + cmd, Error: err.Error()})
		if errors.Is(err, ErrDisconnected) || errors.Is(err, ErrClosed) || errors.Is(err, ErrNotSynced) || p.ctx.Err() != nil {
			p.fatal = err
		}
	}
	return info, err
}

// one runs cmd and returns the value of its first information line that
// starts with one of prefixes (without the prefix), or its first line
// when no prefix is given or none matches.
func (p *prober) one(cmd string, prefixes ...string) string {
	info, err := p.cmd(cmd)
	if err != nil || len(info) == 0 {
		return ""
	}
	for _, l := range info {
		for _, pre := range prefixes {
			if pre == "" {
				continue
			}
			if v, ok := strings.CutPrefix(l, pre+":"); ok {
				return strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, pre+" "); ok { // "Revision: X" on some modules
				return strings.TrimSpace(strings.TrimPrefix(v, ":"))
			}
		}
	}
	return strings.TrimSpace(info[0])
}

func (p *prober) registration(c at3gpp.RegCommand) *Registration {
	if v := p.one(c.String()+"?", c.String()); v != "" {
		return parseRegistration(c, v)
	}
	return nil
}

// epsRegistration reads +CEREG with the reject cause: in mode 3 or 5 the
// read answer carries it; otherwise the probe sets mode 3 for the read and
// restores the mode it found.
func (p *prober) epsRegistration() *Registration {
	reg := p.registration(at3gpp.CEREG)
	if reg == nil || reg.Mode == 3 || reg.Mode == 5 {
		return reg
	}
	if _, err := p.cmd("+CEREG=3"); err != nil {
		return reg
	}
	if r3 := p.registration(at3gpp.CEREG); r3 != nil {
		r3.Mode = reg.Mode
		reg = r3
	}
	p.cmd(fmt.Sprintf("+CEREG=%d", reg.Mode))
	return reg
}

func (p *prober) pdp() []PDPContext {
	info, err := p.cmd("+CGDCONT?")
	if err != nil {
		return nil
	}
	var out []PDPContext
	byCID := map[int]int{}
	for _, l := range info {
		v, ok := strings.CutPrefix(l, "+CGDCONT:")
		if !ok {
			continue
		}
		f := fields(v)
		if len(f) < 3 {
			continue
		}
		cid, err := strconv.Atoi(f[0].s)
		if err != nil {
			continue
		}
		byCID[cid] = len(out)
		out = append(out, PDPContext{CID: cid, Type: f[1].s, APN: f[2].s})
	}
	if len(out) == 0 {
		return nil
	}
	if info, err := p.cmd("+CGACT?"); err == nil {
		for _, l := range info {
			v, ok := strings.CutPrefix(l, "+CGACT:")
			if !ok {
				continue
			}
			f := fields(v)
			if len(f) < 2 {
				continue
			}
			cid, err1 := strconv.Atoi(f[0].s)
			st, err2 := strconv.Atoi(f[1].s)
			if i, ok := byCID[cid]; ok && err1 == nil && err2 == nil {
				active := st == 1
				out[i].Active = &active
			}
		}
	}
	if info, err := p.cmd("+CGPADDR"); err == nil {
		for _, l := range info {
			v, ok := strings.CutPrefix(l, "+CGPADDR:")
			if !ok {
				continue
			}
			f := fields(v)
			if len(f) < 2 {
				continue
			}
			cid, err := strconv.Atoi(f[0].s)
			if i, ok := byCID[cid]; ok && err == nil {
				for _, a := range f[1:] {
					if a.s != "" {
						out[i].Addresses = append(out[i].Addresses, a.s)
					}
				}
			}
		}
	}
	return out
}

// field is one comma-separated value of an information line.
type field struct {
	s      string
	quoted bool
}

// fields splits an information line's value at commas outside quotes and
// parentheses, unquoting quoted values.
func fields(v string) []field {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	var out []field
	var cur strings.Builder
	quoted, inQ, depth := false, false, 0
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case ch == '"':
			inQ = !inQ
			if depth > 0 {
				cur.WriteByte(ch) // unquoted when the group is split
			} else {
				quoted = true
			}
		case inQ:
			cur.WriteByte(ch)
		case ch == '(':
			depth++
			cur.WriteByte(ch)
		case ch == ')':
			depth--
			cur.WriteByte(ch)
		case ch == ',' && depth == 0:
			out = append(out, field{strings.TrimSpace(cur.String()), quoted})
			cur.Reset()
			quoted = false
		default:
			cur.WriteByte(ch)
		}
	}
	return append(out, field{strings.TrimSpace(cur.String()), quoted})
}

// optional is a number the parser gave, nil for the -1 of one not given.
func optional(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

// parseRegistration parses the value of a +CxREG read answer.
func parseRegistration(c at3gpp.RegCommand, v string) *Registration {
	reg, err := at3gpp.ParseReg(c, v, true)
	if err != nil {
		return nil
	}
	return &Registration{
		Mode: reg.N, Stat: reg.Stat, StatText: reg.Stat.String(), Area: reg.Area, CellID: reg.CI,
		AcT: optional(reg.AcT), RejectCauseType: optional(reg.CauseType), RejectCause: optional(reg.Cause),
	}
}

// parseOperator parses <mode>[,<format>,<oper>[,<AcT>]].
func parseOperator(v string, quectel bool) *Operator {
	op, err := at3gpp.ParseCOPS(v)
	if err != nil {
		return nil
	}
	o := &Operator{Mode: op.Mode, Format: optional(op.Format), Name: op.Oper, AcT: optional(op.AcT)}
	if o.AcT != nil {
		o.AcTText = actText(*o.AcT, quectel)
	}
	return o
}

// parseCSQ parses <rssi>,<ber>.
func parseCSQ(v string) *Signal {
	q, err := at3gpp.ParseCSQ(v)
	if err != nil {
		return nil
	}
	s := &Signal{RSSI: q.RSSI, BER: q.BER}
	if d, ok := q.DBm(); ok {
		s.DBm = &d
	}
	return s
}

// parseScan parses the information lines of AT+COPS=?.
func parseScan(info []string, quectel bool) []Network {
	var out []Network
	for _, l := range info {
		v, ok := strings.CutPrefix(l, "+COPS:")
		if !ok {
			continue
		}
		nets, _ := at3gpp.ParseCOPSList(strings.TrimSpace(v)) // what parsed before a fault
		for _, n := range nets {
			e := Network{Stat: int(n.Stat), StatText: n.Stat.String(), Long: n.Long, Short: n.Short, Numeric: n.PLMN, AcT: optional(n.AcT)}
			if e.AcT != nil {
				e.AcTText = actText(*e.AcT, quectel)
			}
			out = append(out, e)
		}
	}
	return out
}
