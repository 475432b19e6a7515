package hw

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warthog618/modem/at"

	"github.com/fleetsim/fleetsim/modem/at3gpp"
)

// collector gathers indications.
type collector struct {
	mu    sync.Mutex
	lines []string
	more  chan struct{}
}

func collect(c *Client, prefix string) *collector {
	k := &collector{more: make(chan struct{})}
	c.OnIndication(prefix, func(l string) {
		k.mu.Lock()
		k.lines = append(k.lines, l)
		close(k.more)
		k.more = make(chan struct{})
		k.mu.Unlock()
	})
	return k
}

// wait returns the indications once there are at least n.
func (k *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		lines, more := append([]string(nil), k.lines...), k.more
		k.mu.Unlock()
		if len(lines) >= n {
			return lines
		}
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("got indications %q, want %d", lines, n)
		}
	}
}

func mustCmd(t *testing.T, c *Client, cmd string, want ...string) {
	t.Helper()
	info, err := c.Command(testCtx(t), cmd)
	if err != nil {
		t.Fatalf("%s: %v (info %q)", cmd, err, info)
	}
	if !slices.Equal(info, want) {
		t.Fatalf("%s = %q, want %q", cmd, info, want)
	}
}

// TestEcho: a module that echoes every command, and keeps echoing after
// ATE0, still gets its answers parsed without the echo.
func TestEcho(t *testing.T) {
	c, f, _ := openFake(t, true, nil)
	mustCmd(t, c, "AT+CGMI", "Quectel")
	mustCmd(t, c, "+CSQ", "+CSQ: 20,99")
	if got := f.received(); !slices.Contains(got, "ATE0") {
		t.Fatalf("the client did not send ATE0: %q", got)
	}
}

// TestIndicationsInsideAnswers: indications arriving before, inside and
// split across the chunks of an answer go to the handlers in order, and
// the answer keeps only its own lines, even when an indication has the
// same prefix as the query (+CEREG).
func TestIndicationsInsideAnswers(t *testing.T) {
	c, _, _ := openFake(t, false, nil,
		step{expect: "AT+CGDCONT?", reply: []string{
			"\r\n+CGDCONT: 1,\"IP\",\"super\",\"0.0.0.0\",0,0\r\n",
			"\r\n+CEREG: 5,\"1A2B\",\"01A2B3C\",8\r\n+CG", "EV: ME PDN ACT 1\r\n",
			"+CGDCONT: 2,\"IPV6\",\"iot\"\r\n\r\nOK\r\n",
		}},
		step{expect: "AT+CEREG?", reply: []string{
			"\r\n+CEREG: 2\r\n", // an indication in mode 1 first
			"\r\n+CEREG: 2,5,\"1A2B\",\"01A2B3C\",8\r\n",
			"\r\n+CEREG: 5,\"1A2B\",\"01A2B3D\",8\r\n", // and one in mode 2 before the OK
			"\r\nOK\r\n",
		}},
	)
	all := collect(c, "")
	cereg := collect(c, "+CEREG:")
	mustCmd(t, c, "AT+CGDCONT?", `+CGDCONT: 1,"IP","super","0.0.0.0",0,0`, `+CGDCONT: 2,"IPV6","iot"`)
	mustCmd(t, c, "AT+CEREG?", `+CEREG: 2,5,"1A2B","01A2B3C",8`)
	want := []string{`+CEREG: 5,"1A2B","01A2B3C",8`, "+CGEV: ME PDN ACT 1", "+CEREG: 2", `+CEREG: 5,"1A2B","01A2B3D",8`}
	if got := all.wait(t, 4); !slices.Equal(got, want) {
		t.Fatalf("indications %q, want %q", got, want)
	}
	if got := cereg.wait(t, 3); len(got) != 3 {
		t.Fatalf("+CEREG indications %q, want 3", got)
	}
}

