package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetsim/fleetsim/scenario"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

const mergeLong = `Combines the partial reports of a run split in shards (fleetsim run FILE
--shard i/N --json PART, one per i in 0..N-1) into the report the unsharded
run gives: the same counts, expectations judged on the whole fleet, the
same charts. The parts carry the scenario file: merge needs nothing else.

Exit status: 0 all expectations held, 1 some failed, 2 the parts are
unreadable or not the N shards of one run (different scenario file, seed
or N, a shard missing or given twice).`

type mergeFlags struct {
	reportFiles
	noColor bool
}

func newMergeCmd(getenv func(string) string) *cobra.Command {
	var f mergeFlags
	cmd := &cobra.Command{
		Use:   "merge PART... [flags]",
		Short: "Combine the partial reports of a sharded run into its report",
		Long:  mergeLong,
		Args:  minArgs("PART"),
		RunE: func(c *cobra.Command, files []string) error {
			if !c.Flags().Changed("no-color") {
				f.noColor = getenv("NO_COLOR") != ""
			}
			return exitCode(mergeParts(c, files, &f))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.json, "json", "", "write the JSON report to this `file` (- for standard output)")
	fs.StringVar(&f.junit, "junit", "", "write a JUnit XML report to this `file`")
	fs.StringVar(&f.html, "html", "", "write a self-contained HTML report with charts to this `file`")
	fs.BoolVar(&f.noColor, "no-color", false, "no colours in the summary (env NO_COLOR)")
	return cmd
}

func mergeParts(c *cobra.Command, files []string, f *mergeFlags) int {
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	toStdout := f.toStdout()
	if !f.check("merge", stderr) {
		return 2
	}
	var parts []*report.Part
	for _, file := range files {
		p, err := readPart(file)
		if err != nil {
			fmt.Fprintf(stderr, "fleetsim merge: %s: %v\n", file, err)
			return 2
		}
		parts = append(parts, p)
	}
	cat, err := sim.DefaultCatalog()
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim merge: %v\n", err)
		return 2
	}
	rep, err := scenario.Merge(parts, cat)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim merge: %v\n", err)
		return 2
	}
	summary, color := stdout, false
	if file, ok := stdout.(*os.File); ok && toStdout == 0 {
		color = !f.noColor && report.IsTerminal(file)
	}
	if toStdout > 0 {
		summary = stderr
	}
	report.WriteSummary(summary, rep, color)
	if err := f.write(rep, stdout); err != nil {
		fmt.Fprintf(stderr, "fleetsim merge: %v\n", err)
		return 2
	}
	if !rep.Passed {
		return 1
	}
	return 0
}

func readPart(file string) (*report.Part, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return report.ReadPart(fh)
}

// parseShard reads --shard's i/N.
func parseShard(v string) (scenario.Shard, error) {
	is, ns, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return scenario.Shard{}, errors.New("want i/N, e.g. 0/4")
	case n < 1 || n > spec.MaxShards:
		return scenario.Shard{}, fmt.Errorf("the number of shards N must be between 1 and %d", spec.MaxShards)
	case i < 0 || i >= n:
		return scenario.Shard{}, fmt.Errorf("i must be between 0 and N-1 = %d", n-1)
	}
	return scenario.Shard{Index: i, Of: n}, nil
}

// runShard runs one shard and writes its partial report to --json. It
// exits 0 once the part is written, whatever the shard's devices showed:
// the verdict is merge's.
func runShard(c *cobra.Command, file string, s *spec.Scenario, sh scenario.Shard, opts scenario.Options, f *runFlags) int {
	stderr := c.ErrOrStderr()
	source, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
		return 2
	}
	var pp *report.ProgressPrinter
	if !f.quiet {
		tty := false
		if file, ok := stderr.(*os.File); ok {
			tty = report.IsTerminal(file)
		}
		pp = report.NewProgressPrinter(stderr, tty, 2*time.Second)
		opts.Progress = pp.Update
	}
	part, err := scenario.RunShard(c.Context(), s, source, sh, opts)
	if pp != nil {
		pp.Done()
	}
	if err != nil && c.Context().Err() != nil {
		fmt.Fprintf(stderr, "fleetsim run: %s: shard %s interrupted, no part written\n", file, sh)
		return exitInterrupted
	}
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %s: %v\n", file, err)
		if errors.Is(err, scenario.ErrSetup) || errors.Is(err, scenario.ErrUsage) {
			return 2
		}
		return 1
	}
	if err := writeReport(f.json, c.OutOrStdout(), func(w io.Writer) error { return report.WritePart(w, part) }); err != nil {
		fmt.Fprintf(stderr, "fleetsim run: %v\n", err)
		return 2
	}
	fmt.Fprintf(c.OutOrStdout(), "fleetsim: %s shard %s: %d of %d devices, %d events; part written to %s (fleetsim merge gives the verdict)\n",
		file, sh, len(part.Data.PoweredAt), part.Partial.Devices, part.Data.Events, f.json)
	if part.Report.Interrupted {
		return exitInterrupted
	}
	return 0
}
