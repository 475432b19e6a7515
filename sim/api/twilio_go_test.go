package api

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	supersim "github.com/twilio/twilio-go/rest/supersim/v1"

	"github.com/fleetsim/fleetsim/sim"
)

// redirectTransport sends every request to target whatever host the
// caller addressed: twilio-go has no base URL option and always builds
// https://supersim.twilio.com/... URLs. It records what was asked for.
type redirectTransport struct {
	target *url.URL
	base   http.RoundTripper

	mu   sync.Mutex
	seen []string // "METHOD original-host path?query"
}

func (rt *redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, req.Method+" "+req.URL.Host+" "+req.URL.RequestURI())
	rt.mu.Unlock()
	r := req.Clone(req.Context()) // a RoundTripper must not modify its request
	r.URL.Scheme = rt.target.Scheme
	r.URL.Host = rt.target.Host
	r.Host = "" // send Host: <target>, so url and next_page_url lead back here
	return rt.base.RoundTrip(r)
}

func (rt *redirectTransport) requests() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.seen...)
}

// newTwilioGoClient returns an official twilio-go client whose requests go
// to the simulator of e through its OpenAPI-validating transport.
func newTwilioGoClient(t *testing.T, e *testEnv, acct *sim.Account) (*twilio.RestClient, *redirectTransport) {
	t.Helper()
	target, err := url.Parse(e.srv.URL)
	require.NoError(t, err)
	rt := &redirectTransport{target: target, base: e.client.Transport}
	// With ClientParams.Client set, NewRestClientWithParams ignores
	// Username and Password: the credentials live in the client.Client.
	c := &client.Client{
		Credentials: client.NewCredentials(acct.Sid, acct.AuthToken),
		HTTPClient: &http.Client{
			Transport: rt,
			Timeout:   10 * time.Second,
			// As twilio-go's default client: never follow redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(acct.Sid)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}), rt
}

func TestTwilioGoClient(t *testing.T) {
	// The library reads these and would rewrite the host otherwise.
	t.Setenv("TWILIO_EDGE", "")
	t.Setenv("TWILIO_REGION", "")
	e := newEnv(t)
	tw, rt := newTwilioGoClient(t, e, e.main)
	ss := tw.SupersimV1

	// Networks of one country.
	nets, err := ss.ListNetwork(new(supersim.ListNetworkParams).SetIsoCountry("GB"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(nets), 3)
	gb := map[string]bool{}
	for _, n := range nets {
		require.NotNil(t, n.IsoCountry)
		assert.Equal(t, "GB", *n.IsoCountry)
		gb[*n.Sid] = true
	}
	vodafone, ee, o2 := e.networkSid("234", "15"), e.networkSid("234", "30"), e.networkSid("234", "10")
	for _, sid := range []string{vodafone, ee, o2} {
		assert.True(t, gb[sid], "%s not among the GB networks", sid)
	}

	// A Network Access Profile and its allow list.
	nap, err := ss.CreateNetworkAccessProfile(new(supersim.CreateNetworkAccessProfileParams).
		SetUniqueName("gb-nap").SetNetworks([]string{vodafone}))
	require.NoError(t, err)
	require.NotNil(t, nap.Sid)
	assert.Equal(t, "gb-nap", *nap.UniqueName)
	added, err := ss.CreateNetworkAccessProfileNetwork(*nap.Sid, new(supersim.CreateNetworkAccessProfileNetworkParams).SetNetwork(ee))
	require.NoError(t, err)
	assert.Equal(t, ee, *added.Sid)
	assert.Equal(t, *nap.Sid, *added.NetworkAccessProfileSid)
	_, err = ss.CreateNetworkAccessProfileNetwork(*nap.Sid, new(supersim.CreateNetworkAccessProfileNetworkParams).SetNetwork(o2))
	require.NoError(t, err)
	allowed, err := ss.ListNetworkAccessProfileNetwork(*nap.Sid, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{vodafone, ee, o2}, napNetworkSids(allowed))
	require.NoError(t, ss.DeleteNetworkAccessProfileNetwork(*nap.Sid, o2))
	allowed, err = ss.ListNetworkAccessProfileNetwork(*nap.Sid, new(supersim.ListNetworkAccessProfileNetworkParams).SetPageSize(1).SetLimit(10))
	require.NoError(t, err)
	assert.Equal(t, []string{vodafone, ee}, napNetworkSids(allowed))

	// A Fleet with the defaults, the NAP named by its unique name.
	fleet, err := ss.CreateFleet(new(supersim.CreateFleetParams).SetNetworkAccessProfile("gb-nap").SetUniqueName("trackers"))
	require.NoError(t, err)
	assert.Equal(t, *nap.Sid, *fleet.NetworkAccessProfileSid)
	assert.Equal(t, 1000, fleet.DataLimit)
	assert.True(t, *fleet.DataEnabled)
	assert.True(t, *fleet.SmsCommandsEnabled)
	assert.Equal(t, "POST", *fleet.SmsCommandsMethod)
	assert.Equal(t, "POST", *fleet.IpCommandsMethod)
	assert.Equal(t, "payg", *fleet.DataMetering)

	// Register inventory cards.
	const n = 5
	var sids []string
	for i := range n {
		c := e.card(i)
		s, err := ss.CreateSim(new(supersim.CreateSimParams).SetIccid(c.ICCID).SetRegistrationCode(c.RegistrationCode))
		require.NoError(t, err)
		assert.Equal(t, c.ICCID, *s.Iccid)
		assert.Equal(t, "new", *s.Status)
		assert.Nil(t, s.FleetSid)
		assert.Equal(t, e.main.Sid, *s.AccountSid)
		sids = append(sids, *s.Sid)
	}

	// Activate one: accepted, scheduled, then active after the update delay.
	upd, err := ss.UpdateSimWithMetadata(sids[0], new(supersim.UpdateSimParams).SetStatus("active").SetFleet("trackers").SetUniqueName("tracker-0"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, upd.StatusCode)
	assert.Equal(t, "scheduled", *upd.GetResource().Status)
	e.clock.Advance(sim.DefaultUpdateDelay + time.Second)
	got, err := ss.FetchSim("tracker-0") // by unique name
	require.NoError(t, err)
	assert.Equal(t, sids[0], *got.Sid)
	assert.Equal(t, "active", *got.Status)
	require.NotNil(t, got.FleetSid)
	assert.Equal(t, *fleet.Sid, *got.FleetSid)
	require.NotNil(t, got.Url)
	assert.Equal(t, e.srv.URL+"/v1/Sims/"+sids[0], *got.Url, "url leads back to the simulator")

	// Update the Fleet's data limit.
	fleet, err = ss.UpdateFleet(*fleet.Sid, new(supersim.UpdateFleetParams).SetDataLimit(250))
	require.NoError(t, err)
	assert.Equal(t, 250, fleet.DataLimit)
	fleet, err = ss.FetchFleet("trackers")
	require.NoError(t, err)
	assert.Equal(t, 250, fleet.DataLimit)

	// The library follows next_page_url across pages: every Sim once.
	before := len(rt.requests())
	list, err := ss.ListSim(new(supersim.ListSimParams).SetPageSize(2).SetLimit(100))
	require.NoError(t, err)
	var listed []string
	for _, s := range list {
		listed = append(listed, *s.Sid)
	}
	assert.Equal(t, sids, listed)
	pages := rt.requests()[before:]
	assert.Len(t, pages, (n+1)/2, "one request per page: %q", pages)
	for _, p := range pages[1:] {
		assert.Contains(t, p, "PageToken=", "a following page is asked for with the next_page_url")
	}

	// Only the active Sim's Fleet filter matches it.
	inFleet, err := ss.ListSim(new(supersim.ListSimParams).SetFleet("trackers"))
	require.NoError(t, err)
	require.Len(t, inFleet, 1)
	assert.Equal(t, sids[0], *inFleet[0].Sid)

	// Billing periods of the active Sim.
	bps, err := ss.ListBillingPeriod(sids[0], nil)
	require.NoError(t, err)
	require.Len(t, bps, 1)
	bp := bps[0]
	assert.Equal(t, sids[0], *bp.SimSid)
	assert.Equal(t, e.main.Sid, *bp.AccountSid)
	assert.Equal(t, "active", *bp.PeriodType)
	require.NotNil(t, bp.StartTime)
	require.NotNil(t, bp.EndTime)
	assert.True(t, bp.EndTime.After(*bp.StartTime))
	none, err := ss.ListBillingPeriod(sids[1], nil) // never activated
	require.NoError(t, err)
	assert.Empty(t, none)

	// Errors arrive as the library's TwilioRestError.
	_, err = ss.FetchSim("HS00000000000000000000000000000000")
	var rerr *client.TwilioRestError
	require.True(t, errors.As(err, &rerr), "error %T: %v", err, err)
	assert.Equal(t, 20404, rerr.Code)
	assert.Equal(t, http.StatusNotFound, rerr.Status)
	assert.NotEmpty(t, rerr.Message)
	assert.Equal(t, "https://www.twilio.com/docs/errors/20404", rerr.MoreInfo)

	// The library addressed Twilio; the transport brought it here.
	reqs := rt.requests()
	assert.Contains(t, reqs[0], " supersim.twilio.com /v1/Networks?")
}

func napNetworkSids(ns []supersim.SupersimV1NetworkAccessProfileNetwork) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, *n.Sid)
	}
	return out
}

// TestTwilioGoSubaccounts: twilio-go's own Accounts call creates a
// subaccount, whose credentials then drive the Super SIM API.
func TestTwilioGoSubaccounts(t *testing.T) {
	e := newEnv(t)
	tw, _ := newTwilioGoClient(t, e, e.main)
	acct, err := tw.Api.CreateAccount(&openapi.CreateAccountParams{FriendlyName: ptrTo("customer A")})
	require.NoError(t, err)
	require.NotNil(t, acct.Sid)
	assert.Equal(t, e.main.Sid, *acct.OwnerAccountSid)
	assert.Equal(t, "customer A", *acct.FriendlyName)

	sub := &sim.Account{Sid: *acct.Sid, AuthToken: *acct.AuthToken}
	subClient, _ := newTwilioGoClient(t, e, sub)
	card := e.card(0)
	s, err := subClient.SupersimV1.CreateSim(&supersim.CreateSimParams{Iccid: &card.ICCID, RegistrationCode: &card.RegistrationCode})
	require.NoError(t, err)
	assert.Equal(t, sub.Sid, *s.AccountSid)
	mine, err := tw.SupersimV1.ListSim(nil)
	require.NoError(t, err)
	assert.Empty(t, mine, "the main account's list shows its own Sims only")
}

func ptrTo[T any](v T) *T { return &v }
