package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// The JSON shapes of the reference description, field for field.

func date(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format("2006-01-02T15:04:05Z")
	return &s
}

func null(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// simJSON is a Sim as the API shows it: sid, unique_name, account_sid,
// iccid, status, fleet_sid, date_created, date_updated, url and links, in
// that order. It writes itself (appendJSON): a page of Sims is the API's
// hottest list.
type simJSON struct {
	base string // baseURL of the request
	s    *sim.Sim
}

// simRenderer renders the Sims of one request, computing its base URL once.
// What it returns is valid until its next call: it is one simJSON reused,
// so that a page of Sims allocates nothing per Sim. Every caller (respond,
// a page) writes an item before it renders the next.
func simRenderer(r *http.Request) func(*sim.Sim) any {
	j := &simJSON{base: baseURL(r)}
	return func(s *sim.Sim) any {
		j.s = s
		return j
	}
}

func (j *simJSON) appendJSON(b []byte) []byte {
	s := j.s
	b = append(b, `{"sid":`...)
	b = appendString(b, s.Sid)
	b = append(b, `,"unique_name":`...)
	b = appendNull(b, s.UniqueName)
	b = append(b, `,"account_sid":`...)
	b = appendString(b, s.AccountSid)
	b = append(b, `,"iccid":`...)
	b = appendString(b, s.ICCID)
	b = append(b, `,"status":`...)
	b = appendString(b, s.APIStatus().String())
	b = append(b, `,"fleet_sid":`...)
	b = appendNull(b, s.FleetSid)
	b = append(b, `,"date_created":`...)
	b = appendDate(b, s.DateCreated)
	b = append(b, `,"date_updated":`...)
	b = appendDate(b, s.DateUpdated)
	// url is the base, "/v1/Sims/" and the SID, each escaped in place:
	// JSON escaping works character by character.
	u := func(b []byte, suffix string) []byte {
		b = append(b, '"')
		b = appendRaw(b, j.base)
		b = append(b, "/v1/Sims/"...)
		b = appendRaw(b, s.Sid)
		b = append(b, suffix...)
		return append(b, '"')
	}
	b = append(b, `,"url":`...)
	b = u(b, "")
	b = append(b, `,"links":{"billing_periods":`...)
	b = u(b, "/BillingPeriods")
	b = append(b, `,"sim_ip_addresses":`...)
	b = u(b, "/IpAddresses")
	return append(b, "}}"...)
}

// MarshalJSON makes encoding/json write a simJSON as appendJSON does.
func (j *simJSON) MarshalJSON() ([]byte, error) { return j.appendJSON(nil), nil }

type fleetJSON struct {
	AccountSid              string  `json:"account_sid"`
	Sid                     string  `json:"sid"`
	UniqueName              *string `json:"unique_name"`
	DateCreated             *string `json:"date_created"`
	DateUpdated             *string `json:"date_updated"`
	URL                     string  `json:"url"`
	DataEnabled             bool    `json:"data_enabled"`
	DataLimit               int     `json:"data_limit"`
	DataMetering            string  `json:"data_metering"`
	SmsCommandsEnabled      bool    `json:"sms_commands_enabled"`
	SmsCommandsURL          *string `json:"sms_commands_url"`
	SmsCommandsMethod       string  `json:"sms_commands_method"`
	NetworkAccessProfileSid string  `json:"network_access_profile_sid"`
	IPCommandsURL           *string `json:"ip_commands_url"`
	IPCommandsMethod        string  `json:"ip_commands_method"`
}

func renderFleet(r *http.Request, f *sim.Fleet) any {
	return fleetJSON{
		AccountSid: f.AccountSid, Sid: f.Sid, UniqueName: null(f.UniqueName),
		DateCreated: date(f.DateCreated), DateUpdated: date(f.DateUpdated),
		URL:         baseURL(r) + "/v1/Fleets/" + f.Sid,
		DataEnabled: f.DataEnabled, DataLimit: f.DataLimit, DataMetering: f.DataMetering,
		SmsCommandsEnabled: f.SmsCommandsEnabled, SmsCommandsURL: null(f.SmsCommandsURL), SmsCommandsMethod: f.SmsCommandsMethod,
		NetworkAccessProfileSid: f.NAPSid,
		IPCommandsURL:           null(f.IPCommandsURL), IPCommandsMethod: f.IPCommandsMethod,
	}
}

type napJSON struct {
	UniqueName  *string           `json:"unique_name"`
	Sid         string            `json:"sid"`
	AccountSid  string            `json:"account_sid"`
	DateCreated *string           `json:"date_created"`
	DateUpdated *string           `json:"date_updated"`
	URL         string            `json:"url"`
	Links       map[string]string `json:"links"`
}

func renderNAP(r *http.Request, n *sim.NAP) any {
	u := baseURL(r) + "/v1/NetworkAccessProfiles/" + n.Sid
	return napJSON{
		UniqueName: null(n.UniqueName), Sid: n.Sid, AccountSid: n.AccountSid,
		DateCreated: date(n.DateCreated), DateUpdated: date(n.DateUpdated),
		URL: u, Links: map[string]string{"networks": u + "/Networks"},
	}
}

type networkJSON struct {
	Sid          string     `json:"sid"`
	FriendlyName string     `json:"friendly_name"`
	URL          string     `json:"url"`
	IsoCountry   string     `json:"iso_country"`
	Identifiers  []sim.PLMN `json:"identifiers"`
}

func renderNetwork(r *http.Request, n sim.Network) any {
	return networkJSON{Sid: n.Sid, FriendlyName: n.FriendlyName, URL: baseURL(r) + "/v1/Networks/" + n.Sid,
		IsoCountry: n.IsoCountry, Identifiers: n.Identifiers}
}

type napNetworkJSON struct {
	Sid                     string     `json:"sid"`
	NetworkAccessProfileSid string     `json:"network_access_profile_sid"`
	FriendlyName            string     `json:"friendly_name"`
	IsoCountry              string     `json:"iso_country"`
	Identifiers             []sim.PLMN `json:"identifiers"`
	URL                     string     `json:"url"`
}

func renderNAPNetwork(r *http.Request, e sim.NAPEntry) any {
	return napNetworkJSON{
		Sid: e.Sid, NetworkAccessProfileSid: e.NAPSid, FriendlyName: e.FriendlyName,
		IsoCountry: e.IsoCountry, Identifiers: e.Identifiers,
		URL: baseURL(r) + "/v1/NetworkAccessProfiles/" + e.NAPSid + "/Networks/" + e.Sid,
	}
}

type billingPeriodJSON struct {
	Sid         string  `json:"sid"`
	AccountSid  string  `json:"account_sid"`
	SimSid      string  `json:"sim_sid"`
	StartTime   *string `json:"start_time"`
	EndTime     *string `json:"end_time"`
	PeriodType  string  `json:"period_type"`
	DateCreated *string `json:"date_created"`
	DateUpdated *string `json:"date_updated"`
}

func renderBillingPeriod(p *sim.BillingPeriod) any {
	return billingPeriodJSON{
		Sid: p.Sid, AccountSid: p.AccountSid, SimSid: p.SimSid,
		StartTime: date(p.Start), EndTime: date(p.End), PeriodType: string(p.Type),
		DateCreated: date(p.DateCreated), DateUpdated: date(p.DateUpdated),
	}
}

type periodJSON struct {
	StartTime *string `json:"start_time"`
	EndTime   *string `json:"end_time"`
}

type usageRecordJSON struct {
	AccountSid      string     `json:"account_sid"`
	SimSid          *string    `json:"sim_sid"`
	NetworkSid      *string    `json:"network_sid"`
	FleetSid        *string    `json:"fleet_sid"`
	IsoCountry      *string    `json:"iso_country"`
	Period          periodJSON `json:"period"`
	DataUpload      int64      `json:"data_upload"`
	DataDownload    int64      `json:"data_download"`
	DataTotal       int64      `json:"data_total"`
	DataTotalBilled float64    `json:"data_total_billed"`
	BilledUnit      *string    `json:"billed_unit"`
}

func renderUsage(u sim.UsageRecord) any {
	return usageRecordJSON{
		AccountSid: u.AccountSid, SimSid: null(u.SimSid), NetworkSid: null(u.NetworkSid),
		FleetSid: null(u.FleetSid), IsoCountry: null(strings.ToUpper(u.IsoCountry)),
		Period:     periodJSON{StartTime: date(u.Start), EndTime: date(u.End)},
		DataUpload: u.Upload, DataDownload: u.Download, DataTotal: u.Upload + u.Download,
		DataTotalBilled: u.Billed(), BilledUnit: null(sim.BilledUnit),
	}
}

type smsCommandJSON struct {
	Sid         string  `json:"sid"`
	AccountSid  string  `json:"account_sid"`
	SimSid      string  `json:"sim_sid"`
	Payload     string  `json:"payload"`
	Status      string  `json:"status"`
	Direction   string  `json:"direction"`
	DateCreated *string `json:"date_created"`
	DateUpdated *string `json:"date_updated"`
	URL         string  `json:"url"`
}

func renderSmsCommand(r *http.Request, m *sim.SmsCommand) any {
	return smsCommandJSON{
		Sid: m.Sid, AccountSid: m.AccountSid, SimSid: m.SimSid, Payload: m.Payload,
		Status: m.Status, Direction: m.Direction,
		DateCreated: date(m.DateCreated), DateUpdated: date(m.DateUpdated),
		URL: baseURL(r) + "/v1/SmsCommands/" + m.Sid,
	}
}

type ipCommandJSON struct {
	Sid         string  `json:"sid"`
	AccountSid  string  `json:"account_sid"`
	SimSid      string  `json:"sim_sid"`
	SimICCID    string  `json:"sim_iccid"`
	Status      string  `json:"status"`
	Direction   string  `json:"direction"`
	DeviceIP    *string `json:"device_ip"`
	DevicePort  int     `json:"device_port"`
	PayloadType string  `json:"payload_type"`
	Payload     string  `json:"payload"`
	DateCreated *string `json:"date_created"`
	DateUpdated *string `json:"date_updated"`
	URL         string  `json:"url"`
}

func renderIPCommand(r *http.Request, m *sim.IPCommand) any {
	return ipCommandJSON{
		Sid: m.Sid, AccountSid: m.AccountSid, SimSid: m.SimSid, SimICCID: m.SimICCID,
		Status: m.Status, Direction: m.Direction, DeviceIP: null(m.DeviceIP), DevicePort: m.DevicePort,
		PayloadType: m.PayloadType, Payload: m.Payload,
		DateCreated: date(m.DateCreated), DateUpdated: date(m.DateUpdated),
		URL: baseURL(r) + "/v1/IpCommands/" + m.Sid,
	}
}

type esimJSON struct {
	Sid             string  `json:"sid"`
	AccountSid      string  `json:"account_sid"`
	ICCID           *string `json:"iccid"`
	SimSid          *string `json:"sim_sid"`
	Status          string  `json:"status"`
	EID             *string `json:"eid"`
	SmdpPlusAddress *string `json:"smdp_plus_address"`
	MatchingID      *string `json:"matching_id"`
	ActivationCode  *string `json:"activation_code"`
	ErrorCode       *string `json:"error_code"`
	ErrorMessage    *string `json:"error_message"`
	DateCreated     *string `json:"date_created"`
	DateUpdated     *string `json:"date_updated"`
	URL             string  `json:"url"`
}

func renderESim(r *http.Request, p *sim.ESimProfile) any {
	return esimJSON{
		Sid: p.Sid, AccountSid: p.AccountSid, ICCID: null(p.ICCID), SimSid: null(p.SimSid),
		Status: p.Status, EID: null(p.EID), SmdpPlusAddress: null(p.SmdpPlusAddress),
		MatchingID: null(p.MatchingID), ActivationCode: null(p.ActivationCode),
		DateCreated: date(p.DateCreated), DateUpdated: date(p.DateUpdated),
		URL: baseURL(r) + "/v1/ESimProfiles/" + p.Sid,
	}
}

type settingsUpdateJSON struct {
	Sid           string                `json:"sid"`
	ICCID         string                `json:"iccid"`
	SimSid        string                `json:"sim_sid"`
	Status        string                `json:"status"`
	Packages      []sim.SettingsPackage `json:"packages"`
	DateCompleted *string               `json:"date_completed"`
	DateCreated   *string               `json:"date_created"`
	DateUpdated   *string               `json:"date_updated"`
}

func renderSettingsUpdate(u *sim.SettingsUpdate) any {
	return settingsUpdateJSON{
		Sid: u.Sid, ICCID: u.ICCID, SimSid: u.SimSid, Status: u.Status, Packages: u.Packages,
		DateCompleted: date(u.DateCompleted), DateCreated: date(u.DateCreated), DateUpdated: date(u.DateUpdated),
	}
}
