package scenario

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/firmware"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// check is an expectation being checked during a run.
type check struct {
	e        *spec.Expectation
	samples  int
	failed   bool
	failedAt time.Duration
	observed string // the first failing observation, else the last one
	message  string

	// The samples the report shows (see series.go).
	stride  int // keep one sample in stride
	seen    int
	thinned int
	kept    []report.CheckSample

	tallies []report.Tally // in a sharded run: what each check read (shard.go)
}

// observation is what one check of an expectation saw.
type observation struct {
	text     string  // what was seen, e.g. "registered 99/100 (99.0%)"
	ok       bool    // every check holds
	msg      string  // what could not be observed
	value    float64 // the first check's figure, in its condition's unit
	hasValue bool
}

// newCheck is an expectation not checked yet; sample is the scenario's
// sample period.
func newCheck(e *spec.Expectation, sample time.Duration) *check {
	c := &check{e: e, stride: 1}
	if e.During != nil {
		n := int((e.During.Until.D()-e.During.From.D())/sample) + 2
		c.stride = (n + maxCheckSamples - 1) / maxCheckSamples
	}
	return c
}

func (r *runner) scheduleChecks() {
	for i := range r.s.Expect {
		e := &r.s.Expect[i]
		c := newCheck(e, r.s.Sample.D())
		r.checks = append(r.checks, c)
		switch {
		case e.At != nil:
			r.Clock.AfterFunc(e.At.D(), func() { r.sample(c) })
		case e.During != nil:
			step := r.s.Sample.D()
			var tick func(at time.Duration)
			tick = func(at time.Duration) {
				r.Clock.AfterFunc(at-r.Elapsed(), func() {
					r.sample(c)
					if next := at + step; next <= e.During.Until.D() {
						tick(next)
					} else if at < e.During.Until.D() {
						tick(e.During.Until.D())
					}
				})
			}
			tick(e.During.From.D())
		default:
			r.Clock.AfterFunc(r.s.Duration.D(), func() { r.sample(c) })
		}
	}
}

// sample checks an expectation now.
func (r *runner) sample(c *check) {
	if r.aborted {
		return
	}
	t := r.gather(c.e)
	if r.shard.on() {
		lat := t.Lat
		t.Lat = nil
		c.tallies = append(c.tallies, t)
		t.Lat = lat
	}
	if c.apply(r.Elapsed(), evaluate(c.e, &t)) {
		r.aborted, r.abortedAt = true, r.Elapsed()
	}
}

// apply counts a check of the expectation that saw o at virtual time at,
// and reports whether it stops the run (a threshold that failed).
func (c *check) apply(at time.Duration, o observation) (abort bool) {
	c.samples++
	c.record(at, o, !o.ok && !c.failed)
	if !c.failed {
		c.observed, c.message = o.text, o.msg
	}
	if o.ok || c.failed {
		return false
	}
	c.failed, c.failedAt = true, at
	return c.e.Abort
}

// members returns the devices an expectation is about.
func (r *runner) members(name string) []firmware.Device {
	if name == "" {
		return r.devices
	}
	g := r.group(name)
	if g == nil {
		return nil
	}
	return r.devices[g.First : g.First+g.Count]
}

