package scenario

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/scenario/firmware"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

// This file records what a run looked like over virtual time, for the
// report's charts: aggregates per group at a fixed period, each
// expectation's samples, the timeline's events and, at the end, the
// distributions of attach latency and data use. Memory stays bounded
// whatever the fleet's size: nothing is kept per device per sample.

// Limits of what a report holds.
const (
	maxSeriesPoints = 720 // points of each time series: the step grows past it
	maxCheckSamples = 720 // samples kept of one expectation: others are thinned
	maxEvents       = 500 // timeline events kept: later ones are counted only
	topBlocked      = 10  // SIMs listed with the longest blocked time
)

// sampler samples the fleet on the virtual clock.
type sampler struct {
	step   time.Duration
	times  []float64
	groups []*groupRec

	// Per device: samples blocked, first and last blocked sample (index+1,
	// 0 for never): 12 bytes a device, a million devices 12 MB, made with
	// the first blocked sample (nil while no device has been blocked).
	blockedN, blockedFirst, blockedLast []uint32

	events  []report.TimelineEvent
	dropped int

	sms, ip   atomic.Int64 // SMS and IP Commands sent to SIMs so far
	smsSeries []int64
	ipSeries  []int64
	unsub     func()
}

type groupRec struct {
	g                                    *firmware.Group
	registered, searching, denied, block []int32
	sentMB                               []float64
	nets                                 []*netRec
}

type netRec struct {
	plmn       firmware.NetCode
	registered []int32
}

// seriesStep is the period of the report's time series: the scenario's
// sample period, or a multiple of it that keeps maxSeriesPoints points.
func seriesStep(sample, total time.Duration) time.Duration {
	if sample <= 0 {
		sample = time.Minute
	}
	k := (total/sample + maxSeriesPoints - 1) / maxSeriesPoints
	return sample * max(k, 1)
}

// startRecording sets the sampling timers; called once the devices exist.
func (r *runner) startRecording() {
	rec := &sampler{step: seriesStep(r.s.Sample.D(), r.s.Duration.D())}
	for _, g := range r.groups {
		rec.groups = append(rec.groups, &groupRec{g: g})
	}
	if r.ctl != nil {
		rec.unsub = r.ctl.Subscribe(func(e sim.Event) {
			switch e.Kind {
			case sim.EventSmsCommand:
				rec.sms.Add(1)
			case sim.EventIPCommand:
				rec.ip.Add(1)
			}
		})
	}
	r.rec = rec
	total := r.s.Duration.D()
	var tick func(at time.Duration)
	tick = func(at time.Duration) {
		r.Clock.AfterFunc(at-r.Elapsed(), func() {
			if r.aborted {
				return
			}
			r.record()
			if at < total {
				tick(min(at+rec.step, total))
			}
		})
	}
	tick(0)
}

// record takes one sample of every group.
func (r *runner) record() {
	rec := r.rec
	k := uint32(len(rec.times)) + 1
	rec.times = append(rec.times, r.Elapsed().Seconds())
	for _, gr := range rec.groups {
		var reg, search, denied, blocked int32
		for _, nr := range gr.nets {
			nr.registered = append(nr.registered, 0)
		}
		var last *netRec
		for i := gr.g.First; i < gr.g.First+gr.g.Count; i++ {
			d := &r.devices[i]
			switch {
			case d.State.Registered():
				reg++
				if d.Net != 0 {
					if last == nil || last.plmn != d.Net {
						last = gr.network(d.Net, len(rec.times))
					}
					last.registered[len(last.registered)-1]++
				}
			case d.State == at3gpp.RegSearching:
				search++
			case d.State == at3gpp.RegDenied:
				denied++
			}
			if d.Blocked {
				blocked++
				if rec.blockedN == nil {
					n := len(r.devices)
					rec.blockedN, rec.blockedFirst, rec.blockedLast = make([]uint32, n), make([]uint32, n), make([]uint32, n)
				}
				rec.blockedN[i]++
				if rec.blockedFirst[i] == 0 {
					rec.blockedFirst[i] = k
				}
				rec.blockedLast[i] = k
			}
		}
		gr.registered = append(gr.registered, reg)
		gr.searching = append(gr.searching, search)
		gr.denied = append(gr.denied, denied)
		gr.block = append(gr.block, blocked)
		gr.sentMB = append(gr.sentMB, report.Round(float64(gr.g.Sent)/sim.MB, 3))
	}
	rec.smsSeries = append(rec.smsSeries, rec.sms.Load())
	rec.ipSeries = append(rec.ipSeries, rec.ip.Load())
	r.recordShard()
}

