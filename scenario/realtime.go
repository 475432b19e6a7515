package scenario

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/at3gpp"
	"github.com/fleetsim/fleetsim/scenario/firmware"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
)

// Real-time mode: the scenario plays on the wall clock so that a program
// of the user's (a host build of their firmware) can drive some devices
// itself, over the pseudo-terminals of the groups marked pty, while the
// rest of the fleet and the timeline play around it.

// external is a device whose firmware is the user's program: its modem is
// served on a PTY and its state is read from the modem.
type external struct {
	d   *firmware.Device
	pty *modem.PTY
}

// startExternal serves the PTY groups' modems on pseudo-terminals.
func (r *runner) startExternal(ctx context.Context) error {
	for _, g := range r.groups {
		if !g.Spec.PTY {
			continue
		}
		for i := g.First; i < g.First+g.Count; i++ {
			d := &r.devices[i]
			p, err := modem.OpenPTY()
			if err != nil {
				return err
			}
			d.External() // the user's program is the host now
			r.externals = append(r.externals, external{d: d, pty: p})
			r.WG.Add(1)
			go func() {
				defer r.WG.Done()
				_ = d.Modem.Serve(ctx, p)
			}()
		}
	}
	return nil
}

// serveAPI serves the embedded control plane's API on loopback, for the
// user's program (its backend side) to use.
func (r *runner) serveAPI() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	r.httpSrv = &http.Server{Handler: r.api.Handler, ReadHeaderTimeout: 10 * time.Second}
	r.WG.Add(1)
	go func() {
		defer r.WG.Done()
		_ = r.httpSrv.Serve(ln)
	}()
	return "http://" + ln.Addr().String(), nil
}

// startExec starts the user's command with the PTYs and the API in its
// environment.
func (r *runner) startExec(ctx context.Context, opts Options, apiURL string) error {
	var paths []string
	for _, e := range r.externals {
		paths = append(paths, e.pty.Path())
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", opts.Exec)
	cmd.Env = append(os.Environ(),
		"FLEETSIM_PTYS="+strings.Join(paths, " "),
		"FLEETSIM_API_URL="+apiURL,
		"FLEETSIM_ACCOUNT_SID="+r.api.SID,
		"FLEETSIM_AUTH_TOKEN="+r.api.Auth,
	)
	if len(paths) > 0 {
		cmd.Env = append(cmd.Env, "FLEETSIM_PTY="+paths[0])
	}
	cmd.Stdout, cmd.Stderr = opts.ExecOutput, opts.ExecOutput
	if cmd.Stdout == nil {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting --exec command: %w", err)
	}
	r.execDone = make(chan struct{})
	go func() {
		err := cmd.Wait()
		r.execMu.Lock()
		r.execErr, r.execEnded = err, r.Elapsed()
		r.execMu.Unlock()
		close(r.execDone)
	}()
	r.execCmd = cmd
	return nil
}

// advanceRealTime plays the scenario on the wall clock.
func (r *runner) advanceRealTime(ctx context.Context, progress func(report.Progress)) {
	total := r.s.Duration.D()
	wallStart := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastProgress := time.Time{}
	for !r.aborted && ctx.Err() == nil {
		at := min(time.Since(wallStart), total)
		if r.Clock.AdvanceToContext(ctx, r.s.Start.Time.Add(at)) != nil {
			return
		}
		r.pollExternal()
		if progress != nil && time.Since(lastProgress) >= 100*time.Millisecond {
			progress(r.progress())
			lastProgress = time.Now()
		}
		if at >= total {
			return
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// pollExternal reads the state of the devices the user's program drives
// from their modems.
func (r *runner) pollExternal() {
	for _, e := range r.externals {
		d := e.d
		st := e.d.Modem.Status()
		d.State = at3gpp.RegState(st.Reg)
		if d.PoweredAt < 0 {
			d.PoweredAt = 0
		}
		d.Net = firmware.ParseNetCode(st.PLMN)
		if d.State.Registered() && d.FirstReg < 0 {
			d.FirstReg = r.Elapsed()
		}
	}
}

// stopRealTime ends the user's command and the PTYs, and reports how the
// command ended as a test case.
func (r *runner) stopRealTime(opts Options) {
	if r.execCmd != nil {
		select {
		case <-r.execDone:
		default:
			_ = r.execCmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.execDone:
			case <-time.After(5 * time.Second):
				_ = r.execCmd.Process.Kill()
				<-r.execDone
			}
			r.execMu.Lock()
			r.execErr, r.execKilled = nil, true // stopped at the end of the run: not a failure
			r.execMu.Unlock()
		}
		r.execMu.Lock()
		o := report.Outcome{Name: "exec: " + opts.Exec, When: "end", Check: "the command exits with status 0", Samples: 1, Pass: true}
		switch {
		case r.execKilled:
			o.Observed = "still running at the end; stopped"
		case r.execErr == nil:
			o.Observed = "exited 0 at " + spec.FormatDuration(r.execEnded.Round(time.Millisecond))
		default:
			var ee *exec.ExitError
			if errors.As(r.execErr, &ee) {
				o.Observed = fmt.Sprintf("exited %d at %s", ee.ExitCode(), spec.FormatDuration(r.execEnded.Round(time.Millisecond)))
			} else {
				o.Observed = r.execErr.Error()
			}
			o.Pass, o.FailedAt = false, spec.FormatDuration(r.execEnded.Round(time.Millisecond))
		}
		r.execMu.Unlock()
		r.runErrs = append(r.runErrs, o)
	}
	if r.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = r.httpSrv.Shutdown(ctx)
		cancel()
	}
	for _, e := range r.externals {
		_ = e.pty.Close()
	}
}

// realtimeState is the runner's state for real-time mode.
type realtimeState struct {
	externals  []external
	httpSrv    *http.Server
	execCmd    *exec.Cmd
	execDone   chan struct{}
	execMu     sync.Mutex
	execErr    error
	execEnded  time.Duration
	execKilled bool
}
