// Package report is what a scenario run produced, as data (Report, its
// expectation outcomes and time series) and its writers: the text summary
// for people, JSON for machines and replays, JUnit XML for CI, and the
// progress line shown while a run goes. It depends on nothing of the run
// itself: scenario/htmlreport and other readers use the model alone.
package report

import "time"

// Report is the outcome of a run. Everything in it follows from the
// scenario file and the seed, except Wall, which is explicitly wall-clock:
// two runs of the same file with the same seed give byte-identical JSON
// once Wall is left out.
//
// WriteJSON writes it as one JSON object, indented, with the fields below
// in this order. Times are RFC 3339; durations are Go durations written
// the short way ("24h", "6h12m", "90s"); virtual instants within the run
// (aborted_at, failed_at) are durations since start.
//
//   - scenario (string): the scenario's name.
//   - file (string): the scenario file, as given to the runner.
//   - seed (integer): the seed of every random choice; the same file and
//     seed replay the same run.
//   - start (time): virtual time at which the run started.
//   - end (time): virtual time the run reached; before the scenario's end
//     when the run was aborted or interrupted.
//   - duration (duration): virtual time covered.
//   - devices (integer): simulated devices.
//   - events (integer): discrete events simulated.
//   - at_commands (integer): AT commands the devices sent.
//   - api_requests (integer): REST API requests the run made.
//   - passed (boolean): every expectation held; false when the run was
//     aborted.
//   - aborted (boolean): an expectation marked abort failed and stopped
//     the run early.
//   - aborted_at (duration, only when aborted): when the run stopped.
//   - interrupted (boolean, omitted when false): the run was stopped from
//     outside (SIGINT, SIGTERM) at end, before the scenario's end; passed
//     is false.
//   - expectations (array, never null): one object per expectation, in
//     the order of the scenario file; see Outcome.
//   - series (object, omitted only in reports not made by Run): what the
//     run looked like over virtual time, for charts; see Series.
//   - wall (object, omitted unless wall-clock figures were asked for):
//     figures that differ from run to run; see Wall.
//
// Each element of expectations has:
//
//   - name (string): the expectation's name.
//   - group (string, omitted when empty): the device group it is about.
//   - when (string): when it is checked: "at 5m", "during 2h..6h" or
//     "end".
//   - check (string): what is compared, e.g. "registered >= 99%".
//   - observed (string): the value seen; over a window, the worst one.
//     Empty when it was never checked.
//   - pass (boolean): it held at every check; false when skipped.
//   - skipped (boolean, omitted when false): never checked, because the
//     run was aborted or interrupted before its time came.
//   - failed_at (duration, omitted unless it failed): when the first
//     failing check was made.
//   - samples (integer): how many times it was checked.
//   - message (string, omitted when empty): more about a failure, such as
//     an API request that could not be made.
//   - line (integer): line of the expectation in the scenario file.
//
// wall has:
//
//   - started (time): wall-clock time the run started.
//   - seconds (number): wall-clock seconds the run took.
//   - events_per_second (number): events divided by seconds.
//   - peak_rss_mb (number): peak resident memory of the process, in MiB.
type Report struct {
	Scenario     string    `json:"scenario"`
	File         string    `json:"file"`
	Seed         uint64    `json:"seed"`
	Start        time.Time `json:"start"`        // virtual time the run started
	End          time.Time `json:"end"`          // virtual time the run reached
	Duration     string    `json:"duration"`     // virtual time covered, e.g. "24h"
	Devices      int       `json:"devices"`      // simulated devices
	Events       int64     `json:"events"`       // discrete events simulated
	ATCommands   int64     `json:"at_commands"`  // AT commands the devices sent
	APIRequests  int64     `json:"api_requests"` // REST API requests the run made
	Passed       bool      `json:"passed"`       // every expectation held
	Aborted      bool      `json:"aborted"`      // a threshold stopped the run early
	AbortedAt    string    `json:"aborted_at,omitempty"`
	Interrupted  bool      `json:"interrupted,omitempty"` // SIGINT or SIGTERM stopped the run at End
	Expectations []Outcome `json:"expectations"`
	Series       *Series   `json:"series,omitempty"` // what the run looked like over virtual time
	Wall         *Wall     `json:"wall,omitempty"`   // wall-clock figures; not reproducible
}

