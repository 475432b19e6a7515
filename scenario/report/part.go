package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// PartVersion is the version of the partial report format a shard writes
// and merge reads; merge refuses any other.
const PartVersion = 1

// ErrParts wraps every reason a set of partial reports cannot be merged:
// unreadable, of another version, of different runs, a shard missing or
// given twice.
var ErrParts = errors.New("partial reports cannot be merged")

// Part is what one shard of a run (fleetsim run --shard i/N) writes: its
// own report (the control plane's view, the same in every shard, plus its
// devices' counts), and the raw figures that the expectations and charts of
// the whole fleet are computed from. WriteJSON writes it as one JSON object:
//
//   - fleetsim_part (integer): PartVersion.
//   - partial (object): which shard of which run; see PartInfo.
//   - report (object): the shard's own report (see Report), its verdicts
//     about its devices only: merge recomputes them.
//   - data (object): the raw figures; see PartData.
type Part struct {
	Version int       `json:"fleetsim_part"`
	Partial PartInfo  `json:"partial"`
	Report  *Report   `json:"report"`
	Data    *PartData `json:"data"`
}

// PartInfo says which shard of which run a part is. Parts merge only when
// all but Shard are equal and Shard covers 0..Of-1 once each.
//
// Devices are sliced by global index: device i (counting the groups in the
// file's order) is simulated by shard i mod Of.
type PartInfo struct {
	Shard    int    `json:"shard"`
	Of       int    `json:"of"`
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	SHA256   string `json:"sha256"` // of the scenario file's bytes
	Seed     uint64 `json:"seed"`
	Devices  int    `json:"devices"` // of the whole fleet
	// Source is the scenario file itself, so that merge needs nothing but
	// the parts.
	Source string `json:"source"`
}

// PartData is the raw material of a shard's part of the report.
//
//   - events, at_commands, api_requests: the shard's counters.
//   - baseline_events (shard 0 of several only): the events of a pass of
//     the same run with no device simulated (control-plane set-up, timeline,
//     checks, charts), which every shard counts: merge counts them once.
//   - powered_at, first_reg: per device of the shard, in order (devices
//     shard, shard+of, ...): nanoseconds since the start of the first
//     power-up and first registration, -1 for never.
//   - usage_bytes: per device of the shard, its SIM's data use at the end
//     (bytes, from UsageRecords); empty, and usage_unread true, when it
//     could not be read.
//   - checks: per expectation in the file's order, one Tally per check made.
//   - points: per series point, per group, the devices in each state.
//   - blocked: per group, the shard's SIMs blocked the longest (at most
//     ten; merge keeps the ten longest of all) and how many ever were.
type PartData struct {
	Events         int64          `json:"events"`
	ATCommands     int64          `json:"at_commands"`
	APIRequests    int64          `json:"api_requests"`
	BaselineEvents *int64         `json:"baseline_events,omitempty"`
	PoweredAt      []int64        `json:"powered_at"`
	FirstReg       []int64        `json:"first_reg"`
	UsageBytes     []float64      `json:"usage_bytes"`
	UsageUnread    bool           `json:"usage_unread,omitempty"`
	Checks         [][]Tally      `json:"checks"`
	Points         [][]GroupTally `json:"points"`
	Blocked        []BlockedTally `json:"blocked"`
}

