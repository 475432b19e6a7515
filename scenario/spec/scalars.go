package spec

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Pos is where a YAML node starts: 1-based line and column. The decoder
// also records where each key's value is, so that a problem found after
// decoding (an unknown reference, say) names the exact spot.
type Pos struct {
	Line, Column int
	keys         map[string]Pos
}

// At returns the position of key's value, or p itself when the key was
// not written.
func (p Pos) At(key string) Pos {
	if k, ok := p.keys[key]; ok {
		return k
	}
	return Pos{Line: p.Line, Column: p.Column}
}

func (p *Pos) setKey(key string, at Pos) {
	if p.keys == nil {
		p.keys = make(map[string]Pos)
	}
	p.keys[key] = at
}

// scalar is a type written as one YAML scalar and parsed from its text.
// Its schema is a string (or number) with the pattern it accepts.
type scalar interface {
	parse(s string) error
	schema() map[string]any
}

// Duration is a span of virtual time: a Go duration ("90s", "1h30m") or a
// number of days ("2d").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

func (d *Duration) parse(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (Duration) schema() map[string]any {
	return map[string]any{"type": "string", "pattern": durationPattern, "description": "A duration such as 90s, 1h30m or 2d."}
}

// durationExpr is a duration without anchors: 0, days and then Go units, or
// Go units only.
const durationExpr = `0|\d+(\.\d+)?d(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+`

const durationPattern = `^(` + durationExpr + `)$`

var durationRe = regexp.MustCompile(durationPattern)

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration: want e.g. 90s, 1h30m or 2d")
	}
	if !durationRe.MatchString(s) {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 90s, 1h30m or 2d", s)
	}
	orig := s
	var days float64
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || n > 100*365 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 90s, 1h30m or 2d", s)
		}
		days, s = n, s[i+1:]
	}
	var rest time.Duration
	if s != "" {
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 90s, 1h30m or 2d", s)
		}
		rest = v
	}
	total := days*float64(24*time.Hour) + float64(rest)
	if total > float64(100*365*24*time.Hour) {
		return 0, fmt.Errorf("duration %q is too long", orig)
	}
	return time.Duration(total), nil
}

// formatDuration writes d the way a person would: 2h, 1h30m, 90ms.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Time is an instant, RFC 3339.
type Time struct{ time.Time }

func (t *Time) parse(s string) error {
	v, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("invalid time %q: want RFC 3339 such as 2026-01-01T00:00:00Z", s)
	}
	t.Time = v.UTC()
	return nil
}

func (Time) schema() map[string]any {
	return map[string]any{"type": "string", "format": "date-time", "description": "An RFC 3339 time such as 2026-01-01T00:00:00Z."}
}

// Quantity is a count ("2500") or a share of a whole ("50%").
type Quantity struct {
	Value   float64
	Percent bool
	Set     bool
}

const quantityPattern = `^\s*\d+(\.\d+)?\s*%?\s*$`

var quantityRe = regexp.MustCompile(quantityPattern)

func (q *Quantity) parse(s string) error {
	if !quantityRe.MatchString(s) {
		return fmt.Errorf("invalid quantity %q: want a count such as 2500 or a share such as 50%%", s)
	}
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || (pct && v > 100) {
		return fmt.Errorf("invalid quantity %q: want a count such as 2500 or a share such as 50%%", s)
	}
	*q = Quantity{Value: v, Percent: pct, Set: true}
	return nil
}

func (Quantity) schema() map[string]any {
	return map[string]any{"type": []string{"string", "number"}, "pattern": quantityPattern, "description": "A count such as 2500 or a share such as 50%."}
}

// Of returns how many of n the quantity is (a share rounds to nearest).
func (q Quantity) Of(n int) int {
	if !q.Set {
		return n
	}
	if q.Percent {
		return int(math.Round(q.Value * float64(n) / 100))
	}
	if q.Value >= float64(n) {
		return n
	}
	return int(q.Value)
}