// TestLibraryIndicationLeaks shows what at does with an indication
// registered for +CEREG: the handler gets it, and so does the command in
// progress as an information line; and the answer to AT+CEREG? goes to
// the handler too.
func TestLibraryIndicationLeaks(t *testing.T) {
	host, dev := net.Pipe()
	newFake(t, dev, false, step{expect: "AT+CEREG?", reply: []string{"\r\n+CEREG: 5\r\n\r\n+CEREG: 0,5\r\n\r\nOK\r\n"}})
	a := at.New(host, at.WithTimeout(5*time.Second))
	defer func() { host.Close(); <-a.Closed() }()
	var mu sync.Mutex
	var handled []string
	got2 := make(chan struct{})
	if err := a.AddIndication("+CEREG:", func(l []string) {
		mu.Lock()
		defer mu.Unlock()
		if handled = append(handled, l[0]); len(handled) == 2 {
			close(got2)
		}
	}); err != nil {
		t.Fatal(err)
	}
	info, err := a.Command("+CEREG?")
	if err != nil || !slices.Equal(info, []string{"+CEREG: 5", "+CEREG: 0,5"}) {
		t.Fatalf("at: AT+CEREG? = %q, %v; want the indication in the answer", info, err)
	}
	<-got2
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(handled, "+CEREG: 0,5") {
		t.Fatalf("the handler got %q, want the answer too", handled)
	}
}

// TestSlowScan: AT+COPS=? answers after longer than the default timeout
// but within its own.
func TestSlowScan(t *testing.T) {
	const def = 200 * time.Millisecond
	scan := "\r\n+COPS: (2,\"Vodafone UK\",\"VF UK\",\"23415\",8),(3,\"EE\",\"EE\",\"23430\",8),,(0,1,2,3,4),(0,1,2)\r\n\r\nOK\r\n"
	c, _, _ := openFake(t, false, []Option{WithTimeout(def), WithCommandTimeout("+COPS=?", testWait)},
		step{expect: "AT+COPS=?", delay: 3 * def, reply: []string{scan}},
	)
	start := time.Now()
	info, err := c.Command(testCtx(t), "AT+COPS=?")
	if err != nil {
		t.Fatalf("AT+COPS=?: %v", err)
	}
	if el := time.Since(start); el < 3*def {
		t.Fatalf("the scan took %v, less than the modem's delay", el)
	}
	nets := parseScan(info, true)
	if len(nets) != 2 || nets[0].Numeric != "23415" || nets[0].Stat != 2 || nets[1].StatText != "forbidden" || nets[0].AcTText != "LTE Cat-M1" {
		t.Fatalf("networks %+v", nets)
	}
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
}

// TestLateReply: the answer to a command that timed out arrives after the
// next command is sent; the client resynchronises and does not take it for
// the next command's answer.
func TestLateReply(t *testing.T) {
	c, f, _ := openFake(t, false, []Option{WithTimeout(200 * time.Millisecond)},
		step{expect: "AT+COPS?", hold: true, reply: []string{"\r\n+COPS: 0,0,\"LATE\",8\r\n\r\nOK\r\n"}},
	)
	mustCmd(t, c, "AT") // connected and initialised
	_, err := c.Command(testCtx(t), "AT+COPS?")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("AT+COPS? = %v, want ErrTimeout", err)
	}
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
	got := f.received()
	if i, j := slices.Index(got, "AT+CMEE?"), slices.Index(got, "AT+CSQ"); i < 0 || i > j {
		t.Fatalf("no probe between the timeout and the next command: %q", got)
	}
}

// TestLibraryLateReply shows at taking a late reply for the next answer.
func TestLibraryLateReply(t *testing.T) {
	host, dev := net.Pipe()
	newFake(t, dev, false, step{expect: "AT+COPS?", hold: true, reply: []string{"\r\n+COPS: 0,0,\"LATE\",8\r\n\r\nOK\r\n"}})
	a := at.New(host, at.WithTimeout(200*time.Millisecond))
	defer func() { host.Close(); <-a.Closed() }()
	if _, err := a.Command("+COPS?"); !errors.Is(err, at.ErrDeadlineExceeded) {
		t.Fatalf("at: AT+COPS? = %v", err)
	}
	info, err := a.Command("+CSQ")
	if err != nil || !slices.Equal(info, []string{`+COPS: 0,0,"LATE",8`}) {
		t.Fatalf("at: AT+CSQ = %q, %v; the library was expected to return the late +COPS answer", info, err)
	}
}