// Tally is what one check of an expectation saw on a shard's devices: the
// numbers its verdict and text are computed from, never the verdict.
type Tally struct {
	T      int64 `json:"t"` // nanoseconds since the start
	N      int   `json:"n"` // the shard's devices the expectation is about
	Counts []int `json:"counts,omitempty"`
	// The devices whose first power-up (registration) time equals T and
	// was set before the check: with powered_at and first_reg, the exact
	// set of latencies the check saw.
	TiesPowered    []int32      `json:"ties_powered,omitempty"`
	TiesRegistered []int32      `json:"ties_registered,omitempty"`
	SIMs           int          `json:"sims,omitempty"`
	SIMsErr        string       `json:"sims_error,omitempty"`
	Usage          []UsageTally `json:"usage,omitempty"`
	UsageErr       string       `json:"usage_error,omitempty"`
	// Listed is, per whole-fleet list the check paged through (GET
	// /v1/Sims?Status, /v1/UsageRecords?Group=sim), its items: every
	// shard's pages differ, merge counts the whole fleet's.
	Listed []ListCount `json:"listed,omitempty"`
	// Opaque results that do not depend on the shard's devices (api
	// checks): equal in every shard.
	Shared []Observed `json:"shared,omitempty"`

	Lat []float64 `json:"-"` // in a run: the latencies seen (ns; +Inf never registered)
}

