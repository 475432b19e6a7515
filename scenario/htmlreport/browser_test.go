package htmlreport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

// chromium returns the path of a Chromium to drive headless. Outside CI a
// machine without one skips the browser tests; under CI (env CI set) that
// is a failure: .ci/run installs Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium is not installed (Debian package chromium; .ci/run installs it): the HTML report is not tested in a browser"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + ": required under CI")
	}
	t.Skip(msg)
	return ""
}

// headless runs Chromium headless on a local file with the given extra
// flags (--dump-dom, --screenshot=...) and returns its standard output.
// The profile is fresh and nothing reaches the network.
func headless(t *testing.T, file string, extra ...string) string {
	t.Helper()
	bin := chromium(t)
	abs, err := filepath.Abs(file)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}, extra...)
	args = append(args, "file://"+abs)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no profile of the user's
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(extra, " "), err, stderr.String())
	}
	t.Logf("chromium %s: %v", strings.Join(extra, " "), time.Since(start).Round(time.Millisecond))
	return stdout.String()
}

func writePage(t *testing.T, rep *report.Report) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(path, []byte(render(t, rep)), 0o644))
	return path
}

// TestReportInBrowser loads the report of testdata/report.yaml in headless
// Chromium and checks what its script drew against the report's data:
// each chart with its series and points, the timeline's markers, the
// bars of the distributions, the blocked SIMs, the expectation bands.
func TestReportInBrowser(t *testing.T) {
	rep := runTestScenario(t)
	S := rep.Series
	require.NotNil(t, S)
	dom, err := parseDOM(headless(t, writePage(t, rep), "--dump-dom"))
	require.NoError(t, err)
	html := dom.find("html")
	require.Len(t, html, 1)
	require.Equal(t, "true", html[0].attrs["data-rendered"], "the script ran to its end")

	chart := func(id string) *node {
		t.Helper()
		f := dom.find("figure", "chart", "data-chart="+id)
		require.Len(t, f, 1, "chart %s", id)
		return f[0]
	}
	series := func(f *node) map[string]int { // name → points
		out := map[string]int{}
		for _, p := range f.find("path", "series") {
			out[p.attrs["data-name"]] = pathPoints(p.attrs["d"])
			assert.Equal(t, strconv.Itoa(pathPoints(p.attrs["d"])), p.attrs["data-points"])
		}
		return out
	}
	n := len(S.Times)
	require.Equal(t, 301, n) // 5h at 1m
	for _, g := range S.Groups {
		want := map[string]int{"registered": n, "searching": n, "denied": n, "data blocked": n}
		f := chart("registrations-" + g.Name)
		assert.Equal(t, want, series(f), g.Name)
		nets := map[string]int{}
		for _, ns := range g.Networks {
			nets[ns.PLMN+" "+ns.Name] = n
		}
		assert.Equal(t, nets, series(chart("networks-"+g.Name)), g.Name)
		// The timeline: the events of all groups and of this one.
		var kinds []string
		for _, e := range S.Events {
			if e.Group == "" || e.Group == g.Name {
				kinds = append(kinds, e.Kind)
			}
		}
		var got []string
		for _, e := range f.find("g", "event") {
			got = append(got, e.attrs["data-kind"])
		}
		assert.Equal(t, kinds, got, g.Name)
	}
	assert.Len(t, chart("registrations-roamers").find("g", "event"), 5) // move, NAP, outage and its end, power cycle
	assert.Len(t, chart("registrations-meters").find("g", "event"), 3)  // not the roamers' move and power cycle

	// Attach latency: a bar per bucket, with its count.
	bars := chart("attach-latency").find("rect", "bar")
	require.Len(t, bars, len(S.AttachLatency.Buckets))
	for i, b := range S.AttachLatency.Buckets {
		assert.Equal(t, strconv.Itoa(b.Count), bars[i].attrs["data-count"])
	}

	// Data: blocked over time per group, use per SIM against the limit.
	assert.Equal(t, map[string]int{"meters": n, "roamers": n}, series(chart("blocked")))
	usage := chart("usage-meters")
	assert.Len(t, usage.find("rect", "bar"), 20)
	assert.Len(t, usage.find("line", "limit"), 1, "the 2 MB limit is marked")
	blocked := usage.find("b", "blocked-count", "data-group=meters")
	require.Len(t, blocked, 1)
	assert.Equal(t, "40", blocked[0].Text(), "every meter was blocked")
	assert.Len(t, usage.find("table", "blocked")[0].find("tbody")[0].find("tr"), 10)
	assert.Equal(t, "0", chart("usage-roamers").find("b", "blocked-count")[0].Text())
	assert.Empty(t, chart("usage-roamers").find("table", "blocked"))

	// Expectations: a band each, green or red, with its samples.
	groups := chart("expectations").find("g", "expectation")
	require.Len(t, groups, len(rep.Expectations))
	for i, o := range rep.Expectations {
		cls := "pass"
		if !o.Pass {
			cls = "fail"
		}
		g := groups[i]
		assert.Equal(t, o.Name, g.attrs["data-name"])
		assert.True(t, g.hasClass(cls), "%s: want class %s, got %q", o.Name, cls, g.attrs["class"])
		require.Len(t, g.find("rect", "band", cls), 1, o.Name)
		assert.Len(t, g.find("circle", "sample"), o.Samples, o.Name)
	}
	fails := chart("expectations").find("circle", "sample", "fail")
	assert.NotEmpty(t, fails, "the failing samples are red")

	// No SMS or IP Commands in this scenario: no chart for them.
	assert.Empty(t, dom.find("figure", "data-chart=commands"))
	assert.Len(t, dom.find("table", "timeline")[0].find("tbody")[0].find("tr"), len(S.Events))
}

// TestScreenshot renders the report of scenarios/eu-tracker.yaml and, with
// UPDATE_SCREENSHOTS=1, writes docs/report.png (the README's picture). CI
// does not compare pixels.
func TestScreenshot(t *testing.T) {
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		t.Skip("set UPDATE_SCREENSHOTS=1 to regenerate docs/report.png")
	}
	cat, err := sim.DefaultCatalog()
	require.NoError(t, err)
	s, err := spec.LoadValid("../../scenarios/eu-tracker.yaml", cat)
	require.NoError(t, err)
	rep, err := scenario.Run(context.Background(), s, scenario.Options{Catalog: cat})
	require.NoError(t, err)
	rep.File = "scenarios/eu-tracker.yaml"
	out, err := filepath.Abs("../../docs/report.png")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	headless(t, writePage(t, rep), "--screenshot="+out, "--window-size=1280,2000")
	st, err := os.Stat(out)
	require.NoError(t, err)
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", out, st.Size())
}