// TestNoise: binary noise between and inside answers, and a run of noise
// longer than MaxLine without a line end, do not break the client.
func TestNoise(t *testing.T) {
	junk := string(bytes.Repeat([]byte{0xff, 0x00, 'x', 0x80}, 3*MaxLine))
	c, _, _ := openFake(t, false, nil,
		step{expect: "AT+CGMM", reply: []string{"\x00\xff\xfe\r\n\x13\r\nBG", "95-M3\x00\r\n\xff\r\nOK\r\n"}},
		step{expect: "AT+CGMR", reply: []string{junk, "\r\n\r\nBG95M3LAR02A03\r\n\r\nOK\r\n"}},
	)
	mustCmd(t, c, "AT+CGMM", "BG95-M3")
	mustCmd(t, c, "AT+CGMR", "BG95M3LAR02A03")
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
}

// TestLibraryLongLine shows at closing for good on a line longer than
// bufio.Scanner's 64 KiB limit.
func TestLibraryLongLine(t *testing.T) {
	host, dev := net.Pipe()
	newFake(t, dev, false, step{expect: "AT+CGMR", reply: []string{strings.Repeat("x", 70<<10), "\r\nOK\r\n"}})
	a := at.New(host, at.WithTimeout(5*time.Second))
	defer func() { host.Close(); <-a.Closed() }()
	if _, err := a.Command("+CGMR"); err == nil {
		t.Fatal("at: AT+CGMR succeeded")
	}
	select {
	case <-a.Closed():
	case <-time.After(testWait):
		t.Fatal("at did not close")
	}
	if _, err := a.Command("+CSQ"); !errors.Is(err, at.ErrClosed) {
		t.Fatalf("at: AT+CSQ after the long line = %v, want ErrClosed", err)
	}
}

// TestCMEErrors: +CME ERROR in numeric and verbose form, and ERROR.
func TestCMEErrors(t *testing.T) {
	c, _, _ := openFake(t, false, nil,
		step{expect: "AT+CIMI", reply: []string{"\r\n+CME ERROR: 10\r\n"}},
		step{expect: "AT+CIMI", reply: []string{"\r\n+CME ERROR: SIM not inserted\r\n"}},
		step{expect: "AT+CIMI", reply: []string{"\r\n+CME ERROR: vendor trouble\r\n"}},
		step{expect: "AT+CIMI", reply: []string{"\r\nERROR\r\n"}},
		step{expect: "ATD*99***1#", reply: []string{"\r\nBUSY\r\n"}},
	)
	for _, want := range []CMEError{{Code: 10, Text: "SIM not inserted"}, {Code: 10, Text: "SIM not inserted"}, {Code: -1, Text: "vendor trouble"}} {
		_, err := c.Command(testCtx(t), "AT+CIMI")
		var cme *CMEError
		if !errors.As(err, &cme) || *cme != want {
			t.Fatalf("AT+CIMI = %v, want %+v", err, want)
		}
	}
	if _, err := c.Command(testCtx(t), "AT+CIMI"); !errors.Is(err, ErrError) || !errors.Is(err, at3gpp.ResultError) {
		t.Fatalf("AT+CIMI = %v, want ErrError, at3gpp.ResultError", err)
	}
	// The V.250 result names the failure in the shared vocabulary too.
	if _, err := c.Command(testCtx(t), "ATD*99***1#"); !errors.Is(err, ErrNoCarrier) || !errors.Is(err, at3gpp.ResultBusy) {
		t.Fatalf("ATD = %v, want ErrNoCarrier, at3gpp.ResultBusy", err)
	}
}

// TestReboot: the modem restarts in the middle of a command: the command
// fails with ErrRebooted at once, RDY reaches the handlers, and the client
// initialises the modem again before the next command.
func TestReboot(t *testing.T) {
	c, f, _ := openFake(t, false, nil,
		step{expect: "AT+CGATT=1", reply: []string{"\r\nRDY\r\n"}},
	)
	rdy := collect(c, "RDY")
	mustCmd(t, c, "AT")
	_, err := c.Command(testCtx(t), "AT+CGATT=1", Timeout(testWait))
	if !errors.Is(err, ErrRebooted) {
		t.Fatalf("AT+CGATT=1 = %v, want ErrRebooted", err)
	}
	rdy.wait(t, 1)
	n := len(f.received())
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
	if got := f.received()[n:]; !slices.Contains(got, "ATE0") || !slices.Contains(got, "AT+CMEE=1") {
		t.Fatalf("after the restart the client sent %q, want ATE0 and AT+CMEE=1 again", got)
	}
}

