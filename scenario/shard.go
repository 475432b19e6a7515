package scenario

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/scenario/firmware"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// This file runs one shard of a scenario: every shard sets the whole
// control plane up (every SIM registered, every timeline event applied, so
// SIDs and control-plane state are those of the unsharded run) but
// simulates only its slice of the devices, device i in shard i mod N. A
// device's random stream is seeded by its global index, so it behaves the
// same in any shard; the shard writes the raw figures of its devices
// (report.Part) and Merge judges the whole fleet on their sum.

// Shard is one slice of a run: shard Index of Of.
type Shard struct {
	Index, Of int
}

// String writes it as the --shard flag takes it: "i/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Of) }

// shardState is a sharded run's slice and what it keeps for its part.
type shardState struct {
	index, of int // of 0: not sharded; index -1: no device (the baseline pass)
	points    [][]report.GroupTally
	usage     []float64 // every device's SIM's data use at the end, by device
	usageErr  bool
	listing   *[]report.ListCount // the lists the check being made reads
	bySid     []int32             // device indexes in the order of their SIM's SID
}

func (s *shardState) on() bool { return s.of > 0 }

// owns reports whether the run simulates device i.
func (r *runner) owns(i int) bool {
	return r.shard.of == 0 || i%r.shard.of == r.shard.index
}

