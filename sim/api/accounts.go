package api

import (
	"net/http"
	"strings"

	"github.com/fleetsim/fleetsim/sim"
)

// accountJSON2010 is the Account resource of Twilio's 2010-04-01 API, so
// that a client library's own subaccount calls (e.g. twilio-go's
// ApiV2010.CreateAccount) work against the simulator too.
type accountJSON2010 struct {
	AuthToken       string            `json:"auth_token"`
	DateCreated     string            `json:"date_created"`
	DateUpdated     string            `json:"date_updated"`
	FriendlyName    string            `json:"friendly_name"`
	OwnerAccountSid string            `json:"owner_account_sid"`
	Sid             string            `json:"sid"`
	Status          string            `json:"status"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	Type            string            `json:"type"`
	URI             string            `json:"uri"`
}

func renderAccount2010(a *sim.Account) accountJSON2010 {
	owner := a.ParentSid
	if owner == "" {
		owner = a.Sid
	}
	d := a.DateCreated.UTC().Format(http.TimeFormat)
	d = strings.Replace(d, "GMT", "+0000", 1)
	return accountJSON2010{
		AuthToken: a.AuthToken, DateCreated: d, DateUpdated: d, FriendlyName: a.FriendlyName,
		OwnerAccountSid: owner, Sid: a.Sid, Status: "active", SubresourceURIs: map[string]string{},
		Type: "Full", URI: "/2010-04-01/Accounts/" + a.Sid + ".json",
	}
}

// accountRoutes serves the part of /2010-04-01/Accounts that manages
// subaccounts: create (main account only), fetch and list.
func (s *Server) accountRoutes() {
	c := s.ctl
	s.handle("/2010-04-01/Accounts.json", methods{
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			if !a.IsMain() {
				writeError(w, &sim.Error{Code: sim.CodeUnauthorized, Status: http.StatusForbidden, Message: "Only the main account may create subaccounts"})
				return
			}
			sub, err := c.CreateSubaccount(r.Context(), formOf(r).get("FriendlyName"))
			respond(w, http.StatusCreated, sub, err, func(x *sim.Account) any { return renderAccount2010(x) })
		},
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			var out []any
			for _, x := range c.Accounts() {
				if x.Sid == a.Sid || x.ParentSid == a.Sid {
					out = append(out, renderAccount2010(x))
				}
			}
			if out == nil {
				out = []any{}
			}
			uri := "/2010-04-01/Accounts.json"
			writeJSON(w, http.StatusOK, map[string]any{
				"accounts": out, "end": len(out) - 1, "first_page_uri": uri + "?PageSize=50&Page=0",
				"next_page_uri": nil, "page": 0, "page_size": 50, "previous_page_uri": nil, "start": 0, "uri": uri,
			})
		},
	})
	s.handle("/2010-04-01/Accounts/{File}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			sid, ok := strings.CutSuffix(r.PathValue("File"), ".json")
			for _, x := range c.Accounts() {
				if ok && x.Sid == sid && (x.Sid == a.Sid || x.ParentSid == a.Sid) {
					writeJSON(w, http.StatusOK, renderAccount2010(x))
					return
				}
			}
			writeError(w, notFound(r))
		},
	})
}
