package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testTimeouts are short, so that the tests see them act.
var testTimeouts = Timeouts{Header: 200 * time.Millisecond, Read: 300 * time.Millisecond, Idle: 400 * time.Millisecond}

// serveLoopback serves h with t on a loopback port until the test ends and
// returns the address.
func serveLoopback(t *testing.T, h http.Handler, to Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := NewHTTPServer(h, to, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return ln.Addr().String()
}

// closedWithin writes req on a new connection, then reads until the server
// closes it, failing past limit; it returns what came back and how long the
// server held the connection.
func closedWithin(t *testing.T, addr, req string, limit time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	require.NoError(t, conn.SetReadDeadline(start.Add(limit)))
	_, err = io.WriteString(conn, req)
	require.NoError(t, err)
	got, err := io.ReadAll(conn)
	held := time.Since(start)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server still held the connection after %v", limit)
	return string(got), held
}

// echoForm answers with the length of the body it read, or 400.
var echoForm = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "read %d", len(b))
})

func TestServerClosesAPartialBody(t *testing.T) {
	addr := serveLoopback(t, echoForm, testTimeouts)
	got, held := closedWithin(t, addr, "POST /v1/Fleets HTTP/1.1\r\nHost: x\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nNetworkAccessProfile=HA", 5*time.Second)
	t.Logf("a body that stops after 23 of 100 bytes: connection closed after %v (Read %v)", held, testTimeouts.Read)
	assert.GreaterOrEqual(t, held, testTimeouts.Read-50*time.Millisecond)
	assert.Contains(t, got, "400 Bad Request", "the handler never got a whole body")
	assert.Contains(t, got, "i/o timeout")
}

func TestServerClosesAPartialHeader(t *testing.T) {
	addr := serveLoopback(t, echoForm, testTimeouts)
	_, held := closedWithin(t, addr, "POST /v1/Fleets HTTP/1.1\r\nHost: x\r\nContent-Le", 5*time.Second)
	assert.GreaterOrEqual(t, held, testTimeouts.Header-50*time.Millisecond) // counted from the accept, before our clock starts
}

func TestServerClosesAnIdleConnection(t *testing.T) {
	addr := serveLoopback(t, echoForm, testTimeouts)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	br := bufio.NewReader(conn)
	// Two requests on one connection: it is kept alive between them.
	for range 2 {
		_, err = io.WriteString(conn, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=b")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, "read 3", string(body))
	}
	idle := time.Now()
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the server closes the idle connection")
	assert.GreaterOrEqual(t, time.Since(idle), testTimeouts.Idle-50*time.Millisecond)
}

// A handler that runs on after reading its body, or that has none (an
// event stream), is not cut off by the read timeout.
func TestServerReadTimeoutEndsWithTheBody(t *testing.T) {
	long := 3 * testTimeouts.Read
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "first")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done(): // the server gave up on the connection
			return
		case <-time.After(long): // the handler's own work, longer than Read
		}
		fmt.Fprintln(w, "second")
	})
	addr := serveLoopback(t, h, testTimeouts)
	for _, req := range []string{
		"POST /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\n\r\na=b",
		"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	} {
		got, held := closedWithin(t, addr, req, 10*time.Second)
		assert.True(t, strings.HasSuffix(got, "\r\nfirst\n\r\n7\r\nsecond\n\r\n0\r\n\r\n"), "%q", got)
		assert.GreaterOrEqual(t, held, long)
	}
}
