// Package spec is the scenario file format: the document's types, the
// strict YAML decoder that reports every problem with its file:line, the
// defaults, the validator (names, references, networks, floors and the
// event budget that bounds what a run may cost) and the JSON Schema that
// `fleetsim schema` prints. It knows nothing of how a scenario is run.
package spec

// The types below are the scenario file format. The decoder and the JSON
// Schema are both derived from them (their yaml and doc tags), so the two
// cannot drift apart. Every struct that may be named in an error carries a
// Pos, filled in by the decoder.

// Scenario is one scenario file.
type Scenario struct {
	Pos         Pos           `yaml:"-"`
	Name        string        `yaml:"name" doc:"Short name of the scenario, used in reports."`
	Description string        `yaml:"description" doc:"What the scenario shows, for people."`
	Seed        uint64        `yaml:"seed" doc:"Seed of every random choice; the same seed replays the same run. Overridden by --seed."`
	Start       Time          `yaml:"start" doc:"Virtual wall-clock time at which the run starts (RFC 3339). Default 2026-01-01T00:00:00Z."`
	Duration    Duration      `yaml:"duration" required:"true" doc:"How much virtual time the run covers, e.g. 24h."`
	Sample      Duration      `yaml:"sample" doc:"How often expectations with a window are checked (at least 1s). Default 1m."`
	Settings    Settings      `yaml:"settings" doc:"Timing of the control plane and the modems."`
	World       World         `yaml:"world" doc:"The radio world: places and the networks seen there."`
	Control     ControlSetup  `yaml:"control" doc:"Control plane set-up done through the REST API before devices power on."`
	Devices     []Group       `yaml:"devices" required:"true" doc:"Groups of devices."`
	Timeline    []Event       `yaml:"timeline" doc:"Things that happen during the run."`
	Expect      []Expectation `yaml:"expect" doc:"What must hold; each becomes a test case in the reports."`

	File string `yaml:"-"` // where the scenario was read from, for messages
}

// Settings tunes the simulated timing.
type Settings struct {
	Pos                 Pos      `yaml:"-"`
	LimitPropagation    Duration `yaml:"limit_propagation" doc:"How long a Fleet's new data limit takes to be enforced (at most 15m). Default 5m."`
	LimitPropagationMax Duration `yaml:"limit_propagation_max" doc:"Spread a new data limit over the SIMs: each enforces it after a delay of its own, at most limit_propagation for nine SIMs in ten and at most this for all (limit_propagation..15m), drawn from the seed, the change and the SIM. Default none: every SIM after limit_propagation."`
	UpdateDelay         Duration `yaml:"update_delay" doc:"How long an asynchronous Sim status update stays scheduled. Default 3s."`
	AuthCache           Duration `yaml:"auth_cache" doc:"How long a visited network caches a SIM's authorisation, counted from the attach and renewed while the NAP allows the network: a network removed from the NAP serves an attached SIM until the cache expires, at most this long after the removal (at most 168h). Default 24h."`
	Scan                Duration `yaml:"scan" doc:"How long a network scan takes on the modems. Default 3s."`
	Attach              Duration `yaml:"attach" doc:"How long one attach attempt takes. Default 2s."`
	Profile             string   `yaml:"profile" enum:"bg96,bg95,generic,sim7080,sim7000,sara-r4" doc:"The module family of every group's modems, unless the group names its own. Default bg96."`
}

// World is the radio environment.
type World struct {
	Pos       Pos        `yaml:"-"`
	Locations []Location `yaml:"locations" doc:"Places devices can be. A country code can be used as a location without being listed here."`
}

// Location is a place and the networks that cover it.
type Location struct {
	Pos      Pos      `yaml:"-"`
	Name     string   `yaml:"name" required:"true" doc:"Name used by device groups, moves and outages."`
	Country  string   `yaml:"country" required:"true" doc:"ISO 3166-1 alpha-2 code; the Networks catalog's networks of this country cover the place."`
	Networks []string `yaml:"networks" doc:"Only these networks cover the place (PLMN such as 26201, or catalog friendly name). Default all of the country's."`
	Signal   int      `yaml:"signal" doc:"Received signal on the +CSQ scale (1..31) for every network here. Default each network's own."`
}

