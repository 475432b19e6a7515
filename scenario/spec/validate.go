package spec

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

// Limits of a scenario.
const (
	MaxDevices  = 1_000_000            // devices of a run (of each shard of a sharded run), all groups together
	MaxShards   = 10_000               // shards a run may be split in
	MaxDuration = 400 * 24 * time.Hour // virtual time a run may cover
)

// defaultStart is when a run starts unless the scenario says otherwise.
var defaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Errors of ResolveNetworks, for errors.Is.
var (
	ErrUnknownNetwork   = errors.New("unknown network")
	ErrAmbiguousNetwork = errors.New("ambiguous network name")
)

// LoadValid loads a scenario file, applies the defaults and validates it
// against the Networks catalog.
func LoadValid(file string, cat *sim.Catalog) (*Scenario, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	return ParseValid(file, data, cat)
}

// ParseValid is LoadValid on data read from file. When some values cannot
// be decoded, the rest is still validated, so that every problem of the
// file is reported at once; where a value could not be decoded, what the
// validator says of it or of the mapping holding it is left out.
func ParseValid(file string, data []byte, cat *sim.Catalog) (*Scenario, error) {
	return ParseValidShards(file, data, cat, 1)
}

// LoadValidShards is LoadValid for a run split in shards (fleetsim run
// --shard i/N): the limits on devices and events (MaxDevices, MaxEvents)
// apply to each shard, so a fleet shards times larger validates.
func LoadValidShards(file string, cat *sim.Catalog, shards int) (*Scenario, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, err
	}
	return ParseValidShards(file, data, cat, shards)
}

// ParseValidShards is LoadValidShards on data read from file.
func ParseValidShards(file string, data []byte, cat *sim.Catalog, shards int) (*Scenario, error) {
	s, err, partial := parsePartial(file, data)
	if err != nil && !partial {
		return nil, err
	}
	s.Defaults()
	verr := s.validate(cat, max(shards, 1))
	if err == nil {
		if verr != nil {
			return nil, verr
		}
		return s, nil
	}
	var decoded, checked ErrorList
	errors.As(err, &decoded)
	errors.As(verr, &checked)
	all := append(ErrorList(nil), decoded...)
	for _, e := range checked {
		covered := false
		for _, d := range decoded {
			// The same field, one below it, or the mapping holding a field
			// that could not be decoded (its checks saw a zero value).
			if d.Path != "" && (e.Path == d.Path || strings.HasPrefix(e.Path, d.Path+".") || strings.HasPrefix(e.Path, d.Path+"[") ||
				e.Path != "" && strings.HasPrefix(d.Path, e.Path+".")) {
				covered = true
				break
			}
		}
		if !covered {
			all = append(all, e)
		}
	}
	all.sort()
	return nil, all
}

// written reports whether the file wrote key in the mapping at p.
func (p Pos) written(key string) bool {
	_, ok := p.keys[key]
	return ok
}

// item returns the position of the i-th element of the list under key.
func (p Pos) item(key string, i int) Pos {
	if at, ok := p.keys[key+"["+strconv.Itoa(i)+"]"]; ok {
		return at
	}
	return p.At(key)
}

