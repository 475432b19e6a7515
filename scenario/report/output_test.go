package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// updateGolden rewrites the golden files of this package's tests:
// go test ./scenario -run Output -update
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden files")

var reportStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// reportFixtures are a passing run (with wall-clock figures), a failing
// one and an aborted one.
func reportFixtures() map[string]*Report {
	return map[string]*Report{
		"pass": {
			Scenario: "smoke", File: "scenarios/smoke.yaml", Seed: 42,
			Start: reportStart, End: reportStart.Add(24 * time.Hour), Duration: "24h",
			Devices: 5000, Events: 1234567, ATCommands: 45678, APIRequests: 321,
			Passed: true,
			Expectations: []Outcome{
				{Name: "all registered", When: "at 30m", Check: "registered >= 99%", Observed: "100%", Pass: true, Samples: 1, Line: 40},
				{Name: "few roaming", Group: "trackers", When: "during 2h..6h", Check: "roaming <= 5%", Observed: "3.1%", Pass: true, Samples: 241, Line: 44},
				{Name: "sims active", When: "end", Check: "sims == 100%", Observed: "5000", Pass: true, Samples: 1, Line: 50},
			},
			Wall: &Wall{Started: time.Date(2026, 5, 4, 10, 11, 12, 500, time.UTC), Seconds: 3.2104, EventsPS: 384552.6, PeakRSSMB: 212.5},
		},
		"fail": {
			Scenario: "nap-outage", File: "scenarios/nap-outage.yaml", Seed: 7,
			Start: reportStart, End: reportStart.Add(12 * time.Hour), Duration: "12h",
			Devices: 250, Events: 98765, ATCommands: 4321, APIRequests: 12,
			Expectations: []Outcome{
				{Name: "registered before outage", When: "at 1h", Check: "registered >= 99%", Observed: "100%", Pass: true, Samples: 1, Line: 30},
				{Name: "roaming <5% & \"quiet\"", When: "during 2h..6h", Check: "roaming <= 5%", Observed: "7.2%", FailedAt: "2h10m", Samples: 241, Line: 34},
				{Name: "sim status", When: "end", Check: "api GET /v1/Sims/{sim} status == active", Observed: "inactive", FailedAt: "12h", Samples: 1, Message: "Sims/HS00 answered status inactive", Line: 41},
				{Name: "recovered", When: "end", Check: "registered >= 99%", Observed: "99.6%", Pass: true, Samples: 1, Line: 47},
			},
		},
		"aborted": {
			Scenario: "limits", File: "scenarios/limits.yaml", Seed: 3,
			Start: reportStart, End: reportStart.Add(6*time.Hour + 12*time.Minute), Duration: "6h12m",
			Devices: 5000, Events: 400000, ATCommands: 20000, APIRequests: 40,
			Aborted: true, AbortedAt: "6h12m",
			Expectations: []Outcome{
				{Name: "registered", When: "at 10m", Check: "registered >= 99%", Observed: "99.9%", Pass: true, Samples: 1, Line: 20},
				{Name: "nobody denied", When: "during 0s..24h", Check: "denied == 0", Observed: "12", FailedAt: "6h12m", Samples: 373, Line: 24},
				{Name: "data blocked at limit", When: "at 12h", Check: "data_blocked >= 90%", Skipped: true, Line: 29},
				{Name: "usage", When: "end", Check: "usage_mb <= 10", Skipped: true, Line: 33},
			},
		},
	}
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestOutputGolden(t *testing.T) {
	for name, r := range reportFixtures() {
		t.Run(name, func(t *testing.T) {
			var j, x, s bytes.Buffer
			if err := WriteJSON(&j, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteJUnit(&x, r); err != nil {
				t.Fatal(err)
			}
			WriteSummary(&s, r, false)
			golden(t, name+".json", j.Bytes())
			golden(t, name+".xml", x.Bytes())
			golden(t, name+".txt", s.Bytes())
		})
	}
}

func TestJSONRoundTripAndDeterminism(t *testing.T) {
	for name, r := range reportFixtures() {
		t.Run(name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := WriteJSON(&a, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("two writes of the same report differ")
			}
			if !strings.HasSuffix(a.String(), "}\n") {
				t.Errorf("output does not end in a newline: %q", a.String()[max(0, a.Len()-10):])
			}
			if strings.Contains(a.String(), `\u003e`) || strings.Contains(a.String(), `\u0026`) {
				t.Error("> or & escaped: checks should read as written")
			}
			var back Report
			dec := json.NewDecoder(&a)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, r) {
				t.Errorf("round trip changed the report:\n got %+v\nwant %+v", back, *r)
			}
		})
	}
}

