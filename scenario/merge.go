package scenario

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

// Merge combines the parts of a sharded run (RunShard) into the report
// the unsharded run gives: counters summed (the events every shard shares
// counted once), every expectation judged again, check by check, on the sum
// of what the shards' devices showed, and the charts summed. It needs
// nothing but the parts: each carries the scenario file. Errors wrap
// report.ErrParts when the parts are not the shards of one run.
func Merge(parts []*report.Part, cat *sim.Catalog) (*report.Report, error) {
	parts, err := report.CheckParts(parts)
	if err != nil {
		return nil, err
	}
	info := parts[0].Partial
	base := parts[0].Report
	for _, p := range parts {
		if p.Report.Interrupted || p.Report.Aborted {
			return nil, fmt.Errorf("%w: shard %d/%d was interrupted at %s: its part covers less than the run", report.ErrParts, p.Partial.Shard, info.Of, p.Report.End.Format(time.RFC3339))
		}
		if (p.Report.Series == nil) != (base.Series == nil) || (base.Series != nil && len(p.Report.Series.Usage) != len(base.Series.Usage)) {
			return nil, fmt.Errorf("%w: shards 0 and %d have different charts", report.ErrParts, p.Partial.Shard)
		}
		if !p.Report.End.Equal(base.End) || sharedRequests(p) != sharedRequests(parts[0]) {
			return nil, fmt.Errorf("%w: shards 0 and %d ended at different times or made different API requests", report.ErrParts, p.Partial.Shard)
		}
	}
	s, err := spec.ParseValidShards(info.File, []byte(info.Source), cat, info.Of)
	if err != nil {
		return nil, fmt.Errorf("%w: the scenario in the parts: %w", report.ErrParts, err)
	}
	if len(s.Expect) != len(parts[0].Data.Checks) {
		return nil, fmt.Errorf("%w: %d expectations in the scenario, %d in the parts", report.ErrParts, len(s.Expect), len(parts[0].Data.Checks))
	}
	if err := checkShape(s, parts); err != nil {
		return nil, fmt.Errorf("%w: %w", report.ErrParts, err)
	}
	m := &merger{parts: parts, s: s, n: info.Of}
	total := 0
	for i := range s.Devices {
		m.first = append(m.first, total)
		total += s.Devices[i].Count
	}
	if total != info.Devices {
		return nil, fmt.Errorf("%w: the scenario has %d devices, the parts %d", report.ErrParts, total, info.Devices)
	}
	rep := &report.Report{
		Scenario: base.Scenario, File: base.File, Seed: base.Seed, Start: base.Start, End: base.End, Duration: base.Duration,
		Devices: info.Devices, APIRequests: sharedRequests(parts[0]), Expectations: []report.Outcome{},
	}
	for _, p := range parts {
		rep.Events += p.Data.Events
		rep.ATCommands += p.Data.ATCommands
	}
	if m.n > 1 {
		rep.Events -= int64(m.n-1) * *parts[0].Data.BaselineEvents
	}
	rep.Passed = true
	var checks []*check
	for i := range s.Expect {
		c := newCheck(&s.Expect[i], s.Sample.D())
		for j := range parts[0].Data.Checks[i] {
			t := m.tally(i, j)
			for _, l := range t.Listed { // the whole fleet's pages
				rep.APIRequests += int64(apiclient.Pages(l.Total))
			}
			c.apply(time.Duration(t.T), evaluate(c.e, &t))
		}
		o := c.outcome(s, false)
		rep.Passed = rep.Passed && o.Pass
		rep.Expectations = append(rep.Expectations, o)
		checks = append(checks, c)
	}
	runErrs := base.Expectations[len(checks):]
	for _, p := range parts[1:] {
		if !slices.Equal(p.Report.Expectations[len(checks):], runErrs) {
			return nil, fmt.Errorf("%w: shards 0 and %d saw different timeline failures", report.ErrParts, p.Partial.Shard)
		}
	}
	for _, o := range runErrs {
		rep.Passed = rep.Passed && o.Pass
		rep.Expectations = append(rep.Expectations, o)
	}
	if base.Series != nil {
		rep.Series = m.series(checks, cat)
	}
	return rep, nil
}

// sharedRequests is a part's API requests but those of whole-fleet lists,
// whose pages depend on the shard's devices.
func sharedRequests(p *report.Part) int64 {
	n := p.Data.APIRequests
	for _, ts := range p.Data.Checks {
		for _, t := range ts {
			for _, l := range t.Listed {
				n -= int64(apiclient.Pages(l.Total))
			}
		}
	}
	return n
}