// gather counts what an expectation's checks read, on the run's devices
// (a shard's only, in a sharded run): the raw figures evaluate judges.
func (r *runner) gather(e *spec.Expectation) report.Tally {
	devs := r.members(e.Group)
	first := 0
	if g := r.group(e.Group); g != nil {
		first = g.First
	}
	var plmn firmware.NetCode
	if e.Network != "" {
		if nets, err := spec.ResolveNetworks(r.cat, e.Network, false); err == nil && len(nets) > 0 && len(nets[0].Identifiers) > 0 {
			plmn = firmware.CodeOf(nets[0].Identifiers[0])
		}
	}
	onNet := func(d *firmware.Device) bool { return e.Network == "" || d.Net == plmn }
	t := report.Tally{T: int64(r.Elapsed())}
	if r.shard.on() {
		r.shard.listing = &t.Listed
		defer func() { r.shard.listing = nil }()
	}
	for i := range devs {
		if r.owns(first + i) {
			t.N++
		}
	}
	for _, cc := range countChecks(e) {
		if !cc.cond.Set() {
			continue
		}
		k := 0
		for i := range devs {
			if r.owns(first+i) && cc.keep(&devs[i], onNet(&devs[i])) {
				k++
			}
		}
		t.Counts = append(t.Counts, k)
	}
	if e.AttachLatency != nil {
		now := r.Elapsed()
		for i := range devs {
			d := &devs[i]
			if !r.owns(first+i) || d.PoweredAt < 0 {
				continue
			}
			if d.FirstReg < 0 {
				t.Lat = append(t.Lat, math.Inf(1))
			} else {
				t.Lat = append(t.Lat, float64(d.FirstReg-d.PoweredAt))
			}
			if r.shard.on() {
				if d.PoweredAt == now {
					t.TiesPowered = append(t.TiesPowered, d.Index)
				}
				if d.FirstReg == now {
					t.TiesRegistered = append(t.TiesRegistered, d.Index)
				}
			}
		}
	}
	if e.SIMs.Set() {
		k, err := r.simsWithStatus(r.checkClient(e), e.Group, e.SimStatus)
		if err != nil {
			t.SIMsErr = err.Error()
		}
		t.SIMs = k
	}
	var used [][3]float64
	for _, u := range e.UsageChecks() {
		if !u.Cond.Set() {
			continue
		}
		var err error
		if used == nil {
			used, err = r.usageByDirection(r.checkClient(e))
		}
		if err != nil {
			t.UsageErr, t.Usage = err.Error(), nil
			break
		}
		lo, hi, good, any := r.usageIn(used, e.Group, u.Dir, u.Cond)
		t.Usage = append(t.Usage, report.UsageTally{Any: any, Lo: lo, Hi: hi, Good: good})
	}
	if e.API != nil {
		text, holds, err := r.apiOutcome(r.checkClient(e), e.API)
		o := report.Observed{Text: text, OK: holds}
		if err != nil {
			o = report.Observed{Err: err.Error()}
		}
		t.Shared = append(t.Shared, o)
	}
	for _, cc := range []struct {
		what string
		c    *spec.CommandCheck
	}{{"sms", e.SmsCommands}, {"ip", e.IPCommands}} {
		if cc.c == nil {
			continue
		}
		text, good, v, err := r.observeCommands(e.Group, cc.what, cc.c)
		o := report.Observed{Text: text, OK: good, Value: v}
		if err != nil {
			o = report.Observed{Err: err.Error()}
		}
		t.Shared = append(t.Shared, o)
	}
	if e.Callbacks != nil {
		text, good, n, err := r.checkCallbacks(e)
		o := report.Observed{Text: text, OK: good, Value: float64(n)}
		if err != nil {
			o = report.Observed{Err: err.Error()}
		}
		t.Shared = append(t.Shared, o)
	}
	return t
}

// evaluate judges an expectation on what its checks read: the same for a
// run and for merged shards.
func evaluate(e *spec.Expectation, t *report.Tally) observation {
	n := t.N
	var parts []string
	ok := true
	var o observation
	figure := func(v float64) {
		if !o.hasValue {
			o.value, o.hasValue = v, true
		}
	}
	share := func(c spec.Condition, k int) {
		if c.Bound.Percent && n > 0 {
			figure(100 * float64(k) / float64(n))
		} else {
			figure(float64(k))
		}
	}
	j := 0
	for _, cc := range countChecks(e) {
		if !cc.cond.Set() {
			continue
		}
		k := t.Counts[j]
		j++
		parts = append(parts, fmt.Sprintf("%s %d/%d (%s)", cc.name, k, n, pct(k, n)))
		share(cc.cond, k)
		ok = ok && cc.cond.Holds(float64(k), n)
	}
	var msgs []string
	if e.AttachLatency != nil {
		v, text := attachPercentile(t.Lat, e.AttachLatency.P)
		parts = append(parts, fmt.Sprintf("attach p%g %s", e.AttachLatency.P, text))
		if !math.IsInf(v, 1) {
			figure(time.Duration(v).Seconds())
		}
		ok = ok && !math.IsInf(v, 1) && e.AttachLatency.Max.Holds(v, 0)
	}
	if e.SIMs.Set() {
		if t.SIMsErr != "" {
			ok, msgs = false, append(msgs, t.SIMsErr)
		} else {
			k := t.SIMs
			parts = append(parts, fmt.Sprintf("sims %s %d/%d (%s)", e.SimStatus, k, n, pct(k, n)))
			share(e.SIMs, k)
			ok = ok && e.SIMs.Holds(float64(k), n)
		}
	}
	if t.UsageErr != "" {
		ok, msgs = false, append(msgs, t.UsageErr)
	} else {
		j := 0
		for _, u := range e.UsageChecks() {
			if !u.Cond.Set() {
				continue
			}
			ut := t.Usage[j]
			j++
			lo := ut.Lo
			if !ut.Any {
				lo = 0
			}
			name := strings.TrimSuffix(u.Key, "_mb")
			parts = append(parts, fmt.Sprintf("%s %.3g..%.3g MB per SIM, %d/%d within", name, lo, ut.Hi, ut.Good, n))
			figure(ut.Hi)
			ok = ok && ut.Good == n
		}
	}
	j = 0
	next := func() report.Observed {
		x := t.Shared[j]
		j++
		return x
	}
	if e.API != nil {
		x := next()
		if x.Err != "" {
			ok, msgs = false, append(msgs, x.Err)
			parts = append(parts, "api: "+x.Err)
		} else {
			parts = append(parts, x.Text)
			ok = ok && x.OK
		}
	}
	for _, c := range []*spec.CommandCheck{e.SmsCommands, e.IPCommands} {
		if c == nil {
			continue
		}
		x := next()
		if x.Err != "" {
			ok, msgs = false, append(msgs, x.Err)
			continue
		}
		parts = append(parts, x.Text)
		figure(x.Value)
		ok = ok && x.OK
	}
	if e.Callbacks != nil {
		x := next()
		if x.Err != "" {
			ok, msgs = false, append(msgs, x.Err)
		} else {
			parts = append(parts, x.Text)
			figure(x.Value)
			ok = ok && x.OK
		}
	}
	o.text, o.ok, o.msg = strings.Join(parts, "; "), ok, strings.Join(msgs, "; ")
	return o
}

