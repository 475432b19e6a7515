package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

// This file turns a Report into what people and CI read: JSON, JUnit XML,
// a summary table, and a progress line while the run goes.

// WriteJSON writes r as indented JSON followed by a newline. The output
// depends on r alone: struct fields keep their order and nothing is a map.
// The format is described on Report.
func WriteJSON(w io.Writer, r *Report) error {
	out := *r
	if out.Expectations == nil {
		out.Expectations = []Outcome{} // [] rather than null
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep "registered >= 99%" as written
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("scenario: encoding report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// The JUnit XML elements, in the Jenkins/Surefire dialect that GitHub
// Actions reporters, GitLab and Jenkins all read. file and line on a
// testcase are not in the old Ant schema but are what GitLab, pytest and
// action-junit-report use to point at the source.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"` // dorny/test-reporter needs it
		File      string        `xml:"file,attr,omitempty"`
		Line      int           `xml:"line,attr,omitempty"`
		Skipped   *junitSkipped `xml:"skipped"`
		Failure   *junitFailure `xml:"failure"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes r as JUnit XML: one testsuite named after the scenario,
// one testcase per expectation. A failed expectation has a failure of type
// "expectation"; one the run never reached because it was aborted is
// skipped. time is the wall-clock seconds of the run (0 without Wall) and
// timestamp its wall-clock start (left out without Wall), so the output is
// deterministic when Wall is nil.
func WriteJUnit(w io.Writer, r *Report) error {
	_, failed, skipped := r.Counts()
	secs := "0"
	var stamp string
	if r.Wall != nil {
		secs = strconv.FormatFloat(r.Wall.Seconds, 'f', 3, 64)
		if !r.Wall.Started.IsZero() {
			// xs:dateTime without a zone, as the Ant/Surefire schema has it.
			stamp = r.Wall.Started.UTC().Format("2006-01-02T15:04:05")
		}
	}
	name := suiteName(r)
	suite := junitSuite{
		Name:      name,
		Tests:     len(r.Expectations),
		Failures:  failed,
		Skipped:   skipped,
		Time:      secs,
		Timestamp: stamp,
		Properties: []junitProperty{
			{"file", r.File},
			{"seed", strconv.FormatUint(r.Seed, 10)},
			{"start", r.Start.Format(time.RFC3339)},
			{"duration", r.Duration},
			{"devices", strconv.Itoa(r.Devices)},
			{"events", strconv.FormatInt(r.Events, 10)},
			{"at_commands", strconv.FormatInt(r.ATCommands, 10)},
			{"api_requests", strconv.FormatInt(r.APIRequests, 10)},
		},
	}
	if r.Aborted {
		suite.Properties = append(suite.Properties, junitProperty{"aborted_at", r.AbortedAt})
	}
	if r.Interrupted {
		suite.Properties = append(suite.Properties, junitProperty{"interrupted_at", spec.FormatDuration(r.End.Sub(r.Start))})
	}
	for _, o := range r.Expectations {
		c := junitCase{
			Name:      o.Name,
			Classname: "fleetsim." + name,
			Time:      "0",
			File:      r.File,
			Line:      o.Line,
		}
		switch {
		case o.Skipped:
			c.Skipped = &junitSkipped{Message: skipReason(r)}
		case !o.Pass:
			msg := failureSentence(o)
			text := msg + "\nchecked " + whenPhrase(o.When) + ", " + plural(o.Samples, "sample")
			if o.Message != "" {
				msg += ": " + o.Message
				text += "\n" + o.Message
			}
			c.Failure = &junitFailure{Message: msg, Type: "expectation", Text: text}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{
		Name:     "fleetsim",
		Tests:    suite.Tests,
		Failures: suite.Failures,
		Time:     secs,
		Suites:   []junitSuite{suite},
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("scenario: encoding JUnit report: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// suiteName is the scenario's name, or its file's base name when it has
// none.
func suiteName(r *Report) string {
	if r.Scenario != "" {
		return r.Scenario
	}
	if r.File != "" {
		base := filepath.Base(r.File)
		return strings.TrimSuffix(base, filepath.Ext(base))
	}
	return "scenario"
}

// failureSentence says what went wrong: "observed 97%, want registered >=
// 99%, first failed at 6h12m".
func failureSentence(o Outcome) string {
	var parts []string
	if o.Observed != "" {
		parts = append(parts, "observed "+o.Observed)
	}
	parts = append(parts, "want "+o.Check)
	if o.FailedAt != "" {
		parts = append(parts, "first failed at "+o.FailedAt)
	}
	return strings.Join(parts, ", ")
}

// skipReason says why an expectation was never checked.
func skipReason(r *Report) string {
	switch {
	case r.Aborted && r.AbortedAt != "":
		return "run aborted at " + r.AbortedAt
	case r.Aborted:
		return "run aborted"
	case r.Interrupted:
		return "run interrupted at " + spec.FormatDuration(r.End.Sub(r.Start))
	}
	return "not checked"
}

// whenPhrase makes an Outcome's When read in a sentence: "at 5m",
// "during 2h..6h", "at the end".
func whenPhrase(when string) string {
	if when == "end" {
		return "at the end"
	}
	return when
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// ANSI colours of the summary's PASS and FAIL.
const (
	ansiGreen = "\033[32m"
	ansiRed   = "\033[31m"
	ansiReset = "\033[0m"
)

// WriteSummary writes the end-of-run summary for people: a header line, a
// table of the expectations and a count. With color, PASS is green and
// FAIL red (ANSI escapes); nothing else is coloured.
func WriteSummary(w io.Writer, r *Report, color bool) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "scenario %s, seed %d: %s devices, %s virtual, %s events",
		suiteName(r), r.Seed, groupDigits(int64(r.Devices)), r.Duration, groupDigits(r.Events))
	if r.Wall != nil {
		fmt.Fprintf(&b, ", %.1fs wall, %s events/s", r.Wall.Seconds, shortCount(r.Wall.EventsPS))
	}
	b.WriteString("\n\n")

	if len(r.Expectations) == 0 {
		b.WriteString("no expectations\n")
	} else {
		writeTable(&b, r, color)
	}

	passed, failed, skipped := r.Counts()
	if failed > 0 {
		b.WriteByte('\n')
		for _, o := range r.Expectations {
			if o.Pass || o.Skipped {
				continue
			}
			line := o.Name + ": " + failureSentence(o)
			if o.Message != "" {
				line += ": " + o.Message
			}
			if r.File != "" && o.Line > 0 {
				line = r.File + ":" + strconv.Itoa(o.Line) + ": " + line
			}
			b.WriteString(oneLine(line) + "\n")
		}
	}

	fmt.Fprintf(&b, "\n%d passed, %d failed", passed, failed)
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", skipped)
	}
	if r.Aborted || r.Interrupted {
		b.WriteString("; " + skipReason(r))
	}
	b.WriteByte('\n')
	w.Write(b.Bytes())
}

// writeTable writes the expectations as aligned columns. Colour is added
// after alignment, so that the escapes do not count as width.
func writeTable(b *bytes.Buffer, r *Report, color bool) {
	withFailedAt := false
	for _, o := range r.Expectations {
		withFailedAt = withFailedAt || o.FailedAt != ""
	}
	var t bytes.Buffer
	tw := tabwriter.NewWriter(&t, 0, 8, 2, ' ', 0)
	header := "RESULT\tEXPECTATION\tWHEN\tCHECK\tOBSERVED"
	if withFailedAt {
		header += "\tFAILED AT"
	}
	fmt.Fprintln(tw, header)
	for _, o := range r.Expectations {
		observed := o.Observed
		if observed == "" {
			observed = "-"
		}
		cells := []string{result(o), o.Name, o.When, o.Check, observed}
		if withFailedAt {
			cells = append(cells, o.FailedAt)
		}
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(oneLine(c), "\t", " ")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()

	lines := strings.Split(strings.TrimSuffix(t.String(), "\n"), "\n")
	for i, line := range lines {
		line = strings.TrimRight(line, " ")
		if color && i > 0 {
			switch o := r.Expectations[i-1]; result(o) {
			case "PASS":
				line = ansiGreen + "PASS" + ansiReset + line[4:]
			case "FAIL":
				line = ansiRed + "FAIL" + ansiReset + line[4:]
			}
		}
		b.WriteString(line + "\n")
	}
}

func result(o Outcome) string {
	switch {
	case o.Skipped:
		return "SKIP"
	case o.Pass:
		return "PASS"
	}
	return "FAIL"
}

// oneLine keeps text on one line: a name written as a YAML block scalar
// must not break the table.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// groupDigits writes n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// shortCount writes a count or rate with an SI suffix and two or three
// significant digits: 950, 8.5k, 850k, 1.2M.
func shortCount(v float64) string {
	if math.IsNaN(v) || v < 0 {
		return "0"
	}
	if v < 999.5 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	const units = "kMGTPE"
	for i := range len(units) {
		x := v / math.Pow(1000, float64(i+1))
		if x < 9.95 {
			return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0") + units[i:i+1]
		}
		if x < 999.5 || i == len(units)-1 {
			return strconv.FormatFloat(x, 'f', 0, 64) + units[i:i+1]
		}
	}
	panic("unreachable")
}

// IsTerminal reports whether f is a terminal. It asks for the window size,
// which only a terminal has; unlike TCGETS, TIOCGWINSZ is the same request
// on every Unix, so this needs nothing beyond golang.org/x/sys.
func IsTerminal(f *os.File) bool {
	return terminalWidth(f) >= 0
}

// terminalWidth returns f's width in columns: 0 when the terminal does not
// say, -1 when f is not a terminal.
func terminalWidth(f *os.File) int {
	if f == nil {
		return -1
	}
	rc, err := f.SyscallConn() // unlike Fd, leaves f's blocking mode alone
	if err != nil {
		return -1
	}
	cols := -1
	err = rc.Control(func(fd uintptr) {
		if ws, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ); err == nil {
			cols = int(ws.Col)
		}
	})
	if err != nil {
		return -1
	}
	return cols
}

// Progress display timing.
const (
	ttyRedraw       = 100 * time.Millisecond // at most 10 redraws a second
	defaultEvery    = 2 * time.Second        // between plain lines
	defaultWidth    = 80
	progressSamples = 16 // (time, events) pairs kept for the rate
)

// ProgressPrinter shows a run's progress. On a terminal it redraws one
// line in place, at most ten times a second; elsewhere (a CI log, a file)
// it writes a plain line every so often. Update is cheap enough to call
// after every batch of events: it reads the clock and returns unless a
// line is due. It is safe for concurrent use.
type ProgressPrinter struct {
	w     io.Writer
	tty   bool
	every time.Duration
	now   func() time.Time
	width int

	mu      sync.Mutex
	started bool
	done    bool
	drawn   bool // on a terminal: a line is on screen
	printed bool // not on a terminal: a line has been written
	pending bool // an update not shown yet
	last    time.Time
	p       Progress
	samples []rateSample // oldest first
	buf     []byte
}

type rateSample struct {
	at     time.Time
	events int64
}

// ProgressOption configures a ProgressPrinter.
type ProgressOption func(*ProgressPrinter)

// WithProgressClock sets the wall clock the printer paces itself and
// measures events per second by. The default is time.Now.
func WithProgressClock(now func() time.Time) ProgressOption {
	return func(pp *ProgressPrinter) { pp.now = now }
}

// WithProgressWidth sets the terminal width the line is cut to. The default
// is the width of w when it is a terminal, else 80.
func WithProgressWidth(cols int) ProgressOption {
	return func(pp *ProgressPrinter) { pp.width = cols }
}

// NewProgressPrinter returns a printer writing to w, which is a terminal if
// tty is true. Without a terminal it writes one line per every (2s if every
// is not positive).
func NewProgressPrinter(w io.Writer, tty bool, every time.Duration, opts ...ProgressOption) *ProgressPrinter {
	if every <= 0 {
		every = defaultEvery
	}
	pp := &ProgressPrinter{w: w, tty: tty, every: every, now: time.Now}
	for _, o := range opts {
		o(pp)
	}
	if pp.width <= 0 && tty {
		if f, ok := w.(*os.File); ok {
			pp.width = terminalWidth(f)
		}
	}
	if pp.width <= 0 {
		pp.width = defaultWidth
	}
	return pp
}

// Update records the run's state and shows it if a line is due.
func (pp *ProgressPrinter) Update(p Progress) {
	t := pp.now()
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.done {
		return
	}
	pp.p, pp.pending = p, true
	if !pp.started {
		pp.started, pp.last = true, t
		if !pp.tty {
			pp.addSample(t, p.Events) // the rate of the first line starts here
			return
		}
		pp.show(t)
		return
	}
	gap := pp.every
	if pp.tty {
		gap = ttyRedraw
	}
	if t.Sub(pp.last) >= gap {
		pp.show(t)
	}
}

// Done ends the display: on a terminal it clears the line, so that what
// follows starts on a clean one; otherwise it writes the last state, if
// lines were being written and it has changed since the last one. Updates
// after Done are ignored.
func (pp *ProgressPrinter) Done() {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.done {
		return
	}
	pp.done = true
	switch {
	case pp.tty && pp.drawn:
		io.WriteString(pp.w, "\r\033[K")
	case !pp.tty && pp.printed && pp.pending:
		pp.show(pp.now())
	}
}

// show writes the current state. pp.mu is held.
func (pp *ProgressPrinter) show(t time.Time) {
	rate, ok := pp.rate(t, pp.p.Events)
	pp.addSample(t, pp.p.Events)
	pp.last, pp.pending = t, false
	if pp.tty {
		pp.buf = append(pp.buf[:0], "\r\033[K"...)
		pp.buf = append(pp.buf, pp.ttyLine(rate, ok)...)
		pp.drawn = true
	} else {
		pp.buf = append(pp.buf[:0], pp.plainLine(rate, ok)...)
		pp.buf = append(pp.buf, '\n')
		pp.printed = true
	}
	pp.w.Write(pp.buf) // progress is best effort
}

// rate is the events per second from the oldest sample of the last window
// (or the newest, when all are older) to now.
func (pp *ProgressPrinter) rate(t time.Time, events int64) (float64, bool) {
	if len(pp.samples) == 0 {
		return 0, false
	}
	window := pp.every
	if pp.tty {
		window = time.Second
	}
	from := pp.samples[len(pp.samples)-1]
	for _, s := range pp.samples {
		if t.Sub(s.at) <= window {
			from = s
			break
		}
	}
	dt := t.Sub(from.at).Seconds()
	if dt <= 0 {
		return 0, false
	}
	return float64(events-from.events) / dt, true
}

func (pp *ProgressPrinter) addSample(t time.Time, events int64) {
	if len(pp.samples) == progressSamples {
		copy(pp.samples, pp.samples[1:])
		pp.samples = pp.samples[:progressSamples-1]
	}
	pp.samples = append(pp.samples, rateSample{t, events})
}

// ttyLine is the terminal line, at most width-1 columns so that it never
// wraps (\r redraws only the last row):
//
//	[====>-----------] 6h12m / 24h  4,950/5,000 registered  0 failed  850k events/s
//
// The bar takes the room the rest leaves, between 10 and 30 cells. That
// room is reckoned from the widest the rest can be in this run, so the bar
// keeps its length while the numbers grow. When even 10 cells do not fit,
// the rate goes first, then the failures, then the registrations.
func (pp *ProgressPrinter) ttyLine(rate float64, haveRate bool) string {
	const minBar, maxBar = 10, 30
	p := pp.p
	at := " " + virtualTime(p.Virtual, p.Total)
	widest := 1 + len(virtualTime(max(0, p.Total-time.Second), p.Total))
	if p.Total > 0 {
		at += " / " + spec.FormatDuration(p.Total)
		widest += 3 + len(spec.FormatDuration(p.Total))
	}
	widest = max(widest, len(at))
	type part struct {
		text  string
		width int // the widest it can be
	}
	var extra []part
	if p.Devices > 0 {
		n := groupDigits(int64(p.Devices))
		extra = append(extra, part{"  " + groupDigits(int64(p.Registered)) + "/" + n + " registered", 2 + 2*len(n) + 1 + len(" registered")})
	}
	extra = append(extra, part{"  " + strconv.Itoa(p.Failed) + " failed", len("  999 failed")})
	r := part{width: len("  999k events/s")} // room kept before the first rate too
	if haveRate {
		r.text = "  " + shortCount(rate) + " events/s"
	}
	extra = append(extra, r)
	limit := pp.width - 1
	for _, e := range extra {
		widest += max(e.width, len(e.text))
	}
	for len(extra) > 0 && 2+minBar+widest > limit {
		e := extra[len(extra)-1]
		widest -= max(e.width, len(e.text))
		extra = extra[:len(extra)-1]
	}
	cells := min(maxBar, max(minBar, limit-2-widest))
	filled := 0
	if p.Total > 0 {
		filled = int(float64(cells) * min(1, max(0, float64(p.Virtual)/float64(p.Total))))
	}

	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(strings.Repeat("=", filled))
	if filled < cells {
		b.WriteByte('>')
		b.WriteString(strings.Repeat("-", cells-filled-1))
	}
	b.WriteByte(']')
	b.WriteString(at)
	for _, e := range extra {
		b.WriteString(e.text)
	}
	line := b.String()
	if len(line) > limit { // a terminal too narrow for even the bar and the time
		line = line[:max(0, limit)]
	}
	return line
}

// plainLine is the line for logs:
//
//	fleetsim: 6h12m/24h virtual, 4950/5000 registered, 1.2M events (850k/s)
func (pp *ProgressPrinter) plainLine(rate float64, haveRate bool) string {
	p := pp.p
	var b strings.Builder
	b.WriteString("fleetsim: " + virtualTime(p.Virtual, p.Total))
	if p.Total > 0 {
		b.WriteString("/" + spec.FormatDuration(p.Total))
	}
	b.WriteString(" virtual")
	if p.Devices > 0 {
		fmt.Fprintf(&b, ", %d/%d registered", p.Registered, p.Devices)
	}
	b.WriteString(", " + shortCount(float64(p.Events)) + " events")
	if haveRate {
		b.WriteString(" (" + shortCount(rate) + "/s)")
	}
	if p.Failed > 0 {
		fmt.Fprintf(&b, ", %d failed", p.Failed)
	}
	return b.String()
}

// virtualTime writes the virtual time reached, to the minute in a run of
// an hour or more and to the second in a shorter one.
func virtualTime(v, total time.Duration) string {
	unit := time.Second
	if total >= time.Hour {
		unit = time.Minute
	}
	return spec.FormatDuration(v.Truncate(unit))
}
