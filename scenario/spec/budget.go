package spec

import (
	"fmt"
	"time"
)

// Floors and the budget of a run: what validation refuses before a run
// costs more than a CI job can give it. An interval under its floor
// simulates nothing a fleet does (a module takes seconds to boot and
// attach) and only costs time and memory.
const (
	MinSample     = time.Second      // sample
	MinEvery      = time.Second      // a timeline entry's every, a group's data.every and retry.backoff
	MinPowerCycle = 10 * time.Second // a group's power_cycle.every: more than a boot and an attach
	// MaxEvents bounds the events a run is estimated to simulate: about an
	// hour of wall time at a quarter of a million events a second.
	MaxEvents = 1_000_000_000
)

// Events a device spends, roughly, on what a scenario asks of it; the
// budget needs orders of magnitude, not a count.
const (
	bootEvents     = 12 // power-up, boot, initialisation, scan, attach
	transferEvents = 6  // context, dial, data, escape, answers
	actionEvents   = 2  // a timeline action on one device or resource
	checksPerEvent = 16 // device checks of a sample that cost one event
)

// atLeast checks an interval against its floor.
func (v *validator) atLeast(at Pos, path string, d Duration, floor time.Duration) bool {
	switch {
	case d <= 0:
		v.errorf(at, path, "must be more than 0")
		return false
	case d.D() < floor:
		v.errorf(at, path, "must be at least %s, got %s", Duration(floor), d)
		return false
	}
	return true
}

// budget estimates the events of the run and refuses a run over MaxEvents
// where its largest cost is written. Intervals under their floor are
// reported already and left out.
func (v *validator) budget() {
	s := v.s
	end := v.end
	if end <= 0 {
		return
	}
	type cost struct {
		at     Pos
		path   string
		events float64
	}
	var costs []cost
	add := func(at Pos, path string, n float64) { costs = append(costs, cost{at, path, n}) }
	times := func(from, until time.Duration, every Duration) float64 {
		if every.D() <= 0 || until < from {
			return 0
		}
		return float64((until-from)/every.D()) + 1
	}
	size := map[string]int{}
	all := 0
	for i, g := range s.Devices {
		if g.Count < 1 || g.Count > v.maxDevices {
			return // reported for the group
		}
		size[g.Name] = g.Count
		all += g.Count
		path := fmt.Sprintf("devices[%d]", i)
		n := float64(g.Count)
		add(g.Pos.At("count"), path+".count", n*bootEvents)
		if d := g.Data; d != nil && d.Every.D() >= MinEvery {
			add(d.Pos.At("every"), path+".data.every", n*times(0, end, d.Every)*transferEvents)
		}
		if c := g.SMS; c != nil && c.Every != nil && c.Every.D() >= MinSMSEvery {
			add(c.Pos.At("every"), path+".sms.every", n*times(0, end, *c.Every)*smsEvents)
		}
		if c := g.IP; c != nil && c.Every != nil && c.Every.D() >= MinIPEvery {
			add(c.Pos.At("every"), path+".ip.every", n*times(0, end, *c.Every)*ipEvents)
		}
		if pc := g.PowerCycle; pc != nil && pc.Every.D() >= MinPowerCycle {
			add(pc.Pos.At("every"), path+".power_cycle.every", n*times(0, end, pc.Every)*bootEvents)
		}
	}
	for i, e := range s.Timeline {
		if e.Every == nil || e.Every.D() < MinEvery {
			continue
		}
		per := float64(actionEvents)
		var t *Targets
		switch {
		case e.PowerCycle != nil:
			t, per = e.PowerCycle, bootEvents
		case e.SIMs != nil:
			t = &e.SIMs.Targets
		case e.Move != nil:
			t = &e.Move.Targets
		case e.SMS != nil:
			t, per = &e.SMS.Targets, smsEvents
		case e.IP != nil:
			t = &e.IP.Targets
		}
		if t != nil {
			per *= float64(t.Share.Of(size[t.Group]))
		}
		until := end
		if e.Until != nil {
			until = min(e.Until.D(), end)
		}
		from := e.From.D()
		if from == 0 {
			from = e.Every.D()
		}
		add(e.Pos.At("every"), fmt.Sprintf("timeline[%d].every", i), times(from, until, *e.Every)*per)
	}
	if s.Sample.D() >= MinSample {
		for i, x := range s.Expect {
			if w := x.During; w != nil {
				n := all
				if x.Group != "" {
					n = size[x.Group]
				}
				add(w.Pos.At("from"), fmt.Sprintf("expect[%d].during", i), times(w.From.D(), min(w.Until.D(), end), s.Sample)*float64(n)/checksPerEvent)
			}
		}
	}
	total, top := 0.0, -1
	for i, c := range costs {
		total += c.events
		if top < 0 || c.events > costs[top].events {
			top = i
		}
	}
	// A sharded run: each shard simulates its slice of the devices (the
	// shared timeline and checks are a small part of the cost).
	total /= float64(v.shards)
	if total <= MaxEvents || top < 0 {
		return
	}
	c := costs[top]
	if v.shards > 1 {
		v.errorf(c.at, c.path, "each of the %d shards would simulate about %.3g events, more than the %.0e a run may (%.0f%% of them from here): use more shards, longer intervals, fewer devices or a shorter duration",
			v.shards, total, float64(MaxEvents), 100*c.events/(total*float64(v.shards)))
		return
	}
	v.errorf(c.at, c.path, "the run would simulate about %.3g events, more than the %.0e a run may (%.0f%% of them from here): use longer intervals, fewer devices or a shorter duration",
		total, float64(MaxEvents), 100*c.events/total)
}