// checkShape checks that every part holds the figures the scenario's
// expectations and groups need, so that a damaged part is an error, never
// a crash.
func checkShape(s *spec.Scenario, parts []*report.Part) error {
	for _, p := range parts {
		d, rep := p.Data, p.Report
		if len(rep.Expectations) < len(s.Expect) {
			return fmt.Errorf("shard %d: %d outcomes for %d expectations", p.Partial.Shard, len(rep.Expectations), len(s.Expect))
		}
		for i := range s.Expect {
			e := &s.Expect[i]
			counts, usage, shared := 0, 0, 0
			for _, cc := range countChecks(e) {
				if cc.cond.Set() {
					counts++
				}
			}
			for _, u := range e.UsageChecks() {
				if u.Cond.Set() {
					usage++
				}
			}
			for _, x := range []bool{e.API != nil, e.SmsCommands != nil, e.IPCommands != nil, e.Callbacks != nil} {
				if x {
					shared++
				}
			}
			for _, t := range d.Checks[i] {
				if len(t.Counts) != counts || (t.UsageErr == "" && len(t.Usage) != usage) || len(t.Shared) != shared {
					return fmt.Errorf("shard %d: the checks of expectation %q do not match the scenario", p.Partial.Shard, e.Name)
				}
			}
		}
		for _, pt := range d.Points {
			if len(pt) != len(s.Devices) {
				return fmt.Errorf("shard %d: series points of %d groups, the scenario has %d", p.Partial.Shard, len(pt), len(s.Devices))
			}
		}
		if rep.Series != nil && (len(rep.Series.Groups) != len(s.Devices) || len(rep.Series.Usage) != len(s.Devices) || len(rep.Series.Times) != len(d.Points)) {
			return fmt.Errorf("shard %d: charts of %d groups and %d points, the scenario has %d groups and the part %d points",
				p.Partial.Shard, len(rep.Series.Groups), len(rep.Series.Times), len(s.Devices), len(d.Points))
		}
	}
	return nil
}

// merger holds the parts being merged.
type merger struct {
	parts []*report.Part // by shard
	s     *spec.Scenario
	n     int   // shards
	first []int // first device of each group
}

// device returns the first power-up and registration of device i.
func (m *merger) device(i int) (powered, registered time.Duration) {
	d := m.parts[i%m.n].Data
	return time.Duration(d.PoweredAt[i/m.n]), time.Duration(d.FirstReg[i/m.n])
}

// devices is the range of device indexes an expectation of group g reads.
func (m *merger) devices(group string) (first, count int) {
	for i := range m.s.Devices {
		if m.s.Devices[i].Name == group {
			return m.first[i], m.s.Devices[i].Count
		}
	}
	return 0, m.parts[0].Partial.Devices
}

// tally sums check j of expectation i over the shards.
func (m *merger) tally(i, j int) report.Tally {
	t := m.parts[0].Data.Checks[i][j]
	t.Counts = slices.Clone(t.Counts)
	t.Usage = slices.Clone(t.Usage)
	t.TiesPowered, t.TiesRegistered = nil, nil
	t.Listed = slices.Clone(t.Listed)
	for k := range t.Listed { // the whole fleet's: every shard's SIMs, and those of no device once
		t.Listed[k].Total = t.Listed[k].Foreign
		for _, p := range m.parts {
			if k < len(p.Data.Checks[i][j].Listed) {
				t.Listed[k].Total += p.Data.Checks[i][j].Listed[k].Owned
			}
		}
	}
	for _, p := range m.parts[1:] {
		u := &p.Data.Checks[i][j]
		t.N += u.N
		for k := range min(len(t.Counts), len(u.Counts)) {
			t.Counts[k] += u.Counts[k]
		}
		t.SIMs += u.SIMs
		t.SIMsErr = cmp.Or(t.SIMsErr, u.SIMsErr)
		t.UsageErr = cmp.Or(t.UsageErr, u.UsageErr)
		for k := range min(len(t.Usage), len(u.Usage)) {
			a, b := &t.Usage[k], u.Usage[k]
			switch {
			case !b.Any:
			case !a.Any:
				a.Any, a.Lo, a.Hi = true, b.Lo, b.Hi
			default:
				a.Lo, a.Hi = min(a.Lo, b.Lo), max(a.Hi, b.Hi)
			}
			a.Good += b.Good
		}
	}
	if t.UsageErr != "" {
		t.Usage = nil
	}
	if e := &m.s.Expect[i]; e.AttachLatency != nil {
		t.Lat = m.latencies(e.Group, i, j, time.Duration(t.T))
	}
	return t
}

