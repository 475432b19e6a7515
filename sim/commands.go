package sim

import "time"

// Command statuses and directions shared by SMS and IP Commands.
const (
	CommandQueued    = "queued"
	CommandSent      = "sent"
	CommandDelivered = "delivered"
	CommandReceived  = "received"
	CommandFailed    = "failed"
	DirectionToSim   = "to_sim"
	DirectionFromSim = "from_sim"
)

// SmsCommand is the SmsCommand resource.
type SmsCommand struct {
	Sid            string    `json:"sid"`
	AccountSid     string    `json:"account_sid"`
	SimSid         string    `json:"sim_sid"`
	Payload        string    `json:"payload"`
	Status         string    `json:"status"`
	Direction      string    `json:"direction"`
	CallbackURL    string    `json:"callback_url,omitempty"`
	CallbackMethod string    `json:"callback_method,omitempty"`
	DateCreated    time.Time `json:"date_created"`
	DateUpdated    time.Time `json:"date_updated"`
	Seq            int64     `json:"seq"`
}

// IPCommand is the IpCommand resource.
type IPCommand struct {
	Sid            string    `json:"sid"`
	AccountSid     string    `json:"account_sid"`
	SimSid         string    `json:"sim_sid"`
	SimICCID       string    `json:"sim_iccid"`
	Status         string    `json:"status"`
	Direction      string    `json:"direction"`
	DeviceIP       string    `json:"device_ip,omitempty"`
	DevicePort     int       `json:"device_port"`
	PayloadType    string    `json:"payload_type"`
	Payload        string    `json:"payload"`
	CallbackURL    string    `json:"callback_url,omitempty"`
	CallbackMethod string    `json:"callback_method,omitempty"`
	DateCreated    time.Time `json:"date_created"`
	DateUpdated    time.Time `json:"date_updated"`
	Seq            int64     `json:"seq"`
}

// ESimProfile is the ESimProfile resource.
type ESimProfile struct {
	Sid             string    `json:"sid"`
	AccountSid      string    `json:"account_sid"`
	ICCID           string    `json:"iccid,omitempty"`
	SimSid          string    `json:"sim_sid,omitempty"`
	Status          string    `json:"status"`
	EID             string    `json:"eid,omitempty"`
	SmdpPlusAddress string    `json:"smdp_plus_address,omitempty"`
	MatchingID      string    `json:"matching_id,omitempty"`
	ActivationCode  string    `json:"activation_code,omitempty"`
	ErrorCode       string    `json:"error_code,omitempty"`    // set when failed
	ErrorMessage    string    `json:"error_message,omitempty"` // set when failed
	CallbackURL     string    `json:"callback_url,omitempty"`
	CallbackMethod  string    `json:"callback_method,omitempty"`
	Due             time.Time `json:"due"`
	DateCreated     time.Time `json:"date_created"`
	DateUpdated     time.Time `json:"date_updated"`
	Seq             int64     `json:"seq"`
}

// SettingsPackage is one package of a SettingsUpdate.
type SettingsPackage struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	MoreInfo string `json:"more_info"`
}

// SettingsUpdate is the SettingsUpdate resource.
type SettingsUpdate struct {
	Sid           string            `json:"sid"`
	ICCID         string            `json:"iccid"`
	SimSid        string            `json:"sim_sid"`
	Status        string            `json:"status"`
	Packages      []SettingsPackage `json:"packages"`
	DateCompleted time.Time         `json:"date_completed"`
	DateCreated   time.Time         `json:"date_created"`
	DateUpdated   time.Time         `json:"date_updated"`
	Seq           int64             `json:"seq"`
	// Attempts counts the over-the-air attempts started so far; Due is when
	// the one in progress completes if the SIM stays on the network.
	Attempts int       `json:"attempts,omitempty"`
	Due      time.Time `json:"due"`
}