// Defaults fills in what the file left out, as the doc tags of the format
// say. A value written explicitly, even a zero one, is kept (and Validate
// judges it).
func (s *Scenario) Defaults() {
	if s.Start.IsZero() {
		s.Start = Time{defaultStart}
	}
	defaultDuration(&s.Sample, s.Pos, "sample", time.Minute)

	st := &s.Settings
	defaultDuration(&st.LimitPropagation, st.Pos, "limit_propagation", sim.DefaultLimitPropagation)
	defaultDuration(&st.UpdateDelay, st.Pos, "update_delay", sim.DefaultUpdateDelay)
	defaultDuration(&st.AuthCache, st.Pos, "auth_cache", modem.DefaultAuthCache)
	defaultDuration(&st.Scan, st.Pos, "scan", modem.DefaultTiming.Scan)
	defaultDuration(&st.Attach, st.Pos, "attach", modem.DefaultTiming.Attach)
	defaultString(&st.Profile, "bg96")

	for i := range s.Control.Fleets {
		f := &s.Control.Fleets[i]
		if f.DataLimitMB == 0 && !f.Pos.written("data_limit_mb") {
			f.DataLimitMB = sim.DefaultDataLimit
		}
		defaultBool(&f.DataEnabled, true)
		defaultBool(&f.SmsCommandsEnabled, true)
	}
	for i := range s.Devices {
		g := &s.Devices[i]
		defaultString(&g.SimStatus, "active")
		defaultString(&g.Module, st.Profile)
		defaultString(&g.Selection.Mode, "automatic")
		r := &g.Retry
		defaultString(&r.Action, "cfun")
		defaultDuration(&r.Backoff, r.Pos, "backoff", time.Minute)
		defaultDuration(&r.MaxBackoff, r.Pos, "max_backoff", 30*time.Minute)
		defaultShare(&r.Jitter, 10)
		if g.Data != nil {
			defaultShare(&g.Data.Jitter, 0)
		}
	}
	for i := range s.Timeline {
		e := &s.Timeline[i]
		if e.Every != nil && e.From == 0 && !e.Pos.written("from") {
			e.From = *e.Every
		}
		for _, t := range e.targets() {
			defaultShare(&t.Share, 100)
		}
		if e.API != nil {
			defaultString(&e.API.Method, "POST")
		}
	}
}

func defaultDuration(d *Duration, at Pos, key string, v time.Duration) {
	if *d == 0 && !at.written(key) {
		*d = Duration(v)
	}
}

