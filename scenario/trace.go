package scenario

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/fleetsim/fleetsim/hw"
)

// name names a device in traces and messages: group/index.
func (d *device) name() string {
	return d.g.spec.Name + "/" + strconv.Itoa(int(d.idx)-d.g.first)
}

// deliver queues a real modem's indication for the device's firmware,
// from any goroutine. No command is ever outstanding on the device's
// linkPort, so the line reaches device.indication.
func (d *device) deliver(line string) {
	d.r.inboxMu.Lock()
	d.lp.inbox = append(d.lp.inbox, line)
	wake := !d.woken
	d.woken = true
	d.r.inboxMu.Unlock()
	if wake {
		d.r.clock.AfterFunc(0, d.handle)
	}
}

// ---- traces -----------------------------------------------------------------

// lockedWriter serialises the trace records of many devices.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// trace records what a virtual device and its modem exchanged, in the hw
// package's trace format, stamped with virtual time.
func (r *env) trace(d *device, dir hw.TraceDir, b []byte) {
	if r.traceW == nil {
		return
	}
	rec := hw.TraceRecord{Time: r.clock.Now(), Port: d.name(), Dir: dir}
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
	_, _ = r.traceW.Write(buf)
}

func (r *env) traceNote(d *device, format string, args ...any) {
	if r.traceW != nil {
		r.trace(d, hw.DirNote, fmt.Appendf(nil, format, args...))
	}
}
