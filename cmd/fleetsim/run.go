package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/modem/console"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
	"github.com/fleetsim/fleetsim/sim/metrics"
	"github.com/fleetsim/fleetsim/sim/pgstore"
	"github.com/fleetsim/fleetsim/sim/sqlstore"
)

type serveFlags struct {
	listen      string
	state       string
	accountSid  string
	authToken   string
	sims        int
	cardSeed    string
	updateDelay time.Duration
	propagation time.Duration
	logLevel    string
	logFormat   string
	modems      modemSpec
	modemDir    string
	atPorts     bool
	location    string
	profile     string
	scanTime    time.Duration
	attachTime  time.Duration
	authCache   time.Duration
}

// add defines serve's flags on fs.
func (f *serveFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`address` to serve the API on (:0 picks a free port)")
	fs.StringVar(&f.state, "state", "fleetsim.db", `SQLite `+"`file`"+` that keeps the state (":memory:" for a throwaway run), or a postgres:// URL shared by replicas`)
	fs.StringVar(&f.accountSid, "account-sid", "", "main account `SID` (env FLEETSIM_ACCOUNT_SID, TWILIO_ACCOUNT_SID); generated when absent")
	fs.StringVar(&f.authToken, "auth-token", "", "main account auth `token` (env FLEETSIM_AUTH_TOKEN, TWILIO_AUTH_TOKEN); generated when absent")
	fs.IntVar(&f.sims, "sims", sim.DefaultCards, "number of SIM cards in the inventory")
	fs.StringVar(&f.cardSeed, "card-seed", "fleetsim", "`seed` the card inventory (ICCIDs, IMSIs, registration codes) is made from")
	fs.DurationVar(&f.updateDelay, "update-delay", sim.DefaultUpdateDelay, "how long an asynchronous Sim update stays scheduled")
	fs.DurationVar(&f.propagation, "limit-propagation", sim.DefaultLimitPropagation, "how long a Fleet's new data limit takes to be enforced (at most 15m)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.Var(&f.modems, "modems", "virtual modems, each on its own PTY with a card of the inventory: a number of --modem-profile modems, or a mixed fleet such as bg96:2,sim7080:2,sara-r4:1")
	fs.StringVar(&f.modemDir, "modem-dir", "", "`directory` for stable symlinks modem-<i> to the modems' PTYs (modem-<i>-<port> to their extra ports')")
	fs.BoolVar(&f.atPorts, "at-ports", true, "serve each modem's extra AT port(s) on PTYs of their own, as the module offers them on USB (Quectel: the AT port beside the modem port)")
	fs.StringVar(&f.location, "location", "GB", "ISO `country` where the modems start")
	fs.StringVar(&f.profile, "modem-profile", "bg96", "module `family` of the modems, unless --modems names them: "+strings.Join(modem.Profiles(), ", "))
	fs.DurationVar(&f.scanTime, "scan-time", modem.DefaultTiming.Scan, "how long a network scan takes")
	fs.DurationVar(&f.attachTime, "attach-time", modem.DefaultTiming.Attach, "how long an attach attempt takes")
	fs.DurationVar(&f.authCache, "auth-cache", modem.DefaultAuthCache, "how long a visited network keeps a removed network's attach authorised (at most 168h)")
}

func newServeCmd(getenv func(string) string) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Serve the Super SIM REST API (and virtual modems with --modems N)",
		Long: `Serves the Super SIM REST API, its console and, with --modems N, virtual
modems on pseudo-terminals. The credentials of the main account are printed
at start unless given. SIGINT or SIGTERM shuts it down gracefully.`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			fromEnv(c.Flags(), "account-sid", getenv, "FLEETSIM_ACCOUNT_SID", "TWILIO_ACCOUNT_SID")
			fromEnv(c.Flags(), "auth-token", getenv, "FLEETSIM_AUTH_TOKEN", "TWILIO_AUTH_TOKEN")
			logger, err := newLogger(c.ErrOrStderr(), f.logLevel, f.logFormat)
			if err != nil {
				return usageErr(err)
			}
			if err := serveAPI(c.Context(), f, logger, c.OutOrStdout()); err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					return fmt.Errorf("%w: is another `fleetsim serve` running? Pick another --listen address (127.0.0.1:0 picks a free port)", err)
				}
				return err
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	return cmd
}

