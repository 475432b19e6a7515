package api

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
)

func TestSubaccountsBothWays(t *testing.T) {
	e := newEnv(t)
	st, body := e.do(nil, http.MethodPost, "/2010-04-01/Accounts.json", url.Values{"FriendlyName": {"customer A"}})
	require.Equal(t, http.StatusCreated, st, "%v", body)
	assert.Equal(t, e.main.Sid, body["owner_account_sid"])
	assert.Equal(t, "customer A", body["friendly_name"])
	sub := &sim.Account{Sid: body["sid"].(string), AuthToken: body["auth_token"].(string)}

	st, body = e.do(nil, http.MethodPost, "/_fleetsim/v1/Accounts", url.Values{"FriendlyName": {"customer B"}})
	require.Equal(t, http.StatusCreated, st, "%v", body)
	assert.Equal(t, e.main.Sid, body["parent_sid"])

	st, body = e.do(nil, http.MethodGet, "/_fleetsim/v1/Accounts", nil)
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, body["accounts"], 3)
	st, body = e.do(nil, http.MethodGet, "/2010-04-01/Accounts.json", nil)
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, body["accounts"], 3)

	// A subaccount sees only itself, cannot create accounts or list cards.
	st, body = e.do(sub, http.MethodGet, "/2010-04-01/Accounts.json", nil)
	require.Equal(t, http.StatusOK, st)
	assert.Len(t, body["accounts"], 1)
	st, _ = e.do(sub, http.MethodPost, "/2010-04-01/Accounts.json", nil)
	assert.Equal(t, http.StatusForbidden, st)
	st, _ = e.do(sub, http.MethodGet, "/_fleetsim/v1/cards", nil)
	assert.Equal(t, http.StatusForbidden, st)
	st, _ = e.do(sub, http.MethodGet, "/2010-04-01/Accounts/"+e.main.Sid+".json", nil)
	assert.Equal(t, http.StatusNotFound, st)
	st, body = e.do(nil, http.MethodGet, "/2010-04-01/Accounts/"+sub.Sid+".json", nil)
	require.Equal(t, http.StatusOK, st)
	assert.Equal(t, sub.Sid, body["sid"])

	// The subaccount's credentials work on the Super SIM API.
	st, _ = e.do(sub, http.MethodGet, "/v1/Sims", nil)
	assert.Equal(t, http.StatusOK, st)
}

func TestCardsEndpoint(t *testing.T) {
	e := newEnv(t)
	sid := e.register(e.main, 2)
	st, body := e.do(nil, http.MethodGet, "/_fleetsim/v1/cards", nil)
	require.Equal(t, http.StatusOK, st)
	cards := body["cards"].([]any)
	require.Len(t, cards, 20)
	c2 := cards[2].(map[string]any)
	assert.Equal(t, sid, c2["sim_sid"])
	assert.Regexp(t, `^89883(07|23)\d{12}$`, c2["iccid"])
	assert.Regexp(t, `^\d{10}$`, c2["registration_code"])
	assert.Regexp(t, `^\d{15}$`, c2["imsi"])
	assert.Nil(t, cards[0].(map[string]any)["sim_sid"])
}