func (q Quantity) String() string {
	if q.Percent {
		return strconv.FormatFloat(q.Value, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(q.Value, 'f', -1, 64)
}

// ByteSize is a number of bytes: 512, 2KB, 1.5MB (binary multiples, as the
// Fleet data limit's MB).
type ByteSize int64

const byteSizePattern = `^\s*\d+(\.\d+)?\s*([KMGkmg][Ii]?[Bb]|[Bb])?\s*$`

var byteSizeRe = regexp.MustCompile(byteSizePattern)

func (b *ByteSize) parse(s string) error {
	if !byteSizeRe.MatchString(s) {
		return fmt.Errorf("invalid size %q: want e.g. 512, 2KB or 1.5MB", s)
	}
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) || v*mult > 1<<40 {
		return fmt.Errorf("invalid size %q: want e.g. 512, 2KB or 1.5MB", s)
	}
	*b = ByteSize(v * mult)
	return nil
}

func (ByteSize) schema() map[string]any {
	return map[string]any{"type": []string{"string", "integer"}, "pattern": byteSizePattern, "description": "A size in bytes such as 512, 2KB or 1.5MB."}
}

// Op is a comparison.
type Op uint8

// Comparisons of a Condition.
const (
	OpNone Op = iota
	OpGE
	OpLE
	OpGT
	OpLT
	OpEQ
	OpNE
)

var opText = [...]string{OpNone: "", OpGE: ">=", OpLE: "<=", OpGT: ">", OpLT: "<", OpEQ: "==", OpNE: "!="}

// Condition compares an observed value with a bound: ">= 99%", "== 0",
// "<= 5m". A bare value means ==.
type Condition struct {
	Op       Op
	Bound    Quantity
	Duration time.Duration // the bound, when it is a duration
	IsDur    bool
	Text     string // as written
}

const conditionPattern = `^\s*(>=|<=|==|!=|>|<|=)?\s*(\d+(\.\d+)?\s*%?|` + durationExpr + `)\s*$`

var conditionRe = regexp.MustCompile(conditionPattern)

func (c *Condition) parse(s string) error {
	if !conditionRe.MatchString(s) {
		return fmt.Errorf("invalid condition %q: want an operator (>=, <=, >, <, ==, !=) and a count, share or duration, e.g. '>= 99%%'", s)
	}
	t := strings.TrimSpace(s)
	op := OpNone
	for _, o := range []Op{OpGE, OpLE, OpNE, OpEQ, OpGT, OpLT} { // two-character operators first
		if strings.HasPrefix(t, opText[o]) {
			op, t = o, strings.TrimSpace(t[len(opText[o]):])
			break
		}
	}
	if op == OpNone { // a bare value, or "= value"
		op, t = OpEQ, strings.TrimSpace(strings.TrimPrefix(t, "="))
	}
	var q Quantity
	if err := q.parse(t); err == nil {
		*c = Condition{Op: op, Bound: q, Text: strings.TrimSpace(s)}
		return nil
	}
	if d, err := parseDuration(t); err == nil && t != "" {
		*c = Condition{Op: op, Duration: d, IsDur: true, Text: strings.TrimSpace(s)}
		return nil
	}
	return fmt.Errorf("invalid condition %q: want an operator (>=, <=, >, <, ==, !=) and a count, share or duration, e.g. '>= 99%%'", s)
}

func (Condition) schema() map[string]any {
	return map[string]any{"type": []string{"string", "number"}, "pattern": conditionPattern, "description": "A comparison such as '>= 99%', '== 0' or '<= 5m'."}
}

// Set reports whether the condition was written.
func (c Condition) Set() bool { return c.Op != OpNone }

// Holds reports whether an observed value satisfies the condition. For a
// share, observed is compared with the bound's share of whole.
func (c Condition) Holds(observed float64, whole int) bool {
	bound := c.Bound.Value
	switch {
	case c.IsDur:
		bound = float64(c.Duration)
	case c.Bound.Percent:
		bound = c.Bound.Value * float64(whole) / 100
	}
	const eps = 1e-9
	switch c.Op {
	case OpGE:
		return observed >= bound-eps
	case OpLE:
		return observed <= bound+eps
	case OpGT:
		return observed > bound+eps
	case OpLT:
		return observed < bound-eps
	case OpEQ:
		return math.Abs(observed-bound) <= eps
	case OpNE:
		return math.Abs(observed-bound) > eps
	}
	return true
}

func (c Condition) String() string { return c.Text }
