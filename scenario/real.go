package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/fleetsim/fleetsim/hw"
	"github.com/fleetsim/fleetsim/scenario/firmware"
)

// Hardware in the loop: a device bound with --hw NAME=PORT is a real modem
// on a serial port. The same firmware steps drive it, through the hw
// package's AT client instead of an in-process link, in real time, and
// its expectations are checked against what it reports.

// ErrUsage wraps a run the options make impossible (a --hw reference to
// no device, --api with virtual devices...): exit status 2.
var ErrUsage = errors.New("invalid run options")

// bindReal resolves the --hw references to device indices: GROUP/INDEX,
// or GROUP for a group of one device.
func (r *runner) bindReal(refs map[string]string) (map[int]string, error) {
	out := make(map[int]string, len(refs))
	for ref, port := range refs {
		name, idx, hasIdx := strings.Cut(ref, "/")
		g := r.group(name)
		if g == nil {
			return nil, fmt.Errorf("%w: --hw %s=%s: no device group %q in the scenario", ErrUsage, ref, port, name)
		}
		i := 0
		switch {
		case hasIdx:
			n, err := strconv.Atoi(idx)
			if err != nil || n < 0 || n >= g.Count {
				return nil, fmt.Errorf("%w: --hw %s=%s: group %s has devices 0 to %d", ErrUsage, ref, port, name, g.Count-1)
			}
			i = n
		case g.Count != 1:
			return nil, fmt.Errorf("%w: --hw %s=%s: group %s has %d devices: name one as %s/INDEX", ErrUsage, ref, port, name, g.Count, name)
		}
		if _, dup := out[g.First+i]; dup {
			return nil, fmt.Errorf("%w: --hw %s: the device is bound twice", ErrUsage, ref)
		}
		out[g.First+i] = port
	}
	return out, nil
}

// openReal opens the serial port of a real device and finds its SIM in the
// control plane.
func (r *runner) openReal(ctx context.Context, d *firmware.Device, port string, opts Options) error {
	name := d.Name()
	hwOpts := append([]hw.Option(nil), opts.HWOptions...)
	if r.TraceW != nil {
		hwOpts = append(hwOpts, hw.WithTrace(r.TraceW), hw.WithTracePort(name))
	}
	c, err := hw.Open(ctx, port, hwOpts...)
	if err != nil {
		return fmt.Errorf("device %s on %s: %w", name, port, err)
	}
	d.Real(c)
	iccid, err := readICCID(ctx, c)
	if err != nil {
		return fmt.Errorf("device %s on %s: reading the SIM's ICCID: %w", name, port, err)
	}
	sid, err := r.findSim(ctx, iccid)
	if err != nil {
		return fmt.Errorf("device %s (ICCID %s): %w", name, iccid, err)
	}
	r.sids.set(int(d.Index), sid)
	if sid != "" {
		if err := r.setupSim(ctx, d.Group, int(d.Index)); err != nil {
			return fmt.Errorf("device %s (ICCID %s): %w", name, iccid, err)
		}
	}
	c.OnIndication("", d.Deliver)
	return nil
}

// readICCID asks the modem for its SIM's ICCID, in whichever dialect it
// speaks.
func readICCID(ctx context.Context, c *hw.Client) (string, error) {
	var last error
	for _, cmd := range []string{"+QCCID", "+CCID", "+ICCID"} {
		info, err := c.Command(ctx, cmd)
		if err != nil {
			last = err
			continue
		}
		for _, l := range info {
			if id := digitsRun(l); len(id) >= 18 {
				return id, nil
			}
		}
	}
	if last == nil {
		last = errors.New("no ICCID in the answers")
	}
	return "", last
}

func digitsRun(s string) string {
	start := strings.IndexFunc(s, unicode.IsDigit)
	if start < 0 {
		return ""
	}
	end := strings.IndexFunc(s[start:], func(r rune) bool { return !unicode.IsDigit(r) && r != 'F' && r != 'f' })
	if end < 0 {
		end = len(s) - start
	}
	return strings.TrimRight(s[start:start+end], "Ff")
}

// findSim returns the SID of the Sim with this ICCID, registering it first
// when the control plane is fleetsim's and holds the card; "" when the
// embedded control plane has no such card (a real SIM in a real modem).
func (r *runner) findSim(ctx context.Context, iccid string) (string, error) {
	var sid string
	err := r.api.ListAll(ctx, "/v1/Sims", url.Values{"Iccid": {iccid}}, "sims", func(raw json.RawMessage) error {
		var s struct{ Sid string }
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		sid = s.Sid
		return nil
	})
	if err != nil || sid != "" {
		return sid, err
	}
	// fleetsim's own inventory tells the registration code.
	var cards struct {
		Cards []struct {
			ICCID string `json:"iccid"`
			Code  string `json:"registration_code"`
		} `json:"cards"`
	}
	status, err := r.api.Call(ctx, http.MethodGet, "/_fleetsim/v1/cards", nil, &cards)
	if err != nil {
		if status == http.StatusNotFound && r.api.Handler == nil {
			return "", errors.New("the SIM is not registered in the account: register it first")
		}
		return "", err
	}
	for _, c := range cards.Cards {
		if c.ICCID == iccid {
			var out struct{ Sid string }
			p := url.Values{"Iccid": {iccid}, "RegistrationCode": {c.Code}}
			if _, err := r.api.Call(ctx, http.MethodPost, "/v1/Sims", p, &out); err != nil {
				return "", err
			}
			return out.Sid, nil
		}
	}
	if r.api.Handler != nil {
		return "", nil // a SIM of a real account, not the embedded simulator's
	}
	return "", errors.New("the SIM is neither registered in the account nor in the simulator's inventory")
}
