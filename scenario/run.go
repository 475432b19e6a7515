package scenario

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/firmware"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// Options tunes a run.
type Options struct {
	// Seed, if set, replaces the scenario's seed.
	Seed *uint64
	// Catalog is the Networks catalog (default sim.DefaultCatalog).
	Catalog *sim.Catalog
	// Progress is called as virtual time passes, between steps of the
	// simulation; it may read the wall clock, the simulation never does.
	Progress func(report.Progress)
	// Exec, if set, plays the scenario in real time and runs this shell
	// command beside it, with the pseudo-terminals of the groups marked
	// pty in its environment (FLEETSIM_PTY, FLEETSIM_PTYS) and the
	// embedded API served on loopback (FLEETSIM_API_URL,
	// FLEETSIM_ACCOUNT_SID, FLEETSIM_AUTH_TOKEN).
	Exec string
	// ExecOutput receives the command's output (default standard error).
	ExecOutput io.Writer
	// OnPTY, in real-time mode, is told where each PTY device is.
	OnPTY func(group string, index int, path string)

	// HW binds devices to real modems on serial ports: GROUP/INDEX (or
	// GROUP for a group of one) → port path. The run plays in real time.
	HW map[string]string
	// HWOptions configure the serial ports (baud rate...).
	HWOptions []hw.Option
	// API, if set, is the base URL of the Super SIM API (fleetsim serve's,
	// or https://supersim.twilio.com) the control-plane actions go to
	// instead of the embedded simulator, with APIUser and APIPassword
	// (account SID and auth token, or API key SID and secret). Every
	// device must then be a real modem (HW).
	API, APIUser, APIPassword string
	// Trace, if set, receives every AT exchange of every device in the hw
	// package's trace format, each record naming its device.
	Trace io.Writer
}

// ErrSetup wraps a failure to set the scenario up (the API refused part
// of the control plane set-up): the scenario cannot run as written.
var ErrSetup = errors.New("scenario set-up failed")

// runner is one run of a scenario.
type runner struct {
	s     *spec.Scenario
	seed  uint64
	cat   *sim.Catalog
	ctl   *sim.Control
	api   *apiclient.Client
	world *modem.World
	hub   *modem.Hub

	groups  []*firmware.Group
	devices []firmware.Device
	sids    simSids           // Sim SID of each device
	naps    map[string]string // name → SID
	fleets  map[string]string // name → SID

	checks    []*check
	aborted   bool
	abortedAt time.Duration
	stopped   bool             // interrupted from outside (the run's context) before the end
	runErrs   []report.Outcome // timeline actions the API refused
	rec       *sampler         // the report's time series
	settle    bool             // start statuses settle before the start (settleStatuses)
	shard     shardState       // the slice of the devices simulated (shard.go)
	rep       *report.Report
	// setupOverHTTP registers the SIMs through the embedded API's HTTP
	// handler rather than its functions (registerSim); tests compare both.
	setupOverHTTP bool
	firmware.Env
	realtimeState
	accountState
}

// Run runs a scenario that has defaults applied and is valid (see
// LoadValid) and returns its report. An error means the run could not
// take place; failed expectations are in the report.
func Run(ctx context.Context, s *spec.Scenario, opts Options) (*report.Report, error) {
	r, err := run(ctx, s, opts, shardState{})
	if err != nil {
		return nil, err
	}
	return r.rep, nil
}

