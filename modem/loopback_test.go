package modem

import (
	"io"
	"net"
	"sync"
	"testing"
)

// LoopbackTCP serves every connection to a TCP listener on 127.0.0.1 with
// serve, on goroutines that end with the test (connections closed, the
// listener shut, every goroutine waited for). It is exported for the
// external tests too.
func LoopbackTCP(tb testing.TB, serve func(net.Conn)) *net.TCPAddr {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr)
}

// Echo and Discard are the usual peers for LoopbackTCP.
func Echo(c net.Conn)    { io.Copy(c, c) }
func Discard(c net.Conn) { io.Copy(io.Discard, c) }
