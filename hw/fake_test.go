package hw

// A scripted modem for the client's tests: the far end of a PTY (or of any
// io.ReadWriteCloser) that answers the host's command lines from a script
// of steps and a table of plain answers, and misbehaves as the steps say:
// echo, indications inside answers, late and slow replies, noise, a port
// that closes in the middle of a command.

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/modem"
)

// testWait bounds every wait for a condition; generous for -race.
const testWait = 20 * time.Second

// step is one expected command line and what the modem does about it.
type step struct {
	expect string        // the command line, without CR
	reply  []string      // written in order, chunk by chunk
	delay  time.Duration // before the reply: a slow modem
	hold   bool          // reply only once the host sends its next line: a late reply
	close  bool          // close the port instead of replying: an unplug
}

// fake is a scripted modem.
type fake struct {
	t     *testing.T
	rw    io.ReadWriteCloser
	echo  bool
	plain map[string]string // answers to commands no step expects

	mu    sync.Mutex
	steps []step
	got   []string // every command line received
	more  chan struct{}
	done  chan struct{}
}

// plainAnswers answer the client's init and resynchronisation commands and
// a few queries.
var plainAnswers = map[string]string{
	"ATE0":      "\r\nOK\r\n",
	"AT+CMEE=1": "\r\nOK\r\n",
	"AT+CMEE?":  "\r\n+CMEE: 1\r\n\r\nOK\r\n",
	"AT+CSCS?":  "\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n",
	"ATS3?":     "\r\n013\r\n\r\nOK\r\n",
	"AT":        "\r\nOK\r\n",
	"AT+CGMI":   "\r\nQuectel\r\n\r\nOK\r\n",
	"AT+CSQ":    "\r\n+CSQ: 20,99\r\n\r\nOK\r\n",
}

// newFake serves a scripted modem on rw until rw is closed.
func newFake(t *testing.T, rw io.ReadWriteCloser, echo bool, steps ...step) *fake {
	f := &fake{t: t, rw: rw, echo: echo, plain: plainAnswers, steps: steps, more: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	t.Cleanup(func() {
		rw.Close()
		<-f.done
	})
	return f
}

func (f *fake) run() {
	defer close(f.done)
	buf := make([]byte, 1024)
	var line []byte
	var held []string
	for {
		n, err := f.rw.Read(buf)
		for _, c := range buf[:n] {
			if c == '\n' {
				continue
			}
			if c != '\r' {
				line = append(line, c)
				continue
			}
			l := string(line)
			line = line[:0]
			if f.echo {
				f.write(l + "\r\n")
			}
			if l == "" {
				continue
			}
			f.mu.Lock()
			f.got = append(f.got, l)
			close(f.more)
			f.more = make(chan struct{})
			var st *step
			if len(f.steps) > 0 && f.steps[0].expect == l {
				st = &f.steps[0]
				f.steps = f.steps[1:]
			}
			f.mu.Unlock()
			for _, h := range held {
				f.write(h)
			}
			held = nil
			switch {
			case st == nil && f.plain[l] != "":
				f.write(f.plain[l])
			case st == nil:
				f.write("\r\nERROR\r\n")
			case st.close:
				f.rw.Close()
			case st.hold:
				held = st.reply
			default:
				if st.delay > 0 {
					time.Sleep(st.delay) // the modem being slow, not the test waiting
				}
				for _, r := range st.reply {
					f.write(r)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (f *fake) write(s string) {
	if _, err := f.rw.Write([]byte(s)); err != nil && !errors.Is(err, os.ErrClosed) {
		f.t.Logf("fake modem: writing %q: %v", s, err)
	}
}

// waitGot waits until the modem has received line, and returns every line
// received so far.
func (f *fake) waitGot(line string) []string {
	f.t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		got, more := append([]string(nil), f.got...), f.more
		f.mu.Unlock()
		for _, g := range got {
			if g == line {
				return got
			}
		}
		select {
		case <-more:
		case <-deadline.C:
			f.t.Fatalf("the modem never received %q; got %q", line, got)
		}
	}
}

// received returns every line received so far.
func (f *fake) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// ptyLink is a PTY with a stable symlink to it, as /dev/serial/by-id has.
type ptyLink struct {
	t    *testing.T
	link string
}

func newPTYLink(t *testing.T) *ptyLink {
	return &ptyLink{t: t, link: filepath.Join(t.TempDir(), "ttyMODEM")}
}

// plug opens a new PTY and points the link at it; it returns the PTY's
// modem side.
func (l *ptyLink) plug() *modem.PTY {
	l.t.Helper()
	p, err := modem.OpenPTY()
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { p.Close() })
	l.point(p.Path())
	return p
}

// unplug points the link nowhere, as a vanished device node.
func (l *ptyLink) unplug() { l.point(filepath.Join(filepath.Dir(l.link), "gone")) }

func (l *ptyLink) point(target string) {
	l.t.Helper()
	tmp := l.link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		l.t.Fatal(err)
	}
	if err := os.Rename(tmp, l.link); err != nil {
		l.t.Fatal(err)
	}
}

// checkLeaks fails the test if a goroutine of the client or of the at
// package is still running once the test's cleanups have run.
func checkLeaks(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(testWait)
		for {
			buf := make([]byte, 1<<20)
			s := string(buf[:runtime.Stack(buf, true)])
			var leaked []string
			for _, g := range strings.Split(s, "\n\n") {
				if strings.Contains(g, "fleetsim/hw.(*Client)") || strings.Contains(g, "warthog618/modem/at.") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond) // goroutines finishing after Close's own wait
		}
	})
}

// openFake opens a client on a new PTY with a scripted modem behind a
// symlink.
func openFake(t *testing.T, echo bool, opts []Option, steps ...step) (*Client, *fake, *ptyLink) {
	t.Helper()
	checkLeaks(t)
	l := newPTYLink(t)
	p := l.plug()
	f := newFake(t, p, echo, steps...)
	c, err := Open(context.Background(), l.link, append([]Option{WithBackoff(time.Millisecond, 20*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, f, l
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	return ctx
}
