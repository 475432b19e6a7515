package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// Extension is a simulator endpoint served by another package (the modem
// controls, the console), behind the API's credentials: the main
// account's, unless AnyAccount.
type Extension struct {
	Pattern string // a ServeMux pattern, e.g. "/_fleetsim/v1/modems/"
	Handler http.Handler
	// AnyAccount lets every account in, subaccounts too; the handler finds
	// who is calling with AccountOf and shows them only their own.
	AnyAccount bool
}

type accountKey struct{}

// AccountOf returns the account an extension's request was authenticated
// as, or nil outside one.
func AccountOf(ctx context.Context) *sim.Account {
	a, _ := ctx.Value(accountKey{}).(*sim.Account)
	return a
}

// WithExtension mounts a simulator endpoint.
func WithExtension(e Extension) Option {
	return func(s *Server) { s.extensions = append(s.extensions, e) }
}

// WithCardExtras adds fields to each card of GET /_fleetsim/v1/cards, such
// as the PTY of the modem holding it.
func WithCardExtras(f func(iccid string) map[string]any) Option {
	return func(s *Server) { s.cardExtras = f }
}

// simulatorRoutes serves the simulator's own endpoints under /_fleetsim/,
// which are not part of Twilio's API. They need the main account.
func (s *Server) simulatorRoutes() {
	s.accountRoutes()
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
	for _, e := range s.extensions {
		h, anyAccount := e.Handler, e.AnyAccount
		s.route(e.Pattern, func(w http.ResponseWriter, r *http.Request) {
			a, err := s.authenticate(r)
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
				writeError(w, err)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
			r = r.WithContext(context.WithValue(r.Context(), accountKey{}, a))
			if anyAccount {
				h.ServeHTTP(w, r)
				return
			}
			mainOnly(func(w http.ResponseWriter, r *http.Request, _ *sim.Account) { h.ServeHTTP(w, r) })(w, r, a)
		})
	}
	s.handle("/_fleetsim/v1/cards", methods{
		http.MethodGet: mainOnly(func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			cards := c.Cards()
			out := make([]map[string]any, len(cards))
			for i, cd := range cards {
				out[i] = map[string]any{"index": cd.Index, "iccid": cd.ICCID, "imsi": cd.IMSI,
					"registration_code": cd.RegistrationCode, "sim_sid": null(cd.SimSid), "account_sid": null(cd.AccountSid)}
				if s.cardExtras != nil {
					for k, v := range s.cardExtras(cd.ICCID) {
						out[i][k] = v
					}
				}
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
	s.handle("/_fleetsim/v1/Webhooks", methods{
		http.MethodGet: mainOnly(func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			st, err := sim.ParseWebhookStatus(p.get("Status"))
			if err != nil {
				writeError(w, err)
				return
			}
			ds := c.WebhookDeliveries(sim.WebhookQuery{Status: st, Kind: sim.WebhookKind(p.get("Kind"))})
			out := make([]webhookJSON, len(ds))
			for i, d := range ds {
				out[i] = renderWebhook(d)
			}
			writeJSON(w, http.StatusOK, map[string]any{"webhooks": out, "stats": renderWebhookStats(c.WebhookStats())})
		}),
	})
}

// webhookJSON is one callback in GET /_fleetsim/v1/Webhooks.
type webhookJSON struct {
	ID               string               `json:"id"`
	Kind             *string              `json:"kind"`
	URL              string               `json:"url"`
	Destination      *string              `json:"destination"`
	Method           string               `json:"method"`
	Params           url.Values           `json:"params"`
	IdempotencyToken string               `json:"idempotency_token"`
	Status           sim.WebhookStatus    `json:"status"`
	Reason           *string              `json:"reason"`
	DateCreated      string               `json:"date_created"`
	DateUpdated      string               `json:"date_updated"`
	Attempts         []webhookAttemptJSON `json:"attempts"`
}

type webhookAttemptJSON struct {
	Attempt    int     `json:"attempt"`
	Date       string  `json:"date"`
	HTTPStatus *int    `json:"http_status"`
	Error      *string `json:"error"`
	DurationMs float64 `json:"duration_ms"`
}

// webhookCountsJSON are the figures of webhook delivery, in all or for one
// destination, in GET /_fleetsim/v1/Webhooks.
type webhookCountsJSON struct {
	Destination string `json:"destination,omitempty"`
	Queued      int    `json:"queued"`
	InFlight    int    `json:"in_flight"`
	Attempts    uint64 `json:"attempts"`
	Delivered   uint64 `json:"delivered"`
	Failed      uint64 `json:"failed"`
	Dropped     uint64 `json:"dropped"`
}

type webhookStatsJSON struct {
	webhookCountsJSON
	Destinations []webhookCountsJSON `json:"destinations"`
}

func renderWebhookStats(st sim.WebhookStats) webhookStatsJSON {
	counts := func(dest string, c sim.WebhookCounts) webhookCountsJSON {
		return webhookCountsJSON{dest, c.Queued, c.InFlight, c.Attempts, c.Delivered, c.Failed, c.Dropped}
	}
	out := webhookStatsJSON{webhookCountsJSON: counts("", st.WebhookCounts), Destinations: make([]webhookCountsJSON, len(st.Destinations))}
	for i, d := range st.Destinations {
		out.Destinations[i] = counts(d.Destination, d.WebhookCounts)
	}
	return out
}

// webhookTime keeps milliseconds: attempts of one callback can fall within
// the same second.
const webhookTime = "2006-01-02T15:04:05.000Z07:00"

func renderWebhook(d sim.WebhookDelivery) webhookJSON {
	out := webhookJSON{
		ID: d.ID, Kind: null(string(d.Kind)), URL: d.URL, Destination: null(d.Destination), Method: d.Method, Params: d.Params,
		IdempotencyToken: d.IdempotencyToken, Status: d.Status, Reason: null(d.Reason),
		DateCreated: d.Created.UTC().Format(webhookTime), DateUpdated: d.Updated.UTC().Format(webhookTime),
		Attempts: make([]webhookAttemptJSON, len(d.Attempts)),
	}
	for i, a := range d.Attempts {
		aj := webhookAttemptJSON{Attempt: a.Attempt, Date: a.Time.UTC().Format(webhookTime),
			Error: null(a.Error), DurationMs: float64(a.Duration) / float64(time.Millisecond)}
		if a.HTTPStatus != 0 {
			code := a.HTTPStatus
			aj.HTTPStatus = &code
		}
		out.Attempts[i] = aj
	}
	return out
}