// ControlSetup is what the scenario creates through the API first.
type ControlSetup struct {
	Pos      Pos           `yaml:"-"`
	Accounts []AccountSpec `yaml:"accounts" doc:"Subaccounts of the main account, created through /2010-04-01/Accounts.json (or reused by friendly name with --api). NAPs, Fleets, groups, SIM moves and expectations name them with account; main is the main account."`
	NAPs     []NAPSpec     `yaml:"naps" doc:"Network Access Profiles."`
	Fleets   []FleetSpec   `yaml:"fleets" doc:"Fleets."`
}

// NAPSpec is a Network Access Profile.
type NAPSpec struct {
	Pos      Pos      `yaml:"-"`
	Name     string   `yaml:"name" required:"true" doc:"Unique name of the NAP."`
	Networks []string `yaml:"networks" doc:"Networks allowed: a PLMN (26201), a country code (DE: all its networks) or a catalog friendly name."`
	Account  string   `yaml:"account" doc:"Account that owns the NAP: a name of control.accounts, or main. Default main."`
}

// FleetSpec is a Fleet.
type FleetSpec struct {
	Pos                Pos    `yaml:"-"`
	Name               string `yaml:"name" required:"true" doc:"Unique name of the Fleet."`
	NAP                string `yaml:"nap" required:"true" doc:"Name of the Fleet's NAP."`
	DataLimitMB        int    `yaml:"data_limit_mb" doc:"Data limit per SIM and billing period in MB (1..2000000). Default 1000."`
	DataEnabled        *bool  `yaml:"data_enabled" doc:"Whether SIMs may use data. Default true."`
	SmsCommandsEnabled *bool  `yaml:"sms_commands_enabled" doc:"Whether SIMs may use SMS Commands. Default true."`
	Account            string `yaml:"account" doc:"Account that owns the Fleet: a name of control.accounts, or main; its NAP must be the same account's. Default main."`
	Callbacks          bool   `yaml:"callbacks" doc:"Point the Fleet's sms_commands_url and ip_commands_url at the run's callback receiver (kinds fleet_sms_command and fleet_ip_command)."`
	CallbackMethod     string `yaml:"callback_method" enum:"GET,POST" doc:"Method of those callbacks. Default POST."`
}

// Group is a set of devices that behave alike.
type Group struct {
	Pos        Pos        `yaml:"-"`
	Name       string     `yaml:"name" required:"true" doc:"Name of the group."`
	Count      int        `yaml:"count" required:"true" doc:"Number of devices (1..1000000)."`
	Fleet      string     `yaml:"fleet" doc:"Fleet the SIMs are in. Default none: the SIMs cannot attach."`
	SimStatus  string     `yaml:"sim_status" enum:"new,ready,active,inactive" doc:"Status the SIMs are put in during set-up. Default active."`
	Location   string     `yaml:"location" required:"true" doc:"Where the devices start: a location name or a country code."`
	Module     string     `yaml:"module" enum:"bg96,bg95,generic,sim7080,sim7000,sara-r4" doc:"The module family of the group's modems; the firmware drives each through its own commands (resets, data context). Default settings.profile."`
	PowerOn    PowerOn    `yaml:"power_on" doc:"When the devices power up."`
	Selection  Selection  `yaml:"selection" doc:"How the firmware selects a network."`
	Retry      Retry      `yaml:"retry" doc:"What the firmware does when it cannot register."`
	Data       *Traffic   `yaml:"data" doc:"Data the firmware sends while registered."`
	PowerCycle *Every     `yaml:"power_cycle" doc:"Periodic power cycles (a watchdog, a battery swap)."`
	SMS        *DeviceSMS `yaml:"sms" doc:"SMS Commands the firmware sends to 000 (AT+CMGS in text mode) and how it answers those it receives (+CMTI, AT+CMGR)."`
	IP         *DeviceIP  `yaml:"ip" doc:"IP Commands the firmware sends to the gateway 100.64.0.1:6969 and how it answers those it receives, through the module's own socket commands (AT+QIOPEN/AT+QISEND/AT+QIRD, AT+CAOPEN/AT+CASEND/AT+CARECV, AT+USOCR/AT+USOST/AT+USORF). Not for module generic."`
	PTY        bool       `yaml:"pty" doc:"In real-time mode (--exec), expose the group's devices on pseudo-terminals instead of simulating their firmware."`
	Account    string     `yaml:"account" doc:"Account the SIMs are registered to: a name of control.accounts, or main; the group's Fleet must be the same account's. Default main."`
}