// Outcome is one expectation's result.
type Outcome struct {
	Name     string `json:"name"`
	Group    string `json:"group,omitempty"`
	When     string `json:"when"`     // "at 5m", "during 2h..6h" or "end"
	Check    string `json:"check"`    // what was compared, e.g. "registered >= 99%"
	Observed string `json:"observed"` // the value seen (the worst one, over a window)
	Pass     bool   `json:"pass"`
	Skipped  bool   `json:"skipped,omitempty"`   // never checked: the run was aborted first
	FailedAt string `json:"failed_at,omitempty"` // virtual time of the first failing sample
	Samples  int    `json:"samples"`             // how many times it was checked
	Message  string `json:"message,omitempty"`
	Line     int    `json:"line"` // where it is written in the scenario file
}

// Counts returns how many expectations passed, failed and were skipped. A
// skipped expectation counts as skipped only, whatever its Pass.
func (r *Report) Counts() (passed, failed, skipped int) {
	for _, o := range r.Expectations {
		switch {
		case o.Skipped:
			skipped++
		case o.Pass:
			passed++
		default:
			failed++
		}
	}
	return passed, failed, skipped
}

// Wall holds the wall-clock figures of a run.
type Wall struct {
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
	EventsPS  float64   `json:"events_per_second"`
	PeakRSSMB float64   `json:"peak_rss_mb"`
}

// Progress is a snapshot for the progress display.
type Progress struct {
	Virtual    time.Duration // virtual time reached since the start
	Total      time.Duration // virtual time the run covers
	Devices    int
	Registered int
	Events     int64
	Failed     int // expectations failed so far
}

// Series is what a run looked like over virtual time: aggregates sampled
// on the virtual clock, never one value per device per sample, so its size
// does not grow with the fleet. Instants are seconds since the start
// (numbers, rounded to the millisecond); arrays are never null. Fields, in
// this order:
//
//   - step (duration): the period of the points: the scenario's sample
//     period, or a multiple of it that keeps at most 720 points.
//   - step_seconds (number): the same, in seconds.
//   - times (array of numbers): the instant of each point, 0 to the end
//     (the abort, if the run was aborted); every array of a point per
//     sample below has one element per time.
//   - groups (array): one object per device group, in the file's order:
//     name, devices (count), fleet (omitted when none), registered,
//     searching, denied, data_blocked (device counts per point: the state
//     the firmware knows from +CEREG, and whether its last data session
//     was refused), sent_mb (data the group's devices wrote so far, MB),
//     networks (one object per network a device was registered on, by
//     PLMN: plmn, name (catalog friendly name), registered per point).
//   - commands (object, omitted when none were sent): sms_commands and
//     ip_commands, how many had been sent to the SIMs by each point.
//   - expectations (array): one object per expectation, in the file's
//     order: name, group, from and until (its window; equal for a single
//     check), pass, samples (each: t, pass, value (the first check's
//     figure in its condition's unit: percent for a share, else a count,
//     seconds or MB; omitted when it has none), observed (text)), thinned
//     (samples left out of a long window to keep 720; the first failure
//     is always kept).
//   - events (array): the timeline as carried out: t, kind (nap, fleet,
//     sims, move, outage, outage_end, power_cycle, api), group (when it
//     targets one), text, line (in the scenario file). At most 500.
//   - events_dropped (integer, omitted when 0): events past the 500th.
//   - attach_latency (histogram, unit s): power-up to first registration
//     of each device powered up; never counts those that never registered.
//   - usage (array): per group, its SIMs' data use at the end against its
//     Fleet's limit: group, fleet, limit_mb (the Fleet's limit at the
//     start), final_limit_mb, limit_changes (t, limit_mb), at_limit (SIMs
//     that used the starting limit or more), per_sim (histogram, unit MB,
//     from UsageRecords), ever_blocked (SIMs blocked at some point),
//     longest_blocked (the 10 SIMs blocked the longest: index in the group,
//     sim SID, blocked_seconds (points blocked times step), first and last
//     point blocked).
//   - notes (array of strings, omitted when empty): parts that could not be
//     made, and why.
//
// A histogram has unit, count, min, max, p50, p90, p99, never (omitted when
// 0) and buckets (from, to, count: values v with from <= v < to).
type Series struct {
	Step          string              `json:"step"`
	StepSeconds   float64             `json:"step_seconds"`
	Times         []float64           `json:"times"`
	Groups        []GroupSeries       `json:"groups"`
	Commands      *CommandSeries      `json:"commands,omitempty"`
	Expectations  []CheckSeries       `json:"expectations"`
	Events        []TimelineEvent     `json:"events"`
	EventsDropped int                 `json:"events_dropped,omitempty"`
	AttachLatency Histogram           `json:"attach_latency"`
	Usage         []UsageDistribution `json:"usage"`
	Notes         []string            `json:"notes,omitempty"`
}

