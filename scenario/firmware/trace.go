package firmware

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/fleetsim/fleetsim/hw"
)

// Name names a device in traces and messages: group/index.
func (d *Device) Name() string {
	return d.Group.Spec.Name + "/" + strconv.Itoa(int(d.Index)-d.Group.First)
}

// Deliver queues a real modem's indication for the device's firmware,
// from any goroutine. No command is ever outstanding on the device's
// linkPort, so the line reaches device.indication.
func (d *Device) Deliver(line string) {
	d.Group.env.inboxMu.Lock()
	box := d.Group.env.inboxOf(&d.lp)
	*box = append(*box, line)
	wake := !d.woken
	d.woken = true
	d.Group.env.inboxMu.Unlock()
	if wake {
		d.schedule(0, evHandle)
	}
}

// ---- traces -----------------------------------------------------------------

// lockedWriter serialises the trace records of many devices.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// SyncWriter serialises writes to w: a trace shared by many devices, some
// of them real modems whose client writes from its own goroutines.
func SyncWriter(w io.Writer) io.Writer { return &lockedWriter{w: w} }

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// trace records what a virtual device and its modem exchanged, in the hw
// package's trace format, stamped with virtual time.
func (e *Env) trace(d *Device, dir hw.TraceDir, b []byte) {
	if e.TraceW == nil {
		return
	}
	rec := hw.TraceRecord{Time: e.Clock.Now(), Port: d.Name(), Dir: dir}
	var buf []byte
	if dir == hw.DirIn { // a record a line, as hw writes them
		for len(b) > 0 {
			i := strings.IndexByte(string(b), '\n') + 1
			if i == 0 {
				i = len(b)
			}
			rec.Data = b[:i]
			buf = hw.AppendTrace(buf, rec)
			b = b[i:]
		}
	} else {
		rec.Data = b
		buf = hw.AppendTrace(buf, rec)
	}
	_, _ = e.TraceW.Write(buf)
}

func (e *Env) traceNote(d *Device, format string, args ...any) {
	if e.TraceW != nil {
		e.trace(d, hw.DirNote, fmt.Appendf(nil, format, args...))
	}
}