// PowerOn spreads power-up over time.
type PowerOn struct {
	Pos    Pos      `yaml:"-"`
	At     Duration `yaml:"at" doc:"Time after the start at which the first device powers up. Default 0s."`
	Spread Duration `yaml:"spread" doc:"Devices power up uniformly over this span after at. Default 0s."`
}

// Selection is the firmware's network selection.
type Selection struct {
	Pos     Pos    `yaml:"-"`
	Mode    string `yaml:"mode" enum:"automatic,manual" doc:"automatic (AT+COPS=0) or manual (AT+COPS=1 on network). Default automatic."`
	Network string `yaml:"network" doc:"PLMN for manual selection, e.g. 23430."`
}

// Retry is the firmware's back-off when it is not registered.
type Retry struct {
	Pos        Pos      `yaml:"-"`
	Action     string   `yaml:"action" enum:"cfun,cops,none" doc:"cfun: switch the radio off and on (clears the forbidden list); cops: select again; none: wait. Default cfun."`
	Backoff    Duration `yaml:"backoff" doc:"First wait after a failure (at least 1s). Default 1m."`
	MaxBackoff Duration `yaml:"max_backoff" doc:"The wait doubles after each failure up to this. Default 30m."`
	Jitter     Quantity `yaml:"jitter" doc:"Random share added to each wait, e.g. 20%. Default 10%."`
}

// Traffic is a periodic data pattern.
type Traffic struct {
	Pos      Pos      `yaml:"-"`
	Every    Duration `yaml:"every" required:"true" doc:"Interval between transfers (at least 1s)."`
	Bytes    ByteSize `yaml:"bytes" required:"true" doc:"Bytes sent (upload) per transfer, e.g. 2KB or 1.5MB (KB = 1024 bytes)."`
	Download ByteSize `yaml:"download" doc:"Bytes the network sends back (download) per transfer, through the modem's data session after the upload, e.g. 256KB (at most 100MB). Default 0."`
	Jitter   Quantity `yaml:"jitter" doc:"Random share of the interval by which a transfer moves, e.g. 10%. Default 0%."`
}

// Every is a period.
type Every struct {
	Pos   Pos      `yaml:"-"`
	Every Duration `yaml:"every" required:"true" doc:"Interval (at least 10s: more than a boot and an attach)."`
}

// Event is one entry of the timeline: when, and exactly one action.
type Event struct {
	Pos   Pos       `yaml:"-"`
	At    *Duration `yaml:"at" doc:"Time after the start at which it happens once."`
	Every *Duration `yaml:"every" doc:"Period at which it repeats (from 'from', until 'until'); at least 1s."`
	From  Duration  `yaml:"from" doc:"First time of a repeating event. Default one period after the start."`
	Until *Duration `yaml:"until" doc:"Last time of a repeating event. Default the end."`

	NAP        *NAPChange   `yaml:"nap" doc:"Change a NAP's networks."`
	Fleet      *FleetChange `yaml:"fleet" doc:"Change a Fleet."`
	SIMs       *SIMChange   `yaml:"sims" doc:"Change the SIMs of some devices."`
	Move       *Move        `yaml:"move" doc:"Move devices to another location."`
	Outage     *Outage      `yaml:"outage" doc:"Take a network down."`
	PowerCycle *Targets     `yaml:"power_cycle" doc:"Power-cycle devices."`
	API        *APICall     `yaml:"api" doc:"Any REST API request."`
	SMS        *SendSMS     `yaml:"sms" doc:"Send an SMS Command to the SIMs of a group through the REST API (POST /v1/SmsCommands, one per SIM)."`
	IP         *SendIP      `yaml:"ip" doc:"Send an IP Command to the SIMs of a group through the REST API (POST /v1/IpCommands, one per SIM)."`
}

// NAPChange adds and removes networks of a NAP.
type NAPChange struct {
	Pos    Pos      `yaml:"-"`
	Name   string   `yaml:"name" required:"true" doc:"The NAP."`
	Add    []string `yaml:"add" doc:"Networks to allow."`
	Remove []string `yaml:"remove" doc:"Networks to stop allowing."`
}

