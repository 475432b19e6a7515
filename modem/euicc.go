package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fleetsim/fleetsim/sim"
)

// SMDP is the SM-DP+ as an eUICC meets it: *sim.Control.
type SMDP interface {
	DownloadESimProfile(ctx context.Context, eid, matchingID string) (*sim.ESimProfile, sim.Card, error)
	InstallESimProfile(ctx context.Context, eid, iccid string) (*sim.ESimProfile, error)
	FailESimProfile(ctx context.Context, eid, iccid, code, message string) (*sim.ESimProfile, error)
}

// DefaultEUICCSlots is how many profiles a virtual eUICC holds.
const DefaultEUICCSlots = 4

// ErrNoProfileEnabled: the eUICC has no enabled profile to make a modem with.
var ErrNoProfileEnabled = errors.New("euicc: no profile is enabled")

// InstallFailedNoMemory is the error code an eUICC reports when it has no
// room left for a profile (the SGP.22 reason name).
const InstallFailedNoMemory = "installFailedDueToInsufficientMemoryForProfile"

// EUICC is a virtual consumer eUICC: it downloads Super SIM profiles from
// the SM-DP+, installs and enables one, and gives a modem that profile's
// card. Each step is reported to the SM-DP+, which moves the ESimProfile
// through downloaded and installed (or failed) and calls its callback.
type EUICC struct {
	eid   string
	smdp  SMDP
	slots int

	mu       sync.Mutex
	profiles []sim.Card // installed, in installation order
	enabled  string     // ICCID of the enabled profile
}

// NewEUICC returns an empty eUICC with this EID and room for slots
// profiles (DefaultEUICCSlots if slots ≤ 0).
func NewEUICC(eid string, smdp SMDP, slots int) *EUICC {
	if slots <= 0 {
		slots = DefaultEUICCSlots
	}
	return &EUICC{eid: eid, smdp: smdp, slots: slots}
}

// EID returns the eUICC's identifier.
func (e *EUICC) EID() string { return e.eid }

// Provision downloads a profile (the one reserved for the EID, or the one
// an activation code names: "LPA:1$<SM-DP+>$<matching ID>", or "" for the
// default SM-DP+ method), installs it and enables it. A full eUICC reports
// the installation as failed. It returns the enabled profile's card.
func (e *EUICC) Provision(ctx context.Context, activationCode string) (sim.Card, error) {
	matchingID, err := parseActivationCode(activationCode)
	if err != nil {
		return sim.Card{}, err
	}
	_, card, err := e.smdp.DownloadESimProfile(ctx, e.eid, matchingID)
	if err != nil {
		return sim.Card{}, fmt.Errorf("euicc %s: download: %w", e.eid, err)
	}
	e.mu.Lock()
	full := len(e.profiles) >= e.slots
	e.mu.Unlock()
	if full {
		if _, err := e.smdp.FailESimProfile(ctx, e.eid, card.ICCID, InstallFailedNoMemory, "the eUICC has no room for another profile"); err != nil {
			return sim.Card{}, fmt.Errorf("euicc %s: report failure: %w", e.eid, err)
		}
		return sim.Card{}, fmt.Errorf("euicc %s: %s", e.eid, InstallFailedNoMemory)
	}
	if _, err := e.smdp.InstallESimProfile(ctx, e.eid, card.ICCID); err != nil {
		return sim.Card{}, fmt.Errorf("euicc %s: install: %w", e.eid, err)
	}
	e.mu.Lock()
	e.profiles = append(e.profiles, card)
	e.enabled = card.ICCID
	e.mu.Unlock()
	return card, nil
}

// Enabled returns the card of the enabled profile.
func (e *EUICC) Enabled() (sim.Card, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.profiles {
		if c.ICCID == e.enabled {
			return c, true
		}
	}
	return sim.Card{}, false
}

// NewModem returns a powered-off modem (see New) whose SIM is the eUICC's
// enabled profile; cfg.Card is ignored.
func (e *EUICC) NewModem(cfg Config) (*Modem, error) {
	card, ok := e.Enabled()
	if !ok {
		return nil, ErrNoProfileEnabled
	}
	cfg.Card = card
	return New(cfg), nil
}

// parseActivationCode returns the matching ID of a GSMA activation code
// ("LPA:" is optional), or "" for no code.
func parseActivationCode(code string) (string, error) {
	if code == "" {
		return "", nil
	}
	parts := strings.Split(strings.TrimPrefix(code, "LPA:"), "$")
	if len(parts) < 3 || parts[0] != "1" || parts[1] == "" || parts[2] == "" {
		return "", fmt.Errorf("euicc: %q is not an activation code 1$<SM-DP+ address>$<matching ID>", code)
	}
	return parts[2], nil
}
