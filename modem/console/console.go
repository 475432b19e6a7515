// Package console serves fleetsim serve's live console at /console/: the
// fleet of virtual modems at a glance (by family, registration state,
// network, signal, data blocked), the SIMs with their usage against their
// Fleet's data limit, recent SMS and IP Commands and webhook callbacks,
// and one modem's AT exchange as it happens, with the modem controls.
//
// It is a page of plain HTML, CSS and JavaScript embedded in the binary,
// and a small JSON API under /console/api/ that the page polls, with
// server-sent events for the AT exchange. It reads the modems and the
// control plane (modem → sim, the one direction imports take), so it lives
// beside the modems rather than in the control plane; the API server mounts it as an
// extension (api.Extension with AnyAccount), so it takes the API's
// credentials, and a subaccount sees only its own SIMs and their modems.
// The modem controls are the API's /_fleetsim/v1 endpoints, which only the
// main account may use.
package console

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strconv"
	"sync"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

//go:embed assets
var assets embed.FS

// Modems is the fleet the console shows; *modem.Fleet is one.
type Modems interface {
	Modems() []*modem.Modem
	// Ports returns where modem i's ports are exposed, the main port first.
	Ports(i int) []modem.PortInfo
	World() *modem.World
}

// Server is the console of one control plane and its modems.
type Server struct {
	ctl    *sim.Control
	modems Modems // nil when serve runs no modems
	mux    *http.ServeMux

	// Streams end when done closes (Close), so that the HTTP server's
	// Shutdown, which waits for connections to go idle, is not held up.
	done      chan struct{}
	closeOnce sync.Once
	streams   sync.WaitGroup
}

// Prefix is where the console is mounted.
const Prefix = "/console/"

// New returns the console of ctl and its modems (nil for none).
func New(ctl *sim.Control, modems Modems) *Server {
	s := &Server{ctl: ctl, modems: modems, mux: http.NewServeMux(), done: make(chan struct{})}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	s.mux.Handle("GET "+Prefix, http.StripPrefix(Prefix, noCache(http.FileServerFS(static))))
	s.mux.Handle("GET /console", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	s.mux.HandleFunc("GET "+Prefix+"api/me", s.me)
	s.mux.HandleFunc("GET "+Prefix+"api/fleet", s.fleet)
	s.mux.HandleFunc("GET "+Prefix+"api/sims", s.sims)
	s.mux.HandleFunc("GET "+Prefix+"api/activity", s.activity)
	s.mux.HandleFunc("GET "+Prefix+"api/modems/{i}", s.modem)
	s.mux.HandleFunc("GET "+Prefix+"api/modems/{i}/at", s.atStream)
	return s
}

// Extensions are the console's routes, for api.WithExtension.
func (s *Server) Extensions() []api.Extension {
	return []api.Extension{
		{Pattern: Prefix, Handler: s, AnyAccount: true},
		{Pattern: "/console", Handler: s, AnyAccount: true},
	}
}

// ServeHTTP serves the console; the request must carry the account it was
// authenticated as (api.AccountOf), as the API's extensions do.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if api.AccountOf(r.Context()) == nil {
		writeError(w, http.StatusUnauthorized, "no authenticated account")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Close ends the live streams and waits for them.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	s.streams.Wait()
	return nil
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	a := api.AccountOf(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"account_sid": a.Sid, "friendly_name": a.FriendlyName, "main": a.IsMain(),
		"modems": s.modems != nil, "now": s.ctl.Now(),
	})
}

// modemIndex reads the {i} of a modem route and checks the caller may see
// that modem.
func (s *Server) modemIndex(w http.ResponseWriter, r *http.Request) (int, bool) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if s.modems == nil || err != nil || i < 0 || i >= len(s.modems.Modems()) ||
		!s.visibleCards(api.AccountOf(r.Context())).has(s.modems.Modems()[i].ICCID()) {
		writeError(w, http.StatusNotFound, "no such modem")
		return 0, false
	}
	return i, true
}

// pageOf reads offset and limit, limit at most maxLimit.
func pageOf(r *http.Request, def, maxLimit int) (offset, limit int) {
	offset, _ = strconv.Atoi(r.URL.Query().Get("offset"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = def
	}
	return max(offset, 0), min(limit, maxLimit)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"status": status, "message": msg})
}
