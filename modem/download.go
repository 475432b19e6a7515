package modem

import (
	"bytes"
	"context"
	"errors"

	"github.com/fleetsim/fleetsim/sim"
)

// ErrNoDataSession is Download on a modem with no port in data state.
var ErrNoDataSession = errors.New("modem: no data session")

// downChunk is how much of a download the network sends in one piece.
const downChunk = 64 << 10

// downPayload is what a download carries: bytes that are neither a line
// end nor an escape character.
var downPayload = bytes.Repeat([]byte{'~'}, downChunk)

// Download is the network sending n bytes to the host over the data
// session, as a server answering the device does: they go out of the port
// in data state and count as download toward the SIM's usage and its
// Fleet's data limit. Where the limit is reached the network cuts the
// session (NO CARRIER on the port) and Download returns
// sim.ErrDataLimitReached with the bytes sent until then; a session that
// ends otherwise returns ErrNoDataSession.
func (m *Modem) Download(ctx context.Context, n int64) (int64, error) {
	var sent int64
	for sent < n {
		m.mu.Lock()
		p := m.dataPort()
		if p == nil || m.st.serving == nil {
			m.mu.Unlock()
			return sent, ErrNoDataSession
		}
		plmn := m.st.serving.PLMN
		m.mu.Unlock()
		want := min(n-sent, downChunk)
		left, err := m.env.core.DataAllowance(m.card.ICCID)
		k := min(want, left)
		if err == nil && k > 0 {
			if err := m.env.core.RecordUsage(ctx, sim.UsageReport{ICCID: m.card.ICCID, PLMN: plmn, Download: k}); err != nil {
				return sent, err
			}
		}
		m.mu.Lock()
		if k > 0 && p.st.dataMode && p.out != nil {
			p.out.send(downPayload[:k])
			sent += k
		}
		if k < want { // cut where the Fleet's limit is reached
			m.dropData()
			m.mu.Unlock()
			if err == nil {
				err = sim.ErrDataLimitReached
			}
			return sent, err
		}
		m.mu.Unlock()
	}
	return sent, nil
}

// dataPort is the first port in data state, nil with none. Callers hold
// m.mu.
func (m *Modem) dataPort() *port {
	for _, p := range m.ports {
		if p != nil && p.st.dataMode {
			return p
		}
	}
	return nil
}