func defaultString(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func defaultBool(b **bool, v bool) {
	if *b == nil {
		*b = &v
	}
}

func defaultShare(q *Quantity, percent float64) {
	if !q.Set {
		*q = Quantity{Value: percent, Percent: true, Set: true}
	}
}

// targets returns the event's Targets, whichever action holds them.
func (e *Event) targets() []*Targets {
	var out []*Targets
	if e.SIMs != nil {
		out = append(out, &e.SIMs.Targets)
	}
	if e.Move != nil {
		out = append(out, &e.Move.Targets)
	}
	if e.PowerCycle != nil {
		out = append(out, e.PowerCycle)
	}
	if e.SMS != nil {
		out = append(out, &e.SMS.Targets)
	}
	if e.IP != nil {
		out = append(out, &e.IP.Targets)
	}
	return out
}

// Validate checks the meaning of a decoded scenario (call Defaults first):
// ranges, references between its parts and to the Networks catalog (the
// embedded one when cat is nil). It returns every problem at once, as an
// ErrorList.
func (s *Scenario) Validate(cat *sim.Catalog) error {
	return s.validate(cat, 1)
}

// validate is Validate for a run in shards shards.
func (s *Scenario) validate(cat *sim.Catalog, shards int) error {
	if cat == nil {
		c, err := sim.DefaultCatalog()
		if err != nil {
			return err
		}
		cat = c
	}
	shards = min(max(shards, 1), MaxShards)
	v := &validator{s: s, cat: cat, shards: shards, maxDevices: MaxDevices * shards}
	v.scenario()
	return v.finish()
}

// validator collects the problems of one scenario.
type validator struct {
	s    *Scenario
	cat  *sim.Catalog
	errs ErrorList
	end  time.Duration // the run's duration; 0 when it is itself wrong
	// shards is the number of shards the run is split in (1: not split);
	// maxDevices is MaxDevices times shards.
	shards, maxDevices int

	locations, naps, fleets, groups nameSet
	accounts                        nameSet
}

// nameSet holds the names of one kind of thing, in the order written.
type nameSet struct {
	kind, where string // "fleet", "control.fleets"
	index       map[string]int
	list        []string
}

func (v *validator) errorf(at Pos, path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.s.File, Line: at.Line, Column: at.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// finish sorts the problems and keeps the first maxErrors.
func (v *validator) finish() error {
	v.errs.sort()
	if n := len(v.errs) - maxErrors; n > 0 {
		last := v.errs[maxErrors-1]
		v.errs = append(v.errs[:maxErrors], &Error{File: v.s.File, Line: last.Line, Column: last.Column, Msg: fmt.Sprintf("too many problems: %d more not shown", n)})
	}
	return v.errs.err()
}

func (v *validator) scenario() {
	s := v.s
	switch d := s.Duration.D(); {
	case d <= 0:
		v.errorf(s.Pos.At("duration"), "duration", "must be more than 0")
	case d > MaxDuration:
		v.errorf(s.Pos.At("duration"), "duration", "must be at most 400 days (%s), got %s", Duration(MaxDuration), s.Duration)
	default:
		v.end = d
	}
	v.atLeast(s.Pos.At("sample"), "sample", s.Sample, MinSample)
	st := s.Settings
	if st.LimitPropagation.D() > sim.MaxLimitPropagation {
		v.errorf(st.Pos.At("limit_propagation"), "settings.limit_propagation", "must be at most %s, got %s", Duration(sim.MaxLimitPropagation), st.LimitPropagation)
	}
	v.propagationSpread(&st)
	if st.AuthCache.D() > modem.MaxAuthCache {
		v.errorf(st.Pos.At("auth_cache"), "settings.auth_cache", "must be at most %s, got %s", Duration(modem.MaxAuthCache), st.AuthCache)
	}

	v.locations = v.unique("location", "world.locations", len(s.World.Locations), func(i int) (string, Pos) {
		return s.World.Locations[i].Name, s.World.Locations[i].Pos
	})
	v.naps = v.unique("NAP", "control.naps", len(s.Control.NAPs), func(i int) (string, Pos) {
		return s.Control.NAPs[i].Name, s.Control.NAPs[i].Pos
	})
	v.fleets = v.unique("fleet", "control.fleets", len(s.Control.Fleets), func(i int) (string, Pos) {
		return s.Control.Fleets[i].Name, s.Control.Fleets[i].Pos
	})
	v.groups = v.unique("group", "devices", len(s.Devices), func(i int) (string, Pos) {
		return s.Devices[i].Name, s.Devices[i].Pos
	})
	v.accountSet()
	v.unique("expectation", "expect", len(s.Expect), func(i int) (string, Pos) {
		return s.Expect[i].Name, s.Expect[i].Pos
	})

	for i, l := range s.World.Locations {
		v.location(l, fmt.Sprintf("world.locations[%d]", i))
	}
	for i, n := range s.Control.NAPs {
		path := fmt.Sprintf("control.naps[%d]", i)
		for j, ref := range n.Networks {
			v.network(n.Pos.item("networks", j), fmt.Sprintf("%s.networks[%d]", path, j), ref, true)
		}
	}
	for i, f := range s.Control.Fleets {
		path := fmt.Sprintf("control.fleets[%d]", i)
		v.ref(f.Pos.At("nap"), path+".nap", &v.naps, f.NAP)
		if f.DataLimitMB != 0 || f.Pos.written("data_limit_mb") {
			v.dataLimit(f.Pos.At("data_limit_mb"), path+".data_limit_mb", f.DataLimitMB)
		}
	}
	total, counted := 0, true
	for i := range s.Devices {
		if c := s.Devices[i].Count; c >= 1 && c <= v.maxDevices {
			total += c // at most maxNodes groups of MaxShards × MaxDevices: no overflow
		} else {
			counted = false // reported for the group
		}
		v.group(&s.Devices[i], fmt.Sprintf("devices[%d]", i))
	}
	switch {
	case counted && total > v.maxDevices && v.shards > 1:
		v.errorf(s.Pos.At("devices"), "devices", "%d devices in all: at most %d in %d shards (%d per shard)", total, v.maxDevices, v.shards, MaxDevices)
	case counted && total > v.maxDevices:
		v.errorf(s.Pos.At("devices"), "devices", "%d devices in all: at most %d", total, MaxDevices)
	}
	for i := range s.Timeline {
		v.event(&s.Timeline[i], fmt.Sprintf("timeline[%d]", i))
	}
	for i := range s.Expect {
		v.expectation(&s.Expect[i], fmt.Sprintf("expect[%d]", i))
	}
	v.accountsAndCallbacks()
	v.budget()
}

// unique records the names of a list, reporting empty and duplicate ones.
func (v *validator) unique(kind, where string, n int, item func(int) (string, Pos)) nameSet {
	ns := nameSet{kind: kind, where: where, index: make(map[string]int, n)}
	for i := range n {
		name, pos := item(i)
		path := fmt.Sprintf("%s[%d].name", where, i)
		if name == "" {
			v.errorf(pos.At("name"), path, "must not be empty")
			continue
		}
		if j, dup := ns.index[name]; dup {
			_, first := item(j)
			v.errorf(pos.At("name"), path, "%s %q is already defined at line %d", kind, name, first.At("name").Line)
			continue
		}
		ns.index[name] = i
		ns.list = append(ns.list, name)
	}
	return ns
}

// suggest is the package's suggest while the problems may all be shown:
// past maxErrors it spares the search.
func (v *validator) suggest(word string, candidates []string) string {
	if len(v.errs) >= maxErrors {
		return ""
	}
	return suggest(word, candidates)
}

// ref checks that name is one of ns.
func (v *validator) ref(at Pos, path string, ns *nameSet, name string) {
	if _, ok := ns.index[name]; ok {
		return
	}
	switch {
	case name == "":
		v.errorf(at, path, "must not be empty")
	case len(ns.list) == 0:
		v.errorf(at, path, "unknown %s %q: %s defines none", ns.kind, name, ns.where)
	default:
		if s := v.suggest(name, ns.list); s != "" {
			v.errorf(at, path, "unknown %s %q, did you mean %q?", ns.kind, name, s)
		} else {
			v.errorf(at, path, "unknown %s %q; %s defines %s", ns.kind, name, ns.where, quoteList(ns.list, 10))
		}
	}
}

// place checks a reference to a location: a location's name or a country
// code of the catalog.
func (v *validator) place(at Pos, path, ref string) {
	if _, ok := v.locations.index[ref]; ok {
		return
	}
	if isCountryCode(ref) {
		if len(v.cat.InCountry(ref)) == 0 {
			v.errorf(at, path, "the Networks catalog has no networks in country %s", ref)
		}
		return
	}
	msg := fmt.Sprintf("unknown location %q: want a name from world.locations or a country code such as DE", ref)
	if ref == "" {
		msg = "must not be empty"
	} else if s := v.suggest(ref, v.locations.list); s != "" {
		msg = fmt.Sprintf("unknown location %q, did you mean %q?", ref, s)
	} else if up := strings.ToUpper(ref); isCountryCode(up) && len(v.cat.InCountry(up)) > 0 {
		msg = fmt.Sprintf("unknown location %q, did you mean the country %q?", ref, up)
	}
	v.errorf(at, path, "%s", msg)
}

func (v *validator) network(at Pos, path, ref string, allowCountry bool) {
	// Past maxErrors the problem may not be shown: spare the suggestion.
	if _, err := resolveNetworks(v.cat, ref, allowCountry, len(v.errs) < maxErrors); err != nil {
		v.errorf(at, path, "%v", err)
		v.errs[len(v.errs)-1].err = err
	}
}

func (v *validator) dataLimit(at Pos, path string, mb int) {
	if mb < sim.MinDataLimit || mb > sim.MaxDataLimit {
		v.errorf(at, path, "must be between %d and %d MB, got %d", sim.MinDataLimit, sim.MaxDataLimit, mb)
	}
}

// within checks that a time after the start is within the run.
func (v *validator) within(at Pos, path string, d Duration) {
	if v.end > 0 && d.D() > v.end {
		v.errorf(at, path, "%s is after the end of the run (%s)", d, Duration(v.end))
	}
}

// share checks a Quantity that must be a share of a whole.
func (v *validator) share(at Pos, path string, q Quantity) {
	if q.Set && !q.Percent {
		v.errorf(at, path, "want a share such as 10%%, got %s", q)
	}
}

func (v *validator) location(l Location, path string) {
	switch {
	case !isCountryCode(l.Country):
		v.errorf(l.Pos.At("country"), path+".country", "want an ISO 3166-1 alpha-2 code in upper case such as DE, got %q", l.Country)
	case len(v.cat.InCountry(l.Country)) == 0:
		v.errorf(l.Pos.At("country"), path+".country", "the Networks catalog has no networks in country %s", l.Country)
	}
	for j, ref := range l.Networks {
		v.network(l.Pos.item("networks", j), fmt.Sprintf("%s.networks[%d]", path, j), ref, true)
	}
	if l.Signal < 0 || l.Signal > 31 {
		v.errorf(l.Pos.At("signal"), path+".signal", "must be between 1 and 31 (the +CSQ scale), got %d", l.Signal)
	}
}

func (v *validator) group(g *Group, path string) {
	if g.Count < 1 || g.Count > v.maxDevices {
		v.errorf(g.Pos.At("count"), path+".count", "must be between 1 and %d, got %d", v.maxDevices, g.Count)
	}
	if g.Fleet != "" {
		v.ref(g.Pos.At("fleet"), path+".fleet", &v.fleets, g.Fleet)
	} else if g.SimStatus != "new" {
		// The API refuses it at set-up (83007): a Sim leaves new only with a Fleet.
		v.errorf(g.Pos.At("sim_status"), path+".fleet", "required with sim_status %s: a Sim cannot leave status new without a Fleet (error 83007)", g.SimStatus)
	}
	v.place(g.Pos.At("location"), path+".location", g.Location)

	po := g.PowerOn
	v.within(po.Pos.At("at"), path+".power_on.at", po.At)
	if v.end > 0 && po.At.D() <= v.end && po.At.D()+po.Spread.D() > v.end {
		v.errorf(po.Pos.At("spread"), path+".power_on.spread", "at + spread (%s) is after the end of the run (%s)", po.At+po.Spread, Duration(v.end))
	}

	sel := g.Selection
	switch {
	case sel.Mode == "manual" && sel.Network == "":
		v.errorf(sel.Pos.At("mode"), path+".selection.network", "required with mode manual")
	case sel.Mode != "manual" && sel.Network != "":
		v.errorf(sel.Pos.At("network"), path+".selection.network", "only with mode manual: automatic selection picks the network itself")
	case sel.Network != "":
		v.network(sel.Pos.At("network"), path+".selection.network", sel.Network, false)
	}

	r := g.Retry
	v.atLeast(r.Pos.At("backoff"), path+".retry.backoff", r.Backoff, MinEvery)
	if r.Backoff > r.MaxBackoff {
		v.errorf(r.Pos.At("max_backoff"), path+".retry.max_backoff", "must be at least backoff (%s), got %s", r.Backoff, r.MaxBackoff)
	}
	v.share(r.Pos.At("jitter"), path+".retry.jitter", r.Jitter)

	if d := g.Data; d != nil {
		v.atLeast(d.Pos.At("every"), path+".data.every", d.Every, MinEvery)
		v.share(d.Pos.At("jitter"), path+".data.jitter", d.Jitter)
		v.traffic(d, path+".data")
	}
	if pc := g.PowerCycle; pc != nil {
		v.atLeast(pc.Pos.At("every"), path+".power_cycle.every", pc.Every, MinPowerCycle)
	}
	v.deviceSMS(g, path)
	v.deviceIP(g, path)
}

// actionKeys are the keys of an Event's actions, in the order of the struct.
var actionKeys = []string{"nap", "fleet", "sims", "move", "outage", "power_cycle", "api", "sms", "ip"}

func (v *validator) event(e *Event, path string) {
	switch {
	case e.At == nil && e.Every == nil:
		v.errorf(e.Pos, path, "no time: want at or every")
	case e.At != nil && e.Every != nil:
		v.errorf(e.Pos.At("every"), path+".every", "at and every exclude each other")
	}
	if e.At != nil {
		v.within(e.Pos.At("at"), path+".at", *e.At)
	}
	if e.Every != nil {
		if v.atLeast(e.Pos.At("every"), path+".every", *e.Every, MinEvery) && v.end > 0 && e.Every.D() > v.end {
			v.errorf(e.Pos.At("every"), path+".every", "%s is longer than the run (%s): the event never happens", e.Every, Duration(v.end))
		} else {
			v.within(e.Pos.At("from"), path+".from", e.From)
		}
		if e.Until != nil {
			v.within(e.Pos.At("until"), path+".until", *e.Until)
			if *e.Until < e.From {
				v.errorf(e.Pos.At("until"), path+".until", "%s is before from (%s)", e.Until, e.From)
			}
		}
	} else {
		for _, k := range []string{"from", "until"} {
			if e.Pos.written(k) {
				v.errorf(e.Pos.At(k), path+"."+k, "only with every")
			}
		}
	}

	set := []bool{e.NAP != nil, e.Fleet != nil, e.SIMs != nil, e.Move != nil, e.Outage != nil, e.PowerCycle != nil, e.API != nil, e.SMS != nil, e.IP != nil}
	var actions []string
	for i, ok := range set {
		if ok {
			actions = append(actions, actionKeys[i])
		}
	}
	slices.SortStableFunc(actions, func(a, b string) int { // as written
		pa, pb := e.Pos.At(a), e.Pos.At(b)
		if pa.Line != pb.Line {
			return pa.Line - pb.Line
		}
		return pa.Column - pb.Column
	})
	switch len(actions) {
	case 0:
		v.errorf(e.Pos, path, "no action: want one of %s", strings.Join(actionKeys, ", "))
	case 1:
	default:
		v.errorf(e.Pos.At(actions[1]), path+"."+actions[1], "a second action (with %s): an event has exactly one; write one event each", actions[0])
	}

	if c := e.NAP; c != nil {
		p := path + ".nap"
		v.ref(c.Pos.At("name"), p+".name", &v.naps, c.Name)
		for _, list := range []struct {
			key  string
			refs []string
		}{{"add", c.Add}, {"remove", c.Remove}} {
			for j, ref := range list.refs {
				v.network(c.Pos.item(list.key, j), fmt.Sprintf("%s.%s[%d]", p, list.key, j), ref, true)
			}
		}
		if len(c.Add) == 0 && len(c.Remove) == 0 {
			v.errorf(c.Pos, p, "nothing to change: want add or remove")
		}
	}
	if c := e.Fleet; c != nil {
		p := path + ".fleet"
		v.ref(c.Pos.At("name"), p+".name", &v.fleets, c.Name)
		if c.NAP != nil {
			v.ref(c.Pos.At("nap"), p+".nap", &v.naps, *c.NAP)
		}
		if c.DataLimitMB != nil {
			v.dataLimit(c.Pos.At("data_limit_mb"), p+".data_limit_mb", *c.DataLimitMB)
		}
		if c.NAP == nil && c.DataLimitMB == nil {
			v.errorf(c.Pos, p, "nothing to change: want data_limit_mb or nap")
		}
	}
	if c := e.SIMs; c != nil {
		p := path + ".sims"
		v.targets(&c.Targets, p)
		if c.Fleet != "" {
			v.ref(c.Pos.At("fleet"), p+".fleet", &v.fleets, c.Fleet)
		}
		if c.Status == "" && c.Fleet == "" && c.Account == "" {
			v.errorf(c.Pos, p, "nothing to change: want status, fleet or account")
		}
	}
	if c := e.Move; c != nil {
		v.targets(&c.Targets, path+".move")
		v.place(c.Pos.At("to"), path+".move.to", c.To)
	}
	if c := e.Outage; c != nil {
		v.network(c.Pos.At("network"), path+".outage.network", c.Network, false)
	}
	if c := e.PowerCycle; c != nil {
		v.targets(c, path+".power_cycle")
	}
	if c := e.SMS; c != nil {
		v.sendSMS(c, path+".sms")
	}
	if c := e.IP; c != nil {
		v.sendIP(c, path+".ip")
	}
	if c := e.API; c != nil {
		p := path + ".api"
		v.apiPath(c.Pos.At("path"), p+".path", c.Path)
		if c.Status != 0 && (c.Status < 100 || c.Status > 599) {
			v.errorf(c.Pos.At("status"), p+".status", "want an HTTP status (100..599), got %d", c.Status)
		}
	}
}

func (v *validator) targets(t *Targets, path string) {
	v.ref(t.Pos.At("group"), path+".group", &v.groups, t.Group)
}

var placeholderRe = regexp.MustCompile(`\{([^{}:]*):([^{}]*)\}`)

// apiPath checks the path of an API request and its placeholders.
func (v *validator) apiPath(at Pos, path, p string) {
	if !strings.HasPrefix(p, "/") {
		v.errorf(at, path, "want a path such as /v1/Fleets, got %q", p)
		return
	}
	v.placeholders(at, path, p)
}

// placeholders checks the placeholders of a text.
func (v *validator) placeholders(at Pos, path, p string) {
	for _, m := range placeholderRe.FindAllStringSubmatch(p, -1) {
		switch m[1] {
		case "fleet":
			v.ref(at, path, &v.fleets, m[2])
		case "nap":
			v.ref(at, path, &v.naps, m[2])
		case "sim":
			group, index, ok := strings.Cut(m[2], "/")
			n, err := strconv.Atoi(index)
			if !ok || err != nil || n < 0 {
				v.errorf(at, path, "placeholder %s: want {sim:GROUP/INDEX}, INDEX from 0", m[0])
				continue
			}
			v.ref(at, path, &v.groups, group)
			if i, ok := v.groups.index[group]; ok && n >= v.s.Devices[i].Count && v.s.Devices[i].Count > 0 {
				v.errorf(at, path, "placeholder %s: group %q has %d devices, numbered from 0", m[0], group, v.s.Devices[i].Count)
			}
		case "account", "callback":
			v.placeholder(at, path, m[0], m[1], m[2])
		default:
			v.errorf(at, path, "unknown placeholder %s: want {fleet:NAME}, {nap:NAME}, {sim:GROUP/INDEX}, {account:NAME} or {callback:KIND}", m[0])
		}
	}
}

func (v *validator) expectation(x *Expectation, path string) {
	if x.Group != "" {
		v.ref(x.Pos.At("group"), path+".group", &v.groups, x.Group)
	}
	if x.At != nil && x.During != nil {
		v.errorf(x.Pos.At("during"), path+".during", "at and during exclude each other")
	}
	if x.At != nil {
		v.within(x.Pos.At("at"), path+".at", *x.At)
	}
	if w := x.During; w != nil {
		if w.Until <= w.From {
			v.errorf(w.Pos.At("until"), path+".during.until", "must be after from (%s), got %s", w.From, w.Until)
		}
		v.within(w.Pos.At("until"), path+".during.until", w.Until)
	}
	if x.Network != "" {
		v.network(x.Pos.At("network"), path+".network", x.Network, false)
	}

	counts := []struct {
		key string
		c   Condition
	}{
		{"registered", x.Registered}, {"roaming", x.Roaming}, {"searching", x.Searching},
		{"denied", x.Denied}, {"not_registered", x.NotRegistered}, {"data_blocked", x.DataBlocked},
		{"sims", x.SIMs}, {"usage_mb", x.UsageMB}, {"upload_mb", x.UploadMB}, {"download_mb", x.DownloadMB},
	}
	checks := 0
	for _, k := range counts {
		if !k.c.Set() {
			continue
		}
		checks++
		if k.c.IsDur {
			v.errorf(x.Pos.At(k.key), path+"."+k.key, "want a count or a share such as '>= 99%%', not a duration")
		}
	}
	for _, u := range x.UsageChecks() {
		if u.Cond.Set() && u.Cond.Bound.Percent {
			v.errorf(x.Pos.At(u.Key), path+"."+u.Key, "want a number of MB such as '<= 50', not a share")
		}
	}
	switch {
	case x.SIMs.Set() && x.SimStatus == "":
		v.errorf(x.Pos.At("sims"), path+".sim_status", "required with sims: the status of the SIMs to count")
	case !x.SIMs.Set() && x.SimStatus != "":
		v.errorf(x.Pos.At("sim_status"), path+".sims", "required with sim_status: how many SIMs, e.g. '== 0'")
	}
	if l := x.AttachLatency; l != nil {
		checks++
		if !(l.P > 0 && l.P <= 100) {
			v.errorf(l.Pos.At("p"), path+".attach_latency.p", "must be more than 0 and at most 100, got %v", l.P)
		}
		if l.Max.Set() && !l.Max.IsDur {
			v.errorf(l.Pos.At("max"), path+".attach_latency.max", "want a duration bound such as '<= 5m', got %q", l.Max.Text)
		}
	}
	if a := x.API; a != nil {
		checks++
		v.apiCheck(a, path+".api")
	}
	for _, c := range []struct {
		key string
		c   *CommandCheck
	}{{"sms_commands", x.SmsCommands}, {"ip_commands", x.IPCommands}} {
		if v.commandCheck(c.c, c.key, path) {
			checks++
		}
	}
	if checks == 0 && x.Callbacks == nil {
		v.errorf(x.Pos, path, "no check: want at least one of registered, roaming, searching, denied, not_registered, data_blocked, sims, attach_latency, usage_mb, upload_mb, download_mb, api, sms_commands, ip_commands or callbacks")
	}
}

// isCountryCode reports whether s has the form of an ISO 3166-1 alpha-2
// code: two upper-case letters.
func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// isPLMN reports whether s has the form of a PLMN: MCC and MNC, 5 or 6
// digits.
func isPLMN(s string) bool {
	if len(s) != 5 && len(s) != 6 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ResolveNetworks finds the networks of the catalog that ref names: a PLMN
// of 5 or 6 digits (26201: the network that has it), a country code in
// upper case when allowCountry and the catalog has networks there (DE: all
// of them; so "EE" is Estonia here, the British operator EE otherwise), or
// else a friendly name, which must name exactly one network. The errors
// wrap ErrUnknownNetwork or ErrAmbiguousNetwork. The result is the
// caller's.
func ResolveNetworks(cat *sim.Catalog, ref string, allowCountry bool) ([]sim.Network, error) {
	return resolveNetworks(cat, ref, allowCountry, true)
}

// resolveNetworks is ResolveNetworks, looking for a close name to suggest
// only when asked to.
func resolveNetworks(cat *sim.Catalog, ref string, allowCountry, withSuggestion bool) ([]sim.Network, error) {
	switch {
	case ref == "":
		return nil, fmt.Errorf("%w: the name is empty", ErrUnknownNetwork)
	case isPLMN(ref):
		n, ok := cat.ByPLMN(sim.PLMN{MCC: ref[:3], MNC: ref[3:]})
		if !ok {
			return nil, fmt.Errorf("%w: no network of the catalog has PLMN %s", ErrUnknownNetwork, ref)
		}
		return []sim.Network{n}, nil
	case isCountryCode(ref) && allowCountry && len(cat.InCountry(ref)) > 0:
		return slices.Clone(cat.InCountry(ref)), nil
	}
	var found []sim.Network
	for _, n := range cat.Networks() {
		if n.FriendlyName == ref {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return found, nil
	case 0:
		switch {
		case isCountryCode(ref) && len(cat.InCountry(ref)) > 0: // and not allowed
			return nil, fmt.Errorf("%w %q: a country is not allowed here; want a PLMN such as 26201 or a network name of the catalog", ErrUnknownNetwork, ref)
		case isCountryCode(ref) && allowCountry:
			return nil, fmt.Errorf("%w %q: the catalog has no networks in country %s, nor a network of that name", ErrUnknownNetwork, ref, ref)
		}
		if withSuggestion {
			var all []string
			for _, n := range cat.Networks() {
				all = append(all, n.FriendlyName)
			}
			if s := suggest(ref, all); s != "" {
				return nil, fmt.Errorf("%w %q, did you mean %q?", ErrUnknownNetwork, ref, s)
			}
		}
		want := "a PLMN such as 26201 or a network name of the catalog"
		if allowCountry {
			want = "a PLMN such as 26201, a country code such as DE or a network name of the catalog"
		}
		return nil, fmt.Errorf("%w %q: want %s", ErrUnknownNetwork, ref, want)
	}
	var cands []string
	for _, n := range found {
		if len(cands) == 8 {
			cands = append(cands, fmt.Sprintf("and %d more", len(found)-8))
			break
		}
		var plmns []string
		for i, p := range n.Identifiers {
			if i == 3 {
				plmns = append(plmns, "…")
				break
			}
			plmns = append(plmns, p.String())
		}
		cands = append(cands, fmt.Sprintf("%s %s", n.IsoCountry, strings.Join(plmns, "/")))
	}
	return nil, fmt.Errorf("%w %q: %d networks have it (%s); write a PLMN instead", ErrAmbiguousNetwork, ref, len(found), strings.Join(cands, ", "))
}

// quoteList writes at most n names, quoted.
func quoteList(list []string, n int) string {
	var b strings.Builder
	for i, s := range list {
		if i == n {
			fmt.Fprintf(&b, " and %d more", len(list)-n)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(s))
	}
	return b.String()
}