func serveAPI(ctx context.Context, f serveFlags, logger *slog.Logger, stdout io.Writer) error {
	if f.authCache <= 0 || f.authCache > modem.MaxAuthCache {
		return fmt.Errorf("--auth-cache %v is outside (0, %v]", f.authCache, modem.MaxAuthCache)
	}
	f.sims = max(f.sims, f.modems.n)
	var store sim.Store
	var err error
	if pgstore.IsURL(f.state) {
		store, err = pgstore.Open(ctx, f.state)
	} else {
		store, err = sqlstore.Open(ctx, f.state)
	}
	if err != nil {
		return err
	}
	mx := metrics.New()
	ctl, err := sim.New(ctx, store,
		sim.WithCommitObserver(mx.ObserveCommit),
		sim.WithMainAccount(f.accountSid, f.authToken),
		sim.WithCards(f.cardSeed, f.sims),
		sim.WithUpdateDelay(f.updateDelay),
		sim.WithLimitPropagation(f.propagation),
		sim.WithLogger(logger),
	)
	if err != nil {
		store.Close()
		return err
	}
	defer ctl.Close()

	mx.WatchControl(ctl)
	apiOpts := []api.Option{api.WithLogger(logger), api.WithObserver(mx.ObserveRequest), api.WithMetrics(mx.Handler())}
	var modems console.Modems // stays a nil interface without modems
	if f.modems.n > 0 {
		stats := new(modem.Stats)
		fleet, err := startModems(ctx, f, ctl, stats, logger)
		if err != nil {
			return err
		}
		defer fleet.Close()
		mx.WatchModems(fleet.Modems, stats)
		controls := fleet.Handler("/_fleetsim/v1/")
		apiOpts = append(apiOpts,
			api.WithExtension(api.Extension{Pattern: "/_fleetsim/v1/modems", Handler: controls}),
			api.WithExtension(api.Extension{Pattern: "/_fleetsim/v1/modems/", Handler: controls}),
			api.WithExtension(api.Extension{Pattern: "/_fleetsim/v1/networks/", Handler: controls}),
			api.WithCardExtras(func(iccid string) map[string]any {
				if i := fleet.ByICCID(iccid); i >= 0 {
					st := fleet.Status(i)
					return map[string]any{"modem": i, "profile": st.Profile, "pty": st.PTY, "ports": st.Ports, "location": st.Country}
				}
				return nil
			}),
		)
		printModems(stdout, fleet)
		modems = fleet
	}
	cons := console.New(ctl, modems)
	defer cons.Close()
	for _, e := range cons.Extensions() {
		apiOpts = append(apiOpts, api.WithExtension(e))
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	srv := api.NewHTTPServer(api.New(ctl, apiOpts...), api.DefaultTimeouts, logger)
	srv.RegisterOnShutdown(func() { cons.Close() }) // its live streams would hold Shutdown up
	main := ctl.MainAccount()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "fleetsim: Super SIM API on %s (state %s, %d cards)\n", url, pgstore.Redacted(f.state), f.sims)
	fmt.Fprintf(stdout, "  account SID: %s\n", main.Sid)
	if f.authToken == "" {
		fmt.Fprintf(stdout, "  auth token:  %s\n", main.AuthToken)
	}
	fmt.Fprintf(stdout, "  console:     %s/console/ (the API's credentials)\n", url)
	fmt.Fprintf(stdout, "  try: curl -u %s:<auth token> %s/v1/Networks?IsoCountry=GB\n", main.Sid, url)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// startModems exposes one virtual modem per inventory card on a PTY.
func startModems(ctx context.Context, f serveFlags, ctl *sim.Control, stats *modem.Stats, logger *slog.Logger) (*modem.Fleet, error) {
	profiles, err := f.modems.profiles(f.profile)
	if err != nil {
		return nil, err
	}
	if len(ctl.Catalog().InCountry(f.location)) == 0 {
		return nil, fmt.Errorf("--location %q: no networks of that country in the catalog", f.location)
	}
	cards := ctl.Cards()[:f.modems.n]
	simCards := make([]sim.Card, len(cards))
	for i, c := range cards {
		simCards[i] = c.Card
	}
	timing := modem.DefaultTiming
	timing.Scan, timing.Attach = f.scanTime, f.attachTime
	return modem.StartFleet(ctx, modem.FleetConfig{
		Cards: simCards, Core: ctl, World: modem.NewWorld(ctl.Catalog()), Profiles: profiles,
		Country: f.location, Timing: timing, AuthCache: f.authCache, Dir: f.modemDir, ExtraPorts: f.atPorts,
		Logger: logger, Stats: stats,
	})
}

// printModems lists where the modems are, the first ones in full.
func printModems(w io.Writer, fleet *modem.Fleet) {
	const shown = 16
	n := len(fleet.Modems())
	fmt.Fprintf(w, "fleetsim: %d virtual modem(s)\n", n)
	for i := range min(n, shown) {
		st := fleet.Status(i)
		where := ""
		for j, p := range st.Ports {
			if j > 0 {
				where += "  " + p.Name + " "
			}
			where += p.PTY
			if p.Link != "" {
				where += " (" + p.Link + ")"
			}
		}
		fmt.Fprintf(w, "  modem %d (%s): %s  ICCID %s  %s\n", i, st.Profile, where, st.ICCID, st.Country)
	}
	if n > shown {
		fmt.Fprintf(w, "  ... %d more: GET /_fleetsim/v1/modems\n", n-shown)
	}
}