// countCheck is an expectation's count of devices in some state.
type countCheck struct {
	name string
	cond spec.Condition
	keep func(d *firmware.Device, onNetwork bool) bool // onNetwork: on the expectation's network, if it names one
}

func countChecks(e *spec.Expectation) []countCheck {
	return []countCheck{
		{"registered", e.Registered, func(d *firmware.Device, on bool) bool { return d.State.Registered() && on }},
		{"roaming", e.Roaming, func(d *firmware.Device, on bool) bool { return d.State == at3gpp.RegRoaming && on }},
		{"searching", e.Searching, func(d *firmware.Device, _ bool) bool { return d.State == at3gpp.RegSearching }},
		{"denied", e.Denied, func(d *firmware.Device, _ bool) bool { return d.State == at3gpp.RegDenied }},
		{"not_registered", e.NotRegistered, func(d *firmware.Device, _ bool) bool { return !d.State.Registered() }},
		{"data_blocked", e.DataBlocked, func(d *firmware.Device, _ bool) bool { return d.Blocked }},
	}
}

func pct(k, n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(k)/float64(n), 'f', 1, 64) + "%"
}

// attachPercentile is the p-th percentile of power-up to first
// registration over the devices powered up (lat, in nanoseconds, is
// sorted in place); one never registered counts as infinitely late.
func attachPercentile(lat []float64, p float64) (float64, string) {
	if len(lat) == 0 {
		return math.Inf(1), "none powered up"
	}
	slices.Sort(lat)
	k := max(int(math.Ceil(p/100*float64(len(lat))))-1, 0)
	v := lat[min(k, len(lat)-1)]
	if math.IsInf(v, 1) {
		return v, "not registered"
	}
	return v, spec.FormatDuration(time.Duration(v).Round(time.Millisecond))
}

// simsWithStatus counts a group's SIMs with a status, as the API lists them.
func (r *runner) simsWithStatus(api *apiclient.Client, groupName, status string) (int, error) {
	in := r.simsOf(groupName)
	k := 0
	r.listStart()
	err := api.ListSids(r.Ctx, status, func(sid string) {
		r.listItem(sid)
		if in.has(sid) {
			k++
		}
	})
	return k, err
}

// simMembers is the SIMs of a group's devices (every device's for a name
// that is no group's) that this shard simulates.
type simMembers struct {
	r        *runner
	first, n int
}

func (r *runner) simsOf(groupName string) simMembers {
	if g := r.group(groupName); g != nil {
		return simMembers{r, g.First, g.Count}
	}
	return simMembers{r, 0, r.sids.len()}
}

// has reports whether sid is the SIM of one of the devices.
func (m simMembers) has(sid string) bool {
	if sid == "" { // devices without a SIM (real modems') share it
		for i := m.first; i < m.first+m.n; i++ {
			if m.r.owns(i) && m.r.sids.get(i) == "" {
				return true
			}
		}
		return false
	}
	i := m.r.deviceOf(sid)
	return i >= m.first && i < m.first+m.n && m.r.owns(i)
}

// each calls f with each device's index, once per SIM: devices without
// a SIM count once together.
func (m simMembers) each(f func(i int)) {
	none := false
	for i := m.first; i < m.first+m.n; i++ {
		if !m.r.owns(i) {
			continue
		}
		if m.r.sids.get(i) == "" {
			if none {
				continue
			}
			none = true
		}
		f(i)
	}
}

