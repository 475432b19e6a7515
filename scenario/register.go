package scenario

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/firmware"
	"github.com/fleetsim/fleetsim/sim"
)

// registerSim registers the card of device i of group g and puts its SIM
// in the group's Fleet and first status: the requests POST /v1/Sims
// (Iccid, RegistrationCode) and POST /v1/Sims/{Sid} (Fleet, Status).
//
// With the embedded control plane, a million of them would spend most of
// the set-up encoding and decoding forms and JSON, so the runner calls
// what the API's handlers call for those two requests, in process and in
// the same order: Control.RegisterSim, then Control.UpdateSim with the
// parameters the handler would read from the form, as the account the
// group's requests authenticate as. The control plane's validation and
// effects are the same (the SIDs, drawn from the run's seed, too); only
// the HTTP encoding is skipped. They count as API requests in the report,
// and a refusal reads as the API's would (*apiclient.Error). Timeline
// actions and expectations still go through the API. setupOverHTTP
// (tests) makes the set-up take the HTTP path.
func (r *runner) registerSim(ctx context.Context, g *firmware.Group, i int, card sim.Card) error {
	if r.setupOverHTTP {
		p := url.Values{"Iccid": {card.ICCID}, "RegistrationCode": {card.RegistrationCode}}
		if _, err := r.client(g.Spec.Account).Call(ctx, http.MethodPost, "/v1/Sims", p, nil); err != nil {
			return err
		}
		s, err := r.ctl.SimByICCID(card.ICCID) // a query: the record's own SID string
		if err != nil {
			return err
		}
		r.sids.set(i, s.Sid)
		return r.setupSim(ctx, g, i)
	}
	c := r.client(g.Spec.Account)
	acct, err := r.ctl.Authenticate(c.SID, c.Auth)
	if err != nil {
		return apiError(http.MethodPost, "/v1/Sims", err)
	}
	c.Count()
	s, err := r.ctl.RegisterSim(ctx, acct, card.ICCID, card.RegistrationCode)
	if err != nil {
		return apiError(http.MethodPost, "/v1/Sims", err)
	}
	r.sids.set(i, s.Sid)
	var p sim.SimParams
	if g.Spec.Fleet != "" {
		fleet := r.fleets[g.Spec.Fleet]
		p.Fleet = &fleet
	}
	if status := firstStatus(g.Spec.SimStatus); status != "new" {
		p.Status = &status
	}
	if p.Fleet != nil || p.Status != nil {
		c.Count()
		if _, _, err := r.ctl.UpdateSim(ctx, acct, s.Sid, p); err != nil {
			return apiError(http.MethodPost, "/v1/Sims/"+s.Sid, err)
		}
	}
	r.deactivateLater(g, i)
	return nil
}

// apiError is the error the API would have answered for err.
func apiError(method, path string, err error) error {
	var e *sim.Error
	if !errors.As(err, &e) {
		return &apiclient.Error{Method: method, Path: path, Status: http.StatusInternalServerError, Code: 20500, Message: "Internal error"}
	}
	return &apiclient.Error{Method: method, Path: path, Status: e.Status, Code: e.Code, Message: e.Message}
}