// UsageTally is one usage check over a shard's SIMs: the smallest and
// largest use (MB) and how many hold; Lo and Hi mean nothing when Any is
// false (the shard has none of the group's SIMs).
type UsageTally struct {
	Any  bool    `json:"any"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	Good int     `json:"good"`
}

// ListCount is one list read by a shard: its items, those of the shard's
// devices' SIMs, and those of no device's SIM (the same in every shard).
type ListCount struct {
	Total   int `json:"total"`
	Owned   int `json:"owned"`
	Foreign int `json:"foreign"`
}

// Observed is a check's outcome as text: an api check's.
type Observed struct {
	Text  string  `json:"text,omitempty"`
	OK    bool    `json:"ok"`
	Value float64 `json:"value,omitempty"`
	Err   string  `json:"error,omitempty"`
}

// GroupTally is one group at one series point.
type GroupTally struct {
	Registered int32 `json:"registered"`
	Searching  int32 `json:"searching"`
	Denied     int32 `json:"denied"`
	Blocked    int32 `json:"blocked"`
	SentBytes  int64 `json:"sent_bytes"`
	// Networks: PLMN → devices registered on it.
	Networks map[string]int32 `json:"networks,omitempty"`
}

// BlockedTally is a group's blocked SIMs in one shard.
type BlockedTally struct {
	EverBlocked int          `json:"ever_blocked"`
	AtLimit     int          `json:"at_limit"`
	Longest     []BlockedSIM `json:"longest"`
	Samples     []int        `json:"samples"` // blocked samples of each of Longest
}

// WritePart writes a part as indented JSON.
func WritePart(w io.Writer, p *Part) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(p)
}

// ReadPart reads one part and checks that it is whole and consistent with
// itself; errors wrap ErrParts.
func ReadPart(r io.Reader) (*Part, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Part
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParts, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the part", ErrParts)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParts, err)
	}
	return &p, nil
}

// check refuses a part that cannot come from a shard.
func (p *Part) check() error {
	in := p.Partial
	switch {
	case p.Version != PartVersion:
		return fmt.Errorf("format version %d, this fleetsim reads %d", p.Version, PartVersion)
	case p.Report == nil || p.Data == nil:
		return errors.New("no report or data: not a partial report")
	case in.Of < 1 || in.Shard < 0 || in.Shard >= in.Of:
		return fmt.Errorf("shard %d/%d: want 0 <= shard < of", in.Shard, in.Of)
	case in.Devices < 0 || in.Devices > math.MaxInt32:
		return fmt.Errorf("%d devices", in.Devices)
	case in.Source == "" || len(in.SHA256) != 64:
		return errors.New("no scenario source or hash")
	}
	d := p.Data
	n := SliceLen(in.Devices, in.Shard, in.Of)
	if len(d.PoweredAt) != n || len(d.FirstReg) != n || (!d.UsageUnread && len(d.UsageBytes) != n) {
		return fmt.Errorf("shard %d/%d of %d devices: want %d per-device values, got %d, %d and %d",
			in.Shard, in.Of, in.Devices, n, len(d.PoweredAt), len(d.FirstReg), len(d.UsageBytes))
	}
	for _, ts := range d.Checks {
		for _, t := range ts {
			if t.N < 0 || t.N > n {
				return fmt.Errorf("a check of %d devices in a shard of %d", t.N, n)
			}
			for _, ties := range [][]int32{t.TiesPowered, t.TiesRegistered} {
				for _, i := range ties {
					if i < 0 || int(i) >= in.Devices {
						return fmt.Errorf("device %d of %d", i, in.Devices)
					}
				}
			}
		}
	}
	return nil
}

// SliceLen is how many of devices shard of N simulates (device i goes to
// shard i mod N).
func SliceLen(devices, shard, n int) int {
	if shard >= devices {
		return 0
	}
	return (devices-shard-1)/n + 1
}

// CheckParts checks that parts are the N shards of one run, and returns
// them ordered by shard. Errors wrap ErrParts.
func CheckParts(parts []*Part) ([]*Part, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no parts", ErrParts)
	}
	first := parts[0].Partial
	out := make([]*Part, first.Of)
	for _, p := range parts {
		in := p.Partial
		switch {
		case in.Of != first.Of:
			return nil, fmt.Errorf("%w: shard %d is one of %d, shard %d one of %d", ErrParts, first.Shard, first.Of, in.Shard, in.Of)
		case in.SHA256 != first.SHA256 || in.File != first.File || in.Scenario != first.Scenario:
			return nil, fmt.Errorf("%w: shards %d and %d ran different scenario files (%s %.12s, %s %.12s)", ErrParts, first.Shard, in.Shard, first.File, first.SHA256, in.File, in.SHA256)
		case in.Seed != first.Seed:
			return nil, fmt.Errorf("%w: shards %d and %d ran with different seeds (%d, %d)", ErrParts, first.Shard, in.Shard, first.Seed, in.Seed)
		case in.Devices != first.Devices:
			return nil, fmt.Errorf("%w: shards %d and %d have fleets of %d and %d devices", ErrParts, first.Shard, in.Shard, first.Devices, in.Devices)
		case out[in.Shard] != nil:
			return nil, fmt.Errorf("%w: shard %d/%d given twice", ErrParts, in.Shard, in.Of)
		}
		out[in.Shard] = p
	}
	var missing []int
	for i, p := range out {
		if p == nil {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing shard(s) %v of %d", ErrParts, missing, first.Of)
	}
	if first.Of > 1 && out[0].Data.BaselineEvents == nil {
		return nil, fmt.Errorf("%w: shard 0 of %d has no baseline_events", ErrParts, first.Of)
	}
	for _, p := range out[1:] {
		if len(p.Data.Checks) != len(out[0].Data.Checks) || len(p.Data.Points) != len(out[0].Data.Points) ||
			len(p.Data.Blocked) != len(out[0].Data.Blocked) {
			return nil, fmt.Errorf("%w: shards 0 and %d checked or sampled a different number of times", ErrParts, p.Partial.Shard)
		}
		for i := range p.Data.Checks {
			if len(p.Data.Checks[i]) != len(out[0].Data.Checks[i]) {
				return nil, fmt.Errorf("%w: shards 0 and %d checked expectation %d a different number of times", ErrParts, p.Partial.Shard, i)
			}
			for j := range p.Data.Checks[i] {
				a, b := &out[0].Data.Checks[i][j], &p.Data.Checks[i][j]
				if a.T != b.T || !slices.Equal(a.Shared, b.Shared) || len(a.Counts) != len(b.Counts) || len(a.Usage) != len(b.Usage) || len(a.Listed) != len(b.Listed) {
					return nil, fmt.Errorf("%w: shards 0 and %d disagree on check %d of expectation %d (an api check that reads the devices' state cannot be sharded)", ErrParts, p.Partial.Shard, j, i)
				}
			}
		}
		for i := range p.Data.Points {
			if len(p.Data.Points[i]) != len(out[0].Data.Points[i]) {
				return nil, fmt.Errorf("%w: shards 0 and %d have different groups", ErrParts, p.Partial.Shard)
			}
		}
	}
	return out, nil
}