// TestCancel: a command whose context ends returns at once; the next one
// works.
func TestCancel(t *testing.T) {
	c, _, _ := openFake(t, false, nil,
		step{expect: "AT+COPS=?", hold: true, reply: []string{"\r\n+COPS: ,,(0,1,2,3,4),(0,1,2)\r\n\r\nOK\r\n"}},
	)
	mustCmd(t, c, "AT")
	ctx, cancel := context.WithCancel(testCtx(t))
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := c.Command(ctx, "AT+COPS=?")
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("AT+COPS=? = %v, want context.Canceled", err)
	}
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
}

// TestReconnect: the port closes in the middle of a command and its path
// vanishes; the command fails with ErrDisconnected, so do commands while
// it is away, and when a new port appears at the same path the client
// reopens it, initialises the modem and works again.
func TestReconnect(t *testing.T) {
	tw := newTraceBuf()
	c, f1, link := openFake(t, false, []Option{WithTrace(tw)},
		step{expect: "AT+CGATT=1", close: true},
	)
	mustCmd(t, c, "AT")
	link.unplug()
	start := time.Now()
	_, err := c.Command(testCtx(t), "AT+CGATT=1")
	if !errors.Is(err, ErrDisconnected) || errors.Is(err, ErrTimeout) {
		t.Fatalf("AT+CGATT=1 = %v, want ErrDisconnected", err)
	}
	if el := time.Since(start); el > CommandTimeout("+CGATT=1")/2 {
		t.Fatalf("the command took %v to notice the port closing", el)
	}
	if err := c.waitState(testCtx(t), StateDisconnected); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Command(testCtx(t), "AT+CSQ"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("AT+CSQ while unplugged = %v, want ErrDisconnected", err)
	}
	_ = f1
	tw.waitFor(t, "reopening ") // a failed attempt: the path is gone
	p2 := link.plug()
	f2 := newFake(t, p2, false)
	if err := c.WaitConnected(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
	if got := f2.received(); !slices.Contains(got, "ATE0") {
		t.Fatalf("the replugged modem got %q, want the init commands", got)
	}
	c.Close()
	recs, err := ReadTrace(bytes.NewReader(tw.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, r := range recs {
		if r.Dir == DirNote {
			notes = append(notes, string(r.Data))
		}
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"lost ", "reopening ", "reopened "} {
		if !strings.Contains(joined, want) {
			t.Errorf("the trace notes lack %q:\n%s", want, joined)
		}
	}
}

// traceBuf is a trace destination tests can wait on.
type traceBuf struct {
	mu   sync.Mutex
	b    bytes.Buffer
	more chan struct{}
}

func newTraceBuf() *traceBuf { return &traceBuf{more: make(chan struct{})} }

func (w *traceBuf) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.more)
	w.more = make(chan struct{})
	return w.b.Write(b)
}

func (w *traceBuf) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}

// waitFor waits until the trace contains s.
func (w *traceBuf) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.NewTimer(testWait)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		ok, more := bytes.Contains(w.b.Bytes(), []byte(s)), w.more
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("the trace never showed %q:\n%s", s, w.bytes())
		}
	}
}

// TestCloseDuringCommand: Close fails the command in progress and waits
// for the client's goroutines (checkLeaks).
func TestCloseDuringCommand(t *testing.T) {
	c, f, _ := openFake(t, false, nil, step{expect: "AT+COPS=?", hold: true})
	mustCmd(t, c, "AT")
	errc := make(chan error, 1)
	go func() {
		_, err := c.Command(context.Background(), "AT+COPS=?")
		errc <- err
	}()
	f.waitGot("AT+COPS=?")
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("AT+COPS=? = %v, want ErrClosed", err)
	}
	if _, err := c.Command(testCtx(t), "AT"); !errors.Is(err, ErrClosed) {
		t.Fatalf("AT after Close = %v, want ErrClosed", err)
	}
}
