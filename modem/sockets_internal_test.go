package modem

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestSendParser checks AT+QISEND's data collection, in one chunk and byte
// by byte.
func TestSendParser(t *testing.T) {
	tests := []struct {
		name  string
		fixed int
		in    string
		took  int
		state sendState
		data  string
	}{
		{"fixed exact", 5, "hello", 5, sendComplete, "hello"},
		{"fixed leaves the rest", 3, "abcAT\r", 3, sendComplete, "abc"},
		{"fixed takes control bytes", 3, "\x1a\x1b\x00", 3, sendComplete, "\x1a\x1b\x00"},
		{"fixed short", 4, "ab", 2, sendFixed, "ab"},
		{"variable to ctrl-z", 0, "hi\x1aAT", 3, sendComplete, "hi"},
		{"variable esc", 0, "hi\x1bAT", 3, sendCancelled, "hi"},
		{"variable open", 0, "hi", 2, sendVariable, "hi"},
		{"variable too long", 0, strings.Repeat("x", maxSend+3), maxSend, sendTooLong, strings.Repeat("x", maxSend)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, bytewise := range []bool{false, true} {
				p := newSendParser(tt.fixed)
				took := 0
				if bytewise {
					for i := 0; i < len(tt.in) && !p.done(); i++ {
						took += p.feed([]byte{tt.in[i]})
					}
				} else {
					took = p.feed([]byte(tt.in))
				}
				if took != tt.took || p.state != tt.state || string(p.data) != tt.data {
					t.Errorf("bytewise=%v: took %d, state %d, data %q; want %d, %d, %q", bytewise, took, p.state, p.data, tt.took, tt.state, tt.data)
				}
			}
		})
	}
}

// FuzzQISENDParser: however the input is split, the parser takes the same
// bytes, ends in the same state with the same data, and never takes more
// than it was given or past the data's end.
func FuzzQISENDParser(f *testing.F) {
	f.Add(5, []byte("hello"), 2)
	f.Add(0, []byte("hi\x1aAT\r"), 1)
	f.Add(0, []byte("x\x1b"), 0)
	f.Add(1460, bytes.Repeat([]byte{0x1a}, 1500), 700)
	f.Fuzz(func(t *testing.T, fixed int, in []byte, split int) {
		if fixed < 0 || fixed > maxSend {
			fixed = 0
		}
		whole := newSendParser(fixed)
		took := whole.feed(in)
		if took < 0 || took > len(in) {
			t.Fatalf("took %d of %d bytes", took, len(in))
		}
		if took < len(in) && !whole.done() {
			t.Fatalf("stopped at %d of %d bytes without finishing", took, len(in))
		}
		if whole.state == sendFixed && len(whole.data) > fixed || len(whole.data) > maxSend {
			t.Fatalf("collected %d bytes (fixed %d)", len(whole.data), fixed)
		}
		if whole.state == sendComplete && fixed > 0 && len(whole.data) != fixed {
			t.Fatalf("complete with %d bytes, want %d", len(whole.data), fixed)
		}
		parts := newSendParser(fixed)
		if split < 0 || split > len(in) {
			split = len(in) / 2
		}
		n := parts.feed(in[:split])
		if !parts.done() {
			n += parts.feed(in[split:])
		}
		if n != took || parts.state != whole.state || !bytes.Equal(parts.data, whole.data) {
			t.Fatalf("split at %d: took %d state %d data %q; whole: %d %d %q", split, n, parts.state, parts.data, took, whole.state, whole.data)
		}
	})
}

// sockSink accepts TCP connections on loopback and discards what they send.
func sockSink(tb testing.TB) string { return LoopbackTCP(tb, Discard).String() }

// BenchmarkSocketThroughput moves 1460-byte AT+QISEND payloads through a
// virtual modem's TCP socket to a loopback sink, and the same bytes over a
// plain loopback TCP connection, and reports both rates and their ratio.
func BenchmarkSocketThroughput(b *testing.B) {
	addr := sockSink(b)
	_, port, _ := net.SplitHostPort(addr)
	h := newHarness(b, withProfile("bg96"))
	if got := h.cmd("AT+QIACT=1"); !strings.Contains(got, "OK") {
		b.Fatalf("AT+QIACT=1 answered %q", got)
	}
	h.send(fmt.Sprintf(`AT+QIOPEN=1,0,"TCP","127.0.0.1",%s,0,0`+"\r", port))
	h.readUntil("+QIOPEN: 0,0\r\n")
	chunk := bytes.Repeat([]byte("x"), maxSend)
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		h.send(fmt.Sprintf("AT+QISEND=0,%d\r", len(chunk)))
		h.readUntil("> ")
		h.send(string(chunk))
		h.readUntil("SEND OK\r\n")
	}
	viaModem := time.Since(start)
	b.StopTimer()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	start = time.Now()
	for range b.N {
		if _, err := conn.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	plain := time.Since(start)
	total := float64(b.N * len(chunk))
	b.ReportMetric(total/viaModem.Seconds(), "modem-B/s")
	b.ReportMetric(total/plain.Seconds(), "loopback-B/s")
	b.ReportMetric(plain.Seconds()/viaModem.Seconds(), "modem/loopback")
}

