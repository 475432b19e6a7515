package hw

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A trace records every exchange with a modem, one record a line:
//
//	2026-01-01T00:00:00.000000000Z > AT+CEREG?\r
//	2026-01-01T00:00:00.012000000Z < \r\n
//	2026-01-01T00:00:00.012000000Z < +CEREG: 0,5\r\n
//	2026-01-01T00:00:00.013000000Z # timeout AT+COPS=? after 3m0s
//
// The time is RFC 3339 in UTC with nanoseconds; the direction is '>' for
// what the host wrote, '<' for what the modem sent and '#' for a note of
// the client (a timeout, a reconnection); then one space and the bytes,
// escaped as in a Go string literal without the quotes (\r, \n, \x00,
// \"). The '<' records, concatenated, are exactly the bytes read, split
// after each line feed; the '>' ones exactly the bytes written.
//
// A trace of several modems (a scenario's) names the modem of each record
// in brackets after the time:
//
//	2026-01-01T00:00:00.000000000Z [trackers/0] > AT+CEREG?\r

// TraceDir is the direction of a trace record.
type TraceDir byte

const (
	DirOut  TraceDir = '>' // host → modem
	DirIn   TraceDir = '<' // modem → host
	DirNote TraceDir = '#' // the client's note
)

// TraceRecord is one line of a trace.
type TraceRecord struct {
	Time time.Time
	Port string // which modem, in a trace of several; "" otherwise
	Dir  TraceDir
	Data []byte
}

// traceTime is RFC 3339 with a fixed nine-digit fraction, so records align.
const traceTime = "2006-01-02T15:04:05.000000000Z07:00"

// ErrTraceSyntax is wrapped by the errors of ReadTrace.
var ErrTraceSyntax = errors.New("hw: trace syntax")

// AppendTrace appends r in trace format, with its line feed.
func AppendTrace(b []byte, r TraceRecord) []byte {
	b = r.Time.UTC().AppendFormat(b, traceTime)
	if r.Port != "" {
		b = append(b, " ["...)
		b = append(b, r.Port...)
		b = append(b, ']')
	}
	b = append(b, ' ', byte(r.Dir), ' ')
	q := strconv.AppendQuote(nil, string(r.Data))
	b = append(b, q[1:len(q)-1]...)
	return append(b, '\n')
}

// ReadTrace parses a trace. Blank lines are skipped; anything else that is
// not a record is an error wrapping ErrTraceSyntax and naming the line.
func ReadTrace(r io.Reader) ([]TraceRecord, error) {
	var out []TraceRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 4*MaxLine+64)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		rec, err := parseTraceLine(line)
		if err != nil {
			return out, fmt.Errorf("%w: line %d: %v", ErrTraceSyntax, n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading a trace: %w", err)
	}
	return out, nil
}

func parseTraceLine(line string) (TraceRecord, error) {
	ts, rest, ok := strings.Cut(line, " ")
	if !ok {
		return TraceRecord{}, errors.New("want TIME DIR DATA")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return TraceRecord{}, fmt.Errorf("time %q: not RFC 3339", ts)
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 { // traces are written in UTC, which must fit RFC 3339 too
		return TraceRecord{}, fmt.Errorf("time %q: outside RFC 3339's years in UTC", ts)
	}
	var port string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "] ")
		if end < 0 {
			return TraceRecord{}, errors.New("want [PORT] followed by a space")
		}
		port, rest = rest[1:end], rest[end+2:]
		if port == "" || strings.ContainsAny(port, "[]") {
			return TraceRecord{}, fmt.Errorf("port %q: want a non-empty name without brackets", port)
		}
	}
	if len(rest) < 1 {
		return TraceRecord{}, errors.New("no direction")
	}
	dir := TraceDir(rest[0])
	if dir != DirOut && dir != DirIn && dir != DirNote {
		return TraceRecord{}, fmt.Errorf("direction %q: want >, < or #", rest[:1])
	}
	rest = rest[1:]
	if rest != "" {
		if rest[0] != ' ' {
			return TraceRecord{}, errors.New("want a space after the direction")
		}
		rest = rest[1:]
	}
	s, err := strconv.Unquote(`"` + rest + `"`)
	if err != nil {
		return TraceRecord{}, fmt.Errorf("data %q: not a Go string body", rest)
	}
	return TraceRecord{Time: t, Port: port, Dir: dir, Data: []byte(s)}, nil
}

// tracer writes trace records to w; safe for concurrent use.
type tracer struct {
	mu   sync.Mutex
	w    io.Writer
	port string
	now  func() time.Time
	buf  []byte
	err  error // the first write error; tracing stops there
}

func (t *tracer) record(dir TraceDir, b []byte) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return
	}
	now := t.now()
	t.buf = t.buf[:0]
	if dir == DirIn {
		// One record a line of what the modem sent.
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n') + 1
			if i == 0 {
				i = len(b)
			}
			t.buf = AppendTrace(t.buf, TraceRecord{Time: now, Port: t.port, Dir: dir, Data: b[:i]})
			b = b[i:]
		}
	} else {
		t.buf = AppendTrace(t.buf, TraceRecord{Time: now, Port: t.port, Dir: dir, Data: b})
	}
	_, t.err = t.w.Write(t.buf)
}

func (t *tracer) note(format string, args ...any) {
	if t != nil {
		t.record(DirNote, []byte(fmt.Sprintf(format, args...)))
	}
}
