package scenario

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

// SIMs that start ready or inactive reach that status through the API's
// own transitions (new→ready; new→active→inactive), each an asynchronous
// update that stays scheduled for settings.update_delay. With the
// embedded control plane the runner makes them before the start, in a
// set-up stretch of virtual time that no device lives through: the clock
// begins preroll earlier, the updates settle, and devices power up at the
// start on SIMs that already have their status.

// preroll is how much virtual time before the start the set-up needs for
// the groups' start statuses to settle: none when every group starts new
// or active (an active SIM's update settles while its modem boots).
func preroll(s *spec.Scenario) time.Duration {
	steps := 0
	for _, g := range s.Devices {
		switch g.SimStatus {
		case "ready":
			steps = max(steps, 1)
		case "inactive": // new→active, then active→inactive
			steps = max(steps, 2)
		}
	}
	if steps == 0 {
		return 0
	}
	return time.Duration(steps)*(s.Settings.UpdateDelay.D()+time.Second) + time.Second
}

// firstStatus is the status a group's SIMs are set to first: inactive is
// reached from active only.
func firstStatus(status string) string {
	if status == "inactive" {
		return "active"
	}
	return status
}

// settleStatuses plays the set-up stretch: once the first updates have
// settled, the SIMs of inactive groups are deactivated, and the clock
// reaches the start with every update settled. Only the embedded control
// plane's clock can be played ahead like this.
func (r *runner) settleStatuses(ctx context.Context) error {
	pre := preroll(r.s)
	if pre == 0 {
		return nil
	}
	r.Clock.AdvanceTo(r.s.Start.Time.Add(-pre + r.s.Settings.UpdateDelay.D() + time.Second))
	for _, g := range r.groups {
		if g.Spec.SimStatus != "inactive" {
			continue
		}
		for i := g.First; i < g.First+g.Count; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := url.Values{"Status": {"inactive"}}
			if _, err := r.api.Call(ctx, http.MethodPost, "/v1/Sims/"+r.sids.get(i), p, nil); err != nil {
				return err
			}
		}
	}
	r.Clock.AdvanceTo(r.s.Start.Time)
	return nil
}