// TestCloseStopsSockets: Modem.Close, with the host still linked in
// process (no Serve, so no session ends to cancel anything), closes every
// family's TCP and UDP sockets and waits for their goroutines: as it
// returns, the UDP ports are free again and no socket goroutine runs; the
// TCP peers see their connections end.
func TestCloseStopsSockets(t *testing.T) {
	tests := []struct {
		name string
		opts []harnessOption
		open func(tcp, udp int) []step
	}{
		{"bg96", nil, func(tcp, udp int) []step {
			return []step{
				{send: "AT+QIACT=1\r", want: okLine},
				{send: fmt.Sprintf("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",%d,0,0\r", tcp), want: okLine + "\r\n+QIOPEN: 0,0\r\n"},
				{send: fmt.Sprintf("AT+QIOPEN=1,1,\"UDP\",\"127.0.0.1\",%d,0,0\r", udp), want: okLine + "\r\n+QIOPEN: 1,0\r\n"},
			}
		}},
		{"sim7080 CA", sim7080Opts(), func(tcp, udp int) []step {
			return []step{
				{send: "AT+CNACT=0,1\r", want: okLine + "\r\n+APP PDP: 0,ACTIVE\r\n"},
				{send: fmt.Sprintf("AT+CAOPEN=0,0,\"TCP\",\"127.0.0.1\",%d\r", tcp), want: resp("+CAOPEN: 0,0")},
				{send: fmt.Sprintf("AT+CAOPEN=1,0,\"UDP\",\"127.0.0.1\",%d\r", udp), want: resp("+CAOPEN: 1,0")},
			}
		}},
		{"sim7000 CIP", sim7000Opts(), func(tcp, udp int) []step {
			return []step{
				{send: "AT+CIPMUX=1\r", want: okLine},
				{send: "AT+CSTT=\"super\"\r", want: okLine},
				{send: "AT+CIICR\r", want: okLine},
				{send: fmt.Sprintf("AT+CIPSTART=0,\"TCP\",\"127.0.0.1\",%d\r", tcp), want: okLine + "\r\n0, CONNECT OK\r\n"},
				{send: fmt.Sprintf("AT+CIPSTART=1,\"UDP\",\"127.0.0.1\",%d\r", udp), want: okLine + "\r\n1, CONNECT OK\r\n"},
			}
		}},
		{"sara-r4", []harnessOption{sara()}, func(tcp, udp int) []step {
			return []step{
				{send: "AT+CGACT=1,1\r", want: okLine},
				{send: "AT+USOCR=6\r", want: resp("+USOCR: 0")},
				{send: fmt.Sprintf("AT+USOCO=0,\"127.0.0.1\",%d\r", tcp), want: okLine},
				{send: "AT+USOCR=17\r", want: resp("+USOCR: 1")},
				{send: fmt.Sprintf("AT+USOCO=1,\"127.0.0.1\",%d\r", udp), want: okLine},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			peers := make(chan net.Conn, 1)
			go func() {
				if c, err := ln.Accept(); err == nil {
					peers <- c
				}
			}()
			udpPeer, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer udpPeer.Close()

			h := newHarness(t, append([]harnessOption{withLink()}, tt.opts...)...)
			h.run(tt.open(ln.Addr().(*net.TCPAddr).Port, udpPeer.LocalAddr().(*net.UDPAddr).Port))
			var peer net.Conn
			select {
			case peer = <-peers:
				defer peer.Close()
			case <-time.After(harnessWait):
				t.Fatal("the TCP socket's connection never reached the peer")
			}
			h.m.mu.Lock()
			udp := h.m.sock.socks[1]
			h.m.mu.Unlock()
			if udp == nil || udp.pc == nil {
				t.Fatal("socket 1 has no UDP socket on the host")
			}
			lport := udp.pc.LocalAddr().(*net.UDPAddr).Port
			if c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", lport)); err == nil {
				c.Close()
				t.Fatalf("UDP port %d free while socket 1 is open", lport)
			}

			h.m.Close()

			// Close waited: nothing is left to wind down.
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				for _, f := range []string{"modem.(*Modem).sockOpen", "modem.(*Modem).sockReader", "modem.(*Modem).serveSocket", "modem.(*Modem).ubloxConnect"} {
					if strings.Contains(g, f) {
						t.Fatalf("a socket goroutine runs after Close:\n%s", g)
					}
				}
			}
			c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", lport))
			if err != nil {
				t.Fatalf("UDP port %d still bound after Close: %v", lport, err)
			}
			c.Close()
			peer.SetReadDeadline(time.Now().Add(harnessWait))
			if n, err := peer.Read(make([]byte, 16)); err != io.EOF {
				t.Fatalf("the TCP peer read %d bytes, %v; want EOF", n, err)
			}
		})
	}
}
