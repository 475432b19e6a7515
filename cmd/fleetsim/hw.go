package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fleetsim/fleetsim/hw"
)

const hwUsage = `Usage: fleetsim hw ports [--json]
       fleetsim hw probe --port PATH [--baud N] [--scan] [--scan-timeout D]
                         [--timeout D] [--trace FILE] [--json]

Talks to a real cellular module over a serial port.

  ports   lists the serial ports, with USB vendor and product IDs.
  probe   asks the module for its identity, SIM, registration (with the
          reject cause), operator, signal and PDP contexts; --scan also
          lists the networks in range (AT+COPS=?, up to --scan-timeout,
          with progress on stderr). --trace records every exchange.

The port may also be given as $FLEETSIM_HW_PORT. Exits 0 when the module
answered, 1 when the port or the module failed, 2 on a usage error.
`

// hwCmd is `fleetsim hw ...`.
func hwCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, hwUsage)
		return 2
	}
	switch args[0] {
	case "ports":
		return hwPorts(args[1:], stdout, stderr)
	case "probe":
		return hwProbe(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, hwUsage)
		return 0
	}
	fmt.Fprintf(stderr, "fleetsim hw: unknown command %q\n\n%s", args[0], hwUsage)
	return 2
}

func hwFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("fleetsim hw "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, hwUsage) }
	return fs
}

// parseHWFlags parses args; it returns an exit code when the command ends here.
func parseHWFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

func hwPorts(args []string, stdout, stderr io.Writer) int {
	fs := hwFlags("ports", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if code, done := parseHWFlags(fs, args, stderr); done {
		return code
	}
	ports, err := hw.Ports()
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim hw ports: %v\n", err)
		return 1
	}
	if *asJSON {
		if ports == nil {
			ports = []hw.PortInfo{}
		}
		return writeJSON(stdout, stderr, ports)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tVID:PID\tSERIAL\tMANUFACTURER\tPRODUCT")
	for _, p := range ports {
		id := "-"
		if p.USB {
			id = p.VID + ":" + p.PID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Path, id, dash(p.SerialNumber), dash(p.Manufacturer), dash(p.Product))
	}
	tw.Flush()
	return 0
}

func hwProbe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := hwFlags("probe", stderr)
	port := fs.String("port", getenv("FLEETSIM_HW_PORT"), "serial port of the module, e.g. /dev/ttyUSB2")
	baud := fs.Int("baud", hw.DefaultBaud, "bit rate")
	scan := fs.Bool("scan", false, "also scan for networks (AT+COPS=?)")
	scanTimeout := fs.Duration("scan-timeout", hw.CommandTimeout("+COPS=?"), "how long the scan may take")
	timeout := fs.Duration("timeout", 0, "give up on the whole probe after this long (0: no limit)")
	tracePath := fs.String("trace", "", "record every exchange to this file")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, done := parseHWFlags(fs, args, stderr); done {
		return code
	}
	switch {
	case *port == "":
		fmt.Fprintf(stderr, "fleetsim hw probe: --port is required\n\n%s", hwUsage)
		return 2
	case *baud <= 0:
		fmt.Fprintf(stderr, "fleetsim hw probe: --baud: must be positive, got %d\n", *baud)
		return 2
	case *scanTimeout <= 0 || *timeout < 0:
		fmt.Fprintln(stderr, "fleetsim hw probe: --scan-timeout must be positive and --timeout not negative")
		return 2
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	opts := []hw.Option{hw.WithBaud(*baud), hw.WithCommandTimeout("+COPS=?", *scanTimeout)}
	if *tracePath != "" {
		f, err := os.Create(*tracePath)
		if err != nil {
			fmt.Fprintf(stderr, "fleetsim hw probe: %v\n", err)
			return 1
		}
		defer f.Close()
		opts = append(opts, hw.WithTrace(f))
	}
	c, err := hw.Open(ctx, *port, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim hw probe: %v\n", err)
		return 1
	}
	defer c.Close()
	r, err := hw.Probe(ctx, c, *scan, func(s string) { fmt.Fprintf(stderr, "%s: %s\n", *port, s) })
	c.Close()
	if *asJSON {
		if code := writeJSON(stdout, stderr, r); code != 0 {
			return code
		}
	} else {
		printProbe(stdout, *port, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim hw probe: %v\n", err)
		return 1
	}
	return 0
}

func writeJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "fleetsim hw: %v\n", err)
		return 1
	}
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printProbe prints a probe result as an aligned table of fields.
func printProbe(w io.Writer, port string, r *hw.ProbeResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("port", port)
	row("manufacturer", r.Manufacturer)
	row("model", r.Model)
	row("revision", r.Revision)
	row("IMEI", r.IMEI)
	row("ICCID", r.ICCID)
	row("IMSI", r.IMSI)
	row("SIM", r.SIMState)
	if r.Functionality != nil {
		row("functionality", fmt.Sprintf("%d (%s)", *r.Functionality, cfunText(*r.Functionality)))
	}
	reg := func(name string, g *hw.Registration) {
		if g == nil {
			return
		}
		v := fmt.Sprintf("%d (%s)", g.Stat, g.StatText)
		if g.Area != "" || g.CellID != "" {
			v += fmt.Sprintf(", area %s cell %s", dash(g.Area), dash(g.CellID))
		}
		if g.RejectCause != nil {
			v += fmt.Sprintf(", reject cause %d", *g.RejectCause)
		}
		row(name, v)
	}
	reg("EPS registration", r.EPS)
	reg("CS registration", r.CS)
	reg("GPRS registration", r.GPRS)
	if o := r.Operator; o != nil {
		v := fmt.Sprintf("mode %d", o.Mode)
		if o.Name != "" {
			v = o.Name + ", " + v
		}
		if o.AcTText != "" {
			v += ", " + o.AcTText
		}
		row("operator", v)
	}
	if s := r.Signal; s != nil {
		v := fmt.Sprintf("CSQ %d,%d", s.RSSI, s.BER)
		if s.DBm != nil {
			v += fmt.Sprintf(" (%d dBm)", *s.DBm)
		}
		if s.SysMode != "" {
			q := make([]string, len(s.QCSQ))
			for i, n := range s.QCSQ {
				q[i] = strconv.Itoa(n)
			}
			v += "; QCSQ " + strings.TrimSpace(s.SysMode+" "+strings.Join(q, ","))
		}
		row("signal", v)
	}
	for _, p := range r.PDP {
		v := fmt.Sprintf("%s %q", p.Type, p.APN)
		if p.Active != nil {
			v += map[bool]string{true: ", active", false: ", inactive"}[*p.Active]
		}
		if len(p.Addresses) > 0 {
			v += ", " + strings.Join(p.Addresses, " ")
		}
		row(fmt.Sprintf("PDP context %d", p.CID), v)
	}
	for _, n := range r.Networks {
		row("network "+n.Numeric, fmt.Sprintf("%s (%s), %s, %s", n.Long, n.Short, n.StatText, dash(n.AcTText)))
	}
	for _, e := range r.Errors {
		row("error "+e.Command, e.Error)
	}
	tw.Flush()
}

func cfunText(n int) string {
	switch n {
	case 0:
		return "minimum"
	case 1:
		return "full"
	case 4:
		return "radio off"
	}
	return "other"
}
