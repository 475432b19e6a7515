package sqlstore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/sqlstore"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// killChildEnv names the database a re-executed test binary writes to
// until it is killed.
const killChildEnv = "FLEETSIM_KILL_CHILD_STATE"

// TestKill9LosesNothingAcknowledged runs a control plane in a child
// process whose writers create NAPs from 16 goroutines (so commits are
// grouped) and print each acknowledged one; the child is killed with
// SIGKILL mid-stream, and every NAP it acknowledged is in the reopened
// state.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	for _, mode := range []string{"full", "normal"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$")
			cmd.Env = append(os.Environ(), killChildEnv+"="+path+"|"+mode)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			acked := map[string]bool{}
			sc := bufio.NewScanner(out)
			for sc.Scan() && len(acked) < 300 {
				if name, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
					acked[name] = true
				} else {
					t.Log("child:", sc.Text())
				}
			}
			require.NoError(t, cmd.Process.Kill())
			_ = cmd.Wait()
			require.Len(t, acked, 300, "the child acknowledged writes")

			st, err := sqlstore.Open(context.Background(), path)
			require.NoError(t, err)
			ctl, err := sim.New(context.Background(), st, sim.WithCards("kill", 1))
			require.NoError(t, err)
			defer ctl.Close()
			naps := ctl.ListNAPs(ctl.MainAccount())
			have := map[string]bool{}
			for _, f := range naps {
				have[f.UniqueName] = true
			}
			for name := range acked {
				assert.True(t, have[name], "acknowledged NAP %s was lost", name)
			}
			t.Logf("%d acknowledged, %d stored", len(acked), len(have))
		})
	}
}

// TestKill9Child is the child of TestKill9LosesNothingAcknowledged.
func TestKill9Child(t *testing.T) {
	arg := os.Getenv(killChildEnv)
	if arg == "" {
		t.Skip("runs as the child of TestKill9LosesNothingAcknowledged")
	}
	path, mode, _ := strings.Cut(arg, "|")
	modeSync := sqlstore.SyncFull
	if mode == "normal" {
		modeSync = sqlstore.SyncNormal
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path, sqlstore.WithSync(modeSync))
	require.NoError(t, err)
	ctl, err := sim.New(ctx, st, sim.WithCards("kill", 1), sim.WithClock(vclock.New(time.Now())))
	require.NoError(t, err)
	main := ctl.MainAccount()
	network := ctl.Catalog().Networks()[0].Sid
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("f-%d-%d", g, i)
				if _, err := ctl.CreateNAP(ctx, main, &name, []string{network}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %s\n", name)
				w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait() // until killed
}
