package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/fleetsim/fleetsim/modem"
)

// streamBuffer is how many lines a slow browser may fall behind before it
// loses some (it sees the gap in their seq).
const streamBuffer = 512

// keepAlive is how often an idle stream sends a comment, so proxies and
// the browser keep it open.
const keepAlive = 15 * time.Second

// atStream serves one modem's AT exchange as server-sent events: a "tail"
// event with the lines the modem's tap kept, then a "line" event per line
// as it happens. Watching is what makes the modem record: nothing is
// recorded for a modem nobody watches.
func (s *Server) atStream(w http.ResponseWriter, r *http.Request) {
	i, ok := s.modemIndex(w, r)
	if !ok {
		return
	}
	select {
	case <-s.done:
		writeError(w, http.StatusServiceUnavailable, "the console is shutting down")
		return
	default:
	}
	s.streams.Add(1)
	defer s.streams.Done()
	rc := http.NewResponseController(w)
	tail, lines := s.modems.Modems()[i].Tap().Watch(r.Context(), streamBuffer)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if tail == nil {
		tail = []modem.TapLine{}
	}
	if writeEvent(w, "tail", tail) != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case l, ok := <-lines:
			if !ok { // the request ended
				return
			}
			if writeEvent(w, "line", l) != nil {
				return
			}
			// Lines that came meanwhile go in the same write.
			for n := len(lines); n > 0; n-- {
				if writeEvent(w, "line", <-lines) != nil {
					return
				}
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

func writeEvent(w http.ResponseWriter, event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
	return err
}