// network returns the series of a network, made with n zero points when
// it is new.
func (gr *groupRec) network(p firmware.NetCode, n int) *netRec {
	for _, nr := range gr.nets {
		if nr.plmn == p {
			return nr
		}
	}
	nr := &netRec{plmn: p, registered: make([]int32, n)}
	gr.nets = append(gr.nets, nr)
	return nr
}

// event records a timeline event at the current virtual time.
func (r *runner) event(kind, group, text string, line int) {
	rec := r.rec
	if rec == nil {
		return
	}
	if len(rec.events) >= maxEvents {
		rec.dropped++
		return
	}
	rec.events = append(rec.events, report.TimelineEvent{T: report.Round(r.Elapsed().Seconds(), 3), Kind: kind, Group: group, Text: text, Line: line})
}

// timelineEvent describes timeline entry i as it is carried out.
func (r *runner) timelineEvent(i int) {
	e := &r.s.Timeline[i]
	line := e.Pos.Line
	share := func(t spec.Targets) string {
		if t.Share.Set && (!t.Share.Percent || t.Share.Value != 100) {
			return fmt.Sprintf("%s (%s)", t.Group, t.Share)
		}
		return t.Group
	}
	switch {
	case e.NAP != nil:
		var parts []string
		for _, n := range e.NAP.Add {
			parts = append(parts, "+"+n)
		}
		for _, n := range e.NAP.Remove {
			parts = append(parts, "-"+n)
		}
		r.event("nap", "", "NAP "+e.NAP.Name+": "+strings.Join(parts, " "), line)
	case e.Fleet != nil:
		var parts []string
		if e.Fleet.DataLimitMB != nil {
			parts = append(parts, fmt.Sprintf("data limit %d MB", *e.Fleet.DataLimitMB))
		}
		if e.Fleet.NAP != nil {
			parts = append(parts, "NAP "+*e.Fleet.NAP)
		}
		r.event("fleet", "", "Fleet "+e.Fleet.Name+": "+strings.Join(parts, ", "), line)
	case e.SIMs != nil:
		var parts []string
		if e.SIMs.Status != "" {
			parts = append(parts, "status "+e.SIMs.Status)
		}
		if e.SIMs.Fleet != "" {
			parts = append(parts, "Fleet "+e.SIMs.Fleet)
		}
		r.event("sims", e.SIMs.Group, "SIMs of "+share(e.SIMs.Targets)+": "+strings.Join(parts, ", "), line)
	case e.Move != nil:
		r.event("move", e.Move.Group, "move "+share(e.Move.Targets)+" to "+e.Move.To, line)
	case e.Outage != nil:
		text := "outage of " + e.Outage.Network
		if e.Outage.For > 0 {
			text += " for " + e.Outage.For.String()
			r.Clock.AfterFunc(e.Outage.For.D(), func() { r.event("outage_end", "", "end of the outage of "+e.Outage.Network, line) })
		}
		r.event("outage", "", text, line)
	case e.PowerCycle != nil:
		r.event("power_cycle", e.PowerCycle.Group, "power-cycle "+share(*e.PowerCycle), line)
	case e.API != nil:
		method := cmp.Or(e.API.Method, "POST")
		r.event("api", "", method+" "+e.API.Path, line)
	}
}

// checkSample records a sample of an expectation, thinning a long window's
// samples to maxCheckSamples (the first failure is always kept).
func (c *check) record(at time.Duration, o observation, firstFailure bool) {
	c.seen++
	if c.stride > 1 && (c.seen-1)%c.stride != 0 && !firstFailure {
		c.thinned++
		return
	}
	s := report.CheckSample{T: report.Round(at.Seconds(), 3), Pass: o.ok, Observed: o.text}
	if o.hasValue {
		v := report.Round(o.value, 6)
		s.Value = &v
	}
	c.kept = append(c.kept, s)
}

// window is an expectation's window in virtual time.
func window(s *spec.Scenario, e *spec.Expectation) (from, until time.Duration) {
	switch {
	case e.At != nil:
		return e.At.D(), e.At.D()
	case e.During != nil:
		return e.During.From.D(), e.During.Until.D()
	}
	return s.Duration.D(), s.Duration.D()
}

// series is the check's samples for the report's charts.
func (c *check) series(s *spec.Scenario) report.CheckSeries {
	from, until := window(s, c.e)
	return report.CheckSeries{
		Name: c.e.Name, Group: c.e.Group, From: from.Seconds(), Until: until.Seconds(),
		Pass: c.samples > 0 && !c.failed, Samples: nonNil(c.kept), Thinned: c.thinned,
	}
}

