package scenario

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/warthog618/modem/at"
	"github.com/warthog618/modem/gsm"

	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// TestMain doubles as the firmware of the real-time test: started with
// FLEETSIM_TEST_FIRMWARE set, the test binary is a device program that
// opens $FLEETSIM_PTY and drives the modem with warthog618/modem until it
// is registered.
func TestMain(m *testing.M) {
	if os.Getenv("FLEETSIM_TEST_FIRMWARE") != "" {
		os.Exit(deviceProgram())
	}
	os.Exit(m.Run())
}

func deviceProgram() int {
	f, err := os.OpenFile(os.Getenv("FLEETSIM_PTY"), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "firmware:", err)
		return 3
	}
	defer f.Close()
	g := gsm.New(at.New(f, at.WithTimeout(5*time.Second)), gsm.WithNumericErrors)
	if err := g.Init(); err != nil {
		fmt.Fprintln(os.Stderr, "firmware: init:", err)
		return 4
	}
	if _, err := g.Command("+COPS=0"); err != nil {
		fmt.Fprintln(os.Stderr, "firmware: +COPS=0:", err)
		return 5
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		info, err := g.Command("+CEREG?")
		if err == nil && len(info) == 1 && (strings.HasSuffix(info[0], ",5") || strings.HasSuffix(info[0], ",1")) {
			fmt.Println("firmware: registered:", info[0])
			return 0
		}
		// A device polls its modem; the wait is the firmware's, not a test's.
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "firmware: not registered in time")
	return 6
}

const realtimeScenario = `name: firmware-in-the-loop
duration: 6s
settings: {scan: 500ms, attach: 200ms}
control:
  naps: [{name: uk, networks: ["23415"]}]
  fleets: [{name: f, nap: uk}]
devices:
  - {name: fw, count: 1, fleet: f, location: GB, pty: true}
  - {name: sim, count: 3, fleet: f, location: GB}
expect:
  - name: the firmware's modem is attached on Vodafone UK
    group: fw
    at: 5s
    network: "23415"
    registered: "== 100%"
  - name: the simulated ones too
    group: sim
    at: 5s
    registered: "== 100%"
`

// TestExecRealTime runs a scenario in real time with a firmware program
// (this test binary) driving one device over its PTY through the
// warthog618/modem AT client, while three simulated devices play beside it.
func TestExecRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time run takes 6 s")
	}
	cat := testCatalog(t)
	s, err := spec.Parse("rt.yaml", []byte(realtimeScenario))
	require.NoError(t, err)
	s.Defaults()
	require.NoError(t, s.Validate(cat))
	exe, err := os.Executable()
	require.NoError(t, err)
	var out strings.Builder
	var ptys []string
	rep, err := Run(context.Background(), s, Options{
		Catalog:    cat,
		Exec:       "FLEETSIM_TEST_FIRMWARE=1 exec " + exe,
		ExecOutput: &syncWriter{b: &out},
		OnPTY:      func(g string, i int, path string) { ptys = append(ptys, fmt.Sprintf("%s[%d]=%s", g, i, path)) },
	})
	require.NoError(t, err)
	require.Len(t, ptys, 1)
	assert.Contains(t, ptys[0], "fw[0]=/dev/pts/")
	var sb strings.Builder
	report.WriteSummary(&sb, rep, false)
	assert.True(t, rep.Passed, "%s\nfirmware output:\n%s", sb.String(), out.String())
	require.Len(t, rep.Expectations, 3)
	assert.Equal(t, "exec: FLEETSIM_TEST_FIRMWARE=1 exec "+exe, rep.Expectations[2].Name)
	assert.Contains(t, rep.Expectations[2].Observed, "exited 0")
	assert.Contains(t, out.String(), "firmware: registered:")
}

type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
