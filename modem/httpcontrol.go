package modem

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ModemStatus is a modem's status with where it is exposed: PTY and Link
// are its main port's, Ports every port served (the main port first).
type ModemStatus struct {
	Index int        `json:"index"`
	PTY   string     `json:"pty"`
	Link  string     `json:"link,omitempty"`
	Ports []PortInfo `json:"ports"`
	Status
}

// Status returns modem i's status with its PTYs.
func (f *Fleet) Status(i int) ModemStatus {
	return ModemStatus{Index: i, PTY: f.PTYPath(i), Link: f.Link(i), Ports: f.Ports(i), Status: f.modems[i].Status()}
}

// ByICCID returns the index of the modem holding a card, or -1.
func (f *Fleet) ByICCID(iccid string) int {
	for i, m := range f.modems {
		if m.ICCID() == iccid {
			return i
		}
	}
	return -1
}

// Handler serves the simulator's modem controls (mounted under
// /_fleetsim/v1/ by the server, behind the main account's credentials):
//
//	GET  modems                      every modem's status
//	GET  modems/{i}                  one modem
//	POST modems/{i}  Location=DE     move it to another country
//	                 Signal=0..31|-1 force the signal (0: no coverage; -1: natural)
//	                 PowerCycle=true power it off and on
//	                 DataUp=, DataDown= move bytes over its data session
//	POST networks/{sid}  Down=true|false   take a network down or up
func (f *Fleet) Handler(prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+prefix+"modems", func(w http.ResponseWriter, r *http.Request) {
		out := make([]ModemStatus, len(f.modems))
		for i := range f.modems {
			out[i] = f.Status(i)
		}
		writeJSON(w, http.StatusOK, map[string]any{"modems": out})
	})
	mux.HandleFunc("GET "+prefix+"modems/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, ok := f.index(w, r)
		if ok {
			writeJSON(w, http.StatusOK, f.Status(i))
		}
	})
	mux.HandleFunc("POST "+prefix+"modems/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, ok := f.index(w, r)
		if !ok {
			return
		}
		if err := r.ParseForm(); err != nil {
			writeErr(w, http.StatusBadRequest, 20422, "request body is not form-encoded")
			return
		}
		m := f.modems[i]
		if loc := r.Form.Get("Location"); loc != "" {
			if len(loc) != 2 || len(f.world.Catalog().InCountry(loc)) == 0 {
				writeErr(w, http.StatusBadRequest, 20422, fmt.Sprintf("Location %q is not an ISO country with networks in the catalog", loc))
				return
			}
			m.SetCountry(loc)
		}
		if v := r.Form.Get("Signal"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < -1 || n > 31 {
				writeErr(w, http.StatusBadRequest, 20422, "Signal must be -1 (natural) or 0..31")
				return
			}
			m.SetSignal(n)
		}
		if strings.EqualFold(r.Form.Get("PowerCycle"), "true") {
			m.PowerCycle()
		}
		up, err1 := optInt64(r.Form.Get("DataUp"))
		down, err2 := optInt64(r.Form.Get("DataDown"))
		if err1 != nil || err2 != nil {
			writeErr(w, http.StatusBadRequest, 20422, "DataUp and DataDown must be non-negative byte counts")
			return
		}
		if up > 0 || down > 0 {
			if err := m.UseData(r.Context(), up, down); err != nil {
				writeErr(w, http.StatusConflict, 20409, "the modem cannot move data: "+err.Error())
				return
			}
		}
		writeJSON(w, http.StatusOK, f.Status(i))
	})
	mux.HandleFunc("POST "+prefix+"networks/{sid}", func(w http.ResponseWriter, r *http.Request) {
		sid := r.PathValue("sid")
		if err := r.ParseForm(); err != nil {
			writeErr(w, http.StatusBadRequest, 20422, "request body is not form-encoded")
			return
		}
		down := r.Form.Get("Down")
		if down != "true" && down != "false" {
			writeErr(w, http.StatusBadRequest, 20422, "Down must be true or false")
			return
		}
		if err := f.world.SetDown(sid, down == "true"); err != nil {
			writeErr(w, http.StatusNotFound, 20404, err.Error())
			return
		}
		for _, m := range f.modems {
			m.RadioChanged()
		}
		writeJSON(w, http.StatusOK, map[string]any{"sid": sid, "down": down == "true"})
	})
	return mux
}

func (f *Fleet) index(w http.ResponseWriter, r *http.Request) (int, bool) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= len(f.modems) {
		writeErr(w, http.StatusNotFound, 20404, fmt.Sprintf("no modem %q (there are %d)", r.PathValue("i"), len(f.modems)))
		return 0, false
	}
	return i, true
}

func optInt64(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad count %q", s)
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr writes Twilio's error shape, like the rest of the API.
func writeErr(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}
