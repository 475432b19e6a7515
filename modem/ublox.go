package modem

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// The u-blox SARA-R410M-02B (SARA-R4/N4 series AT Commands Manual
// UBX-17003787, R09 and R16): silent at boot, identified by ATI's
// "Manufacturer:/Model:/Revision:/SVN:/IMEI:" block, reset with
// AT+CFUN=15, configured with AT+UMNOPROF, AT+URAT, AT+UBANDMASK and
// AT+UDCONF, its PDP context the 27.007 one (AT+CGDCONT, AT+CGACT), its
// sockets the USO* set (ublox_sockets.go).

// Ublox is a u-blox SARA-R410M-02B.
type Ublox struct{}

const (
	ubloxRevision = "L0.0.00.00.05.06 [Feb 03 2018 13:00:41]"
	ubloxATI9     = "L0.0.00.00.05.06,A.02.00" // modem and application versions
	ubloxSVN      = "06"
)

func (Ublox) Name() string         { return "sara-r4" }
func (Ublox) Manufacturer() string { return "u-blox" }
func (Ublox) Model() string        { return "SARA-R410M-02B" }
func (Ublox) Revision() string     { return ubloxRevision }

// BootURCs: none. No host expects one: they wait a boot time and probe
// with AT.
func (Ublox) BootURCs() []string { return nil }

// CatM1AcT is 7 on the R410M-02B, in +COPS and +CEREG alike (manual R16
// §7.7.3).
func (Ublox) CatM1AcT() int { return 7 }

func (Ublox) Commands() map[string]Handler { return ubloxCommands }

// silentBoot marks a module that reads nothing until it has booted.
func (Ublox) silentBoot() {}

// silentBooter is a profile whose UART is deaf until the module is up:
// it neither prints nor answers anything during its boot time.
type silentBooter interface{ silentBoot() }

// ubloxCommands are the SARA-R4's own commands and its overrides of
// 27.007 ones; its sockets join them.
var ubloxCommands = joinCommands(ubloxSocketCommands, map[string]Handler{
	"I":          ubloxIdentity,
	"+CFUN":      ubloxCfun,
	"+CGACT":     ubloxCgact,
	"+CPWROFF":   ubloxPowerOff,
	"+UMNOPROF":  umnoprof,
	"+URAT":      urat,
	"+UBANDMASK": ubandmask,
	"+UDCONF":    udconf,
	"+UPSV":      upsv,
})

// ubloxState is the SARA-R4's own settings. The NVM ones (MNO profile,
// RATs, band masks) outlive a reset; the others come back to their
// defaults with every power-up. It is guarded by Modem.mu.
type ubloxState struct {
	// NVM.
	mnoprof int
	urat    []int
	bands   [2]uint64 // Cat-M1, NB1
	// Volatile.
	hex     bool // AT+UDCONF=1,1: socket data in hex
	upsv    int
	sockErr int // the last socket error, for AT+USOER
}

// ubloxDefaultBands is the R410M-02B's factory band mask (bands 1, 2, 3,
// 4, 5, 8, 12, 13, 20, 25, 26, 28), for Cat-M1 and NB1 alike.
const ubloxDefaultBands = 168761503

// ubloxSt returns the u-blox settings, made on first use. Callers hold m.mu.
func (m *Modem) ubloxSt() *ubloxState {
	v := m.st.vendorOf()
	if v.ublox == nil {
		v.ublox = &ubloxState{mnoprof: 1, urat: []int{7}, bands: [2]uint64{ubloxDefaultBands, ubloxDefaultBands}}
	}
	return v.ublox
}

// afterReset is what a power-up keeps: the NVM settings.
func (u *ubloxState) afterReset() *ubloxState {
	return &ubloxState{mnoprof: u.mnoprof, urat: u.urat, bands: u.bands}
}

