package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envOf is a getenv over a map.
func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// fakeServer is a real HTTP server on loopback standing in for `fleetsim
// serve`: it records the requests and the credentials they carry.
type fakeServer struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []string // method path
	users []string // basic auth user:password
}

func newFakeServer(t *testing.T) *fakeServer {
	s := &fakeServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Method+" "+r.URL.Path)
		s.users = append(s.users, user+":"+pass)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/_fleetsim/v1/modems" {
			_, _ = w.Write([]byte(`{"modems":[{"index":0,"pty":"/dev/pts/9","profile":"bg96","iccid":"8988","location":"GB","registration_name":"home"}]}`))
			return
		}
		_, _ = w.Write([]byte(`{"index":0}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) requests() (reqs, users []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...), append([]string(nil), s.users...)
}

// commandPaths lists every command of the tree, as the words that call it.
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" {
			continue
		}
		p := append(append([]string(nil), prefix...), sub.Name())
		out = append(out, p)
		out = append(out, commandPaths(sub, p)...)
	}
	return out
}

// TestHelpEverywhere: -h and --help on every command and subcommand, before
// or after other arguments, print its description and usage on stdout,
// exit 0 and do nothing else (modem show -h calls no API).
func TestHelpEverywhere(t *testing.T) {
	srv := newFakeServer(t)
	env := envOf(map[string]string{"FLEETSIM_URL": srv.URL, "FLEETSIM_ACCOUNT_SID": "AC1", "FLEETSIM_AUTH_TOKEN": "t"})
	paths := commandPaths(newRootCmd(env), nil)
	require.Greater(t, len(paths), 15, "%v", paths)
	paths = append(paths, nil) // fleetsim -h
	for _, p := range paths {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string(nil), p...), h)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var out, errs bytes.Buffer
				require.Equal(t, 0, run(context.Background(), args, env, &out, &errs), errs.String())
				assert.Empty(t, errs.String())
				assert.Contains(t, out.String(), strings.TrimSpace("Usage:\n  fleetsim "+strings.Join(p, " ")))
				c, _, err := newRootCmd(env).Find(p)
				require.NoError(t, err)
				assert.NotEmpty(t, c.Short)
				assert.NotContains(t, c.Short, "\n", "a one-line description")
				desc := c.Long
				if desc == "" {
					desc = c.Short
				}
				assert.True(t, strings.HasPrefix(out.String(), strings.SplitN(desc, "\n", 2)[0]), "the description comes first:\n%s", out.String())
			})
		}
	}
	// With its arguments and flags around it, -h still only helps.
	for _, args := range [][]string{{"modem", "show", "-h"}, {"modem", "show", "1", "-h"}, {"modem", "--json", "move", "0", "DE", "--help"}, {"serve", "--listen", "127.0.0.1:0", "-h"}} {
		var out, errs bytes.Buffer
		require.Equal(t, 0, run(context.Background(), args, env, &out, &errs), "%q: %s", args, errs.String())
		assert.Contains(t, out.String(), "Usage:", "%q", args)
	}
	reqs, _ := srv.requests()
	assert.Empty(t, reqs, "help calls no API")
	var out, errs bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"help", "modem", "show"}, env, &out, &errs))
	assert.Contains(t, out.String(), "Show one modem in full (JSON)")

	// The help names the variables but never shows their values.
	secret := envOf(map[string]string{"FLEETSIM_AUTH_TOKEN": "s3cr3t-token", "TWILIO_AUTH_TOKEN": "s3cr3t-token"})
	for _, cmd := range []string{"serve", "modem", "run"} {
		out.Reset()
		require.Equal(t, 0, run(context.Background(), []string{cmd, "-h"}, secret, &out, &errs))
		assert.Contains(t, out.String(), "FLEETSIM_AUTH_TOKEN", cmd)
		assert.NotContains(t, out.String(), "s3cr3t", cmd)
	}
}

// TestUsageErrors: a command line problem prints one line saying what is
// wrong first, then how to call the command, and exits 2; a mistyped
// command gets a suggestion.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		first string // the first line of stderr
	}{
		{nil, "fleetsim: missing command"},
		{[]string{"sreve"}, `fleetsim: unknown command "sreve", did you mean "serve"?`},
		{[]string{"modem"}, "fleetsim modem: missing command"},
		{[]string{"modem", "shwo", "1"}, `fleetsim modem: unknown command "shwo", did you mean "show"?`},
		{[]string{"network", "dwon", "HW1"}, `fleetsim network: unknown command "dwon", did you mean "down"?`},
		{[]string{"hw", "prbe"}, `fleetsim hw: unknown command "prbe", did you mean "probe"?`},
		{[]string{"modem", "show"}, "fleetsim modem show: missing <i>"},
		{[]string{"modem", "move", "1"}, "fleetsim modem move: missing <country>"},
		{[]string{"modem", "show", "1", "2"}, `fleetsim modem show: unexpected argument "2"`},
		{[]string{"modem", "list", "--jsn"}, "fleetsim modem list: unknown flag: --jsn"},
		{[]string{"run"}, "fleetsim run: missing FILE"},
		{[]string{"run", "a.yaml", "b.yaml"}, `fleetsim run: unexpected argument "b.yaml"`},
		{[]string{"run", "a.yaml", "--baud", "fast"}, `fleetsim run: invalid argument "fast" for "--baud" flag: strconv.ParseInt: parsing "fast": invalid syntax`},
		{[]string{"validate"}, "fleetsim validate: missing FILE"},
		{[]string{"serve", "--nope"}, "fleetsim serve: unknown flag: --nope"},
		{[]string{"serve", "--modems", "lots"}, `fleetsim serve: invalid argument "lots" for "--modems" flag: "lots": want a number or family:count pairs such as bg96:2,sim7080:1`},
		{[]string{"hw", "probe"}, "fleetsim hw probe: --port is required (or env FLEETSIM_HW_PORT)"},
		{[]string{"version", "now"}, `fleetsim version: unexpected argument "now"`},
		{[]string{"help", "modem", "shw"}, `fleetsim help: unknown command "shw", did you mean "show"?`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errs bytes.Buffer
			assert.Equal(t, 2, run(context.Background(), tc.args, noEnv, &out, &errs))
			assert.Empty(t, out.String())
			first, rest, _ := strings.Cut(errs.String(), "\n")
			assert.Equal(t, tc.first, first)
			assert.Contains(t, rest, "Usage:")
		})
	}
}

// TestFlagsAnywhere: flags go before or after the arguments, with two
// dashes or Go's one, and a negative number stays an argument.
func TestFlagsAnywhere(t *testing.T) {
	srv := newFakeServer(t)
	for _, tc := range []struct {
		args []string
		req  string
		out  string
	}{
		{[]string{"modem", "list", "--json"}, "GET /_fleetsim/v1/modems", `{"modems":[{"index":0,`},
		{[]string{"modem", "--json", "list"}, "GET /_fleetsim/v1/modems", `{"modems":[{"index":0,`},
		{[]string{"--server", srv.URL, "modem", "list"}, "GET /_fleetsim/v1/modems", "MODEM  FAMILY"},
		{[]string{"modem", "list", "-json"}, "GET /_fleetsim/v1/modems", `{"modems":[{"index":0,`},
		{[]string{"modem", "show", "1", "--server=" + srv.URL}, "GET /_fleetsim/v1/modems/1", `{"index":0}`},
		{[]string{"modem", "signal", "0", "-1", "--json"}, "POST /_fleetsim/v1/modems/0", `{"index":0}`},
		{[]string{"modem", "signal", "--", "0", "-1"}, "POST /_fleetsim/v1/modems/0", `{"index":0}`},
		{[]string{"network", "HWx", "down"}, "", ""}, // an unknown command, not a reordered one
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			before, _ := srv.requests()
			var out, errs bytes.Buffer
			env := envOf(map[string]string{"FLEETSIM_URL": srv.URL, "FLEETSIM_ACCOUNT_SID": "AC1", "FLEETSIM_AUTH_TOKEN": "t"})
			code := run(context.Background(), tc.args, env, &out, &errs)
			if tc.req == "" {
				assert.Equal(t, 2, code)
				return
			}
			require.Equal(t, 0, code, errs.String())
			reqs, _ := srv.requests()
			require.Len(t, reqs, len(before)+1)
			assert.Equal(t, tc.req, reqs[len(reqs)-1])
			assert.Contains(t, out.String(), tc.out)
		})
	}
}

func TestNormalizeArgs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"serve -listen :0 -state :memory:", "serve --listen :0 --state :memory:"},
		{"serve --listen=:0 -h", "serve --listen=:0 -h"},
		{"run f.yaml -json - -quiet", "run --json - --quiet f.yaml"},
		{"run f.yaml --seed -3", "run --seed -3 f.yaml"},
		{"modem signal 0 -1", "modem signal -- 0 -1"},
		{"modem --json signal 0 -1", "modem signal --json -- 0 -1"},
		{"modem signal -- 0 -1", "modem signal -- 0 -1"},
		{"modem list --json", "modem list --json"},
		{"hw probe -port /dev/x -scan-timeout 1m", "hw probe --port /dev/x --scan-timeout 1m"},
		{"schema -x", "schema -x"},
	} {
		got := normalizeArgs(newRootCmd(noEnv), strings.Fields(tc.in))
		assert.Equal(t, tc.want, strings.Join(got, " "), tc.in)
	}
}

// TestEnvPrecedence: a flag wins over FLEETSIM_*, which wins over TWILIO_*,
// for the commands that drive a server and for run --api.
func TestEnvPrecedence(t *testing.T) {
	srv := newFakeServer(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"twilio", map[string]string{"TWILIO_ACCOUNT_SID": "ACtw", "TWILIO_AUTH_TOKEN": "ttw"}, nil, "ACtw:ttw"},
		{"fleetsim over twilio", map[string]string{"FLEETSIM_ACCOUNT_SID": "ACfs", "FLEETSIM_AUTH_TOKEN": "tfs", "TWILIO_ACCOUNT_SID": "ACtw", "TWILIO_AUTH_TOKEN": "ttw"}, nil, "ACfs:tfs"},
		{"one of each", map[string]string{"FLEETSIM_ACCOUNT_SID": "ACfs", "TWILIO_AUTH_TOKEN": "ttw"}, nil, "ACfs:ttw"},
		{"flags over all", map[string]string{"FLEETSIM_ACCOUNT_SID": "ACfs", "FLEETSIM_AUTH_TOKEN": "tfs", "TWILIO_ACCOUNT_SID": "ACtw"},
			[]string{"--account-sid", "ACflag", "--auth-token", "tflag"}, "ACflag:tflag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["FLEETSIM_URL"] = srv.URL
			var out, errs bytes.Buffer
			require.Equal(t, 0, run(context.Background(), append([]string{"modem", "list"}, tc.args...), envOf(tc.env), &out, &errs), errs.String())
			_, users := srv.requests()
			assert.Equal(t, tc.want, users[len(users)-1])
		})
	}
	// --server wins over FLEETSIM_URL.
	var out, errs bytes.Buffer
	env := envOf(map[string]string{"FLEETSIM_URL": "http://127.0.0.1:1", "FLEETSIM_ACCOUNT_SID": "AC1", "FLEETSIM_AUTH_TOKEN": "t"})
	require.Equal(t, 0, run(context.Background(), []string{"modem", "list", "--server", srv.URL}, env, &out, &errs), errs.String())

	for _, tc := range []struct {
		name       string
		f          runFlags
		env        map[string]string
		user, pass string
	}{
		{"twilio key over twilio sid", runFlags{}, map[string]string{"TWILIO_API_KEY": "SKtw", "TWILIO_API_SECRET": "s", "TWILIO_ACCOUNT_SID": "ACtw", "TWILIO_AUTH_TOKEN": "t"}, "SKtw", "s"},
		{"fleetsim sid over twilio key", runFlags{}, map[string]string{"TWILIO_API_KEY": "SKtw", "TWILIO_API_SECRET": "s", "FLEETSIM_ACCOUNT_SID": "ACfs", "FLEETSIM_AUTH_TOKEN": "tfs"}, "ACfs", "tfs"},
		{"fleetsim key", runFlags{}, map[string]string{"FLEETSIM_API_KEY": "SKfs", "FLEETSIM_API_SECRET": "sfs", "FLEETSIM_ACCOUNT_SID": "ACfs"}, "SKfs", "sfs"},
		{"flag and env token", runFlags{accountSid: "ACflag"}, map[string]string{"FLEETSIM_API_KEY": "SKfs", "TWILIO_AUTH_TOKEN": "ttw"}, "ACflag", "ttw"},
		{"none", runFlags{}, map[string]string{}, "", ""},
	} {
		user, pass := apiCredentials(&tc.f, envOf(tc.env))
		assert.Equal(t, tc.user+":"+tc.pass, user+":"+pass, tc.name)
	}
}

// TestNoModemsHint: the modem commands against a server without modems
// say how to start one with modems.
func TestNoModemsHint(t *testing.T) {
	_, env, ctx := serveModems(t)
	var out, errs bytes.Buffer
	assert.Equal(t, 1, run(ctx, []string{"modem", "list"}, envOf(env), &out, &errs))
	assert.Contains(t, errs.String(), "serves no modems; start it with `fleetsim serve --modems N`")
}

// TestHints: missing credentials and an unreachable server are explained.
func TestHints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stopped := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // a server that has stopped

	var out, errs bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"modem", "list"}, envOf(map[string]string{"FLEETSIM_URL": stopped}), &out, &errs))
	assert.Equal(t, "fleetsim modem list: no credentials for "+stopped+": set FLEETSIM_ACCOUNT_SID and FLEETSIM_AUTH_TOKEN (or the TWILIO_ ones), "+
		"or pass --account-sid and --auth-token; a local `fleetsim serve` prints its credentials at start\n", errs.String())
	errs.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"network", "down", "HW1", "--account-sid", "AC1"}, noEnv, &out, &errs))
	assert.Contains(t, errs.String(), "set FLEETSIM_AUTH_TOKEN (or the TWILIO_ ones)")

	errs.Reset()
	env := envOf(map[string]string{"FLEETSIM_URL": stopped, "FLEETSIM_ACCOUNT_SID": "AC1", "FLEETSIM_AUTH_TOKEN": "t"})
	assert.Equal(t, 1, run(context.Background(), []string{"modem", "list"}, env, &out, &errs))
	assert.Equal(t, "fleetsim modem list: cannot reach "+stopped+" (connect: connection refused): is `fleetsim serve` running there? "+
		"Start one with `fleetsim serve --listen "+strings.TrimPrefix(stopped, "http://")+" --modems 4`, or point --server (env FLEETSIM_URL) at it\n", errs.String())
	assert.Empty(t, out.String())

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	errs.Reset()
	assert.Equal(t, 1, run(context.Background(), []string{"serve", "--listen", busy.Addr().String(), "--state", ":memory:"}, noEnv, io.Discard, &errs))
	assert.Contains(t, errs.String(), "address already in use: is another `fleetsim serve` running? Pick another --listen address (127.0.0.1:0 picks a free port)")

	errs.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"run", "../../scenarios/hw-bench.yaml", "--api", stopped}, noEnv, &out, &errs))
	assert.Contains(t, errs.String(), "--api needs credentials: set FLEETSIM_ACCOUNT_SID and FLEETSIM_AUTH_TOKEN")
	assert.Contains(t, errs.String(), "a local `fleetsim serve` prints its credentials at start")
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "fleetsim devel\ngo       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
		{"go install", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			"fleetsim v1.2.3\ngo       go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
		{"checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "de9ca2d1e0f3"}, {Key: "vcs.time", Value: "2026-12-07T06:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			"fleetsim devel\ncommit   de9ca2d1e0f3 (modified), 2026-12-07T06:00:00Z\ngo       go1.26.8 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"},
	} {
		assert.Equal(t, tc.want, formatVersion(tc.info), tc.name)
	}
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		var out, errs bytes.Buffer
		require.Equal(t, 0, run(context.Background(), args, noEnv, &out, &errs), errs.String())
		assert.Equal(t, versionText(), out.String())
		assert.True(t, strings.HasPrefix(out.String(), "fleetsim "), out.String())
	}
}

// TestBinaryCommandLine runs this test binary as the fleetsim command: exit
// statuses and streams are the real program's.
func TestBinaryCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string
		stderrHead string
	}{
		{[]string{"--version"}, 0, "fleetsim ", ""},
		{[]string{"modem", "show", "-h"}, 0, "Show one modem in full (JSON)", ""},
		{[]string{"modem", "list", "--json"}, 2, "", "fleetsim modem list: no credentials"},
		{[]string{"serve", "extra"}, 2, "", `fleetsim serve: unexpected argument "extra"`},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = []string{"FLEETSIM_TEST_MAIN=1", "PATH=" + os.Getenv("PATH")}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if tc.code == 0 {
			require.NoError(t, err, "%q: %s", tc.args, stderr.String())
		} else {
			require.Error(t, err)
		}
		assert.Equal(t, tc.code, cmd.ProcessState.ExitCode(), "%q", tc.args)
		assert.True(t, strings.HasPrefix(stdout.String(), tc.stdout), "%q: stdout %q", tc.args, stdout.String())
		assert.True(t, strings.HasPrefix(stderr.String(), tc.stderrHead), "%q: stderr %q", tc.args, stderr.String())
	}
}

// FuzzNormalizeArgs: whatever the command line, normalizeArgs keeps every
// argument, adding at most a "--" and a dash to Go-style long flags.
func FuzzNormalizeArgs(f *testing.F) {
	for _, s := range []string{"serve\n-listen\n:0", "modem\nsignal\n0\n-1\n--json", "run\nf.yaml\n--json\n-", "modem\n--\n-h", "hw\nprobe\n-port=/dev/x\n-1", "-v"} {
		f.Add(s)
	}
	root := newRootCmd(noEnv)
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\n")
		got := normalizeArgs(root, args)
		if len(got) > len(args)+1 {
			t.Fatalf("%q became %q", args, got)
		}
		// Every argument but "--" stays, with its dashes made up to two.
		count := func(v []string) map[string]int {
			m := map[string]int{}
			for _, a := range v {
				if a != "--" {
					m[strings.TrimLeft(a, "-")+fmt.Sprint(strings.HasPrefix(a, "-"))]++
				}
			}
			return m
		}
		if want, have := count(args), count(got); !maps.Equal(want, have) {
			t.Fatalf("%q became %q", args, got)
		}
	})
}