// series builds the report's Series once the run has ended.
func (r *runner) series() *report.Series {
	rec := r.rec
	if rec == nil {
		return nil
	}
	if rec.unsub != nil {
		rec.unsub()
	}
	s := &report.Series{
		Step: spec.FormatDuration(rec.step), StepSeconds: rec.step.Seconds(), Times: nonNil(rec.times),
		Events: nonNil(rec.events), EventsDropped: rec.dropped, Groups: []report.GroupSeries{}, Expectations: []report.CheckSeries{},
		Usage: []report.UsageDistribution{},
	}
	names := map[firmware.NetCode]string{}
	for _, gr := range rec.groups {
		gs := report.GroupSeries{
			Name: gr.g.Spec.Name, Devices: gr.g.Count, Fleet: gr.g.Spec.Fleet,
			Registered: nonNil(gr.registered), Searching: nonNil(gr.searching), Denied: nonNil(gr.denied),
			DataBlocked: nonNil(gr.block), SentMB: nonNil(gr.sentMB), Networks: []report.NetworkSeries{},
		}
		slices.SortFunc(gr.nets, func(a, b *netRec) int { return strings.Compare(a.plmn.String(), b.plmn.String()) })
		for _, nr := range gr.nets {
			name, ok := names[nr.plmn]
			if !ok {
				if nets, err := spec.ResolveNetworks(r.cat, nr.plmn.String(), false); err == nil && len(nets) > 0 {
					name = nets[0].FriendlyName
				}
				names[nr.plmn] = name
			}
			gs.Networks = append(gs.Networks, report.NetworkSeries{PLMN: nr.plmn.String(), Name: name, Registered: nr.registered})
		}
		s.Groups = append(s.Groups, gs)
	}
	if rec.sms.Load() > 0 || rec.ip.Load() > 0 {
		s.Commands = &report.CommandSeries{SMSCommands: nonNil(rec.smsSeries), IPCommands: nonNil(rec.ipSeries)}
	}
	for _, c := range r.checks {
		s.Expectations = append(s.Expectations, c.series(r.s))
	}
	s.AttachLatency = attachHistogram(len(r.devices), func(i int) (time.Duration, time.Duration) {
		return r.devices[i].PoweredAt, r.devices[i].FirstReg
	})
	usage, err := r.finalUsage()
	if err != nil {
		s.Notes = append(s.Notes, "data use per SIM could not be read: "+err.Error())
	}
	r.shard.usage, r.shard.usageErr = usage, err != nil
	for _, gr := range rec.groups {
		s.Usage = append(s.Usage, r.usageDistribution(gr.g, usage))
	}
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// attachHistogram is the distribution of power-up to first registration
// of n devices, device i first powered up and registered at at(i) (-1 for
// never).
func attachHistogram(n int, at func(i int) (powered, registered time.Duration)) report.Histogram {
	var lat []float64
	never := 0
	for i := range n {
		p, f := at(i)
		switch {
		case p < 0:
		case f < 0:
			never++
		default:
			lat = append(lat, (f - p).Seconds())
		}
	}
	h := report.LogHistogram(lat, "s")
	h.Never = never
	return h
}

// limitMB is a Fleet's data limit at the end of the run, as the scenario
// set it.
func (r *runner) limitMB(fleet string) int {
	limit := 0
	for _, f := range r.s.Control.Fleets {
		if f.Name == fleet {
			limit = f.DataLimitMB
		}
	}
	if limit == 0 && fleet != "" {
		limit = sim.DefaultDataLimit
	}
	return limit
}

// usageDistribution is a group's data use per SIM against its Fleet's
// limit, with its most blocked SIMs.
func (r *runner) usageDistribution(g *firmware.Group, usage []float64) report.UsageDistribution {
	u := report.UsageDistribution{Group: g.Spec.Name, Fleet: g.Spec.Fleet, LimitMB: r.limitMB(g.Spec.Fleet), LimitChanges: []report.LimitChange{}, Longest: []report.BlockedSIM{}}
	for i := range r.s.Timeline {
		if e := &r.s.Timeline[i]; e.Fleet != nil && e.Fleet.Name == g.Spec.Fleet && e.Fleet.DataLimitMB != nil {
			for _, ev := range r.rec.events {
				if ev.Kind == "fleet" && ev.Line == e.Pos.Line {
					u.LimitChanges = append(u.LimitChanges, report.LimitChange{T: ev.T, LimitMB: *e.Fleet.DataLimitMB})
				}
			}
		}
	}
	if n := len(u.LimitChanges); n > 0 {
		u.FinalLimitMB = u.LimitChanges[n-1].LimitMB
	} else {
		u.FinalLimitMB = u.LimitMB
	}
	if usage != nil {
		vals := make([]float64, 0, g.Count)
		peak := float64(max(u.LimitMB, u.FinalLimitMB))
		for i := g.First; i < g.First+g.Count; i++ {
			if !r.owns(i) {
				continue
			}
			mb := usage[i] / sim.MB
			vals = append(vals, mb)
			if u.LimitMB > 0 && mb >= float64(u.LimitMB) {
				u.AtLimit++
			}
		}
		u.PerSIM = perSIMHistogram(vals, u.LimitMB, peak)
	}
	rec := r.rec
	var ids []int
	for i := g.First; i < g.First+g.Count && rec.blockedN != nil; i++ {
		if rec.blockedN[i] > 0 {
			u.EverBlocked++
			ids = append(ids, i)
		}
	}
	slices.SortStableFunc(ids, func(a, b int) int { return cmp.Compare(rec.blockedN[b], rec.blockedN[a]) })
	for _, i := range ids[:min(len(ids), topBlocked)] {
		u.Longest = append(u.Longest, report.BlockedSIM{
			Index: i - g.First, Sim: r.sids.get(i),
			BlockedSeconds: float64(rec.blockedN[i]) * rec.step.Seconds(),
			First:          rec.times[rec.blockedFirst[i]-1], Last: rec.times[rec.blockedLast[i]-1],
		})
	}
	return u
}

// perSIMHistogram is the distribution of data use per SIM (MB) against a
// Fleet's limit at the start and its largest.
func perSIMHistogram(vals []float64, limitMB int, peak float64) report.Histogram {
	top := 0.0
	for _, v := range vals {
		top = max(top, v)
	}
	if peak > 0 && top < peak*2 { // the limit in view, unless use dwarfs it
		top = max(top, float64(limitMB)*1.2)
	}
	return report.LinearHistogram(vals, report.NiceCeil(top), 20, "MB")
}

// finalUsage is every device's SIM's data use (bytes) at the end, for the
// report, by device: from the embedded control plane directly when there
// is one (one pass over the records a page at a time, where paging through
// the API recomputes them per page, and the whole list at once would hold
// a record per SIM).
func (r *runner) finalUsage() ([]float64, error) {
	if r.ctl == nil {
		return r.usageBySim()
	}
	used := make([]float64, r.sids.len())
	start := r.s.Start.Time.Truncate(time.Hour)
	end := r.Clock.Now().Truncate(time.Hour).Add(time.Hour)
	for from := start; from.Before(end); from = from.Add(30 * 24 * time.Hour) {
		to := from.Add(30 * 24 * time.Hour)
		if to.After(end) {
			to = end
		}
		l, err := r.ctl.UsagePages(r.ctl.MainAccount(), sim.UsageQuery{Group: "sim", Granularity: "all", Start: &from, End: &to})
		if err != nil {
			return nil, err
		}
		const page = 1024
		for pos := int64(-1); ; {
			recs, ps := l.After(pos, page)
			for _, u := range recs {
				if i := r.deviceOf(u.SimSid); i >= 0 {
					used[i] += float64(u.Upload + u.Download)
				}
			}
			if len(recs) < page {
				break
			}
			pos = ps[len(ps)-1]
		}
	}
	return used, nil
}

// usageBySim reads every device's SIM's data use (bytes) from
// UsageRecords, by device.
func (r *runner) usageBySim() ([]float64, error) {
	used := make([]float64, r.sids.len())
	start := r.s.Start.Time.Truncate(time.Hour)
	end := r.Clock.Now().Truncate(time.Hour).Add(time.Hour)
	for from := start; from.Before(end); from = from.Add(30 * 24 * time.Hour) {
		to := from.Add(30 * 24 * time.Hour)
		if to.After(end) {
			to = end
		}
		p := url.Values{"Group": {"sim"}, "Granularity": {"all"}, "StartTime": {from.Format(time.RFC3339)}, "EndTime": {to.Format(time.RFC3339)}}
		err := r.api.ListAll(r.Ctx, "/v1/UsageRecords", p, "usage_records", func(raw json.RawMessage) error {
			var u struct {
				SimSid    string  `json:"sim_sid"`
				DataTotal float64 `json:"data_total"`
			}
			if err := json.Unmarshal(raw, &u); err != nil {
				return err
			}
			if i := r.deviceOf(u.SimSid); i >= 0 {
				used[i] += u.DataTotal
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return used, nil
}
