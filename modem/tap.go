package modem

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Tap shows a modem's AT exchange, on all its ports, to whoever watches it:
// the lines its hosts write and the lines it answers (responses and
// indications; the echo of input is left out, as it repeats the input).
// It records only while someone watches, into a ring of the last TapLines
// lines that the next watcher gets first; while nobody watches, a write
// costs one atomic load.
type Tap struct {
	watchers atomic.Int32

	mu      sync.Mutex
	ring    []TapLine // allocated on the first watch
	head    int       // index of the oldest line in ring, once it is full
	seq     uint64    // Seq of the last line recorded
	partial map[string][]byte
	subs    map[*tapSub]struct{}
}

// TapDir is which way a line went.
type TapDir uint8

const (
	TapIn  TapDir = iota + 1 // host to modem
	TapOut                   // modem to host
)

func (d TapDir) String() string {
	switch d {
	case TapIn:
		return "in"
	case TapOut:
		return "out"
	}
	return "TapDir(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText writes "in" or "out".
func (d TapDir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// TapLine is one line of a modem's AT exchange. Text has no line
// terminator; bytes outside printable ASCII are written \xNN.
type TapLine struct {
	Seq  uint64    `json:"seq"` // 1 for the first line recorded; a gap means lines were lost
	Time time.Time `json:"time"`
	Port string    `json:"port"`
	Dir  TapDir    `json:"dir"`
	Text string    `json:"text"`
}

// TapLines is how many lines a tap keeps for the next watcher.
const TapLines = 256

// maxTapLine caps a line's bytes (before escaping); the rest of a longer
// line becomes the next line.
const maxTapLine = 512

type tapSub struct{ ch chan TapLine }

// Tap returns the modem's tap.
// It is made on the first call: most modems are never watched.
func (m *Modem) Tap() *Tap {
	if t := m.tap.Load(); t != nil {
		return t
	}
	m.tap.CompareAndSwap(nil, &Tap{})
	return m.tap.Load()
}

// watched is the modem's tap when someone watches it, or nil.
func (m *Modem) watched() *Tap {
	if t := m.tap.Load(); t != nil && t.watchers.Load() > 0 {
		return t
	}
	return nil
}

// Watch returns the lines kept so far, oldest first, and a channel of the
// lines that follow, which is closed when ctx ends. The channel holds buf
// lines; a watcher that falls further behind loses lines, as Seq shows.
func (t *Tap) Watch(ctx context.Context, buf int) ([]TapLine, <-chan TapLine) {
	sub := &tapSub{ch: make(chan TapLine, max(buf, 1))}
	t.mu.Lock()
	if t.ring == nil {
		t.ring = make([]TapLine, 0, TapLines)
		t.partial = map[string][]byte{}
		t.subs = map[*tapSub]struct{}{}
	}
	tail := make([]TapLine, 0, len(t.ring))
	tail = append(tail, t.ring[t.head:]...)
	tail = append(tail, t.ring[:t.head]...)
	t.subs[sub] = struct{}{}
	t.watchers.Add(1)
	t.mu.Unlock()
	context.AfterFunc(ctx, func() {
		t.mu.Lock()
		delete(t.subs, sub)
		close(sub.ch)
		t.watchers.Add(-1)
		t.mu.Unlock()
	})
	return tail, sub.ch
}

// tapIn records what a host wrote to port p.
func (m *Modem) tapIn(p *port, b []byte) {
	if t := m.watched(); t != nil {
		t.record(m.env.clock.Now(), m.nameOf(p), TapIn, string(b))
	}
}

// tapOut records what the modem wrote to port p.
func (m *Modem) tapOut(p *port, s string) {
	if t := m.watched(); t != nil {
		t.record(m.env.clock.Now(), m.nameOf(p), TapOut, s)
	}
}

// tapOutBytes is tapOut of bytes, copied only when someone watches.
func (m *Modem) tapOutBytes(p *port, b []byte) {
	if t := m.watched(); t != nil {
		t.record(m.env.clock.Now(), m.nameOf(p), TapOut, string(b))
	}
}

// record splits b into lines. Input may come a byte at a time, so a line
// of input waits for its end (CR, LF, or the Ctrl-Z or ESC that ends a
// prompt's text); the modem writes whole responses, so output ends a line
// where it ends.
func (t *Tap) record(now time.Time, port string, dir TapDir, b string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs == nil {
		return
	}
	key := port
	if dir == TapOut {
		key += "\x00out"
	}
	cur := t.partial[key]
	for i := range len(b) {
		c := b[i]
		switch c {
		case '\r', '\n':
			t.emit(now, port, dir, cur)
			cur = cur[:0]
			continue
		}
		cur = append(cur, c)
		if c == 0x1a || c == 0x1b || len(cur) >= maxTapLine {
			t.emit(now, port, dir, cur)
			cur = cur[:0]
		}
	}
	if dir == TapOut {
		t.emit(now, port, dir, cur)
		cur = cur[:0]
	}
	if len(cur) == 0 {
		delete(t.partial, key)
	} else {
		t.partial[key] = cur
	}
}

// emit keeps a line and hands it to the watchers. Callers hold t.mu.
func (t *Tap) emit(now time.Time, port string, dir TapDir, b []byte) {
	if len(b) == 0 {
		return
	}
	t.seq++
	l := TapLine{Seq: t.seq, Time: now, Port: port, Dir: dir, Text: escapeLine(b)}
	if len(t.ring) < TapLines {
		t.ring = append(t.ring, l)
	} else {
		t.ring[t.head] = l
		t.head = (t.head + 1) % TapLines
	}
	for s := range t.subs {
		select {
		case s.ch <- l:
		default: // the watcher is behind: it sees the gap in Seq
		}
	}
}

// escapeLine writes bytes outside printable ASCII as \xNN.
func escapeLine(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			out = append(out, c)
			continue
		}
		out = append(out, '\\', 'x', hex[c>>4], hex[c&15])
	}
	return string(out)
}
