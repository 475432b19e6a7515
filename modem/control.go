package modem

import (
	"strings"
)

// PowerCycle turns the modem off and on: settings and the forbidden
// network list are cleared, the boot URCs follow after the boot time and
// network selection starts.
func (m *Modem) PowerCycle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.powerUp()
}

// powerUp is the power-on sequence. Callers hold m.mu.
func (m *Modem) powerUp() {
	m.boots++
	m.stopTimers()
	country, rssi, vendor := m.st.country, m.st.rssi, m.st.vendor
	m.st = initialState(country)
	m.st.rssi = int8(min(max(rssi, -1), 127)) // the +CSQ scale's 0..31, or -1
	if vendor != nil && vendor.ublox != nil { // a module's NVM outlives the power-up
		m.st.vendorOf().ublox = vendor.ublox.afterReset()
	}
	for _, p := range m.ports { // every port starts afresh, as the profile has it
		if p == nil { // not made yet: it will be at its defaults
			continue
		}
		p.st = portState{}
		p.st.defaults()
		p.held = nil
		if m.env.defaults != nil {
			m.st.portState = &p.st
			m.env.defaults.defaults(&m.st)
		}
	}
	m.repoint()
	m.after(timerBoot, m.env.timing.Boot, func() {
		for _, u := range m.env.profile.BootURCs() {
			if strings.HasPrefix(u, "+CFUN: ") {
				u = "+CFUN: " + itoa(int(m.st.cfun)) // AT+CFUN=<fun>,1 boots into <fun>
			}
			m.urc(u)
		}
		if m.env.core != nil {
			m.startSelection()
		}
	})
}

// deaf reports whether the modem ignores its UART: a module silent at
// boot (u-blox SARA-R4) reads nothing until it is up.
func (m *Modem) deaf() bool {
	if !m.env.silentBoot {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.timer(timerBoot) != nil
}

// reboot is AT+CFUN=<fun>,1: OK first, then the power-up sequence.
func (m *Modem) reboot(fun int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.powerUp()
	m.st.cfun = uint8(fun)
}

// SetCountry moves the modem: it loses its network and selects again among
// the networks of the new country.
func (m *Modem) SetCountry(iso string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.country = strings.ToUpper(iso)
	m.rescan()
}

// SetSignal forces the received signal to rssi (0..31 on the +CSQ scale;
// 0 is no coverage at all), or back to the natural levels with -1.
func (m *Modem) SetSignal(rssi int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.rssi = int8(min(max(rssi, -1), 127)) // the +CSQ scale's 0..31, or -1
	m.rescan()
}

// RadioChanged tells the modem the world changed (a network went down or
// came back): it drops a network that is gone and looks for one when it
// has none.
func (m *Modem) RadioChanged() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rescan()
}

// rescan keeps the serving network if it is still in range and otherwise
// selects again. Callers hold m.mu.
func (m *Modem) rescan() {
	if m.st.cfun != 1 || m.st.detached || m.timer(timerBoot) != nil {
		return
	}
	if s := m.st.serving; s != nil {
		if _, ok := m.cellFor(s.PLMN); ok {
			return
		}
	}
	if m.st.serving != nil || m.timer(timerReg) == nil {
		m.startSelection()
	}
}

// Status is what the control API shows of a modem.
type Status struct {
	ICCID      string   `json:"iccid"`
	IMSI       string   `json:"imsi"`
	IMEI       string   `json:"imei"`
	Profile    string   `json:"profile"`
	Country    string   `json:"location"`
	Signal     int      `json:"signal"`
	Functional int      `json:"cfun"`
	Reg        int      `json:"registration"`
	RegName    string   `json:"registration_name"`
	Network    string   `json:"network_sid,omitempty"`
	PLMN       string   `json:"plmn,omitempty"`
	Cause      int      `json:"reject_cause,omitempty"`
	Forbidden  []string `json:"forbidden_plmns"`
	DataActive bool     `json:"data_active"`
	IP         string   `json:"ip_address,omitempty"`
	URCPort    string   `json:"urc_port"`             // the port indications go to now
	DataPorts  []string `json:"data_ports,omitempty"` // the ports carrying a data session
}

var regNames = map[RegState]string{RegNotRegistered: "not registered", RegHome: "home", RegSearching: "searching", RegDenied: "denied", RegUnknown: "unknown", RegRoaming: "roaming"}

// Status returns the modem's state.
func (m *Modem) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{
		ICCID: m.card.ICCID, IMSI: m.imsi(), IMEI: m.imeiOf(), Profile: m.env.profile.Name(),
		Country: m.st.country, Signal: m.signal(), Functional: int(m.st.cfun),
		Reg: int(m.st.reg), RegName: regNames[m.st.reg], Cause: int(m.st.cause), Forbidden: []string{},
	}
	if sv := m.st.serving; sv != nil && m.st.reg.Registered() {
		s.Network, s.PLMN = sv.Network.Sid, sv.PLMN.String()
	}
	if u := m.urcPort(); u != nil {
		s.URCPort = m.nameOf(u)
	}
	for _, p := range m.ports {
		if p != nil && p.st.dataMode {
			s.DataPorts = append(s.DataPorts, m.nameOf(p))
		}
	}
	for _, p := range m.st.forbiddenList() {
		s.Forbidden = append(s.Forbidden, p.String())
	}
	for p := range m.st.contexts.all { // a profile's own contexts too (SIMCom's app network)
		if p.active {
			s.DataActive, s.IP = true, p.addr.String()
			break
		}
	}
	return s
}