// run runs a scenario, or the shard of it sh says, and returns the runner
// holding the report.
func run(ctx context.Context, s *spec.Scenario, opts Options, sh shardState) (*runner, error) {
	r := &runner{s: s, seed: s.Seed, cat: opts.Catalog, shard: sh}
	r.Ctx, r.Start = ctx, s.Start.Time
	if opts.Seed != nil {
		r.seed = *opts.Seed
	}
	if r.cat == nil {
		cat, err := sim.DefaultCatalog()
		if err != nil {
			return nil, err
		}
		r.cat = cat
	}
	if opts.Trace != nil {
		r.TraceW = firmware.SyncWriter(opts.Trace)
	}
	if err := r.setup(ctx, opts); err != nil {
		r.close()
		return nil, err
	}
	defer r.close()
	if opts.Exec == "" && len(opts.HW) == 0 {
		r.schedule()
		r.advance(ctx, opts.Progress)
	} else {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r.Ctx = rctx // real modems' commands end with the run
		if opts.Exec != "" {
			if err := r.startExternal(rctx); err != nil {
				return nil, err
			}
		}
		if opts.OnPTY != nil {
			for _, e := range r.externals {
				g := e.d.Group
				opts.OnPTY(g.Spec.Name, int(e.d.Index)-g.First, e.pty.Path())
			}
		}
		r.schedule()
		if opts.Exec != "" {
			apiURL := opts.API
			if r.api.Handler != nil {
				u, err := r.serveAPI()
				if err != nil {
					return nil, err
				}
				apiURL = u
			}
			if err := r.startExec(rctx, opts, apiURL); err != nil {
				r.stopRealTime(opts)
				cancel()
				r.WG.Wait()
				return nil, err
			}
		}
		r.advanceRealTime(ctx, opts.Progress)
		r.stopRealTime(opts)
		cancel()
		r.WG.Wait()
	}
	// Stopped from outside (SIGINT, SIGTERM): report what was reached.
	r.stopped = ctx.Err() != nil && !r.aborted && r.Elapsed() < r.s.Duration.D()
	r.Ctx = context.WithoutCancel(ctx) // the report reads usage after the run's context ended
	r.rep = r.report()
	return r, nil
}

// elapsed is the virtual time since the start.