func TestJSONWithoutWallOrExpectations(t *testing.T) {
	r := &Report{Scenario: "empty", Start: reportStart, End: reportStart, Duration: "0s"}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if got := string(m["expectations"]); got != "[]" {
		t.Errorf("expectations = %s, want []", got)
	}
	for _, k := range []string{"wall", "aborted_at"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s present, want it left out", k)
		}
	}
	if r.Expectations != nil {
		t.Error("WriteJSON changed the report")
	}
}

// junitDoc is read independently of the writer's types, as a CI reporter
// would read the file.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Skipped    int    `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			File      string `xml:"file,attr"`
			Line      int    `xml:"line,attr"`
			Failure   []struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error   []struct{} `xml:"error"`
			Skipped []struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitParsesBack(t *testing.T) {
	tests := []struct {
		name                     string
		tests, failures, skipped int
		time, timestamp          string
	}{
		{"pass", 3, 0, 0, "3.210", "2026-05-04T10:11:12"},
		{"fail", 4, 2, 0, "0", ""},
		{"aborted", 4, 1, 2, "0", ""},
	}
	fixtures := reportFixtures()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtures[tt.name]
			var b bytes.Buffer
			if err := WriteJUnit(&b, r); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="UTF-8"?>`+"\n<testsuites") {
				t.Errorf("no XML declaration before <testsuites>: %.60q", b.String())
			}
			var doc junitDoc
			if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Tests != tt.tests || doc.Failures != tt.failures || doc.Errors != 0 || doc.Time != tt.time {
				t.Errorf("testsuites tests=%d failures=%d errors=%d time=%s, want %d %d 0 %s",
					doc.Tests, doc.Failures, doc.Errors, doc.Time, tt.tests, tt.failures, tt.time)
			}
			if len(doc.Suites) != 1 {
				t.Fatalf("%d testsuites, want 1", len(doc.Suites))
			}
			s := doc.Suites[0]
			if s.Name != r.Scenario || s.Tests != tt.tests || s.Failures != tt.failures || s.Errors != 0 || s.Skipped != tt.skipped ||
				s.Time != tt.time || s.Timestamp != tt.timestamp {
				t.Errorf("testsuite %+v, want name %s tests %d failures %d skipped %d time %s timestamp %q",
					s, r.Scenario, tt.tests, tt.failures, tt.skipped, tt.time, tt.timestamp)
			}

			// The counts agree with the test cases themselves.
			var failures, skipped int
			for _, c := range s.Cases {
				failures += len(c.Failure)
				skipped += len(c.Skipped)
				if len(c.Error) > 0 {
					t.Errorf("%s: an <error>, want failures only", c.Name)
				}
			}
			if len(s.Cases) != s.Tests || failures != s.Failures || skipped != s.Skipped {
				t.Errorf("%d cases, %d failures, %d skipped; the attributes say %d, %d, %d",
					len(s.Cases), failures, skipped, s.Tests, s.Failures, s.Skipped)
			}

			props := map[string]string{}
			for _, p := range s.Properties {
				props[p.Name] = p.Value
			}
			for k, want := range map[string]string{"seed": jsonText(r.Seed), "devices": jsonText(r.Devices), "events": jsonText(r.Events)} {
				if props[k] != want {
					t.Errorf("property %s = %q, want %q", k, props[k], want)
				}
			}

			for i, c := range s.Cases {
				o := r.Expectations[i]
				if c.Name != o.Name || c.Classname != "fleetsim."+r.Scenario || c.File != r.File || c.Line != o.Line || c.Time == "" {
					t.Errorf("case %d = name %q classname %q file %q line %d time %q, want %q fleetsim.%s %q %d and a time",
						i, c.Name, c.Classname, c.File, c.Line, c.Time, o.Name, r.Scenario, r.File, o.Line)
				}
				switch {
				case o.Skipped:
					if len(c.Skipped) != 1 || c.Skipped[0].Message != "run aborted at "+r.AbortedAt {
						t.Errorf("%s: skipped %+v, want one with message %q", o.Name, c.Skipped, "run aborted at "+r.AbortedAt)
					}
				case !o.Pass:
					if len(c.Failure) != 1 {
						t.Fatalf("%s: %d failures, want 1", o.Name, len(c.Failure))
					}
					f := c.Failure[0]
					want := "observed " + o.Observed + ", want " + o.Check + ", first failed at " + o.FailedAt
					if f.Type != "expectation" || !strings.HasPrefix(f.Message, want) || !strings.HasPrefix(f.Text, want) {
						t.Errorf("%s: failure %+v, want type expectation, message and text starting %q", o.Name, f, want)
					}
					if o.Message != "" && (!strings.Contains(f.Message, o.Message) || !strings.Contains(f.Text, o.Message)) {
						t.Errorf("%s: failure %+v does not carry the message %q", o.Name, f, o.Message)
					}
				default:
					if len(c.Failure)+len(c.Skipped) != 0 {
						t.Errorf("%s passed but has %+v %+v", o.Name, c.Failure, c.Skipped)
					}
				}
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestJUnitSuiteNameFromFile(t *testing.T) {
	r := &Report{File: "scenarios/roam.yaml", Expectations: []Outcome{{Name: "x", Pass: true}}}
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Suites[0]; s.Name != "roam" || s.Cases[0].Classname != "fleetsim.roam" {
		t.Errorf("suite %q, classname %q; want roam and fleetsim.roam", s.Name, s.Cases[0].Classname)
	}
}

var ansi = regexp.MustCompile("\033\\[[0-9;]*m")

func TestSummaryColor(t *testing.T) {
	for name, r := range reportFixtures() {
		t.Run(name, func(t *testing.T) {
			var plain, colored bytes.Buffer
			WriteSummary(&plain, r, false)
			WriteSummary(&colored, r, true)
			if ansi.Match(plain.Bytes()) {
				t.Error("escapes without color")
			}
			// Colour changes nothing else, alignment included.
			if got := ansi.ReplaceAllString(colored.String(), ""); got != plain.String() {
				t.Errorf("colored summary without escapes differs:\n%s\nplain:\n%s", got, plain.String())
			}
			passed, failed, _ := r.Counts()
			if n := strings.Count(colored.String(), "\033[32mPASS\033[0m"); n != passed {
				t.Errorf("%d green PASS, want %d", n, passed)
			}
			if n := strings.Count(colored.String(), "\033[31mFAIL\033[0m"); n != failed {
				t.Errorf("%d red FAIL, want %d", n, failed)
			}
			if n := len(ansi.FindAllString(colored.String(), -1)); n != 2*(passed+failed) {
				t.Errorf("%d escapes, want %d: only PASS and FAIL are coloured", n, 2*(passed+failed))
			}
		})
	}
}

func TestSummaryLastLine(t *testing.T) {
	tests := map[string]string{
		"pass":    "3 passed, 0 failed",
		"fail":    "2 passed, 2 failed",
		"aborted": "1 passed, 1 failed, 2 skipped; run aborted at 6h12m",
	}
	fixtures := reportFixtures()
	for name, want := range tests {
		var b bytes.Buffer
		WriteSummary(&b, fixtures[name], false)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if got := lines[len(lines)-1]; got != want {
			t.Errorf("%s: last line %q, want %q", name, got, want)
		}
	}
}

func TestSummaryNoExpectations(t *testing.T) {
	var b bytes.Buffer
	WriteSummary(&b, &Report{Scenario: "idle", Duration: "1h", Passed: true}, true)
	want := "scenario idle, seed 0: 0 devices, 1h virtual, 0 events\n\nno expectations\n\n0 passed, 0 failed\n"
	if b.String() != want {
		t.Errorf("got\n%q\nwant\n%q", b.String(), want)
	}
}

func TestOutputNumbers(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {12.4, "12"}, {999.4, "999"}, {999.6, "1k"}, {1000, "1k"}, {1234, "1.2k"},
		{9949, "9.9k"}, {9960, "10k"}, {850_000, "850k"}, {999_600, "1M"}, {1_200_000, "1.2M"},
		{3.4e9, "3.4G"}, {-5, "0"},
	} {
		if got := shortCount(tt.v); got != tt.want {
			t.Errorf("shortCount(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {4950, "4,950"}, {1234567, "1,234,567"}, {-1234, "-1,234"},
	} {
		if got := groupDigits(tt.n); got != tt.want {
			t.Errorf("groupDigits(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// fakeWall is a wall clock the test moves by hand.
type fakeWall struct{ t time.Time }

func (c *fakeWall) now() time.Time          { return c.t }
func (c *fakeWall) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeWall() *fakeWall                { return &fakeWall{t: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)} }
func redraws(s string) []string             { return strings.Split(s, "\r\033[K")[1:] }
func progressAt(v time.Duration, reg int, ev int64) Progress {
	return Progress{Virtual: v, Total: 24 * time.Hour, Devices: 5000, Registered: reg, Events: ev}
}

func TestProgressTTY(t *testing.T) {
	clk := newFakeWall()
	var b bytes.Buffer
	pp := NewProgressPrinter(&b, true, 0, WithProgressClock(clk.now))

	pp.Update(progressAt(0, 0, 0)) // the first update draws at once
	want := "\r\033[K[>------------] 0s / 24h  0/5,000 registered  0 failed"
	if b.String() != want {
		t.Fatalf("first draw %q, want %q", b.String(), want)
	}

	clk.advance(50 * time.Millisecond)
	pp.Update(progressAt(time.Hour, 100, 50_000))
	if b.String() != want {
		t.Fatalf("redrawn after 50ms: %q", b.String())
	}

	b.Reset()
	clk.advance(50 * time.Millisecond)
	pp.Update(Progress{Virtual: 6*time.Hour + 12*time.Minute + 34*time.Second, Total: 24 * time.Hour,
		Devices: 5000, Registered: 4950, Events: 85_000, Failed: 1})
	// The bar keeps its length: room for the rate was kept from the start.
	want = "\r\033[K[===>---------] 6h12m / 24h  4,950/5,000 registered  1 failed  850k events/s"
	if b.String() != want {
		t.Fatalf("second draw\n %q, want\n %q", b.String(), want)
	}

	b.Reset()
	pp.Done()
	if b.String() != "\r\033[K" {
		t.Errorf("Done wrote %q, want the line cleared", b.String())
	}
	b.Reset()
	clk.advance(time.Second)
	pp.Update(progressAt(24*time.Hour, 5000, 1_000_000))
	pp.Done()
	if b.Len() != 0 {
		t.Errorf("wrote %q after Done", b.String())
	}
}

func TestProgressTTYRedrawRate(t *testing.T) {
	clk := newFakeWall()
	var b bytes.Buffer
	pp := NewProgressPrinter(&b, true, 0, WithProgressClock(clk.now))
	for i := range 3000 { // 3s of updates, one a millisecond
		pp.Update(progressAt(time.Duration(i)*time.Minute/10, i, int64(i)*1000))
		clk.advance(time.Millisecond)
	}
	if n := len(redraws(b.String())); n != 30 {
		t.Errorf("%d redraws in 3s, want 30", n)
	}
	for _, l := range redraws(b.String()) {
		if len(l) > 79 || strings.IndexByte(l, ']') != 14 {
			t.Errorf("redraw %q: want at most 79 columns and a bar of 13 cells", l)
		}
	}
	// Over the last second, a steady million events a second.
	last := redraws(b.String())
	if l := last[len(last)-1]; !strings.HasSuffix(l, "  1M events/s") {
		t.Errorf("last redraw %q, want a rate of 1M events/s", l)
	}
}

func TestProgressTTYNarrow(t *testing.T) {
	for _, width := range []int{120, 80, 60, 40, 20, 5} {
		clk := newFakeWall()
		var b bytes.Buffer
		pp := NewProgressPrinter(&b, true, 0, WithProgressClock(clk.now), WithProgressWidth(width))
		pp.Update(progressAt(time.Hour, 49_500, 0))
		clk.advance(time.Second)
		pp.Update(Progress{Virtual: 2 * time.Hour, Total: 24 * time.Hour, Devices: 50_000, Registered: 49_500, Events: 1_000_000, Failed: 3})
		for _, l := range redraws(b.String()) {
			if len(l) > width-1 {
				t.Errorf("width %d: line of %d columns: %q", width, len(l), l)
			}
			if width >= 40 && !strings.Contains(l, "] 2h / 24h") && !strings.Contains(l, "] 1h / 24h") {
				t.Errorf("width %d: virtual time dropped: %q", width, l)
			}
		}
	}
}

func TestProgressPlain(t *testing.T) {
	clk := newFakeWall()
	var b bytes.Buffer
	pp := NewProgressPrinter(&b, false, 0, WithProgressClock(clk.now))
	steps := []struct {
		after time.Duration
		p     Progress
	}{
		{0, progressAt(0, 0, 0)},
		{time.Second, progressAt(time.Hour, 2000, 300_000)},
		{time.Second, progressAt(2*time.Hour+time.Minute+59*time.Second, 4000, 1_200_000)}, // 2s: a line
		{time.Second, progressAt(4*time.Hour, 4900, 2_000_000)},
		{time.Second, Progress{Virtual: 6*time.Hour + 12*time.Minute, Total: 24 * time.Hour, Devices: 5000, Registered: 4950, Events: 2_900_000, Failed: 2}}, // 4s: a line
		{time.Second, progressAt(24*time.Hour, 5000, 3_500_000)},
	}
	for _, s := range steps {
		clk.advance(s.after)
		pp.Update(s.p)
	}
	pp.Done()
	want := "fleetsim: 2h1m/24h virtual, 4000/5000 registered, 1.2M events (600k/s)\n" +
		"fleetsim: 6h12m/24h virtual, 4950/5000 registered, 2.9M events (850k/s), 2 failed\n" +
		"fleetsim: 24h/24h virtual, 5000/5000 registered, 3.5M events (600k/s)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\r") || strings.Contains(b.String(), "\033") {
		t.Error("terminal control characters in plain output")
	}
}

func TestProgressPlainEvery(t *testing.T) {
	clk := newFakeWall()
	var b bytes.Buffer
	pp := NewProgressPrinter(&b, false, 10*time.Second, WithProgressClock(clk.now))
	for i := range 60 {
		pp.Update(progressAt(time.Duration(i)*time.Minute, 0, int64(i)*1000))
		clk.advance(time.Second)
	}
	if n := strings.Count(b.String(), "\n"); n != 5 {
		t.Errorf("%d lines in 60s at one per 10s, want 5:\n%s", n, b.String())
	}
}

func TestProgressPlainShortRunIsQuiet(t *testing.T) {
	clk := newFakeWall()
	var b bytes.Buffer
	pp := NewProgressPrinter(&b, false, 0, WithProgressClock(clk.now))
	pp.Update(progressAt(0, 0, 0))
	clk.advance(time.Second)
	pp.Update(progressAt(24*time.Hour, 5000, 1000))
	pp.Done()
	if b.Len() != 0 {
		t.Errorf("a 1s run printed %q", b.String())
	}
}

func TestOutputIsTerminal(t *testing.T) {
	if IsTerminal(nil) {
		t.Error("nil is a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("a pipe is a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a file is a terminal")
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if !IsTerminal(tty) {
		t.Error("a pseudo-terminal is not a terminal")
	}
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 40, Cols: 123}); err != nil {
		t.Fatal(err)
	}
	if pp := NewProgressPrinter(tty, true, 0); pp.width != 123 {
		t.Errorf("width %d, want the terminal's 123", pp.width)
	}
}

func TestProgressConcurrent(t *testing.T) {
	var b bytes.Buffer
	pp := NewProgressPrinter(&b, true, 0) // the real clock: this is about races, not timing
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 1000 {
				pp.Update(progressAt(time.Duration(i)*time.Minute, g, int64(i)))
			}
		}()
	}
	for range 4 {
		<-done
	}
	pp.Done()
	if !strings.HasSuffix(b.String(), "\r\033[K") {
		t.Errorf("output does not end with the line cleared: %q", b.String())
	}
}

func BenchmarkProgressUpdate(b *testing.B) {
	pp := NewProgressPrinter(io.Discard, true, 0)
	p := progressAt(time.Hour, 4000, 1_000_000)
	for b.Loop() {
		p.Events++
		pp.Update(p)
	}
}
