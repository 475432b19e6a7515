package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/scenario"
	"github.com/fleetsim/fleetsim/scenario/htmlreport"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

const runLong = `Runs a scenario on virtual time and checks its expectations.

With --exec, the scenario plays in real time: the devices of groups marked
pty: true are served on pseudo-terminals for the command to drive, as
firmware drives a module's UART.

Exit status: 0 all expectations held, 1 some failed (or a threshold
aborted the run), 2 the scenario is invalid or the command line is wrong,
3 SIGINT or SIGTERM interrupted the run (the summary and reports cover the
virtual time reached and are marked interrupted).
With --json - (or --junit -, --html -) standard output holds only that
report and the summary goes to standard error.`

type runFlags struct {
	reportFiles
	seed       string
	quiet      bool
	noColor    bool
	wall       bool
	exec       string
	hw         hwBindings
	api        string
	trace      string
	baud       int
	accountSid string
	authToken  string
	shard      string
}

// hwBindings is the repeatable --hw NAME=PORT flag.
type hwBindings map[string]string

func (h hwBindings) String() string { return "" }

func (h hwBindings) Type() string { return "GROUP=PORT" }

func (h hwBindings) Set(v string) error {
	name, port, ok := strings.Cut(v, "=")
	if !ok || name == "" || port == "" {
		return fmt.Errorf("want GROUP/INDEX=PORT, e.g. tracker/0=/dev/ttyUSB2")
	}
	h[name] = port
	return nil
}

func newRunCmd(getenv func(string) string) *cobra.Command {
	f := runFlags{hw: hwBindings{}}
	cmd := &cobra.Command{
		Use:   "run FILE [flags]",
		Short: "Run a scenario on virtual time and check its expectations",
		Long:  runLong,
		Args:  exactArgs("FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			if !c.Flags().Changed("no-color") {
				f.noColor = getenv("NO_COLOR") != ""
			}
			return exitCode(runScenario(c, args[0], &f, getenv))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.json, "json", "", "write the JSON report to this `file` (- for standard output)")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to this `file`")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report with charts to this `file`")
	fs.StringVar(&f.seed, "seed", "", "`seed` of the run, instead of the scenario's")
	fs.BoolVar(&f.quiet, "quiet", false, "print only the summary, no progress")
	fs.BoolVar(&f.noColor, "no-color", false, "no colours in the summary (env NO_COLOR)")
	fs.BoolVar(&f.wall, "wall", true, "include wall-clock figures (time, events/s, memory) in the JSON report")
	fs.Var(f.hw, "hw", "bind a device to a real modem: GROUP/INDEX=PORT (GROUP=PORT for a group of one); repeatable; the run plays in real time")
	fs.IntVar(&f.baud, "baud", 115200, "baud rate of the --hw serial ports")
	fs.StringVar(&f.api, "api", "", "send control-plane actions to the Super SIM API at this `URL` (e.g. https://supersim.twilio.com or a \"fleetsim serve\") instead of the embedded simulator")
	fs.StringVar(&f.accountSid, "account-sid", "", "with --api: account `SID` (env FLEETSIM_ACCOUNT_SID, TWILIO_ACCOUNT_SID; or an API key pair FLEETSIM_API_KEY/FLEETSIM_API_SECRET, TWILIO_API_KEY/TWILIO_API_SECRET)")
	fs.StringVar(&f.authToken, "auth-token", "", "with --api: auth `token` (env FLEETSIM_AUTH_TOKEN, TWILIO_AUTH_TOKEN)")
	fs.StringVar(&f.trace, "trace", "", "record every AT exchange of every device to this `file`")
	fs.StringVar(&f.shard, "shard", "", "simulate only shard `i/N` of the devices (device k in shard k mod N) and write a partial report with --json, for \"fleetsim merge\"")
	fs.StringVar(&f.exec, "exec", "", "play the scenario in real time and run this `command` beside it, with the PTY of each pty group device in $FLEETSIM_PTY / $FLEETSIM_PTYS")
	return cmd
}