// FleetChange updates a Fleet.
type FleetChange struct {
	Pos         Pos     `yaml:"-"`
	Name        string  `yaml:"name" required:"true" doc:"The Fleet."`
	DataLimitMB *int    `yaml:"data_limit_mb" doc:"New data limit in MB."`
	NAP         *string `yaml:"nap" doc:"New NAP."`
}

// Targets picks devices.
type Targets struct {
	Pos   Pos      `yaml:"-"`
	Group string   `yaml:"group" required:"true" doc:"The device group."`
	Share Quantity `yaml:"share" doc:"How many of them: a count or a percentage (the group's first devices). Default 100%."`
}

// SIMChange updates the SIMs of some devices.
type SIMChange struct {
	Targets        `yaml:",inline"`
	Status         string `yaml:"status" enum:"active,inactive" doc:"New status."`
	Fleet          string `yaml:"fleet" doc:"Move the SIMs to this Fleet."`
	Account        string `yaml:"account" doc:"Move the SIMs to this account (a name of control.accounts, or main), as the main account does it (AccountSid): the SIMs must be new or inactive, and their Fleet becomes fleet, which must be that account's, or none when fleet is not given."`
	Callback       string `yaml:"callback" enum:"receiver" doc:"receiver: ask for the update's callback (CallbackUrl) at the run's callback receiver (kind sim_update)."`
	CallbackMethod string `yaml:"callback_method" enum:"GET,POST" doc:"Method of that callback. Default POST."`
}

// Move takes devices to another location.
type Move struct {
	Targets `yaml:",inline"`
	To      string `yaml:"to" required:"true" doc:"Location name or country code."`
}

// Outage takes a network down, everywhere or for a while.
type Outage struct {
	Pos     Pos      `yaml:"-"`
	Network string   `yaml:"network" required:"true" doc:"The network: PLMN or catalog friendly name."`
	For     Duration `yaml:"for" doc:"How long it lasts. Default until the end."`
}

// APICall is a request to the REST API.
type APICall struct {
	Pos     Pos               `yaml:"-"`
	Method  string            `yaml:"method" enum:"GET,POST,DELETE" doc:"HTTP method. Default POST."`
	Path    string            `yaml:"path" required:"true" doc:"Path such as /v1/Fleets/trackers; {fleet:NAME}, {nap:NAME}, {sim:GROUP/INDEX} and {account:NAME} are replaced by SIDs, {callback:KIND} by the URL of the run's callback receiver for that kind."`
	Params  map[string]string `yaml:"params" doc:"Form parameters (POST) or query parameters, with the same placeholders."`
	Account string            `yaml:"account" doc:"Account whose credentials make the request: a name of control.accounts, or main. Default main."`
	Status  int               `yaml:"status" doc:"Expected HTTP status. Default any 2xx."`
}

