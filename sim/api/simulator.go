package api

import (
	"net/http"

	"github.com/fleetsim/fleetsim/sim"
)

// simulatorRoutes serves the simulator's own endpoints under /_fleetsim/,
// which are not part of Twilio's API. They need the main account.
func (s *Server) simulatorRoutes() {
	c := s.ctl
	mainOnly := func(h acctHandler) acctHandler {
		return func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			if !a.IsMain() {
				writeError(w, &sim.Error{Code: sim.CodeUnauthorized, Status: http.StatusForbidden,
					Message: "Only the main account may use the simulator's endpoints"})
				return
			}
			h(w, r, a)
		}
	}
	type cardJSON struct {
		Index            int     `json:"index"`
		ICCID            string  `json:"iccid"`
		IMSI             string  `json:"imsi"`
		RegistrationCode string  `json:"registration_code"`
		SimSid           *string `json:"sim_sid"`
		AccountSid       *string `json:"account_sid"`
	}
	s.handle("/_fleetsim/v1/cards", methods{
		http.MethodGet: mainOnly(func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			cards := c.Cards()
			out := make([]cardJSON, len(cards))
			for i, cd := range cards {
				out[i] = cardJSON{Index: cd.Index, ICCID: cd.ICCID, IMSI: cd.IMSI, RegistrationCode: cd.RegistrationCode,
					SimSid: null(cd.SimSid), AccountSid: null(cd.AccountSid)}
			}
			writeJSON(w, http.StatusOK, map[string]any{"cards": out})
		}),
	})
	type accountJSON struct {
		Sid          string  `json:"sid"`
		FriendlyName string  `json:"friendly_name"`
		AuthToken    string  `json:"auth_token"`
		ParentSid    *string `json:"parent_sid"`
		DateCreated  *string `json:"date_created"`
	}
	renderAccount := func(a *sim.Account) accountJSON {
		return accountJSON{Sid: a.Sid, FriendlyName: a.FriendlyName, AuthToken: a.AuthToken,
			ParentSid: null(a.ParentSid), DateCreated: date(a.DateCreated)}
	}
	s.handle("/_fleetsim/v1/Accounts", methods{
		http.MethodGet: mainOnly(func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			accts := c.Accounts()
			out := make([]accountJSON, len(accts))
			for i, x := range accts {
				out[i] = renderAccount(x)
			}
			writeJSON(w, http.StatusOK, map[string]any{"accounts": out})
		}),
		http.MethodPost: mainOnly(func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			sub, err := c.CreateSubaccount(r.Context(), formOf(r).get("FriendlyName"))
			respond(w, http.StatusCreated, sub, err, func(x *sim.Account) any { return renderAccount(x) })
		}),
	})
}
