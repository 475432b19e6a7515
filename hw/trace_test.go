package hw

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTraceRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 12, time.UTC)
	recs := []TraceRecord{
		{Time: at, Dir: DirOut, Data: []byte("AT+CEREG?\r")},
		{Time: at.Add(time.Millisecond), Dir: DirIn, Data: []byte("\r\n+CEREG: 0,5\r\n")},
		{Time: at, Dir: DirIn, Data: []byte("\x00\xff \"quoted\" \\ é")},
		{Time: at, Dir: DirNote, Data: nil},
		{Time: at, Port: "trackers/12", Dir: DirOut, Data: []byte("AT\r")},
	}
	var b []byte
	for _, r := range recs {
		b = AppendTrace(b, r)
	}
	wantFirst := "2026-01-01T00:00:00.000000012Z > AT+CEREG?\\r\n"
	if !strings.HasPrefix(string(b), wantFirst) {
		t.Fatalf("trace starts %q, want %q", b, wantFirst)
	}
	got, err := ReadTrace(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("read %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !got[i].Time.Equal(recs[i].Time) || got[i].Port != recs[i].Port || got[i].Dir != recs[i].Dir || !bytes.Equal(got[i].Data, recs[i].Data) {
			t.Errorf("record %d = %+v, want %+v", i, got[i], recs[i])
		}
	}
}

func TestReadTraceErrors(t *testing.T) {
	for _, in := range []string{
		"nonsense",
		"2026-01-01T00:00:00Z ? AT",
		"2026-13-01T00:00:00Z > AT",
		"2026-01-01T00:00:00Z >AT",
		`2026-01-01T00:00:00Z > a"b`,
		`2026-01-01T00:00:00Z > \q`,
	} {
		if _, err := ReadTrace(strings.NewReader(in)); !errors.Is(err, ErrTraceSyntax) {
			t.Errorf("ReadTrace(%q) = %v, want ErrTraceSyntax", in, err)
		}
	}
}

// FuzzReadTrace: ReadTrace never panics, and what it reads writes back to
// a trace that reads the same.
func FuzzReadTrace(f *testing.F) {
	f.Add([]byte("2026-01-01T00:00:00.000000000Z > AT+CEREG?\\r\n2026-01-01T00:00:00.1Z < +CEREG: 0,5\\r\\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := ReadTrace(bytes.NewReader(in))
		if err != nil {
			return
		}
		var b []byte
		for _, r := range recs {
			b = AppendTrace(b, r)
		}
		again, err := ReadTrace(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("rewritten trace %q: %v", b, err)
		}
		if len(again) != len(recs) {
			t.Fatalf("rewritten trace has %d records, want %d", len(again), len(recs))
		}
		for i := range recs {
			if !again[i].Time.Equal(recs[i].Time) || again[i].Dir != recs[i].Dir || !bytes.Equal(again[i].Data, recs[i].Data) {
				t.Fatalf("record %d: %+v became %+v", i, recs[i], again[i])
			}
		}
	})
}