var placeholderRE = regexp.MustCompile(`\{(fleet|nap|sim|account|callback):([^}]*)\}`)

// expand replaces {fleet:NAME}, {nap:NAME} and {sim:GROUP/INDEX} by SIDs.
func (r *runner) expand(s string) (string, error) {
	var err error
	out := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		p := placeholderRE.FindStringSubmatch(m)
		switch p[1] {
		case "fleet":
			if sid, ok := r.fleets[p[2]]; ok {
				return sid
			}
		case "nap":
			if sid, ok := r.naps[p[2]]; ok {
				return sid
			}
		case "account":
			if sid, ok := r.accountSid(p[2]); ok {
				return sid
			}
		case "callback":
			if r.hooks != nil && slices.Contains(spec.CallbackKinds, p[2]) {
				return r.hooks.url(p[2])
			}
		case "sim":
			name, idx, _ := strings.Cut(p[2], "/")
			i, convErr := strconv.Atoi(idx)
			if g := r.group(name); g != nil && convErr == nil && i >= 0 && i < g.Count {
				return r.sids.get(g.First + i)
			}
		}
		err = fmt.Errorf("%s names nothing in the scenario", m)
		return m
	})
	return out, err
}

// report builds the run's report.
func (r *runner) report() *report.Report {
	rep := &report.Report{
		Scenario: r.s.Name, File: r.s.File, Seed: r.seed,
		Start: r.s.Start.Time, End: r.Clock.Now(), Duration: spec.FormatDuration(r.s.Duration.D()),
		Devices: len(r.devices), Events: r.Clock.Fired(), ATCommands: r.ATCommands, APIRequests: r.api.Requests,
		Aborted: r.aborted, Expectations: []report.Outcome{},
	}
	if r.aborted {
		rep.AbortedAt = spec.FormatDuration(r.abortedAt)
	}
	rep.Interrupted = r.stopped
	rep.Passed = !r.aborted && !r.stopped
	for _, c := range r.checks {
		o := c.outcome(r.s, r.aborted || r.stopped)
		rep.Passed = rep.Passed && o.Pass
		rep.Expectations = append(rep.Expectations, o)
	}
	for _, o := range r.runErrs {
		rep.Passed = rep.Passed && o.Pass
		rep.Expectations = append(rep.Expectations, o)
	}
	rep.Series = r.series() // after the counts: reading usage makes API requests
	return rep
}

// outcome is the check's result; ended says the run stopped before its end.
func (c *check) outcome(s *spec.Scenario, ended bool) report.Outcome {
	e := c.e
	o := report.Outcome{Name: e.Name, Group: e.Group, When: when(e, s), Check: describe(e), Observed: c.observed,
		Pass: c.samples > 0 && !c.failed, Samples: c.samples, Message: c.message, Line: e.Pos.Line}
	if c.failed {
		o.FailedAt = spec.FormatDuration(c.failedAt)
	}
	if c.samples == 0 && ended {
		o.Skipped = true
	}
	return o
}

func when(e *spec.Expectation, s *spec.Scenario) string {
	switch {
	case e.At != nil:
		return "at " + e.At.String()
	case e.During != nil:
		return "during " + e.During.From.String() + ".." + e.During.Until.String()
	}
	return "end"
}

// describe writes an expectation's checks, e.g. "registered >= 99%".
func describe(e *spec.Expectation) string {
	var parts []string
	add := func(name string, c spec.Condition) {
		if c.Set() {
			parts = append(parts, name+" "+c.Text)
		}
	}
	for _, cc := range countChecks(e) {
		add(cc.name, cc.cond)
	}
	if e.AttachLatency != nil {
		parts = append(parts, fmt.Sprintf("attach p%g %s", e.AttachLatency.P, e.AttachLatency.Max.Text))
	}
	if e.SIMs.Set() {
		parts = append(parts, "sims "+e.SimStatus+" "+e.SIMs.Text)
	}
	for _, u := range e.UsageChecks() {
		add(u.Key, u.Cond)
	}
	if e.API != nil {
		parts = append(parts, apiCheckText(e.API))
	}
	parts = append(parts, describeCommands("sms", e.SmsCommands)...)
	parts = append(parts, describeCommands("ip", e.IPCommands)...)
	if e.Callbacks != nil {
		parts = append(parts, describeCallbacks(e.Callbacks))
	}
	if e.Account != "" {
		parts = append(parts, "as "+e.Account)
	}
	s := strings.Join(parts, ", ")
	if e.Network != "" {
		s += " on " + e.Network
	}
	return s
}