// apiCredentials resolves run --api's credentials: the flags (the other
// one of the pair from the environment), else the first pair set of
// FLEETSIM_API_KEY/FLEETSIM_API_SECRET, FLEETSIM_ACCOUNT_SID/FLEETSIM_AUTH_TOKEN,
// TWILIO_API_KEY/TWILIO_API_SECRET, TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN.
func apiCredentials(f *runFlags, getenv func(string) string) (user, password string) {
	if f.accountSid != "" || f.authToken != "" {
		user, password = f.accountSid, f.authToken
		if user == "" {
			user, _ = envFirst(getenv, "FLEETSIM_ACCOUNT_SID", "TWILIO_ACCOUNT_SID")
		}
		if password == "" {
			password, _ = envFirst(getenv, "FLEETSIM_AUTH_TOKEN", "TWILIO_AUTH_TOKEN")
		}
		return user, password
	}
	for _, prefix := range []string{"FLEETSIM_", "TWILIO_"} {
		for _, pair := range [][2]string{{"API_KEY", "API_SECRET"}, {"ACCOUNT_SID", "AUTH_TOKEN"}} {
			if user := getenv(prefix + pair[0]); user != "" {
				return user, getenv(prefix + pair[1])
			}
		}
	}
	return "", ""
}

func runScenario(c *cobra.Command, file string, f *runFlags, getenv func(string) string) int {
	ctx, stdout, stderr := c.Context(), c.OutOrStdout(), c.ErrOrStderr()
	toStdout := f.toStdout()
	if !f.check("run", stderr) {
		return 2
	}
	var opts scenario.Options
	if f.seed != "" {
		v, err := strconv.ParseUint(f.seed, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "fleetsim run: invalid --seed %q: want a non-negative integer\n", f.seed)
			return 2
		}
		opts.Seed = &v
	}
	cat, err := sim.DefaultCatalog()
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
		return 2
	}
	opts.Catalog = cat
	if f.exec != "" {
		opts.Exec, opts.ExecOutput = f.exec, stderr
		opts.OnPTY = func(group string, i int, path string) {
			fmt.Fprintf(stderr, "fleetsim: %s[%d] on %s\n", group, i, path)
		}
	}
	if len(f.hw) > 0 {
		opts.HW, opts.HWOptions = f.hw, []hw.Option{hw.WithBaud(f.baud)}
	}
	if f.api != "" {
		opts.API = f.api
		opts.APIUser, opts.APIPassword = apiCredentials(f, getenv)
		if opts.APIUser == "" || opts.APIPassword == "" {
			fmt.Fprintln(stderr, "fleetsim run: --api needs credentials: set FLEETSIM_ACCOUNT_SID and FLEETSIM_AUTH_TOKEN (or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, "+
				"or an API key pair FLEETSIM_API_KEY/FLEETSIM_API_SECRET or TWILIO_API_KEY/TWILIO_API_SECRET), or pass --account-sid and --auth-token; "+
				"a local `fleetsim serve` prints its credentials at start")
			return 2
		}
	}
	if f.trace != "" {
		tf, err := os.Create(f.trace)
		if err != nil {
			fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
			return 2
		}
		defer tf.Close()
		opts.Trace = tf
	}
	var shard *scenario.Shard
	if f.shard != "" {
		sh, err := parseShard(f.shard)
		if err != nil {
			fmt.Fprintf(stderr, "fleetsim run: --shard %q: %v\n", f.shard, err)
			return 2
		}
		if f.json == "" || f.json == "-" || f.junit != "" || f.html != "" {
			fmt.Fprintln(stderr, "fleetsim run: --shard writes a partial report: give it --json FILE (no --junit, --html); \"fleetsim merge\" writes the reports")
			return 2
		}
		shard = &sh
	}
	shards := 1
	if shard != nil {
		shards = shard.Of
	}
	s, err := spec.LoadValidShards(file, cat, shards)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
	}
	tuneCollector(scenario.Devices(s, shard), getenv)
	if shard != nil {
		return runShard(c, file, s, *shard, opts, f)
	}
	tty := false
	if file, ok := stderr.(*os.File); ok {
		tty = report.IsTerminal(file)
	}
	var pp *report.ProgressPrinter
	if !f.quiet {
		pp = report.NewProgressPrinter(stderr, tty, 2*time.Second)
		opts.Progress = pp.Update
	}
	started := time.Now()
	rep, err := scenario.Run(ctx, s, opts)
	if pp != nil {
		pp.Done()
	}
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(stderr, "fleetsim run: %s: interrupted during set-up, nothing to report\n", file)
		return exitInterrupted
	}
	if err != nil && f.api != "" && unreachable(err) {
		err = unreachableHint(f.api, "--api", err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %s: %v\n", file, err)
		if errors.Is(err, scenario.ErrSetup) || errors.Is(err, scenario.ErrUsage) {
			return 2
		}
		return 1
	}
	secs := time.Since(started).Seconds()
	if f.wall {
		rep.Wall = &report.Wall{Started: started.UTC().Truncate(time.Second), Seconds: secs, PeakRSSMB: peakRSSMB()}
		if secs > 0 {
			rep.Wall.EventsPS = float64(rep.Events) / secs
		}
	}
	color := tty && !f.noColor
	if file, ok := stdout.(*os.File); ok {
		color = color && report.IsTerminal(file)
	} else {
		color = false
	}
	summary := stdout
	if toStdout > 0 { // stdout is the report's: pipe it into jq
		summary, color = stderr, tty && !f.noColor
	}
	report.WriteSummary(summary, rep, color)
	if err := f.write(rep, stdout); err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
		return 2
	}
	if rep.Interrupted {
		return exitInterrupted
	}
	if !rep.Passed {
		return 1
	}
	return 0
}

