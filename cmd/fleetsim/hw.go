package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetsim/fleetsim/hw"
)

func newHWCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hw",
		Short: "Talk to a real cellular module over a serial port",
		Long: `Talks to a real cellular module over a serial port.
Exits 0 when the module answered, 1 when the port or the module failed,
2 on a usage error.`,
		Args: cobra.ArbitraryArgs,
		RunE: runGroup,
	}
	cmd.AddCommand(newHWPortsCmd(), newHWProbeCmd(getenv))
	return cmd
}

func newHWPortsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ports [--json]",
		Short: "List the serial ports, with USB vendor and product IDs",
		Args:  exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			ports, err := hw.Ports()
			if err != nil {
				return err
			}
			stdout := c.OutOrStdout()
			if asJSON {
				if ports == nil {
					ports = []hw.PortInfo{}
				}
				return writeJSON(stdout, ports)
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
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type probeFlags struct {
	port                 string
	baud                 int
	scan                 bool
	scanTimeout, timeout time.Duration
	trace                string
	json                 bool
}

func newHWProbeCmd(getenv func(string) string) *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe --port PATH [flags]",
		Short: "Ask a module for its identity, SIM, registration, operator, signal and PDP contexts",
		Long: `Asks the module for its identity, SIM, registration (with the reject cause),
operator, signal and PDP contexts; --scan also lists the networks in range
(AT+COPS=?, up to --scan-timeout, with progress on stderr). --trace records
every exchange.`,
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			fromEnv(c.Flags(), "port", getenv, "FLEETSIM_HW_PORT")
			return hwProbe(c.Context(), f, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.port, "port", "", "serial `port` of the module, e.g. /dev/ttyUSB2 (env FLEETSIM_HW_PORT)")
	fs.IntVar(&f.baud, "baud", hw.DefaultBaud, "bit rate")
	fs.BoolVar(&f.scan, "scan", false, "also scan for networks (AT+COPS=?)")
	fs.DurationVar(&f.scanTimeout, "scan-timeout", hw.CommandTimeout("+COPS=?"), "how long the scan may take")
	fs.DurationVar(&f.timeout, "timeout", 0, "give up on the whole probe after this long (0: no limit)")
	fs.StringVar(&f.trace, "trace", "", "record every exchange to this `file`")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

func hwProbe(ctx context.Context, f probeFlags, stdout, stderr io.Writer) error {
	switch {
	case f.port == "":
		return usagef("--port is required (or env FLEETSIM_HW_PORT)")
	case f.baud <= 0:
		return usagef("--baud: must be positive, got %d", f.baud)
	case f.scanTimeout <= 0 || f.timeout < 0:
		return usagef("--scan-timeout must be positive and --timeout not negative")
	}
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	opts := []hw.Option{hw.WithBaud(f.baud), hw.WithCommandTimeout("+COPS=?", f.scanTimeout)}
	if f.trace != "" {
		tf, err := os.Create(f.trace)
		if err != nil {
			return err
		}
		defer tf.Close()
		opts = append(opts, hw.WithTrace(tf))
	}
	c, err := hw.Open(ctx, f.port, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := hw.Probe(ctx, c, f.scan, func(s string) { fmt.Fprintf(stderr, "%s: %s\n", f.port, s) })
	c.Close()
	if f.json {
		if err := writeJSON(stdout, r); err != nil {
			return err
		}
	} else {
		printProbe(stdout, f.port, r)
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
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
