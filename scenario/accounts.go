package scenario

import (
	"context"
	"net/http"
	"net/url"

	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// accountState is the run's accounts and its callback receiver.
type accountState struct {
	hooks *receiver
	accts map[string]*apiclient.Client // account name → a client with its credentials
}

// client returns the API client of an account by name ("" or main: the
// main account's).
func (r *runner) client(name string) *apiclient.Client {
	if c, ok := r.accts[name]; ok {
		return c
	}
	return r.api
}

// authToken returns the auth token of the account with this SID, the main
// account's when sid is unknown.
func (r *runner) authToken(sid string) string {
	for _, c := range r.accts {
		if c.SID == sid {
			return c.Auth
		}
	}
	return r.api.Auth
}

// accountSid returns the SID of an account by name.
func (r *runner) accountSid(name string) (string, bool) {
	c, ok := r.accts[name]
	if !ok {
		return "", false
	}
	return c.SID, true
}

// setupAccounts creates the scenario's subaccounts through the 2010-04-01
// Accounts API, or reuses the main account's subaccounts of the same
// friendly name.
func (r *runner) setupAccounts(ctx context.Context) error {
	r.accts = map[string]*apiclient.Client{spec.MainAccount: r.api}
	if len(r.s.Control.Accounts) == 0 {
		return nil
	}
	type account struct {
		Sid          string `json:"sid"`
		AuthToken    string `json:"auth_token"`
		FriendlyName string `json:"friendly_name"`
	}
	var list struct {
		Accounts []account `json:"accounts"`
	}
	if r.api.Handler == nil { // the embedded control plane starts empty
		if _, err := r.api.Call(ctx, http.MethodGet, "/2010-04-01/Accounts.json", nil, &list); err != nil {
			return err
		}
	}
	for _, spec := range r.s.Control.Accounts {
		var a account
		for _, x := range list.Accounts {
			if x.FriendlyName == spec.Name && x.Sid != r.api.SID {
				a = x
				break
			}
		}
		if a.Sid == "" {
			if _, err := r.api.Call(ctx, http.MethodPost, "/2010-04-01/Accounts.json", url.Values{"FriendlyName": {spec.Name}}, &a); err != nil {
				return err
			}
		}
		r.accts[spec.Name] = r.api.Account(a.Sid, a.AuthToken)
	}
	return nil
}

// simChangeParams adds a SIM change's move and callback to its request.
func (r *runner) simChangeParams(c *spec.SIMChange, p url.Values) {
	if c.Account != "" {
		sid, _ := r.accountSid(c.Account)
		p.Set("AccountSid", sid)
		if c.Fleet == "" {
			p.Set("Fleet", "")
		}
	}
	if c.Callback != "" {
		p.Set("CallbackUrl", r.hooks.url("sim_update"))
		if c.CallbackMethod != "" {
			p.Set("CallbackMethod", c.CallbackMethod)
		}
	}
}

// checkClient is the client an expectation's API checks use: its
// account's, else its group's account's.
func (r *runner) checkClient(e *spec.Expectation) *apiclient.Client {
	if e.Account != "" {
		return r.client(e.Account)
	}
	if g := r.group(e.Group); g != nil {
		return r.client(g.Spec.Account)
	}
	return r.api
}
