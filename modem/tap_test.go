package modem

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim/vclock"
)

// A tap shows each line the host wrote, however it was split, and each
// line the modem answered, without the echo.
func TestTapLines(t *testing.T) {
	clk := vclock.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	m := New(Config{Clock: clk})
	defer m.Close()
	l := m.Connect(func([]byte) {})
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	tail, lines := m.Tap().Watch(ctx, 16)
	if len(tail) != 0 {
		t.Fatalf("tail before anything was written: %v", tail)
	}
	for _, c := range []byte("ATE1\r") { // a terminal: a byte at a time
		l.Write([]byte{c})
	}
	l.Write([]byte("AT+CMEE=2\r\nAT\\\x01\r"))
	want := []struct {
		dir  TapDir
		text string
	}{{TapIn, "ATE1"}, {TapOut, "OK"}, {TapIn, "AT+CMEE=2"}, {TapIn, `AT\x5c\x01`}, {TapOut, "OK"}}
	var got []TapLine
	for len(got) < len(want) {
		got = append(got, <-lines)
	}
	for i, w := range want {
		g := got[i]
		if g.Dir != w.dir || g.Text != w.text || g.Port != MainPort || g.Seq != uint64(i+1) || !g.Time.Equal(clk.Now()) {
			t.Errorf("line %d: %+v, want %v %q on %q at seq %d", i, g, w.dir, w.text, MainPort, i+1)
		}
	}
	cancel()
	for range lines { // closed once ctx ends
	}
	// The next watcher gets the lines kept, then what follows.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	tail, lines = m.Tap().Watch(ctx2, 4)
	if len(tail) < len(want) || tail[0].Text != "ATE1" {
		t.Fatalf("tail: %+v", tail)
	}
	l.Write([]byte("AT+CGMI\r"))
	if l := <-lines; l.Text != "AT+CGMI" || l.Dir != TapIn {
		t.Errorf("after the tail: %+v", l)
	}
}

// The ring keeps the last TapLines lines; a line longer than maxTapLine is
// cut in pieces.
func TestTapRing(t *testing.T) {
	var tap Tap
	ctx, cancel := context.WithCancel(context.Background())
	_, _ = tap.Watch(ctx, 1)
	now := time.Now()
	for range TapLines + 10 {
		tap.record(now, "modem", TapIn, "AT\r")
	}
	tap.record(now, "modem", TapIn, strings.Repeat("A", maxTapLine+3)+"\r")
	cancel()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	tail, _ := tap.Watch(ctx2, 1)
	if len(tail) != TapLines {
		t.Fatalf("kept %d lines, want %d", len(tail), TapLines)
	}
	last := tail[len(tail)-2:]
	if len(last[0].Text) != maxTapLine || last[1].Text != "AAA" || last[1].Seq != last[0].Seq+1 {
		t.Errorf("long line: %d bytes then %q", len(last[0].Text), last[1].Text)
	}
	for i := 1; i < len(tail); i++ {
		if tail[i].Seq != tail[i-1].Seq+1 {
			t.Fatalf("tail out of order at %d: %d after %d", i, tail[i].Seq, tail[i-1].Seq)
		}
	}
}

// While nobody watches, a tap records nothing and allocates nothing.
func TestTapUnwatchedCostsNothing(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	p := m.ports[0]
	b := []byte("AT+CSQ\r")
	if n := testing.AllocsPerRun(100, func() {
		m.tapIn(p, b)
		m.tapOut(p, "\r\nOK\r\n")
	}); n != 0 {
		t.Errorf("%v allocations per unwatched write", n)
	}
	if m.tap.Load() != nil {
		t.Errorf("an unwatched modem has a tap")
	}
}

// FuzzTapRecord: input split anywhere gives the lines it gives in one
// piece, each non-empty, printable and at most maxTapLine bytes before
// escaping.
func FuzzTapRecord(f *testing.F) {
	f.Add([]byte("AT+CSQ\r\nAT+CMGS=\"+44\"\r> hello\x1a"), uint8(3))
	f.Add([]byte("\r\n\r\n"), uint8(1))
	f.Add([]byte(strings.Repeat("x", maxTapLine+1)), uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		lines := func(split int) []string {
			var tap Tap
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tap.Watch(ctx, 1)
			for i := 0; i < len(b); i += split {
				tap.record(time.Time{}, "modem", TapIn, string(b[i:min(i+split, len(b))]))
			}
			tail, _ := tap.Watch(ctx, 1)
			var out []string
			for _, l := range tail {
				out = append(out, l.Text)
			}
			return out
		}
		whole, parts := lines(max(len(b), 1)), lines(int(step%16)+1)
		if strings.Join(whole, "\n") != strings.Join(parts, "\n") {
			t.Fatalf("split input gives %q, whole %q", parts, whole)
		}
		for _, l := range whole {
			if l == "" || len(l) > 4*maxTapLine {
				t.Fatalf("line %q", l)
			}
			for _, c := range []byte(l) {
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("unescaped byte %#x in %q", c, l)
				}
			}
		}
	})
}
