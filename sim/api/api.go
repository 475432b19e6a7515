// Package api serves the control plane over HTTP with Twilio's Super SIM v1
// wire format: form-encoded PascalCase parameters in, snake_case JSON out,
// HTTP basic authentication with an Account SID and auth token, Twilio's
// paging envelope and error bodies.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fleetsim/fleetsim/sim"
)

// MaxBodyBytes caps a request body.
const MaxBodyBytes = 1 << 20

// Server is the REST API of one Control.
type Server struct {
	ctl        *sim.Control
	logger     *slog.Logger
	mux        *http.ServeMux
	extensions []Extension
	cardExtras func(iccid string) map[string]any
	observe    func(Request)
	metrics    http.Handler
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the request logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// Request is what an observer hears of a request the server answered.
type Request struct {
	// Route is the pattern that served it, such as "/v1/Sims/{Sid}": a
	// bounded set, unlike paths. "" when no route matched (a 404).
	Route    string
	Method   string
	Status   int
	Duration time.Duration
}

// WithObserver calls fn after every request is answered, in the request's
// goroutine; fn must not block.
func WithObserver(fn func(Request)) Option { return func(s *Server) { s.observe = fn } }

// WithMetrics serves h on GET /metrics without credentials, as /healthz:
// a Prometheus scrape endpoint.
func WithMetrics(h http.Handler) Option { return func(s *Server) { s.metrics = h } }

// New returns the API of ctl.
func New(ctl *sim.Control, opts ...Option) *Server {
	s := &Server{ctl: ctl, logger: slog.New(slog.DiscardHandler), mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	s.routes()
	return s
}

// methods maps HTTP methods to handlers of one path.
type methods map[string]func(w http.ResponseWriter, r *http.Request, a *sim.Account)

// route serves pattern with h, remembering the pattern for observers.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			sw.route = pattern
		}
		h(w, r)
	})
}

func (s *Server) handle(pattern string, m methods) {
	s.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		h, ok := m[r.Method]
		if !ok && r.Method == http.MethodHead {
			h, ok = m[http.MethodGet]
		}
		if !ok {
			allow := make([]string, 0, len(m))
			for k := range m {
				allow = append(allow, k)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, &sim.Error{Code: sim.CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
				Message: fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path)})
			return
		}
		// A replica catches up with the others first; a stopped control
		// plane (its store failed) answers 503.
		if err := s.ctl.Sync(r.Context()); err != nil {
			writeError(w, err)
			return
		}
		a, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			writeError(w, err)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
			if err := r.ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					writeError(w, &sim.Error{Code: sim.CodeInvalidParameter, Status: http.StatusRequestEntityTooLarge,
						Message: fmt.Sprintf("Request body is larger than %d bytes", MaxBodyBytes)})
					return
				}
				writeError(w, &sim.Error{Code: sim.CodeInvalidParameter, Status: http.StatusBadRequest,
					Message: "Request body is not valid application/x-www-form-urlencoded: " + err.Error()})
				return
			}
			// The store keeps strings as JSON, which turns invalid UTF-8
			// into U+FFFD: a value would change on reload.
			for k, vs := range r.Form {
				for _, v := range vs {
					if !utf8.ValidString(v) {
						writeError(w, &sim.Error{Code: sim.CodeInvalidParameter, Status: http.StatusBadRequest,
							Message: fmt.Sprintf("Parameter %q is not valid UTF-8", k)})
						return
					}
				}
			}
		}
		h(w, r, a)
	})
}

func (s *Server) authenticate(r *http.Request) (*sim.Account, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil, &sim.Error{Code: sim.CodeUnauthorized, Status: http.StatusUnauthorized,
			Message: "Authentication Error - No credentials provided"}
	}
	return s.ctl.Authenticate(user, pass)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			if !rw.wrote {
				writeError(rw, &sim.Error{Code: 20500, Status: http.StatusInternalServerError, Message: "Internal error"})
			}
		}
		d := time.Since(start)
		if s.logger.Enabled(r.Context(), slog.LevelDebug) { // no arguments boxed for a discarded line
			s.logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.status, "duration", d)
		}
		if s.observe != nil {
			s.observe(Request{Route: rw.route, Method: r.Method, Status: rw.status, Duration: d})
		}
	}()
	if p := r.URL.EscapedPath(); p != cleanPath(p) {
		// ServeMux would redirect to the cleaned path with an HTML body;
		// the API answers every path it does not serve with its JSON 404.
		writeError(rw, notFound(r))
		return
	}
	s.mux.ServeHTTP(rw, r)
}

// cleanPath is the canonical form of a request path, as ServeMux computes
// it: path.Clean, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	route  string // the pattern that served the request
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, so that an
// extension can stream (the console's server-sent events).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorBody is Twilio's error JSON.
type errorBody struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// writeError maps an error to Twilio's error body: the one place where
// control plane errors meet the wire.
func writeError(w http.ResponseWriter, err error) {
	var e *sim.Error
	if !errors.As(err, &e) {
		e = &sim.Error{Code: 20500, Status: http.StatusInternalServerError, Message: "Internal error"}
	}
	writeJSON(w, e.Status, errorBody{
		Code: e.Code, Message: e.Message, Status: e.Status,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(e.Code),
	})
}

func notFound(r *http.Request) error {
	return &sim.Error{Code: sim.CodeNotFound, Status: http.StatusNotFound,
		Message: fmt.Sprintf("The requested resource %s was not found", r.URL.Path)}
}

// baseURL is the scheme and host the client used, so that url, links and
// paging URLs lead back to this server.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