// Expectation is something that must hold.
type Expectation struct {
	Pos    Pos       `yaml:"-"`
	Name   string    `yaml:"name" required:"true" doc:"Test case name."`
	Group  string    `yaml:"group" doc:"Device group it is about. Default all devices."`
	At     *Duration `yaml:"at" doc:"Check once at this time. Without at or during, it is checked at the end."`
	During *Window   `yaml:"during" doc:"Check at every sample within this window."`
	Abort  bool      `yaml:"abort" doc:"A threshold: stop the run as soon as it fails."`

	Network string `yaml:"network" doc:"Count only devices registered on this network (PLMN or friendly name)."`

	Registered    Condition      `yaml:"registered" doc:"Devices registered, home or roaming, e.g. '>= 99%'."`
	Roaming       Condition      `yaml:"roaming" doc:"Devices registered roaming."`
	Searching     Condition      `yaml:"searching" doc:"Devices not registered but searching (+CEREG stat 2)."`
	Denied        Condition      `yaml:"denied" doc:"Devices whose registration was denied (+CEREG stat 3)."`
	NotRegistered Condition      `yaml:"not_registered" doc:"Devices not registered for any reason."`
	DataBlocked   Condition      `yaml:"data_blocked" doc:"Devices whose last data transfer was refused."`
	SimStatus     string         `yaml:"sim_status" enum:"new,ready,active,inactive,scheduled" doc:"Status to count with sims."`
	SIMs          Condition      `yaml:"sims" doc:"SIMs of the group with sim_status, as the API lists them."`
	AttachLatency *Percentile    `yaml:"attach_latency" doc:"A percentile of the time from power-up to first registration, over the devices powered up."`
	UsageMB       Condition      `yaml:"usage_mb" doc:"Data used by each SIM of the group in MB, from the API's UsageRecords; every SIM must satisfy it."`
	UploadMB      Condition      `yaml:"upload_mb" doc:"Data uploaded by each SIM of the group in MB (UsageRecords' data_upload); every SIM must satisfy it."`
	DownloadMB    Condition      `yaml:"download_mb" doc:"Data downloaded by each SIM of the group in MB (UsageRecords' data_download); every SIM must satisfy it."`
	API           *APICheck      `yaml:"api" doc:"An API response: its HTTP status and a field of its JSON."`
	SmsCommands   *CommandCheck  `yaml:"sms_commands" doc:"SMS Commands of the group's SIMs, as GET /v1/SmsCommands lists them."`
	IPCommands    *CommandCheck  `yaml:"ip_commands" doc:"IP Commands of the group's SIMs, as GET /v1/IpCommands lists them."`
	Callbacks     *CallbackCheck `yaml:"callbacks" doc:"Callbacks the run's receiver got, from the start until the check."`
	Account       string         `yaml:"account" doc:"Account whose credentials the sims, usage_mb, upload_mb, download_mb and api checks use: a name of control.accounts, or main. Default the group's account."`
}

// CallbackCheck is a check on the callbacks of one kind the receiver got:
// those of the expectation's group's SIMs (when it names a group) whose
// parameters match where.
type CallbackCheck struct {
	Pos    Pos               `yaml:"-"`
	Kind   string            `yaml:"kind" required:"true" enum:"sim_update,sms_command_status,ip_command_status,fleet_sms_command,fleet_ip_command" doc:"Which callbacks: the Sim update's, an SMS or IP Command's status, or a Fleet's sms_commands_url or ip_commands_url."`
	Where  map[string]string `yaml:"where" doc:"Count only callbacks whose parameters have these values, e.g. {Status: delivered}; placeholders as in api paths."`
	Count  Condition         `yaml:"count" doc:"How many such callbacks arrived, e.g. '== 10'."`
	Params []ParamCheck      `yaml:"params" doc:"Each such callback has these parameter values."`
	Signed bool              `yaml:"signed" doc:"Each such callback carries a valid X-Twilio-Signature, computed as Twilio's validators do with the auth token of the account named by its AccountSid."`
	Order  *OrderCheck       `yaml:"order" doc:"The callbacks of each command or SIM arrive in this order."`
}

// ParamCheck is a callback parameter's value.
type ParamCheck struct {
	Pos    Pos      `yaml:"-"`
	Name   string   `yaml:"name" required:"true" doc:"Parameter name, e.g. SimStatus."`
	Equals *string  `yaml:"equals" doc:"Its value; placeholders as in api paths."`
	In     []string `yaml:"in" doc:"One of these values."`
}

// OrderCheck is the order of the callbacks of each command or SIM.
type OrderCheck struct {
	Pos    Pos      `yaml:"-"`
	By     string   `yaml:"by" required:"true" doc:"Parameter that groups callbacks, e.g. CommandSid or SimSid."`
	Param  string   `yaml:"param" required:"true" doc:"Parameter whose values are ordered, e.g. Status."`
	Values []string `yaml:"values" required:"true" doc:"Its values in the order they must arrive, e.g. [sent, delivered]; each must arrive once for each group of callbacks, after the one before it."`
}

// AccountSpec is a subaccount.
type AccountSpec struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name" required:"true" doc:"Friendly name of the subaccount; not main."`
}

// Window is a span of the run.
type Window struct {
	Pos   Pos      `yaml:"-"`
	From  Duration `yaml:"from" doc:"Start. Default 0s."`
	Until Duration `yaml:"until" required:"true" doc:"End."`
}

// Percentile bounds an attach latency percentile.
type Percentile struct {
	Pos Pos       `yaml:"-"`
	P   float64   `yaml:"p" required:"true" doc:"The percentile, e.g. 99."`
	Max Condition `yaml:"max" required:"true" doc:"Bound of the latency, e.g. '<= 5m'."`
}

