package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/pgstore/pgtest"
)

const (
	replicaSid   = "AC0123456789abcdef0123456789abcdef"
	replicaToken = "0123456789abcdef0123456789abcdef"
)

// replicaProc is a real `fleetsim serve` process on a shared database.
type replicaProc struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

func startReplica(t *testing.T, state string, args ...string) *replicaProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--listen", "127.0.0.1:0", "--state", state,
		"--account-sid", replicaSid, "--auth-token", replicaToken, "--log-level", "warn"}, args...)...)
	cmd.Env = append(os.Environ(), "FLEETSIM_TEST_MAIN=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &replicaProc{cmd: cmd, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`API on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.url = <-urls:
	case err := <-p.done:
		t.Fatalf("serve exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start listening")
	}
	return p
}

// call sends a request that must answer want and returns the answer's sid.
func (p *replicaProc) call(t *testing.T, want int, method, path string, form url.Values) string {
	t.Helper()
	req, err := http.NewRequest(method, p.url+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(replicaSid, replicaToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, body)
	var v struct{ Sid string }
	_ = json.Unmarshal(body, &v)
	return v.Sid
}

func (p *replicaProc) do(method, path string, form url.Values) (int, error) {
	req, err := http.NewRequest(method, p.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(replicaSid, replicaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// TestServeReplicasOnPostgres: two `fleetsim serve` processes on one
// PostgreSQL database answer as one simulator, and a replica killed with
// SIGKILL in the middle of writes loses none it acknowledged: the other
// serves every one of them.
func TestServeReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two servers")
	}
	state := pgtest.New(t).NewDatabase(t)
	a, b := startReplica(t, state), startReplica(t, state)

	code, err := a.do(http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"UniqueName": {"first"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	code, err = b.do(http.MethodGet, "/v1/NetworkAccessProfiles/first", nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "a NAP created through one replica is served by the other")

	// Writers on a until it is killed.
	acked := make(chan string, 1000)
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("nap-%d-%d", w, i)
				code, err := a.do(http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"UniqueName": {name}})
				if err != nil || code != http.StatusCreated {
					return
				}
				acked <- name
			}
		}()
	}
	var names []string
	for len(names) < 100 {
		select {
		case n := <-acked:
			names = append(names, n)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d writes acknowledged", len(names))
		}
	}
	require.NoError(t, a.cmd.Process.Kill())
	<-a.done
	for len(acked) > 0 {
		names = append(names, <-acked)
	}
	for _, n := range names {
		code, err := b.do(http.MethodGet, "/v1/NetworkAccessProfiles/"+n, nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, code, "acknowledged NAP %s", n)
	}
	t.Logf("%d writes acknowledged before the kill, all served by the other replica", len(names))
}

// TestModemHostBesideAPIReplicas: two API-only replicas and a modem host
// (`serve --modems 1`) on one PostgreSQL database behave as one simulator:
// a Sim activated through one replica lets the modem on the host attach
// (to EE, the NAP's network), and a NAP change through the other moves it
// (to Vodafone).
func TestModemHostBesideAPIReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and three servers")
	}
	state := pgtest.New(t).NewDatabase(t)
	a, b := startReplica(t, state, "--update-delay", "100ms"), startReplica(t, state, "--update-delay", "100ms")
	dir := t.TempDir()
	startReplica(t, state, "--update-delay", "100ms", "--modems", "1", "--modem-dir", dir,
		"--scan-time", "10ms", "--attach-time", "10ms", "--auth-cache", "50ms")

	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	vf, _ := cat.ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	ee, _ := cat.ByPLMN(sim.PLMN{MCC: "234", MNC: "30"}) // the modem's first choice in GB
	card := sim.GenerateCards("fleetsim", 1)[0]
	nap := a.call(t, http.StatusCreated, http.MethodPost, "/v1/NetworkAccessProfiles", url.Values{"Networks": {ee.Sid}})
	fleet := a.call(t, http.StatusCreated, http.MethodPost, "/v1/Fleets", url.Values{"NetworkAccessProfile": {nap}})
	sid := a.call(t, http.StatusCreated, http.MethodPost, "/v1/Sims", url.Values{"Iccid": {card.ICCID}, "RegistrationCode": {card.RegistrationCode}})
	a.call(t, http.StatusAccepted, http.MethodPost, "/v1/Sims/"+sid, url.Values{"Status": {"active"}, "Fleet": {fleet}})

	port, err := os.OpenFile(dir+"/modem-0", os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	defer port.Close()
	_, err = port.Write([]byte("ATE0;+COPS=3,2\r"))
	require.NoError(t, err)
	readUntil(t, port, "OK\r\n")
	// waitCOPS asks the modem for its operator until the answer has want.
	waitCOPS := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		poll := time.NewTicker(50 * time.Millisecond)
		defer poll.Stop()
		for {
			_, err := port.Write([]byte("AT+COPS?\r"))
			require.NoError(t, err)
			got := readUntil(t, port, "OK\r\n")
			if strings.Contains(got, want) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("the modem never reported %s: last %q", want, got)
			}
			<-poll.C
		}
	}
	waitCOPS(`"23430"`)

	// EE leaves the NAP, Vodafone joins: once EE's cached authorisation
	// expires the modem is detached, and selects Vodafone (the networks it
	// tries on the way refuse it).
	b.call(t, http.StatusCreated, http.MethodPost, "/v1/NetworkAccessProfiles/"+nap+"/Networks", url.Values{"Network": {vf.Sid}})
	b.call(t, http.StatusNoContent, http.MethodDelete, "/v1/NetworkAccessProfiles/"+nap+"/Networks/"+ee.Sid, nil)
	waitCOPS(`"23415"`)
}
