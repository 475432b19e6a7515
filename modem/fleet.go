package modem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// FleetConfig describes a set of modems exposed on pseudo-terminals.
type FleetConfig struct {
	Cards   []sim.Card // one modem per card
	Core    Core
	World   *World
	Profile Profile
	// Profiles, if set, gives each card's modem its own family (a mixed
	// fleet); where it has no entry, Profile applies.
	Profiles  []Profile
	Country   string
	Clock     sim.Clock
	Timing    Timing
	AuthCache time.Duration
	// Dir, if set, gets a stable symlink modem-<i> to each modem's main
	// PTY, and modem-<i>-<port> to each of its extra ports'.
	Dir string
	// ExtraPorts serves each modem's extra ports (Profile.Ports: a Quectel
	// module's AT port) on PTYs of their own, beside the main port.
	ExtraPorts bool
	Logger     *slog.Logger
	// Stats, if set, counts every modem's attaches, rejections and detaches.
	Stats *Stats
}

// profile is modem i's family.
func (cfg *FleetConfig) profile(i int) Profile {
	if i < len(cfg.Profiles) && cfg.Profiles[i] != nil {
		return cfg.Profiles[i]
	}
	return cfg.Profile
}

// Fleet is a set of running modems, each on its own PTY (or several).
type Fleet struct {
	world  *World
	modems []*Modem
	ports  [][]fleetPort // per modem, the ports served, the main port first
	hub    *Hub
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// fleetPort is one port of a modem served on a PTY.
type fleetPort struct {
	name string
	pty  *PTY
	link string
}

// PortInfo is where one port of a modem is exposed.
type PortInfo struct {
	Name string `json:"name"`
	PTY  string `json:"pty"`
	Link string `json:"link,omitempty"`
}

// StartFleet opens a PTY per card (and per extra port, if asked) and
// serves a modem on them.
func StartFleet(ctx context.Context, cfg FleetConfig) (*Fleet, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &Fleet{world: cfg.World, cancel: cancel}
	if cfg.Core != nil {
		f.hub = NewHub(cfg.Core)
	}
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			cancel()
			return nil, err
		}
	}
	for i, card := range cfg.Cards {
		m := New(Config{
			Card: card, IMEI: IMEI(i), Profile: cfg.profile(i), Core: cfg.Core, World: cfg.World,
			Clock: cfg.Clock, Timing: cfg.Timing, AuthCache: cfg.AuthCache, Country: cfg.Country,
			Hub: f.hub, Logger: cfg.Logger, Stats: cfg.Stats,
		})
		f.modems = append(f.modems, m)
		names := m.Ports()
		if !cfg.ExtraPorts {
			names = names[:1]
		}
		f.ports = append(f.ports, nil)
		for j, name := range names {
			fp, err := openFleetPort(cfg.Dir, i, j, name)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("modem %d: %w", i, err)
			}
			f.ports[i] = append(f.ports[i], fp)
		}
		for j, fp := range f.ports[i] {
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				var err error
				if j == 0 {
					err = m.Serve(ctx, fp.pty)
				} else {
					err = m.ServePort(ctx, fp.name, fp.pty)
				}
				if err != nil && !errors.Is(err, os.ErrClosed) && cfg.Logger != nil {
					cfg.Logger.Warn("modem port stopped", "modem", i, "port", fp.name, "err", err)
				}
			}()
		}
	}
	return f, nil
}

// openFleetPort opens the PTY of modem i's port j and links it from dir
// (if set): modem-<i> for the main port, modem-<i>-<name> for the others.
func openFleetPort(dir string, i, j int, name string) (fleetPort, error) {
	p, err := OpenPTY()
	if err != nil {
		return fleetPort{}, err
	}
	fp := fleetPort{name: name, pty: p}
	if dir != "" {
		base := fmt.Sprintf("modem-%d", i)
		if j > 0 {
			base += "-" + name
		}
		link := filepath.Join(dir, base)
		_ = os.Remove(link)
		if err := os.Symlink(p.Path(), link); err != nil {
			p.Close()
			return fleetPort{}, err
		}
		fp.link = link
	}
	return fp, nil
}

// Modems returns the fleet's modems, in card order.
func (f *Fleet) Modems() []*Modem { return f.modems }

// PTYPath returns where modem i's main port is exposed.
func (f *Fleet) PTYPath(i int) string { return f.ports[i][0].pty.Path() }

// Link returns the stable symlink of modem i's main port, if there is one.
func (f *Fleet) Link(i int) string { return f.ports[i][0].link }

// Ports returns where each served port of modem i is exposed, the main
// port first.
func (f *Fleet) Ports(i int) []PortInfo {
	out := make([]PortInfo, len(f.ports[i]))
	for j, fp := range f.ports[i] {
		out[j] = PortInfo{Name: fp.name, PTY: fp.pty.Path(), Link: fp.link}
	}
	return out
}

// World returns the radio environment.
func (f *Fleet) World() *World { return f.world }

// Close stops every modem, waits for them and removes the symlinks.
func (f *Fleet) Close() error {
	f.cancel()
	for _, ps := range f.ports {
		for _, fp := range ps {
			fp.pty.Close()
		}
	}
	if f.hub != nil {
		f.hub.Close()
	}
	for _, m := range f.modems {
		m.Close()
	}
	f.wg.Wait()
	for _, ps := range f.ports {
		for _, fp := range ps {
			if fp.link != "" {
				_ = os.Remove(fp.link)
			}
		}
	}
	return nil
}

// IMEI returns the IMEI of modem i: a Quectel-style TAC, the serial and
// the Luhn check digit.
func IMEI(i int) string {
	body := fmt.Sprintf("86695004%06d", i)
	return body + string(rune('0'+sim.LuhnDigit(body)))
}