// ubloxIdentity is ATI (ATI0): the identification block, and ATI9: the
// modem and application versions. [TG#244] [UBX-R09 §4.x]
func ubloxIdentity(_ context.Context, m *Modem, c Command) ([]string, error) {
	n := "0"
	if len(c.Args) > 0 {
		n = c.Args[0].Value
	}
	switch {
	case c.Kind == KindRead:
		return nil, ErrError
	case n == "0":
		// One block: the lines are not framed each on their own.
		p := m.env.profile
		m.mu.Lock()
		eol := string([]byte{m.st.s3(), m.st.s4()})
		m.mu.Unlock()
		return []string{strings.Join([]string{
			"Manufacturer: " + p.Manufacturer(), "Model: " + p.Model(), "Revision: " + p.Revision(),
			"SVN: " + ubloxSVN, "IMEI: " + m.imeiOf(),
		}, eol)}, nil
	case n == "9":
		return []string{ubloxATI9}, nil
	}
	return nil, ErrError
}

// ubloxCfun is +CFUN with the SARA-R4's levels: 0, 1 and 4 as 27.007, 15
// a silent reset (OK, then a reboot into full functionality). 16 is
// refused as on the R412M (TinyGSM issue 257). [UBX-R09 §5.2]
func ubloxCfun(ctx context.Context, m *Modem, c Command) ([]string, error) {
	switch c.Kind {
	case KindTest:
		return []string{"+CFUN: (0,1,4,15),(0-1)"}, nil
	case KindSet:
		fun, err := strconv.Atoi(c.Args[0].Value)
		if err != nil {
			return nil, cme(CMEIncorrectParameters)
		}
		switch fun {
		case 15:
			m.reboot(1)
			return nil, nil
		case 0, 1, 4:
			return cfun(ctx, m, c)
		}
		return nil, cme(CMEIncorrectParameters)
	}
	return cfun(ctx, m, c)
}

