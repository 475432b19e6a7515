package scenario

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
	Wall         *Wall     `json:"wall,omitempty"` // wall-clock figures; not reproducible
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
