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
	Cards     []sim.Card // one modem per card
	Core      Core
	World     *World
	Profile   Profile
	Country   string
	Clock     sim.Clock
	Timing    Timing
	AuthCache time.Duration
	// Dir, if set, gets a stable symlink modem-<i> to each modem's PTY.
	Dir    string
	Logger *slog.Logger
}

// Fleet is a set of running modems, each on its own PTY.
type Fleet struct {
	world  *World
	modems []*Modem
	ptys   []*PTY
	links  []string
	hub    *Hub
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartFleet opens a PTY per card and serves a modem on each.
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
		p, err := OpenPTY()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("modem %d: %w", i, err)
		}
		f.ptys = append(f.ptys, p)
		if cfg.Dir != "" {
			link := filepath.Join(cfg.Dir, fmt.Sprintf("modem-%d", i))
			_ = os.Remove(link)
			if err := os.Symlink(p.Path(), link); err != nil {
				f.Close()
				return nil, fmt.Errorf("modem %d: %w", i, err)
			}
			f.links = append(f.links, link)
		}
		m := New(Config{
			Card: card, IMEI: IMEI(i), Profile: cfg.Profile, Core: cfg.Core, World: cfg.World,
			Clock: cfg.Clock, Timing: cfg.Timing, AuthCache: cfg.AuthCache, Country: cfg.Country,
			Hub: f.hub, Logger: cfg.Logger,
		})
		f.modems = append(f.modems, m)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := m.Serve(ctx, p); err != nil && !errors.Is(err, os.ErrClosed) && cfg.Logger != nil {
				cfg.Logger.Warn("modem stopped", "modem", i, "err", err)
			}
		}()
	}
	return f, nil
}

// Modems returns the fleet's modems, in card order.
func (f *Fleet) Modems() []*Modem { return f.modems }

// PTYPath returns where modem i is exposed.
func (f *Fleet) PTYPath(i int) string { return f.ptys[i].Path() }

// Link returns the stable symlink of modem i, if there is one.
func (f *Fleet) Link(i int) string {
	if i < len(f.links) {
		return f.links[i]
	}
	return ""
}

// World returns the radio environment.
func (f *Fleet) World() *World { return f.world }

// Close stops every modem, waits for them and removes the symlinks.
func (f *Fleet) Close() error {
	f.cancel()
	for _, p := range f.ptys {
		p.Close()
	}
	if f.hub != nil {
		f.hub.Close()
	}
	for _, m := range f.modems {
		m.Close()
	}
	f.wg.Wait()
	for _, l := range f.links {
		_ = os.Remove(l)
	}
	return nil
}

// IMEI returns the IMEI of modem i: a Quectel-style TAC, the serial and
// the Luhn check digit.
func IMEI(i int) string {
	body := fmt.Sprintf("86695004%06d", i)
	return body + string(rune('0'+sim.LuhnDigit(body)))
}