// APICheck is a GET whose answer must have a status and hold a value.
type APICheck struct {
	Pos    Pos       `yaml:"-"`
	Path   string    `yaml:"path" required:"true" doc:"Path of a GET, with the same placeholders as api events."`
	Status int       `yaml:"status" doc:"Expected HTTP status, e.g. 404; the field is then read from that answer. Default any 2xx."`
	Field  string    `yaml:"field" doc:"Dotted path into the JSON answer, e.g. status or sims.0.status; * stands for every element of a list (sims.*.status: each must hold). Required with equals, in, number or absent."`
	Equals string    `yaml:"equals" doc:"Expected value, compared as text; placeholders are replaced."`
	In     []string  `yaml:"in" doc:"The value must be one of these, compared as text."`
	Number Condition `yaml:"number" doc:"The value is a number that must satisfy this, e.g. '>= 5' or '< 100'."`
	Absent bool      `yaml:"absent" doc:"The field must not be in the answer (null counts as present)."`
}

// DeviceSMS is what a group's firmware does with SMS Commands.
type DeviceSMS struct {
	Pos   Pos       `yaml:"-"`
	Every *Duration `yaml:"every" doc:"Interval between SMS the firmware sends to 000 while registered (at least 1m). Default none: it only answers."`
	Text  string    `yaml:"text" doc:"Text of the SMS it sends every interval (1..160 characters of the GSM alphabet, {n} counted as 5). Required with every. {n} is the device's count of these SMS, from 1 (to 65535, then 0 again), so each says which it is: 'report {n}'."`
	Reply string    `yaml:"reply" doc:"Text it sends to 000 in answer to each SMS Command it reads. Default none: it reads and deletes them."`
}

// SeqPlaceholder in a group's sms.text or ip.text is the device's count of
// those messages, from 1: the firmware writes the number in its place.
const SeqPlaceholder = "{n}"

// seqWidth is the most digits SeqPlaceholder becomes (a uint16 count).
const seqWidth = 5

// DeviceIP is what a group's firmware does with IP Commands.
type DeviceIP struct {
	Pos   Pos       `yaml:"-"`
	Every *Duration `yaml:"every" doc:"Interval between datagrams the firmware sends to the IP Commands gateway while registered (at least 1m). Default none: it only answers."`
	Text  string    `yaml:"text" doc:"Payload of the datagram it sends every interval (1..512 printable characters, {n} counted as 5). Required with every. {n} is the device's count of these datagrams, from 1 (to 65535, then 0 again)."`
	Port  int       `yaml:"port" required:"true" doc:"Device port: the local port of the firmware's UDP socket, where IP Commands to the device are sent (1..65535)."`
	Reply string    `yaml:"reply" doc:"Payload it sends to the gateway in answer to each IP Command it reads. Default none: it only reads them."`
}

// SendSMS is an SMS Command to the SIMs of a group.
type SendSMS struct {
	Targets `yaml:",inline"`
	Text    string `yaml:"text" required:"true" doc:"Payload of the SMS Command (1..160 characters)."`
}

// SendIP is an IP Command to the SIMs of a group.
type SendIP struct {
	Targets `yaml:",inline"`
	Text    string `yaml:"text" required:"true" doc:"Payload of the IP Command, sent as text (1..1000 bytes)."`
	Port    int    `yaml:"port" required:"true" doc:"Device port the datagram is sent to (1..65535)."`
}

// CommandCheck counts SMS or IP Commands and bounds their delivery time.
type CommandCheck struct {
	Pos       Pos         `yaml:"-"`
	Direction string      `yaml:"direction" enum:"to_sim,from_sim" doc:"Only Commands in this direction. Default both."`
	Status    string      `yaml:"status" enum:"queued,sent,delivered,received,failed" doc:"Count the Commands with this status."`
	Count     Condition   `yaml:"count" doc:"How many have status: a number, or a share of all the group's Commands in direction, e.g. '== 100%'."`
	Latency   *Percentile `yaml:"latency" doc:"A percentile of the time from creation (queued) to the last update (e.g. delivered) over the Commands with status, e.g. {p: 99, max: '<= 1m'}."`
}
