package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fleetsim/fleetsim/scenario/report"

	"github.com/fleetsim/fleetsim/scenario/spec"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/scenario"
	"github.com/fleetsim/fleetsim/scenario/htmlreport"
	"github.com/fleetsim/fleetsim/sim"
)

const runUsage = `Usage: fleetsim run [flags] FILE

Runs a scenario on virtual time and checks its expectations.
With --exec, the scenario plays in real time: the devices of groups marked
pty: true are served on pseudo-terminals for the command to drive, as
firmware drives a module's UART.
Exit status: 0 all expectations held, 1 some failed (or a threshold
aborted the run), 2 the scenario is invalid or the command line is wrong,
3 SIGINT or SIGTERM interrupted the run (the summary and reports cover the
virtual time reached and are marked interrupted).
With --json - (or --junit -, --html -) standard output holds only that
report and the summary goes to standard error.

Flags:
`

type runFlags struct {
	json, junit string
	html        string
	seed        string
	quiet       bool
	noColor     bool
	wall        bool
	exec        string
	hw          hwBindings
	api         string
	trace       string
	baud        int
}

// hwBindings is the repeatable --hw NAME=PORT flag.
type hwBindings map[string]string

func (h hwBindings) String() string { return "" }

func (h hwBindings) Set(v string) error {
	name, port, ok := strings.Cut(v, "=")
	if !ok || name == "" || port == "" {
		return fmt.Errorf("want GROUP/INDEX=PORT, e.g. tracker/0=/dev/ttyUSB2")
	}
	h[name] = port
	return nil
}

// parseInterspersed parses flags that may come before or after the
// positional arguments, as people type them.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runScenario(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f := runFlags{hw: hwBindings{}}
	fs := flag.NewFlagSet("fleetsim run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, runUsage); fs.PrintDefaults() }
	fs.StringVar(&f.json, "json", "", "write the JSON report to this file (- for standard output)")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to this file")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report with charts to this file")
	fs.StringVar(&f.seed, "seed", "", "seed of the run, instead of the scenario's")
	fs.BoolVar(&f.quiet, "quiet", false, "print only the summary, no progress")
	fs.BoolVar(&f.noColor, "no-color", getenv("NO_COLOR") != "", "no colours in the summary (also NO_COLOR)")
	fs.BoolVar(&f.wall, "wall", true, "include wall-clock figures (time, events/s, memory) in the JSON report")
	fs.Var(f.hw, "hw", "bind a device to a real modem: GROUP/INDEX=PORT (GROUP=PORT for a group of one); repeatable; the run plays in real time")
	fs.IntVar(&f.baud, "baud", 115200, "baud rate of the --hw serial ports")
	fs.StringVar(&f.api, "api", "", "send control-plane actions to this Super SIM API (e.g. https://supersim.twilio.com) instead of the embedded simulator; credentials from TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN or TWILIO_API_KEY/TWILIO_API_SECRET")
	fs.StringVar(&f.trace, "trace", "", "record every AT exchange of every device to this file")
	fs.StringVar(&f.exec, "exec", "", "play the scenario in real time and run this command beside it, with the PTY of each pty group device in $FLEETSIM_PTY / $FLEETSIM_PTYS")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	toStdout := 0
	for _, v := range []string{f.json, f.junit, f.html} {
		if v == "-" {
			toStdout++
		}
	}
	if toStdout > 1 {
		fmt.Fprintln(stderr, "fleetsim run: --json, --junit and --html: only one of them may write to standard output (-); give the others a file")
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
		opts.APIUser, opts.APIPassword = getenv("TWILIO_API_KEY"), getenv("TWILIO_API_SECRET")
		if opts.APIUser == "" {
			opts.APIUser, opts.APIPassword = getenv("TWILIO_ACCOUNT_SID"), getenv("TWILIO_AUTH_TOKEN")
		}
		if opts.APIUser == "" || opts.APIPassword == "" {
			fmt.Fprintln(stderr, "fleetsim run: --api needs credentials: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET")
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
	s, err := spec.LoadValid(pos[0], cat)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return 2
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
		fmt.Fprintf(stderr, "fleetsim run: %s: interrupted during set-up, nothing to report\n", pos[0])
		return exitInterrupted
	}
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %s: %v\n", pos[0], err)
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
	if f.json != "" {
		if err := writeReport(f.json, stdout, func(w io.Writer) error { return report.WriteJSON(w, rep) }); err != nil {
			fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
			return 2
		}
	}
	if f.junit != "" {
		if err := writeReport(f.junit, stdout, func(w io.Writer) error { return report.WriteJUnit(w, rep) }); err != nil {
			fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
			return 2
		}
	}
	if f.html != "" {
		if err := writeReport(f.html, stdout, func(w io.Writer) error { return htmlreport.Write(w, rep) }); err != nil {
			fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
			return 2
		}
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
