package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// serveModems starts `fleetsim serve` with modems on loopback for the test
// and returns its startup output, the environment the CLI's modem commands
// read (the server's URL included) and the serve context; the server stops
// with the test.
func serveModems(t *testing.T, args ...string) (out string, env map[string]string, ctx context.Context) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	env = map[string]string{"FLEETSIM_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "FLEETSIM_AUTH_TOKEN": "0123456789abcdef0123456789abcdef"}
	getenv := func(k string) string { return env[k] }
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--state", ":memory:"}, args...), getenv, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	lines := bufio.NewScanner(pr)
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
		if m := regexp.MustCompile(`API on (http://\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			env["FLEETSIM_URL"] = m[1]
		}
		if strings.Contains(lines.Text(), "try:") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	require.NotEmpty(t, env["FLEETSIM_URL"], "%v", got)
	return strings.Join(got, "\n"), env, ctx
}

// TestServeWithModems: `fleetsim serve --modems 2` exposes PTYs with stable
// symlinks, and the `fleetsim modem`/`network` commands drive them.
func TestServeWithModems(t *testing.T) {
	dir := t.TempDir()
	out, env, ctx := serveModems(t, "--modems", "2", "--modem-dir", dir, "--scan-time", "10ms", "--attach-time", "10ms")
	getenv := func(k string) string { return env[k] }
	assert.Contains(t, out, "modem 0 (bg96): /dev/pts/")
	assert.Contains(t, out, "  at /dev/pts/", "a BG96's AT port is served by default")
	assert.Contains(t, out, "("+filepath.Join(dir, "modem-1-at")+")")

	// The symlink is a working UART.
	port, err := os.OpenFile(filepath.Join(dir, "modem-1"), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	_, err = port.Write([]byte("ATE0\rAT+CGMM\r"))
	require.NoError(t, err)
	got := readUntil(t, port, "BG96\r\n\r\nOK\r\n")
	assert.Contains(t, got, "BG96")
	port.Close()
	// So is the AT port beside it, on the same module.
	atPort, err := os.OpenFile(filepath.Join(dir, "modem-1-at"), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	_, err = atPort.Write([]byte("ATE0\rAT+QURCCFG=\"urcport\"\r"))
	require.NoError(t, err)
	readUntil(t, atPort, "+QURCCFG: \"urcport\",\"usbat\"\r\n\r\nOK\r\n")
	atPort.Close()

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"modem", "list"}, getenv, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "MODEM")
	assert.Contains(t, stdout.String(), "GB")
	assert.Contains(t, stdout.String(), "at=/dev/pts/")
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"modem", "--json", "show", "1"}, getenv, &stdout, &stderr), stderr.String())
	var shown struct {
		PTY   string `json:"pty"`
		Ports []struct{ Name, PTY, Link string }
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &shown))
	require.Len(t, shown.Ports, 2, stdout.String())
	assert.Equal(t, shown.PTY, shown.Ports[0].PTY, "the main port is listed first")
	assert.Equal(t, "at", shown.Ports[1].Name)
	assert.Equal(t, filepath.Join(dir, "modem-1-at"), shown.Ports[1].Link)
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"modem", "move", "0", "DE"}, getenv, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), `"location":"DE"`)
	stdout.Reset()
	assert.Equal(t, 1, run(ctx, []string{"modem", "signal", "0", "99"}, getenv, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "Signal must be")
	assert.Equal(t, 2, run(ctx, []string{"modem", "fly"}, getenv, &stdout, &stderr))
	stderr.Reset()
	assert.Equal(t, 1, run(ctx, []string{"network", "down", "HWnope"}, getenv, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "no network")

	// Flags after the arguments; -h helps without calling the API.
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"modem", "list", "--json"}, getenv, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), `{"modems":[{"index":0,`)
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"modem", "signal", "0", "-1"}, getenv, &stdout, &stderr), stderr.String())
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"modem", "show", "-h"}, getenv, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "Usage:\n  fleetsim modem show <i>")
	assert.NotContains(t, stdout.String(), "pty")

	// The Twilio variables are accepted too; wrong credentials get a hint.
	twilio := map[string]string{"FLEETSIM_URL": env["FLEETSIM_URL"],
		"TWILIO_ACCOUNT_SID": env["FLEETSIM_ACCOUNT_SID"], "TWILIO_AUTH_TOKEN": env["FLEETSIM_AUTH_TOKEN"]}
	stdout.Reset()
	require.Equal(t, 0, run(ctx, []string{"modem", "show", "0"}, envOf(twilio), &stdout, &stderr), stderr.String())
	twilio["TWILIO_AUTH_TOKEN"] = "ffffffffffffffffffffffffffffffff"
	stderr.Reset()
	assert.Equal(t, 1, run(ctx, []string{"modem", "show", "0"}, envOf(twilio), &stdout, &stderr))
	assert.Contains(t, stderr.String(), "refused the credentials (TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN); a local `fleetsim serve` prints its credentials at start")
}

// readUntil reads from r until want has arrived, failing after 10 s.
func readUntil(t *testing.T, f *os.File, want string) string {
	t.Helper()
	require.NoError(t, f.SetReadDeadline(time.Now().Add(10*time.Second)))
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), want) {
		n, err := f.Read(buf)
		got = append(got, buf[:n]...)
		require.NoError(t, err, "read so far: %q", got)
	}
	return string(got)
}

// TestServeMixedFleet: `--modems bg96:1,sim7080:1,sara-r4:1` serves one
// modem of each family, numbered in that order; the startup listing and
// `fleetsim modem list` show each modem's family, and each answers as its
// module does.
func TestServeMixedFleet(t *testing.T) {
	dir := t.TempDir()
	listing, env, ctx := serveModems(t, "--modems", "bg96:1,sim7080:1,sara-r4:1", "--modem-dir", dir)
	getenv := func(k string) string { return env[k] }
	assert.Contains(t, listing, "fleetsim: 3 virtual modem(s)")
	assert.Contains(t, listing, "modem 0 (bg96): ")
	assert.Contains(t, listing, "modem 1 (sim7080): ")
	assert.Contains(t, listing, "modem 2 (sara-r4): ")

	for i, want := range []string{"BG96", "SIMCOM_SIM7080", "SARA-R410M-02B"} {
		port, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("modem-%d", i)), os.O_RDWR|syscall.O_NOCTTY, 0)
		require.NoError(t, err)
		// A SARA-R4 ignores input until it has booted: ask until it answers.
		deadline := time.Now().Add(10 * time.Second)
		var got string
		for !strings.Contains(got, want+"\r\n\r\nOK\r\n") {
			require.True(t, time.Now().Before(deadline), "modem %d answered %q", i, got)
			_, err = port.Write([]byte("ATE0\rAT+CGMM\r"))
			require.NoError(t, err)
			require.NoError(t, port.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
			buf := make([]byte, 512)
			n, _ := port.Read(buf)
			got += string(buf[:n])
		}
		port.Close()
	}

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"modem", "list"}, getenv, &stdout, &stderr), stderr.String())
	assert.Regexp(t, `(?m)^0\s+bg96\s`, stdout.String())
	assert.Regexp(t, `(?m)^1\s+sim7080\s`, stdout.String())
	assert.Regexp(t, `(?m)^2\s+sara-r4\s`, stdout.String())

	// A bad mixed fleet is refused before anything starts.
	stderr.Reset()
	assert.Equal(t, 2, run(ctx, []string{"serve", "--modems", "bg96:2,nokia:1"}, getenv, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `unknown modem profile "nokia"`)
}
