package sim

// PLMN is a public land mobile network identity: a Mobile Country Code and a
// Mobile Network Code. Both are kept as the digit strings the network
// broadcasts, so MNC "01" and MNC "1" stay different networks.
type PLMN struct {
	MCC string `json:"mcc"`
	MNC string `json:"mnc"`
}

// String returns the numeric operator form used by AT+COPS, e.g. "23415".
func (p PLMN) String() string { return p.MCC + p.MNC }

// Network is one entry of the Networks catalog: a mobile operator that Super
// SIMs may be allowed to attach to, with every PLMN identity it uses.
type Network struct {
	Sid          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
	IsoCountry   string `json:"iso_country"` // ISO 3166-1 alpha-2, upper case
	Identifiers  []PLMN `json:"identifiers"`
}