// GroupSeries is one device group over time.
type GroupSeries struct {
	Name        string          `json:"name"`
	Devices     int             `json:"devices"`
	Fleet       string          `json:"fleet,omitempty"`
	Registered  []int32         `json:"registered"`
	Searching   []int32         `json:"searching"`
	Denied      []int32         `json:"denied"`
	DataBlocked []int32         `json:"data_blocked"`
	SentMB      []float64       `json:"sent_mb"`
	Networks    []NetworkSeries `json:"networks"`
}

// NetworkSeries is how many of a group's devices were registered on one
// network over time.
type NetworkSeries struct {
	PLMN       string  `json:"plmn"`
	Name       string  `json:"name"`
	Registered []int32 `json:"registered"`
}

// CommandSeries counts the commands sent to SIMs over time.
type CommandSeries struct {
	SMSCommands []int64 `json:"sms_commands"`
	IPCommands  []int64 `json:"ip_commands"`
}

// CheckSeries is one expectation's samples.
type CheckSeries struct {
	Name    string        `json:"name"`
	Group   string        `json:"group,omitempty"`
	From    float64       `json:"from"`
	Until   float64       `json:"until"`
	Pass    bool          `json:"pass"`
	Samples []CheckSample `json:"samples"`
	Thinned int           `json:"thinned,omitempty"`
}

// CheckSample is one check of an expectation.
type CheckSample struct {
	T        float64  `json:"t"`
	Pass     bool     `json:"pass"`
	Value    *float64 `json:"value,omitempty"`
	Observed string   `json:"observed"`
}

// TimelineEvent is a timeline entry carried out.
type TimelineEvent struct {
	T     float64 `json:"t"`
	Kind  string  `json:"kind"`
	Group string  `json:"group,omitempty"`
	Text  string  `json:"text"`
	Line  int     `json:"line"`
}

// Histogram is a distribution.
type Histogram struct {
	Unit    string   `json:"unit"`
	Count   int      `json:"count"`
	Min     float64  `json:"min"`
	Max     float64  `json:"max"`
	P50     float64  `json:"p50"`
	P90     float64  `json:"p90"`
	P99     float64  `json:"p99"`
	Never   int      `json:"never,omitempty"`
	Buckets []Bucket `json:"buckets"`
}

// Bucket counts the values v with From <= v < To.
type Bucket struct {
	From  float64 `json:"from"`
	To    float64 `json:"to"`
	Count int     `json:"count"`
}

// UsageDistribution is a group's data use per SIM against its Fleet's limit.
type UsageDistribution struct {
	Group        string        `json:"group"`
	Fleet        string        `json:"fleet,omitempty"`
	LimitMB      int           `json:"limit_mb"`
	FinalLimitMB int           `json:"final_limit_mb"`
	LimitChanges []LimitChange `json:"limit_changes"`
	AtLimit      int           `json:"at_limit"`
	PerSIM       Histogram     `json:"per_sim"`
	EverBlocked  int           `json:"ever_blocked"`
	Longest      []BlockedSIM  `json:"longest_blocked"`
}

// LimitChange is a Fleet's new data limit.
type LimitChange struct {
	T       float64 `json:"t"`
	LimitMB int     `json:"limit_mb"`
}

// BlockedSIM is a SIM whose data was blocked, and for how long.
type BlockedSIM struct {
	Index          int     `json:"index"`
	Sim            string  `json:"sim"`
	BlockedSeconds float64 `json:"blocked_seconds"`
	First          float64 `json:"first"`
	Last           float64 `json:"last"`
}
