package firmware

import "github.com/fleetsim/fleetsim/modem"

// family is how the firmware drives one module family through its own
// commands: registration is 27.007 on every module, but each restarts
// and brings its data context up its own way, as the family's drivers do
// (TinyGSM, Zephyr, ubxlib).
type family struct {
	profile modem.Profile
	// reset restarts the module: it answers OK, then boots again.
	reset string
	// activate brings the data context up before the firmware dials;
	// ready, if set, is the indication that says it is up, after the OK.
	activate, ready string
}

// familyOf returns the family of a module name of the scenario format.
func familyOf(name string) (*family, error) {
	p, err := modem.ProfileByName(name)
	if err != nil {
		return nil, err
	}
	f := &family{profile: p, reset: "AT+CFUN=1,1", activate: "AT+CGACT=1,1"}
	switch name {
	case "sim7080": // SIM7080 AT Command Manual §5.2.46 (AT+CREBOOT), §7.2.1 (AT+CNACT)
		f.reset = "AT+CREBOOT"
		f.activate, f.ready = "AT+CNACT=0,1", "+APP PDP: 0,ACTIVE"
	case "sim7000": // SIM7000 AT Command Manual §5.2.30 (AT+CNACT)
		f.activate, f.ready = `AT+CNACT=1,"super"`, "+APP PDP: ACTIVE"
	case "sara-r4": // SARA-R4 AT Commands Manual: AT+CFUN=15 resets the module
		f.reset = "AT+CFUN=15"
	}
	return f, nil
}
