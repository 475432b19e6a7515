package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fleetJSON struct {
	Total    int            `json:"total"`
	ByFamily map[string]int `json:"by_family"`
	ByReg    map[string]int `json:"by_registration"`
	Blocked  int            `json:"data_blocked"`
	Matched  int            `json:"matched"`
	Rows     []struct {
		Index   int    `json:"index"`
		Profile string `json:"profile"`
		Reg     string `json:"registration"`
		Blocked string `json:"data_blocked"`
		SimSid  string `json:"sim_sid"`
		Network string `json:"network"`
	} `json:"rows"`
	TookMs float64 `json:"took_ms"`
}

type simsJSON struct {
	Total int `json:"total"`
	Rows  []struct {
		Sid     string `json:"sid"`
		Status  string `json:"status"`
		Fleet   string `json:"fleet_name"`
		Used    int64  `json:"data_used"`
		LimitMB int    `json:"data_limit_mb"`
		Blocked string `json:"data_blocked"`
		Modem   *int   `json:"modem"`
	} `json:"rows"`
}

// The console's JSON holds what the control plane and the modems hold; a
// subaccount sees only its own SIM and the modem holding it, and cannot
// use the modem controls.
func TestConsoleAPI(t *testing.T) {
	e := newEnv(t)
	e.settled(t)

	var f fleetJSON
	require.Equal(t, http.StatusOK, e.get(t, e.main, "/console/api/fleet", &f))
	assert.Equal(t, 5, f.Total)
	assert.Equal(t, map[string]int{"bg96": 3, "sim7080": 1, "sara-r4": 1}, f.ByFamily)
	assert.Equal(t, map[string]int{"roaming": 4, "denied": 1}, f.ByReg)
	assert.Equal(t, 1, f.Blocked)
	require.Len(t, f.Rows, 5)
	for i, r := range f.Rows {
		assert.Equal(t, i, r.Index)
		assert.Equal(t, e.families[i], r.Profile, "modem %d", i)
		assert.Equal(t, e.fleet.Modems()[i].Status().RegName, r.Reg, "modem %d", i)
	}
	assert.Equal(t, "limit", f.Rows[0].Blocked)
	assert.Empty(t, f.Rows[1].Blocked)
	assert.NotEmpty(t, f.Rows[1].Network)

	// Filter and page.
	require.Equal(t, http.StatusOK, e.get(t, e.main, "/console/api/fleet?family=bg96&offset=1&limit=1", &f))
	assert.Equal(t, 3, f.Matched)
	require.Len(t, f.Rows, 1)
	assert.Equal(t, 1, f.Rows[0].Index)
	require.Equal(t, http.StatusOK, e.get(t, e.main, "/console/api/fleet?blocked=true", &f))
	require.Len(t, f.Rows, 1)
	assert.Equal(t, 0, f.Rows[0].Index)

	var s simsJSON
	require.Equal(t, http.StatusOK, e.get(t, e.main, "/console/api/sims", &s))
	require.Equal(t, 4, s.Total) // the main account sees its subaccount's SIM too
	assert.Equal(t, e.sims[0].Sid, s.Rows[0].Sid)
	assert.Equal(t, "limit", s.Rows[0].Blocked)
	assert.Equal(t, int64(2<<20), s.Rows[0].Used)
	assert.Equal(t, 1, s.Rows[0].LimitMB)
	assert.Equal(t, "trackers", s.Rows[0].Fleet)
	assert.Empty(t, s.Rows[1].Blocked)
	require.NotNil(t, s.Rows[1].Modem)
	assert.Equal(t, 1, *s.Rows[1].Modem)

	// The subaccount.
	require.Equal(t, http.StatusOK, e.get(t, e.sub, "/console/api/fleet", &f))
	assert.Equal(t, 1, f.Total)
	require.Len(t, f.Rows, 1)
	assert.Equal(t, 3, f.Rows[0].Index)
	require.Equal(t, http.StatusOK, e.get(t, e.sub, "/console/api/sims", &s))
	require.Len(t, s.Rows, 1)
	assert.Equal(t, e.sims[3].Sid, s.Rows[0].Sid)
	assert.Equal(t, http.StatusNotFound, e.get(t, e.sub, "/console/api/modems/0", nil))
	assert.Equal(t, http.StatusNotFound, e.get(t, e.sub, "/console/api/modems/0/at", nil))
	assert.Equal(t, http.StatusOK, e.get(t, e.sub, "/console/api/modems/3", nil))
	assert.Equal(t, http.StatusForbidden, e.post(t, e.sub, "/_fleetsim/v1/modems/3", url.Values{"Signal": {"5"}}))

	// Without credentials: the API's challenge.
	resp, err := http.Get(e.srv.URL + "/console/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Basic realm="Twilio API"`, resp.Header.Get("WWW-Authenticate"))
}

// Recent activity lists SMS Commands and the callbacks they made.
func TestConsoleActivity(t *testing.T) {
	e := newEnv(t)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)
	e.settled(t)
	cmd, err := e.ctl.CreateSmsCommand(context.Background(), e.main, e.sims[1].Sid, "ping", hook.URL+"/status", http.MethodPost)
	require.NoError(t, err)
	type activity struct {
		Commands []struct {
			Sid, Kind, Payload string
		} `json:"commands"`
		Callbacks []struct {
			Kind, Status, URL string
			HTTP              int `json:"http_status"`
		} `json:"callbacks"`
	}
	var a activity
	eventually(t, "the SMS Command's callback to be delivered", func() bool {
		a = activity{}
		e.get(t, e.main, "/console/api/activity", &a)
		return len(a.Callbacks) > 0 && a.Callbacks[0].Status == "delivered"
	})
	require.NotEmpty(t, a.Commands)
	assert.Equal(t, cmd.Sid, a.Commands[0].Sid)
	assert.Equal(t, "sms", a.Commands[0].Kind)
	assert.Equal(t, "ping", a.Commands[0].Payload)
	assert.Equal(t, hook.URL+"/status", a.Callbacks[0].URL)
	assert.Equal(t, http.StatusOK, a.Callbacks[0].HTTP)

	// The subaccount sees neither.
	var b activity
	require.Equal(t, http.StatusOK, e.get(t, e.sub, "/console/api/activity", &b))
	assert.Empty(t, b.Commands, fmt.Sprint(b.Commands))
	assert.Empty(t, b.Callbacks)
}
