package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The hot resources (a Sim, a page of Sims, the paging envelope) are
// written by appending to a byte slice in a fixed field order, without
// reflection; every other body goes through encoding/json. Both give the
// same bytes: an appender's output is what json.Encoder with
// SetEscapeHTML(false) writes for the same value (TestAppendMatchesJSON and
// FuzzAppendString hold them to it).

// appender is a response value that writes its own JSON.
type appender interface {
	appendJSON(b []byte) []byte
}

// bodies recycles response buffers. A buffer that grew past maxPooled (a
// page of 1000) is left to the collector, so the pool stays small.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 64 << 10

// writeJSON writes v as the whole body, with its Content-Length, in one
// Write.
func writeJSON(w http.ResponseWriter, status int, v any) {
	bp := bodies.Get().(*[]byte)
	b := appendValue((*bp)[:0], v)
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if cap(b) <= maxPooled {
		*bp = b
		bodies.Put(bp)
	}
}

// appendValue appends the JSON of v: its own if it is an appender, else
// encoding/json's (HTML characters unescaped, as the API always wrote them).
func appendValue(b []byte, v any) []byte {
	if a, ok := v.(appender); ok {
		return a.appendJSON(b)
	}
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Nothing the API renders fails to encode; a value that did would
		// have written nothing before.
		return b
	}
	out := buf.Bytes()
	return out[:len(out)-1] // Encode's newline
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it with SetEscapeHTML(false): quote, backslash and control
// characters, invalid UTF-8 as U+FFFD, U+2028 and U+2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendRaw(b, s)
	return append(b, '"')
}

// appendRaw appends s escaped, without the quotes: the pieces of a string
// written in parts. Escaping goes character by character, so the parts
// escaped one by one are the whole escaped, as long as no part ends inside
// a UTF-8 sequence (the API's parts are a Host, which net/http keeps to
// ASCII, and SIDs).
func appendRaw(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// appendNull appends s as a JSON string, or null when it is empty (as
// null(s) renders).
func appendNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendStringPtr appends *s, or null.
func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

// appendDate appends t as date(t) renders it: null when zero.
func appendDate(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		// The layout has nothing to escape; such a year only adds digits
		// and a sign.
		b = append(b, '"')
		b = t.AppendFormat(b, "2006-01-02T15:04:05Z")
		return append(b, '"')
	}
	hour, minute, sec := t.Clock()
	b = append(b, '"')
	b = append2(b, year/100)
	b = append2(b, year%100)
	b = append(b, '-')
	b = append2(b, int(month))
	b = append(b, '-')
	b = append2(b, day)
	b = append(b, 'T')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, minute)
	b = append(b, ':')
	b = append2(b, sec)
	return append(b, 'Z', '"')
}

// append2 appends n (0-99) in two digits.
func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