// latencies rebuilds the attach latencies check j of expectation i saw at
// time at: the devices first powered up by then, with their first
// registration if it came by then. An instant equal to at counts when a
// shard said it was set before the check (its ties).
func (m *merger) latencies(group string, i, j int, at time.Duration) []float64 {
	tiesP, tiesR := map[int32]bool{}, map[int32]bool{}
	for _, p := range m.parts {
		for _, d := range p.Data.Checks[i][j].TiesPowered {
			tiesP[d] = true
		}
		for _, d := range p.Data.Checks[i][j].TiesRegistered {
			tiesR[d] = true
		}
	}
	first, count := m.devices(group)
	var lat []float64
	for d := first; d < first+count; d++ {
		p, f := m.device(d)
		if p < 0 || p > at || (p == at && !tiesP[int32(d)]) {
			continue
		}
		if f < 0 || f > at || (f == at && !tiesR[int32(d)]) {
			lat = append(lat, math.Inf(1))
		} else {
			lat = append(lat, float64(f-p))
		}
	}
	return lat
}

// series sums the shards' charts.
func (m *merger) series(checks []*check, cat *sim.Catalog) *report.Series {
	base := m.parts[0].Report.Series
	s := &report.Series{
		Step: base.Step, StepSeconds: base.StepSeconds, Times: base.Times, Commands: base.Commands,
		Events: base.Events, EventsDropped: base.EventsDropped, Notes: base.Notes,
		Groups: []report.GroupSeries{}, Expectations: []report.CheckSeries{}, Usage: []report.UsageDistribution{},
	}
	names := map[string]string{}
	for gi, bg := range base.Groups {
		gs := report.GroupSeries{Name: bg.Name, Devices: bg.Devices, Fleet: bg.Fleet, Networks: []report.NetworkSeries{},
			Registered: []int32{}, Searching: []int32{}, Denied: []int32{}, DataBlocked: []int32{}, SentMB: []float64{}}
		nets := map[string][]int32{}
		for k := range m.parts[0].Data.Points {
			var sum report.GroupTally
			for _, p := range m.parts {
				t := p.Data.Points[k][gi]
				sum.Registered += t.Registered
				sum.Searching += t.Searching
				sum.Denied += t.Denied
				sum.Blocked += t.Blocked
				sum.SentBytes = t.SentBytes + sum.SentBytes
				for plmn, v := range t.Networks {
					if nets[plmn] == nil {
						nets[plmn] = make([]int32, len(m.parts[0].Data.Points))
					}
					nets[plmn][k] += v
				}
			}
			gs.Registered = append(gs.Registered, sum.Registered)
			gs.Searching = append(gs.Searching, sum.Searching)
			gs.Denied = append(gs.Denied, sum.Denied)
			gs.DataBlocked = append(gs.DataBlocked, sum.Blocked)
			gs.SentMB = append(gs.SentMB, report.Round(float64(sum.SentBytes)/sim.MB, 3))
		}
		plmns := make([]string, 0, len(nets))
		for plmn := range nets {
			plmns = append(plmns, plmn)
		}
		slices.Sort(plmns)
		for _, plmn := range plmns {
			name, ok := names[plmn]
			if !ok {
				if found, err := spec.ResolveNetworks(cat, plmn, false); err == nil && len(found) > 0 {
					name = found[0].FriendlyName
				}
				names[plmn] = name
			}
			gs.Networks = append(gs.Networks, report.NetworkSeries{PLMN: plmn, Name: name, Registered: nets[plmn]})
		}
		s.Groups = append(s.Groups, gs)
	}
	for _, c := range checks {
		s.Expectations = append(s.Expectations, c.series(m.s))
	}
	s.AttachLatency = attachHistogram(m.parts[0].Partial.Devices, m.device)
	withUsage := true
	for _, p := range m.parts {
		withUsage = withUsage && !p.Data.UsageUnread
	}
	for gi, bu := range base.Usage {
		u := bu
		u.AtLimit, u.EverBlocked, u.Longest, u.PerSIM = 0, 0, []report.BlockedSIM{}, report.Histogram{}
		for _, p := range m.parts {
			pu := p.Report.Series.Usage[gi]
			u.AtLimit += pu.AtLimit
			u.EverBlocked += pu.EverBlocked
			u.Longest = append(u.Longest, pu.Longest...)
		}
		slices.SortStableFunc(u.Longest, func(a, b report.BlockedSIM) int {
			return cmp.Or(cmp.Compare(b.BlockedSeconds, a.BlockedSeconds), cmp.Compare(a.Index, b.Index))
		})
		u.Longest = u.Longest[:min(len(u.Longest), topBlocked)]
		if withUsage {
			first, count := m.first[gi], m.s.Devices[gi].Count
			vals := make([]float64, 0, count)
			for d := first; d < first+count; d++ {
				vals = append(vals, m.parts[d%m.n].Data.UsageBytes[d/m.n]/sim.MB)
			}
			u.PerSIM = perSIMHistogram(vals, u.LimitMB, float64(max(u.LimitMB, u.FinalLimitMB)))
		}
		s.Usage = append(s.Usage, u)
	}
	return s
}
