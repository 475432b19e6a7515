package api

import (
	"log/slog"
	"net/http"
	"time"
)

// Timeouts bound how long a client may hold a connection of the HTTP
// server without making progress.
type Timeouts struct {
	// Header is the time to read a request's headers, from its first byte.
	Header time.Duration
	// Read is the time to read a whole request, headers and body, from its
	// first byte. It ends when the body has been read: a handler that goes
	// on (a long poll, an event stream) is not cut off.
	Read time.Duration
	// Idle is how long a kept-alive connection may wait for its next
	// request.
	Idle time.Duration
}

// DefaultTimeouts are the timeouts of `fleetsim serve`:
//
//   - Header 10 s: a request line and headers are a few hundred bytes; a
//     client that takes longer is stalled, not slow.
//   - Read 30 s: the API's forms are a few KB and capped at MaxBodyBytes
//     (1 MB), which still arrives in the 20 s left after slow headers at
//     400 kbit/s. A request that stops half-way holds its connection at
//     most 30 s.
//   - Idle 120 s: longer than the 90 s after which Go's http.Transport (and
//     most client pools) retire an idle connection, so that the client,
//     not the server, closes it and a request never races the close.
//
// There is no write timeout: it would cut off the console's event streams,
// which stay open as long as their page does.
var DefaultTimeouts = Timeouts{Header: 10 * time.Second, Read: 30 * time.Second, Idle: 120 * time.Second}

// NewHTTPServer returns the HTTP server of h with timeouts t; its errors
// (a TLS handshake, a panic in a handler) go to logger at warning level.
func NewHTTPServer(h http.Handler, t Timeouts, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.Header,
		// net/http lifts this deadline once the body has been read, as it
		// starts watching for the client going away
		// (TestServerReadTimeoutEndsWithTheBody holds it to that).
		ReadTimeout: t.Read,
		IdleTimeout: t.Idle,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