// Shardable says why a scenario cannot be run in shards, or nil. A shard
// cannot decide on its own what depends on devices of other shards:
//   - a threshold (abort: true) stops the whole run on the fleet's state;
//   - SMS and IP Commands a device sends (and Fleet callbacks) take their
//     SIDs from the control plane's one random stream, in the order the
//     devices of all shards send them, and commands' statuses and the
//     callback receiver's log interleave devices.
func Shardable(s *spec.Scenario, opts Options) error {
	var why []string
	if opts.Exec != "" || len(opts.HW) > 0 || opts.API != "" {
		why = append(why, "--exec, --hw and --api runs play in real time on one machine")
	}
	for _, e := range s.Expect {
		if e.Abort {
			why = append(why, fmt.Sprintf("line %d: expectation %q is a threshold (abort: true): whether it stops the run depends on every shard's devices", e.Pos.Line, e.Name))
		}
		if e.SmsCommands != nil || e.IPCommands != nil || e.Callbacks != nil {
			why = append(why, fmt.Sprintf("line %d: expectation %q reads SMS/IP Commands or callbacks, whose order interleaves devices of every shard", e.Pos.Line, e.Name))
		}
	}
	for _, g := range s.Devices {
		if g.SMS != nil || g.IP != nil {
			why = append(why, fmt.Sprintf("line %d: group %q sends or answers SMS/IP Commands: their SIDs come from the control plane's one random stream in the order of all devices", g.Pos.Line, g.Name))
		}
	}
	for i, e := range s.Timeline {
		if e.SMS != nil || e.IP != nil {
			why = append(why, fmt.Sprintf("line %d: timeline[%d] sends SMS/IP Commands", e.Pos.Line, i))
		}
	}
	for _, f := range s.Control.Fleets {
		if f.Callbacks {
			why = append(why, fmt.Sprintf("fleet %q has callbacks", f.Name))
		}
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s cannot run in shards: %s", ErrUsage, s.File, strings.Join(why, "; "))
}

// RunShard runs shard sh of a scenario (Run's s and opts; source is the
// scenario file's bytes, carried in the part for Merge) and returns its
// partial report. Shard 0 of several also makes a pass with no device, to
// count the events every shard shares once.
func RunShard(ctx context.Context, s *spec.Scenario, source []byte, sh Shard, opts Options) (*report.Part, error) {
	if sh.Of < 1 || sh.Index < 0 || sh.Index >= sh.Of {
		return nil, fmt.Errorf("%w: shard %s: want i/N with 0 <= i < N", ErrUsage, sh)
	}
	if err := Shardable(s, opts); err != nil {
		return nil, err
	}
	r, err := run(ctx, s, opts, shardState{index: sh.Index, of: sh.Of})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(source)
	total := len(r.devices)
	p := &report.Part{
		Version: report.PartVersion,
		Partial: report.PartInfo{Shard: sh.Index, Of: sh.Of, Scenario: s.Name, File: s.File, SHA256: hex.EncodeToString(sum[:]),
			Seed: r.seed, Devices: total, Source: string(source)},
		Report: r.rep,
		Data: &report.PartData{Events: r.rep.Events, ATCommands: r.rep.ATCommands, APIRequests: r.rep.APIRequests,
			PoweredAt: []int64{}, FirstReg: []int64{}, Checks: [][]report.Tally{}, Points: r.shard.points},
	}
	if p.Data.Points == nil {
		p.Data.Points = [][]report.GroupTally{}
	}
	p.Data.UsageBytes, p.Data.UsageUnread = []float64{}, r.shard.usageErr
	for i := sh.Index; i < total; i += sh.Of {
		d := &r.devices[i]
		p.Data.PoweredAt = append(p.Data.PoweredAt, int64(d.PoweredAt))
		p.Data.FirstReg = append(p.Data.FirstReg, int64(d.FirstReg))
		if !r.shard.usageErr {
			p.Data.UsageBytes = append(p.Data.UsageBytes, r.shard.usage[i])
		}
	}
	for _, c := range r.checks {
		p.Data.Checks = append(p.Data.Checks, nonNil(c.tallies))
	}
	if r.rep.Interrupted {
		return p, nil // merge refuses it; the shard's own report says where it stopped
	}
	if sh.Of > 1 && sh.Index == 0 {
		b, err := run(ctx, s, opts, shardState{index: -1, of: sh.Of})
		if err != nil {
			return nil, fmt.Errorf("the pass without devices: %w", err)
		}
		ev := b.rep.Events
		p.Data.BaselineEvents = &ev
	}
	return p, nil
}

// listStart says a check begins to page through a whole-fleet list.
func (r *runner) listStart() {
	if l := r.shard.listing; l != nil {
		*l = append(*l, report.ListCount{})
	}
}

// listItem counts an item of that list, of the SIM with this SID.
func (r *runner) listItem(sid string) {
	l := r.shard.listing
	if l == nil || len(*l) == 0 {
		return
	}
	c := &(*l)[len(*l)-1]
	c.Total++
	switch i := r.deviceOf(sid); {
	case i < 0:
		c.Foreign++
	case r.owns(i):
		c.Owned++
	}
}

// deviceOf is the index of the device whose SIM has this SID, or -1.
func (r *runner) deviceOf(sid string) int {
	if r.shard.bySid == nil {
		r.shard.bySid = make([]int32, r.sids.len())
		for i := range r.shard.bySid {
			r.shard.bySid[i] = int32(i)
		}
		slices.SortFunc(r.shard.bySid, func(a, b int32) int { return r.sids.compare(int(a), int(b)) })
	}
	b, compact := parseSimSid(sid)
	k, ok := slices.BinarySearchFunc(r.shard.bySid, sid, func(i int32, sid string) int { return r.sids.compareTo(int(i), sid, b, compact) })
	if !ok {
		return -1
	}
	return int(r.shard.bySid[k])
}

// recordShard keeps a series point of the shard's devices.
func (r *runner) recordShard() {
	if !r.shard.on() {
		return
	}
	pt := make([]report.GroupTally, len(r.groups))
	for gi, g := range r.groups {
		t := &pt[gi]
		t.SentBytes = g.Sent
		var net firmware.NetCode // the last network named, and its name
		var name string
		for i := g.First; i < g.First+g.Count; i++ {
			d := &r.devices[i]
			if !r.owns(i) {
				continue
			}
			if d.Blocked {
				t.Blocked++
			}
			switch {
			case d.State.Registered():
				t.Registered++
				if d.Net != 0 {
					if t.Networks == nil {
						t.Networks = map[string]int32{}
					}
					if d.Net != net {
						net, name = d.Net, d.Net.String()
					}
					t.Networks[name]++
				}
			case d.State == at3gpp.RegSearching:
				t.Searching++
			case d.State == at3gpp.RegDenied:
				t.Denied++
			}
		}
	}
	r.shard.points = append(r.shard.points, pt)
}
