package modem

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// TestDownload: the network's bytes reach the host in data state and
// count as download; where the Fleet's limit is reached the session is cut
// with NO CARRIER, and nothing past the limit is sent or recorded.
func TestDownload(t *testing.T) {
	t.Parallel()
	oneMB := 1
	h := newHarness(t, withVClock(), withControl(sim.WithLimitPropagation(0)), withFleet(func(p *sim.FleetParams) { p.DataLimit = &oneMB }))
	used := func() int64 {
		t.Helper()
		s, err := h.ctl.Sim(h.acct, h.simSid)
		if err != nil {
			t.Fatal(err)
		}
		return s.DataUsed
	}
	if n, err := h.m.Download(h.ctx, 10); n != 0 || !errors.Is(err, ErrNoDataSession) {
		t.Fatalf("Download in command state = %d, %v; want 0, ErrNoDataSession", n, err)
	}
	h.send("ATD*99#\r")
	h.awaitTimer(h.timing.Data)
	h.advance(h.timing.Data)
	h.expect("\r\nCONNECT\r\n")

	const first = 100 << 10
	if n, err := h.m.Download(h.ctx, first); n != first || err != nil {
		t.Fatalf("Download within the limit = %d, %v", n, err)
	}
	h.expect(strings.Repeat("~", first))
	if got := used(); got != first {
		t.Fatalf("data used %d after a %d-byte download", got, first)
	}
	n, err := h.m.Download(h.ctx, sim.MB)
	if want := int64(sim.MB - first); n != want || !errors.Is(err, sim.ErrDataLimitReached) {
		t.Fatalf("Download over the limit = %d, %v; want %d, ErrDataLimitReached", n, err, want)
	}
	h.expect(strings.Repeat("~", int(n)) + "\r\nNO CARRIER\r\n")
	if got := used(); got != sim.MB {
		t.Fatalf("data used %d, want exactly the 1 MB limit", got)
	}
	if h.dataMode() {
		t.Fatal("still in data state after the cut")
	}
	h.advance(time.Second)
	if got := h.unread(); got != "" {
		t.Fatalf("more output after the cut: %q", got)
	}
}
