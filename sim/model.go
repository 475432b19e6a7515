package sim

import (
	"fmt"
	"time"
)

// SimStatus is the status of a Sim resource.
type SimStatus uint8

// The Sim statuses of the seed's status table. StatusScheduled is only ever
// shown by the API while an asynchronous update is pending; the Sim's own
// Status field always holds the status in force.
const (
	StatusNew SimStatus = iota + 1
	StatusReady
	StatusActive
	StatusInactive
	StatusScheduled
)

var simStatusNames = [...]string{StatusNew: "new", StatusReady: "ready", StatusActive: "active", StatusInactive: "inactive", StatusScheduled: "scheduled"}

func (s SimStatus) String() string {
	if int(s) < len(simStatusNames) && s != 0 {
		return simStatusNames[s]
	}
	return fmt.Sprintf("SimStatus(%d)", uint8(s))
}

// ParseSimStatus parses a wire status name.
func ParseSimStatus(v string) (SimStatus, bool) {
	for i, n := range simStatusNames {
		if n != "" && n == v {
			return SimStatus(i), true
		}
	}
	return 0, false
}

// MarshalText encodes the status by name.
func (s SimStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a status name.
func (s *SimStatus) UnmarshalText(b []byte) error {
	v, ok := ParseSimStatus(string(b))
	if !ok {
		return fmt.Errorf("unknown Sim status %q", b)
	}
	*s = v
	return nil
}

// CanAttach reports whether a SIM in this status may use the network.
func (s SimStatus) CanAttach() bool { return s == StatusReady || s == StatusActive }

// PeriodType tells a ready billing period from an active one.
type PeriodType string

// Billing period types of the BillingPeriod resource.
const (
	PeriodReady  PeriodType = "ready"
	PeriodActive PeriodType = "active"
)

// Account is a Twilio account: the main account of the simulator or one of
// its subaccounts.
type Account struct {
	Sid          string    `json:"sid"`
	AuthToken    string    `json:"auth_token"`
	FriendlyName string    `json:"friendly_name"`
	ParentSid    string    `json:"parent_sid,omitempty"` // empty for the main account
	DateCreated  time.Time `json:"date_created"`
	Seq          int64     `json:"seq"`
}

// IsMain reports whether a is the simulator's main account.
func (a *Account) IsMain() bool { return a.ParentSid == "" }

// Card is one physical Super SIM of the simulator's inventory.
type Card struct {
	Index            int    `json:"index"`
	ICCID            string `json:"iccid"`
	IMSI             string `json:"imsi"`
	RegistrationCode string `json:"registration_code"`
}

// Sim is the Sim resource. Values stored in the Control are never modified
// in place: an update stores a new value, so a *Sim handed out stays valid.
type Sim struct {
	Sid         string    `json:"sid"`
	AccountSid  string    `json:"account_sid"`
	UniqueName  string    `json:"unique_name,omitempty"`
	ICCID       string    `json:"iccid"`
	FleetSid    string    `json:"fleet_sid,omitempty"`
	Status      SimStatus `json:"status"` // the status in force, never StatusScheduled
	DateCreated time.Time `json:"date_created"`
	DateUpdated time.Time `json:"date_updated"`
	Seq         int64     `json:"seq"`

	// Pending is the asynchronous update in progress, if any.
	Pending *SimUpdate `json:"pending,omitempty"`
	// Period is the current or most recent billing period; nil while new.
	Period *BillingPeriod `json:"period,omitempty"`
	// DataUsed counts bytes toward the Fleet's data limit in the billing
	// period that starts at UsageStart. It follows the SIM across accounts.
	DataUsed   int64     `json:"data_used"`
	UsageStart time.Time `json:"usage_start"`
	// ReadyData and ReadySMS count toward the automatic ready→active move.
	ReadyData int64 `json:"ready_data"`
	ReadySMS  int   `json:"ready_sms"`
}

// APIStatus is the status the API shows: scheduled while an update is pending.
func (s *Sim) APIStatus() SimStatus {
	if s.Pending != nil {
		return StatusScheduled
	}
	return s.Status
}

// SimUpdate is an accepted asynchronous Sim update waiting to complete.
type SimUpdate struct {
	Status         SimStatus `json:"status"`
	SetFleet       bool      `json:"set_fleet"`
	FleetSid       string    `json:"fleet_sid,omitempty"`
	Due            time.Time `json:"due"`
	CallbackURL    string    `json:"callback_url,omitempty"`
	CallbackMethod string    `json:"callback_method,omitempty"`
}

// BillingPeriod is a Sim's billing period.
type BillingPeriod struct {
	Sid         string     `json:"sid"`
	AccountSid  string     `json:"account_sid"`
	SimSid      string     `json:"sim_sid"`
	Start       time.Time  `json:"start_time"`
	End         time.Time  `json:"end_time"`
	Type        PeriodType `json:"period_type"`
	DateCreated time.Time  `json:"date_created"`
	DateUpdated time.Time  `json:"date_updated"`
}

// LimitChange is a data limit and the moment the network enforces it.
// With a spread (Max > 0), At is when the limit was set and each SIM
// enforces it after a delay of its own (see EnforcedAt).
type LimitChange struct {
	MB      int           `json:"mb"`
	At      time.Time     `json:"at"`
	Typical time.Duration `json:"typical,omitempty"` // most SIMs' delay is at most this
	Max     time.Duration `json:"max,omitempty"`     // every SIM's delay is at most this
	Key     uint64        `json:"key,omitempty"`     // seeds the SIMs' delays for this change
}

// EnforcedAt is when the network starts enforcing the limit for the SIM
// with ICCID iccid: At, or with a spread At plus the SIM's own delay,
// derived from a hash of the change's key and the ICCID, so nothing per
// SIM is stored.
func (l LimitChange) EnforcedAt(iccid string) time.Time {
	if l.Max <= 0 {
		return l.At
	}
	return l.At.Add(SpreadDelay(l.Key, iccid, l.Typical, l.Max))
}

// Done is when every SIM enforces the limit.
func (l LimitChange) Done() time.Time { return l.At.Add(max(l.Max, 0)) }

// typicalShare is the share of SIMs whose delay is at most the typical one.
const typicalShare = 0.9

// SpreadDelay is the delay after which the SIM with ICCID iccid enforces
// the change keyed key: nine SIMs in ten take at most typical (spread
// uniformly over 0..typical), the others between typical and max. It is
// whole seconds, and the same for the same key and ICCID.
func SpreadDelay(key uint64, iccid string, typical, max time.Duration) time.Duration {
	h := key ^ 0xcbf29ce484222325 // FNV-1a over the ICCID, then a mixer
	for i := 0; i < len(iccid); i++ {
		h ^= uint64(iccid[i])
		h *= 0x100000001b3
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	u := float64(h>>11) / (1 << 53)
	var d time.Duration
	if u < typicalShare {
		d = time.Duration(u / typicalShare * float64(typical))
	} else {
		d = typical + time.Duration((u-typicalShare)/(1-typicalShare)*float64(max-typical))
	}
	return min(d.Truncate(time.Second), max)
}

// Fleet is the Fleet resource.
type Fleet struct {
	Sid                string    `json:"sid"`
	AccountSid         string    `json:"account_sid"`
	UniqueName         string    `json:"unique_name,omitempty"`
	DataEnabled        bool      `json:"data_enabled"`
	DataLimit          int       `json:"data_limit"` // MB, as the API shows it
	DataMetering       string    `json:"data_metering"`
	SmsCommandsEnabled bool      `json:"sms_commands_enabled"`
	SmsCommandsURL     string    `json:"sms_commands_url,omitempty"`
	SmsCommandsMethod  string    `json:"sms_commands_method"`
	IPCommandsURL      string    `json:"ip_commands_url,omitempty"`
	IPCommandsMethod   string    `json:"ip_commands_method"`
	NAPSid             string    `json:"network_access_profile_sid"`
	DateCreated        time.Time `json:"date_created"`
	DateUpdated        time.Time `json:"date_updated"`
	Seq                int64     `json:"seq"`
	// Limits holds the data limit in force and those still propagating,
	// oldest first; the network enforces the last one whose At has passed.
	Limits []LimitChange `json:"limits"`
}

// EnforcedLimitMB is the data limit the network applies at t to the SIM
// with ICCID iccid: the newest change that has reached it.
func (f *Fleet) EnforcedLimitMB(iccid string, t time.Time) int {
	mb := f.DataLimit
	for i := len(f.Limits) - 1; i >= 0; i-- {
		if !t.Before(f.Limits[i].EnforcedAt(iccid)) {
			return f.Limits[i].MB
		}
		mb = f.Limits[i].MB
	}
	return mb
}

// NAP is the NetworkAccessProfile resource with its Networks allow list.
type NAP struct {
	Sid         string       `json:"sid"`
	AccountSid  string       `json:"account_sid"`
	UniqueName  string       `json:"unique_name,omitempty"`
	DateCreated time.Time    `json:"date_created"`
	DateUpdated time.Time    `json:"date_updated"`
	Seq         int64        `json:"seq"`
	Networks    []NAPNetwork `json:"networks"`
}

// NAPNetwork is one allowed network of a NAP.
type NAPNetwork struct {
	NetworkSid string    `json:"network_sid"`
	Seq        int64     `json:"seq"`
	Added      time.Time `json:"added"`
}

// Allows reports whether the NAP's allow list holds the network.
func (n *NAP) Allows(networkSid string) bool {
	for _, e := range n.Networks {
		if e.NetworkSid == networkSid {
			return true
		}
	}
	return false
}

// MB is how many bytes the data limit counts in a megabyte.
const MB = 1 << 20

// Usage is the usage of one SIM on one network during one UTC hour.
type Usage struct {
	AccountSid string    `json:"account_sid"` // owner at the time of use
	SimSid     string    `json:"sim_sid"`
	FleetSid   string    `json:"fleet_sid,omitempty"` // Fleet at the time of use
	NetworkSid string    `json:"network_sid"`
	IsoCountry string    `json:"iso_country"`
	Hour       time.Time `json:"hour"`
	Upload     int64     `json:"upload"`
	Download   int64     `json:"download"`
	SMS        int       `json:"sms"`
}

func (u *Usage) key() string {
	return u.SimSid + "|" + u.NetworkSid + "|" + u.AccountSid + "|" + u.FleetSid + "|" + u.Hour.Format(time.RFC3339)
}