// exitInterrupted is run's exit status when SIGINT or SIGTERM stopped it.
const exitInterrupted = 3

// reportFiles are the reports a run or a merge writes: a file each, or "-"
// for standard output (one of them at most).
type reportFiles struct{ json, junit, html string }

// toStdout counts the reports that go to standard output.
func (r reportFiles) toStdout() int {
	n := 0
	for _, v := range []string{r.json, r.junit, r.html} {
		if v == "-" {
			n++
		}
	}
	return n
}

// check refuses more than one report on standard output, saying so as
// fleetsim's command name.
func (r reportFiles) check(name string, stderr io.Writer) bool {
	if r.toStdout() > 1 {
		fmt.Fprintf(stderr, "fleetsim %s: --json, --junit and --html: only one of them may write to standard output (-); give the others a file\n", name)
		return false
	}
	return true
}

// write writes the reports asked for.
func (r reportFiles) write(rep *report.Report, stdout io.Writer) error {
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{
		{r.json, func(w io.Writer) error { return report.WriteJSON(w, rep) }},
		{r.junit, func(w io.Writer) error { return report.WriteJUnit(w, rep) }},
		{r.html, func(w io.Writer) error { return htmlreport.Write(w, rep) }},
	} {
		if out.path == "" {
			continue
		}
		if err := writeReport(out.path, stdout, out.write); err != nil {
			return err
		}
	}
	return nil
}

func writeReport(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(file); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// peakRSSMB is the process's peak resident set size in MiB.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

// tuneCollector sets the garbage collector's target for a run of n
// devices in this process (scenario.GCPercent), unless the user chose one
// with GOGC. A GOMEMLIMIT still applies on top, as a ceiling.
func tuneCollector(n int, getenv func(string) string) {
	if getenv("GOGC") != "" {
		return
	}
	if p := scenario.GCPercent(n); p != 100 {
		debug.SetGCPercent(p)
	}
}
