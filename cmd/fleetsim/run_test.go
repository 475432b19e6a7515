package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func TestUsageAndBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"help"}, 0, "Usage:"},
		{[]string{"fly"}, 2, `unknown command "fly"`},
		{[]string{"serve", "--listen"}, 2, "flag needs an argument"},
		{[]string{"serve", "--log-level", "loud"}, 2, "--log-level"},
		{[]string{"serve", "--limit-propagation", "20m", "--state", ":memory:", "--listen", "127.0.0.1:0"}, 1, "propagation"},
		{[]string{"serve", "--account-sid", "ACnope", "--auth-token", "x", "--state", ":memory:"}, 1, "account SID"},
		{[]string{"serve", "extra"}, 2, "unexpected argument"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, noEnv, &out, &errOut)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, out.String()+errOut.String(), tc.want)
		})
	}
}

// TestServeEndToEnd runs `fleetsim serve` in process on a free loopback
// port, talks to it over HTTP, shuts it down like SIGINT does, and checks
// the state file keeps the generated credentials for the next start.
func TestServeEndToEnd(t *testing.T) {
	state := filepath.Join(t.TempDir(), "fleetsim.db")
	start := func(env func(string) string) (url, sid, token string, stop func() int) {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--state", state, "--sims", "3"}, env, pw, io.Discard)
			pw.Close()
		}()
		lines := bufio.NewScanner(pr)
		deadline := time.AfterFunc(10*time.Second, func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
		defer deadline.Stop()
		for lines.Scan() {
			line := lines.Text()
			if m := regexp.MustCompile(`API on (http://\S+)`).FindStringSubmatch(line); m != nil {
				url = m[1]
			}
			if m := regexp.MustCompile(`account SID: (AC\w+)`).FindStringSubmatch(line); m != nil {
				sid = m[1]
			}
			if m := regexp.MustCompile(`auth token:\s+(\w+)`).FindStringSubmatch(line); m != nil {
				token = m[1]
			}
			if strings.Contains(line, "try:") {
				break
			}
		}
		go io.Copy(io.Discard, pr)
		require.NotEmpty(t, url)
		return url, sid, token, func() int { cancel(); return <-done }
	}

	url, sid, token, stop := start(noEnv)
	require.NotEmpty(t, token, "generated credentials are printed")
	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	req, _ := http.NewRequest(http.MethodGet, url+"/v1/Networks?IsoCountry=GB&PageSize=1", nil)
	req.SetBasicAuth(sid, token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"iso_country":"GB"`)
	require.Equal(t, 0, stop(), "graceful shutdown exits 0")

	// The second start finds the same main account in the state file.
	_, sid2, token2, stop := start(func(k string) string {
		return map[string]string{"FLEETSIM_ACCOUNT_SID": sid, "FLEETSIM_AUTH_TOKEN": token}[k]
	})
	assert.Equal(t, sid, sid2)
	assert.Empty(t, token2, "a token given by the user is not printed")
	require.Equal(t, 0, stop())
}
