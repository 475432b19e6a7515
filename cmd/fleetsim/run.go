package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
	"github.com/fleetsim/fleetsim/sim/sqlstore"
)

const usage = `fleetsim simulates a fleet of cellular IoT devices on Super SIMs.

Usage:
  fleetsim serve [flags]    serve the Super SIM REST API
  fleetsim help             show this help

Run "fleetsim serve -h" for the flags.
`

// run is the whole program with its environment injected, so tests run the
// CLI in process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "fleetsim: unknown command %q\n\n%s", args[0], usage)
	return 2
}

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
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var f serveFlags
	fs := flag.NewFlagSet("fleetsim serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	fs.StringVar(&f.state, "state", "fleetsim.db", `SQLite file that keeps the state; ":memory:" for a throwaway run`)
	fs.StringVar(&f.accountSid, "account-sid", getenv("FLEETSIM_ACCOUNT_SID"), "main account SID (env FLEETSIM_ACCOUNT_SID); generated when absent")
	fs.StringVar(&f.authToken, "auth-token", getenv("FLEETSIM_AUTH_TOKEN"), "main account auth token (env FLEETSIM_AUTH_TOKEN); generated when absent")
	fs.IntVar(&f.sims, "sims", sim.DefaultCards, "number of SIM cards in the inventory")
	fs.StringVar(&f.cardSeed, "card-seed", "fleetsim", "seed the card inventory (ICCIDs, IMSIs, registration codes) is made from")
	fs.DurationVar(&f.updateDelay, "update-delay", sim.DefaultUpdateDelay, "how long an asynchronous Sim update stays scheduled")
	fs.DurationVar(&f.propagation, "limit-propagation", sim.DefaultLimitPropagation, "how long a Fleet's new data limit takes to be enforced (at most 15m)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "fleetsim serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	logger, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim serve: %v\n", err)
		return 2
	}
	if err := serveAPI(ctx, f, logger, stdout); err != nil {
		fmt.Fprintf(stderr, "fleetsim serve: %v\n", err)
		return 1
	}
	return 0
}

func serveAPI(ctx context.Context, f serveFlags, logger *slog.Logger, stdout io.Writer) error {
	store, err := sqlstore.Open(ctx, f.state)
	if err != nil {
		return err
	}
	ctl, err := sim.New(ctx, store,
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

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.New(ctl, api.WithLogger(logger)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	main := ctl.MainAccount()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "fleetsim: Super SIM API on %s (state %s, %d cards)\n", url, f.state, f.sims)
	fmt.Fprintf(stdout, "  account SID: %s\n", main.Sid)
	if f.authToken == "" {
		fmt.Fprintf(stdout, "  auth token:  %s\n", main.AuthToken)
	}
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