func (r *runner) setup(ctx context.Context, opts Options) error {
	s := r.s
	r.Clock = vclock.New(s.Start.Time)
	if len(opts.HW) == 0 && opts.API == "" { // see settleStatuses
		r.settle = true
		r.Clock = vclock.New(s.Start.Time.Add(-preroll(s)))
	}
	total := 0
	for i := range s.Devices {
		g := &s.Devices[i]
		r.groups = append(r.groups, &firmware.Group{Spec: g, First: total, Count: g.Count})
		total += g.Count
	}
	// Every identifier the control plane makes comes from the seed.
	var key [32]byte
	for i := range 4 {
		v := r.seed + uint64(i)*0x9e3779b97f4a7c15
		for j := range 8 {
			key[i*8+j] = byte(v >> (8 * j))
		}
	}
	src := rand.NewChaCha8(key)
	token := make([]byte, 16)
	_, _ = src.Read(token)
	sid := "AC" + hex.EncodeToString(token)
	_, _ = src.Read(token)
	auth := hex.EncodeToString(token)
	bound, err := r.bindReal(opts.HW)
	if err != nil {
		return err
	}
	if opts.API != "" {
		if len(bound) != total {
			return fmt.Errorf("%w: with --api every device must be a real modem (--hw): the virtual modems need the embedded control plane", ErrUsage)
		}
		if err := receiverUnreachable(s, opts.API); err != nil {
			return err
		}
		r.api = apiclient.NewRemote(opts.API, opts.APIUser, opts.APIPassword)
	}
	realTime := opts.Exec != "" || len(opts.HW) > 0
	if err := r.newReceiver(realTime); err != nil {
		return err
	}
	if opts.API == "" {
		simOpts := []sim.Option{sim.WithClock(r.Clock), sim.WithRand(src), sim.WithCatalog(r.cat),
			sim.WithUpdateDelay(s.Settings.UpdateDelay.D()), sim.WithLimitPropagation(s.Settings.LimitPropagation.D()),
			sim.WithLimitPropagationSpread(s.Settings.LimitPropagationMax.D(), r.seed),
			sim.WithCards("scenario-"+strconv.FormatUint(r.seed, 10), total), sim.WithMainAccount(sid, auth)}
		if !realTime { // callbacks on the virtual clock, to the receiver in process
			simOpts = append(simOpts, sim.WithWebhookTransport(apiclient.InProcess{Handler: r.hooks}))
		}
		ctl, err := sim.New(ctx, sim.DiscardStore{}, simOpts...)
		if err != nil {
			return err
		}
		r.ctl = ctl
		r.api = apiclient.NewEmbedded(api.New(ctl), sid, auth)
	}
	r.world = modem.NewWorld(r.cat)
	for _, l := range s.World.Locations {
		nets, err := r.locationNetworks(l)
		if err != nil {
			return err
		}
		r.world.DefineLocation(l.Name, nets, l.Signal)
	}
	r.Timing = modem.DefaultTiming
	r.Timing.Scan, r.Timing.Attach = s.Settings.Scan.D(), s.Settings.Attach.D()
	if err := r.setupControl(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	if err := r.setupDevices(ctx, bound, opts); err != nil {
		return err
	}
	if !r.settle {
		return nil
	}
	if err := r.settleStatuses(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	return nil
}

func (r *runner) locationNetworks(l spec.Location) ([]sim.Network, error) {
	if len(l.Networks) == 0 {
		return r.cat.InCountry(l.Country), nil
	}
	var out []sim.Network
	for _, ref := range l.Networks {
		nets, err := spec.ResolveNetworks(r.cat, ref, true)
		if err != nil {
			return nil, err
		}
		out = append(out, nets...)
	}
	return out, nil
}

// networkSids resolves network references to catalog SIDs.
func (r *runner) networkSids(refs []string) ([]string, error) {
	var out []string
	for _, ref := range refs {
		nets, err := spec.ResolveNetworks(r.cat, ref, true)
		if err != nil {
			return nil, err
		}
		for _, n := range nets {
			out = append(out, n.Sid)
		}
	}
	return out, nil
}

func (r *runner) setupControl(ctx context.Context) error {
	r.naps, r.fleets = make(map[string]string), make(map[string]string)
	if err := r.setupAccounts(ctx); err != nil {
		return err
	}
	for _, n := range r.s.Control.NAPs {
		api := r.client(n.Account)
		sids, err := r.networkSids(n.Networks)
		if err != nil {
			return err
		}
		sid, err := api.ReuseNAP(ctx, n.Name, sids)
		if err != nil {
			return err
		}
		if sid != "" {
			r.naps[n.Name] = sid
			continue
		}
		p := url.Values{"UniqueName": {n.Name}, "Networks": sids}
		var out struct{ Sid string }
		if _, err := api.Call(ctx, http.MethodPost, "/v1/NetworkAccessProfiles", p, &out); err != nil {
			return err
		}
		r.naps[n.Name] = out.Sid
	}
	for _, f := range r.s.Control.Fleets {
		p := url.Values{"UniqueName": {f.Name}, "NetworkAccessProfile": {r.naps[f.NAP]}}
		if f.DataLimitMB > 0 {
			p.Set("DataLimit", strconv.Itoa(f.DataLimitMB))
		}
		if f.DataEnabled != nil {
			p.Set("DataEnabled", strconv.FormatBool(*f.DataEnabled))
		}
		if f.SmsCommandsEnabled != nil {
			p.Set("SmsCommandsEnabled", strconv.FormatBool(*f.SmsCommandsEnabled))
		}
		if f.Callbacks {
			p.Set("SmsCommandsUrl", r.hooks.url("fleet_sms_command"))
			p.Set("IpCommandsUrl", r.hooks.url("fleet_ip_command"))
			if f.CallbackMethod != "" {
				p.Set("SmsCommandsMethod", f.CallbackMethod)
				p.Set("IpCommandsMethod", f.CallbackMethod)
			}
		}
		api := r.client(f.Account)
		sid, err := api.ReuseFleet(ctx, f.Name, p)
		if err != nil {
			return err
		}
		if sid != "" {
			r.fleets[f.Name] = sid
			continue
		}
		var out struct{ Sid string }
		if _, err := api.Call(ctx, http.MethodPost, "/v1/Fleets", p, &out); err != nil {
			return err
		}
		r.fleets[f.Name] = out.Sid
	}
	return nil
}

func (r *runner) setupDevices(ctx context.Context, bound map[int]string, opts Options) error {
	n := 0
	for _, g := range r.groups {
		n += g.Count
	}
	r.devices = make([]firmware.Device, n)
	r.sids = newSimSids(n)
	if r.ctl != nil {
		r.hub = modem.NewHub(r.ctl)
	}
	for _, g := range r.groups {
		if err := g.SetModule(); err != nil {
			return fmt.Errorf("%w: group %s: %w", ErrSetup, g.Spec.Name, err)
		}
	}
	size := 0
	for _, g := range r.groups {
		if g.Spec.Data != nil {
			size = max(size, int(min(g.Spec.Data.Bytes, 64<<10)))
		}
	}
	r.Payload = make([]byte, size)
	for _, g := range r.groups {
		var env *modem.Env
		for i := g.First; i < g.First+g.Count; i++ {
			if err := ctx.Err(); err != nil { // SIGINT, SIGTERM during a long set-up
				return err
			}
			if port, ok := bound[i]; ok {
				d := &r.devices[i]
				*d = firmware.New(&r.Env, g, i, r.seed)
				if err := r.openReal(ctx, d, port, opts); err != nil {
					return fmt.Errorf("%w: %w", ErrSetup, err)
				}
				continue
			}
			card, _ := r.ctl.Card(i)
			if err := r.registerSim(ctx, g, i, card); err != nil {
				return fmt.Errorf("%w: device %d of group %s: %w", ErrSetup, i-g.First, g.Spec.Name, err)
			}
			d := &r.devices[i]
			*d = firmware.New(&r.Env, g, i, r.seed)
			if !r.owns(i) { // another shard's: its SIM only
				continue
			}
			if env == nil { // the group's modems share one
				env = modem.NewEnv(modem.Config{
					Profile: g.Profile(), Core: r.ctl, World: r.world, Clock: r.Clock, Timing: r.Timing,
					AuthCache: r.s.Settings.AuthCache.D(), Hub: r.hub,
				})
			}
			d.Virtual(env.New(card, modem.IMEI(i), g.Spec.Location))
		}
	}
	return nil
}

// setupSim puts a device's SIM in its Fleet and status.
func (r *runner) setupSim(ctx context.Context, g *firmware.Group, i int) error {
	p := url.Values{}
	if g.Spec.Fleet != "" {
		p.Set("Fleet", r.fleets[g.Spec.Fleet])
	}
	status := firstStatus(g.Spec.SimStatus)
	if status != "new" {
		p.Set("Status", status)
	}
	if len(p) > 0 {
		if _, err := r.client(g.Spec.Account).Call(ctx, http.MethodPost, "/v1/Sims/"+r.sids.get(i), p, nil); err != nil {
			return err
		}
	}
	r.deactivateLater(g, i)
	return nil
}

// deactivateLater deactivates the SIM of device i of an inactive group
// once its activation has settled, when there is no set-up stretch (a
// run on real modems plays in real time; see settleStatuses).
func (r *runner) deactivateLater(g *firmware.Group, i int) {
	if g.Spec.SimStatus == "inactive" && !r.settle {
		r.Clock.AfterFunc(r.s.Settings.UpdateDelay.D(), func() {
			r.apiAction(-1, http.MethodPost, "/v1/Sims/"+r.sids.get(i), url.Values{"Status": {"inactive"}}, 0)
		})
	}
}

func (r *runner) close() {
	if r.hub != nil {
		r.hub.Close()
	}
	for i := range r.devices {
		r.devices[i].Close()
	}
	if r.ctl != nil {
		_ = r.ctl.Close()
	}
	if r.hooks != nil {
		r.hooks.close()
	}
}

// schedule sets every device's and the timeline's first timers.
func (r *runner) schedule() {
	r.startRecording()
	for _, g := range r.groups {
		spec := g.Spec
		for i := g.First; i < g.First+g.Count; i++ {
			d := &r.devices[i]
			if !r.owns(i) || d.Drives() == firmware.DriveNone { // another shard's; or the user's program powers it and drives it
				continue
			}
			at := spec.PowerOn.At.D()
			if spec.PowerOn.Spread > 0 {
				at += time.Duration(d.Rand() * float64(spec.PowerOn.Spread))
			}
			d.Start(at)
		}
	}
	for i := range r.s.Timeline {
		r.scheduleEvent(i)
	}
	r.scheduleChecks()
}

// targets returns the devices an event acts on.
func (r *runner) targets(t spec.Targets) []*firmware.Device {
	g := r.group(t.Group)
	if g == nil {
		return nil
	}
	n := g.Count
	if t.Share.Set {
		n = t.Share.Of(g.Count)
	}
	out := make([]*firmware.Device, n)
	for i := range n {
		out[i] = &r.devices[g.First+i]
	}
	return out
}

// scheduleEvent sets the timers of timeline entry i.
func (r *runner) scheduleEvent(i int) {
	e := &r.s.Timeline[i]
	if e.At != nil {
		r.Clock.AfterFunc(e.At.D(), func() { r.act(i) })
		return
	}
	every := e.Every.D()
	until := r.s.Duration.D()
	if e.Until != nil {
		until = e.Until.D()
	}
	first := e.From.D()
	if first == 0 {
		first = every
	}
	var tick func(at time.Duration)
	tick = func(at time.Duration) {
		if at > until {
			return
		}
		r.Clock.AfterFunc(at-r.Elapsed(), func() {
			r.act(i)
			tick(at + every)
		})
	}
	tick(first)
}

// act carries out timeline entry i.
func (r *runner) act(i int) {
	if r.aborted {
		return
	}
	r.timelineEvent(i)
	if r.sendCommands(i) {
		return
	}
	e := &r.s.Timeline[i]
	switch {
	case e.NAP != nil:
		sid := r.naps[e.NAP.Name]
		add, _ := r.networkSids(e.NAP.Add)
		for _, n := range add {
			r.apiAction(i, http.MethodPost, "/v1/NetworkAccessProfiles/"+sid+"/Networks", url.Values{"Network": {n}}, 0)
		}
		remove, _ := r.networkSids(e.NAP.Remove)
		for _, n := range remove {
			r.apiAction(i, http.MethodDelete, "/v1/NetworkAccessProfiles/"+sid+"/Networks/"+n, nil, 0)
		}
	case e.Fleet != nil:
		p := url.Values{}
		if e.Fleet.DataLimitMB != nil {
			p.Set("DataLimit", strconv.Itoa(*e.Fleet.DataLimitMB))
		}
		if e.Fleet.NAP != nil {
			p.Set("NetworkAccessProfile", r.naps[*e.Fleet.NAP])
		}
		r.apiAction(i, http.MethodPost, "/v1/Fleets/"+r.fleets[e.Fleet.Name], p, 0)
	case e.SIMs != nil:
		p := url.Values{}
		if e.SIMs.Status != "" {
			p.Set("Status", e.SIMs.Status)
		}
		if e.SIMs.Fleet != "" {
			p.Set("Fleet", r.fleets[e.SIMs.Fleet])
		}
		r.simChangeParams(e.SIMs, p)
		for _, d := range r.targets(e.SIMs.Targets) {
			r.apiAction(i, http.MethodPost, "/v1/Sims/"+r.sids.get(int(d.Index)), p, 0)
		}
	case e.Move != nil:
		for _, d := range r.targets(e.Move.Targets) {
			if d.Modem != nil { // a real modem moves with whoever carries it
				d.Modem.SetCountry(e.Move.To)
			}
		}
	case e.Outage != nil:
		nets, _ := spec.ResolveNetworks(r.cat, e.Outage.Network, false)
		r.outage(nets, true)
		if e.Outage.For > 0 {
			r.Clock.AfterFunc(e.Outage.For.D(), func() { r.outage(nets, false) })
		}
	case e.PowerCycle != nil:
		for _, d := range r.targets(*e.PowerCycle) {
			if r.owns(int(d.Index)) {
				d.PowerOn()
			}
		}
	case e.API != nil:
		path, err := r.expand(e.API.Path)
		if err != nil {
			r.actionFailed(i, err)
			return
		}
		params := url.Values{}
		for k, v := range e.API.Params {
			if v, err = r.expand(v); err != nil {
				r.actionFailed(i, err)
				return
			}
			params.Set(k, v)
		}
		r.apiAction(i, e.API.Method, path, params, e.API.Status)
	}
}

func (r *runner) outage(nets []sim.Network, down bool) {
	for _, n := range nets {
		_ = r.world.SetDown(n.Sid, down)
	}
	for i := range r.devices {
		if m := r.devices[i].Modem; m != nil {
			m.RadioChanged()
		}
	}
}

// apiAction makes a timeline request; a refusal (or a status other than
// want, when set) fails the run's "timeline" case.
func (r *runner) apiAction(i int, method, path string, p url.Values, want int) {
	api := r.api
	if i >= 0 && r.s.Timeline[i].API != nil {
		api = r.client(r.s.Timeline[i].API.Account)
	}
	status, err := api.Call(r.Ctx, method, path, p, nil)
	var ae *apiclient.Error
	switch {
	case want != 0 && status == want:
		return
	case want != 0:
		r.actionFailed(i, fmt.Errorf("%s %s: HTTP %d, want %d (%v)", method, path, status, want, err))
	case err != nil && errors.As(err, &ae):
		r.actionFailed(i, err)
	case err != nil:
		r.actionFailed(i, err)
	}
}

func (r *runner) actionFailed(i int, err error) {
	name, line := "set-up", 0
	if i >= 0 {
		name, line = fmt.Sprintf("timeline[%d]", i), r.s.Timeline[i].Pos.Line
	}
	for _, o := range r.runErrs {
		if o.Name == name {
			return // the first refusal says it
		}
	}
	r.runErrs = append(r.runErrs, report.Outcome{
		Name: name, When: "at " + spec.FormatDuration(r.Elapsed()), Check: "the API accepts the request",
		Observed: err.Error(), Samples: 1, Line: line, FailedAt: spec.FormatDuration(r.Elapsed()),
	})
}

// advance runs the simulation to the end in steps, reporting progress.
func (r *runner) advance(ctx context.Context, progress func(report.Progress)) {
	total := r.s.Duration.D()
	step := max(total/500, time.Second)
	for at := time.Duration(0); at < total && !r.aborted; {
		at = min(at+step, total)
		if r.Clock.AdvanceToContext(ctx, r.s.Start.Time.Add(at)) != nil {
			return // interrupted: Run reports what was reached
		}
		if progress != nil {
			progress(r.progress())
		}
	}
}

func (r *runner) progress() report.Progress {
	p := report.Progress{Virtual: r.Elapsed(), Total: r.s.Duration.D(), Devices: len(r.devices), Events: r.Clock.Fired()}
	for i := range r.devices {
		if r.devices[i].State.Registered() {
			p.Registered++
		}
	}
	for _, c := range r.checks {
		if c.failed {
			p.Failed++
		}
	}
	return p
}

func (r *runner) group(name string) *firmware.Group {
	for _, g := range r.groups {
		if g.Spec.Name == name {
			return g
		}
	}
	return nil
}
