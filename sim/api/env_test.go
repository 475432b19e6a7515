package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// testEpoch is when every test's virtual clock starts.
var testEpoch = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// testEnv is a control plane on a virtual clock behind a real HTTP server
// on loopback.
type testEnv struct {
	t     testing.TB
	ctl   *sim.Control
	clock *vclock.Clock
	srv   *httptest.Server
	main  *sim.Account
	// client sends requests to srv and checks every response against the
	// reference OpenAPI description.
	client *http.Client
}

func newEnv(t testing.TB, opts ...sim.Option) *testEnv {
	t.Helper()
	clock := vclock.New(testEpoch)
	opts = append([]sim.Option{sim.WithClock(clock), sim.WithCards("test", 20)}, opts...)
	ctl, err := sim.New(context.Background(), sim.NewMemStore(), opts...)
	require.NoError(t, err)
	srv := httptest.NewServer(New(ctl))
	e := &testEnv{t: t, ctl: ctl, clock: clock, srv: srv, main: ctl.MainAccount()}
	e.client = &http.Client{Transport: &validatingTransport{t: t, base: http.DefaultTransport}}
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, ctl.Close())
	})
	return e
}

// do sends a request as acct (nil: the main account) and decodes the JSON
// body. GET and DELETE send form as the query string, POST as the body.
func (e *testEnv) do(acct *sim.Account, method, path string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	if acct == nil {
		acct = e.main
	}
	u := e.srv.URL + path
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if len(form) > 0 {
		u += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(e.t, err)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(acct.Sid, acct.AuthToken)
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(e.t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return resp.StatusCode, out
}

// card returns inventory card i.
func (e *testEnv) card(i int) sim.CardInfo {
	return e.ctl.Cards()[i]
}

// register registers inventory card i to acct and returns the Sim SID.
func (e *testEnv) register(acct *sim.Account, i int) string {
	e.t.Helper()
	c := e.card(i)
	st, body := e.do(acct, http.MethodPost, "/v1/Sims", url.Values{"Iccid": {c.ICCID}, "RegistrationCode": {c.RegistrationCode}})
	require.Equal(e.t, http.StatusCreated, st, "%v", body)
	return body["sid"].(string)
}

// networkSid returns the catalog SID of the network with this PLMN.
func (e *testEnv) networkSid(mcc, mnc string) string {
	e.t.Helper()
	n, ok := e.ctl.Catalog().ByPLMN(sim.PLMN{MCC: mcc, MNC: mnc})
	require.True(e.t, ok, "no network %s-%s", mcc, mnc)
	return n.Sid
}