// ubloxPowerOff is AT+CPWROFF: OK, then the module is off until a power
// cycle (the control API). [UBX-R09 §5.1]
func ubloxPowerOff(_ context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindTest {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.cfun = 0
	m.radioOff()
	return nil, nil
}

// ubloxCgact is +CGACT as the R41x has it: activating a context that is
// already active is refused, as ubxlib expects of SARA-R41x (it reads
// AT+CGACT? first for that reason). [UBXLIB u_cell_net.c]
func ubloxCgact(ctx context.Context, m *Modem, c Command) ([]string, error) {
	if c.Kind == KindSet && len(c.Args) > 1 && c.Args[0].Value == "1" {
		m.mu.Lock()
		for _, a := range c.Args[1:] {
			cid, err := strconv.Atoi(a.Value)
			if p := m.st.contexts.get(cid); err == nil && p != nil && p.active {
				m.mu.Unlock()
				return nil, cme(CMENotAllowed)
			}
		}
		m.mu.Unlock()
	}
	return cgact(ctx, m, c)
}

// ubloxRadioIdle reports whether the module is off the network, as the
// RAT and MNO profile settings require (AT+COPS=2 or AT+CFUN=0/4 first).
// Callers hold m.mu.
func (m *Modem) ubloxRadioIdle() bool {
	return !m.st.reg.Registered() && m.st.reg != RegSearching
}

// ubloxMNOProfiles are the AT+UMNOPROF values of the R410M-02B: 0 SW
// default, 1 SIM ICCID select, 2 AT&T, 3 Verizon, 4 Telstra, 5 T-Mobile
// US, 6 China Telecom, 8 Sprint, 19 Vodafone, 31 Deutsche Telekom, 100
// standard Europe.
var ubloxMNOProfiles = []int{0, 1, 2, 3, 4, 5, 6, 8, 19, 31, 100}

// umnoprof is AT+UMNOPROF: read, set (off the network only, as ubxlib
// expects; effective after AT+CFUN=15) and test. [UBXLIB uCellCfgSetMnoProfile]
func umnoprof(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.ubloxSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+UMNOPROF: %d", u.mnoprof)}, nil
	case KindTest:
		vals := make([]string, len(ubloxMNOProfiles))
		for i, v := range ubloxMNOProfiles {
			vals[i] = itoa(v)
		}
		return []string{"+UMNOPROF: (" + strings.Join(vals, ",") + ")"}, nil
	case KindSet:
		n, err := strconv.Atoi(c.Args[0].Value)
		if err != nil || !ubloxKnownProfile(n) {
			return nil, cme(CMEIncorrectParameters)
		}
		if !m.ubloxRadioIdle() {
			return nil, cme(CMENotAllowed)
		}
		u.mnoprof = n
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

func ubloxKnownProfile(n int) bool {
	for _, v := range ubloxMNOProfiles {
		if v == n {
			return true
		}
	}
	return false
}

// urat is AT+URAT=<SelectedAcT>[,<PreferredAcT>[,<2ndPreferredAcT>]]: 7
// LTE Cat-M1, 8 NB-IoT; set off the network only. [UBX-R09 §7.4] [UBXLIB u_cell_cfg.c]
func urat(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.ubloxSt()
	switch c.Kind {
	case KindRead:
		vals := make([]string, len(u.urat))
		for i, v := range u.urat {
			vals[i] = itoa(v)
		}
		return []string{"+URAT: " + strings.Join(vals, ",")}, nil
	case KindTest:
		return []string{"+URAT: (7,8),(7,8),(7,8)"}, nil
	case KindSet:
		if len(c.Args) > 3 {
			return nil, cme(CMEIncorrectParameters)
		}
		var rats []int
		for _, a := range c.Args {
			if a.Empty() {
				break
			}
			n, err := atoiArg(a, 7, 8)
			if err != nil {
				return nil, err
			}
			rats = append(rats, n)
		}
		if len(rats) == 0 {
			return nil, cme(CMEIncorrectParameters)
		}
		if !m.ubloxRadioIdle() {
			return nil, cme(CMENotAllowed)
		}
		u.urat = rats
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// ubandmask is AT+UBANDMASK=<rat>,<mask>: rat 0 Cat-M1, 1 NB1; bit n is
// band n+1; kept in NVM, effective after AT+CFUN=15. [UBX-R09 §7.15] [UBX-R16 §7.17]
func ubandmask(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.ubloxSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+UBANDMASK: 0,%d,1,%d", u.bands[0], u.bands[1])}, nil
	case KindTest:
		return []string{"+UBANDMASK: (0,1),0xffffffffffffffff,0xffffffffffffffff"}, nil
	case KindSet:
		if len(c.Args) < 2 || len(c.Args) > 3 {
			return nil, cme(CMEIncorrectParameters)
		}
		rat, err := atoiArg(c.Args[0], 0, 1)
		if err != nil {
			return nil, err
		}
		mask, err := strconv.ParseUint(c.Args[1].Value, 10, 64)
		if err != nil || mask == 0 {
			return nil, cme(CMEIncorrectParameters)
		}
		u.bands[rat] = mask
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// udconf is AT+UDCONF=<op>[,<value>]; op 1 is the sockets' HEX mode:
// AT+UDCONF=1,1 on, AT+UDCONF=1,0 off, AT+UDCONF=1 reads
// "+UDCONF: 1,<hex>". Other ops are refused. [UBX-R09 §18.x] [UBXLIB setHexMode]
func udconf(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.ubloxSt()
	switch c.Kind {
	case KindTest:
		return nil, nil
	case KindSet:
		if c.Args[0].Value != "1" || len(c.Args) > 2 {
			return nil, cme(CMEIncorrectParameters)
		}
		if len(c.Args) == 1 {
			v := 0
			if u.hex {
				v = 1
			}
			return []string{fmt.Sprintf("+UDCONF: 1,%d", v)}, nil
		}
		v, err := atoiArg(c.Args[1], 0, 1)
		if err != nil {
			return nil, err
		}
		u.hex = v == 1
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}

// upsv is AT+UPSV=<mode>[,<timeout>], the UART power saving: the setting
// is kept, the UART stays awake. [UBX-R09 §5.x]
func upsv(_ context.Context, m *Modem, c Command) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.ubloxSt()
	switch c.Kind {
	case KindRead:
		return []string{fmt.Sprintf("+UPSV: %d", u.upsv)}, nil
	case KindTest:
		return []string{"+UPSV: (0-4)"}, nil
	case KindSet:
		n, err := atoiArg(c.Args[0], 0, 4)
		if err != nil {
			return nil, err
		}
		u.upsv = n
		return nil, nil
	}
	return nil, cme(CMEIncorrectParameters)
}
