package api

import (
	"fmt"
	"net/http"

	"github.com/fleetsim/fleetsim/sim"
)

type acctHandler = func(w http.ResponseWriter, r *http.Request, a *sim.Account)

func (s *Server) routes() {
	c := s.ctl
	s.route("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := c.Err(); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if h := s.metrics; h != nil {
		s.route("/metrics", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				writeError(w, &sim.Error{Code: sim.CodeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
					Message: fmt.Sprintf("Method %s is not allowed on %s", r.Method, r.URL.Path)})
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, notFound(r)) })

	// Sims.
	s.handle("/v1/Sims", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			sims, err := c.SimPages(a, sim.SimFilter{Status: p.get("Status"), Fleet: p.get("Fleet"), ICCID: p.get("Iccid")})
			pages(w, r, "sims", sims, err, simRenderer(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			sm, err := c.RegisterSim(r.Context(), a, p.get("Iccid"), p.get("RegistrationCode"))
			respond(w, http.StatusCreated, sm, err, simRenderer(r))
		},
	})
	s.handle("/v1/Sims/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			sm, err := c.Sim(a, r.PathValue("Sid"))
			respond(w, http.StatusOK, sm, err, simRenderer(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			sp := sim.SimParams{
				UniqueName: p.opt("UniqueName"), Status: p.opt("Status"), Fleet: p.opt("Fleet"),
				AccountSid: p.opt("AccountSid"), CallbackURL: p.get("CallbackUrl"), CallbackMethod: p.get("CallbackMethod"),
			}
			if sp.AccountSid != nil && *sp.AccountSid == "" {
				sp.AccountSid = nil
			}
			sm, accepted, err := c.UpdateSim(r.Context(), a, r.PathValue("Sid"), sp)
			status := http.StatusOK
			if accepted {
				status = http.StatusAccepted
			}
			respond(w, status, sm, err, simRenderer(r))
		},
	})
	s.handle("/v1/Sims/{SimSid}/BillingPeriods", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			bps, err := c.BillingPeriods(a, r.PathValue("SimSid"))
			list(w, r, "billing_periods", bps, err, nil, renderBillingPeriod)
		},
	})
	s.handle("/v1/Sims/{SimSid}/IpAddresses", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			ips, err := c.SimIPAddresses(a, r.PathValue("SimSid"))
			list(w, r, "ip_addresses", ips, err, nil, func(ip string) any {
				return map[string]string{"ip_address": ip, "ip_address_version": "IPv4"}
			})
		},
	})

	// Fleets.
	fleetParams := func(p *params) sim.FleetParams {
		return sim.FleetParams{
			NetworkAccessProfile: p.opt("NetworkAccessProfile"), UniqueName: p.opt("UniqueName"),
			DataEnabled: p.optBool("DataEnabled"), DataLimit: p.optInt("DataLimit"),
			IPCommandsURL: p.opt("IpCommandsUrl"), IPCommandsMethod: p.opt("IpCommandsMethod"),
			SmsCommandsEnabled: p.optBool("SmsCommandsEnabled"),
			SmsCommandsURL:     p.opt("SmsCommandsUrl"), SmsCommandsMethod: p.opt("SmsCommandsMethod"),
		}
	}
	renderF := func(r *http.Request) func(*sim.Fleet) any {
		return func(f *sim.Fleet) any { return renderFleet(r, f) }
	}
	s.handle("/v1/Fleets", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			fleets, err := c.ListFleets(a, formOf(r).get("NetworkAccessProfile"))
			list(w, r, "fleets", fleets, err, func(f *sim.Fleet) int64 { return f.Seq }, renderF(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			fp := fleetParams(p)
			if p.err != nil {
				writeError(w, p.err)
				return
			}
			f, err := c.CreateFleet(r.Context(), a, fp)
			respond(w, http.StatusCreated, f, err, renderF(r))
		},
	})
	s.handle("/v1/Fleets/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			f, err := c.Fleet(a, r.PathValue("Sid"))
			respond(w, http.StatusOK, f, err, renderF(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			fp := fleetParams(p)
			if p.err != nil {
				writeError(w, p.err)
				return
			}
			f, err := c.UpdateFleet(r.Context(), a, r.PathValue("Sid"), fp)
			respond(w, http.StatusOK, f, err, renderF(r))
		},
	})

	// Network Access Profiles and their Networks.
	renderN := func(r *http.Request) func(*sim.NAP) any {
		return func(n *sim.NAP) any { return renderNAP(r, n) }
	}
	s.handle("/v1/NetworkAccessProfiles", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			list(w, r, "network_access_profiles", c.ListNAPs(a), nil, func(n *sim.NAP) int64 { return n.Seq }, renderN(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			n, err := c.CreateNAP(r.Context(), a, p.opt("UniqueName"), p.v["Networks"])
			respond(w, http.StatusCreated, n, err, renderN(r))
		},
	})
	s.handle("/v1/NetworkAccessProfiles/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			n, err := c.NAP(a, r.PathValue("Sid"))
			respond(w, http.StatusOK, n, err, renderN(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			n, err := c.UpdateNAP(r.Context(), a, r.PathValue("Sid"), formOf(r).opt("UniqueName"))
			respond(w, http.StatusOK, n, err, renderN(r))
		},
	})
	renderNN := func(r *http.Request) func(sim.NAPEntry) any {
		return func(e sim.NAPEntry) any { return renderNAPNetwork(r, e) }
	}
	s.handle("/v1/NetworkAccessProfiles/{NetworkAccessProfileSid}/Networks", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			es, err := c.NAPNetworks(a, r.PathValue("NetworkAccessProfileSid"))
			list(w, r, "networks", es, err, func(e sim.NAPEntry) int64 { return e.Seq }, renderNN(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			e, err := c.AddNAPNetwork(r.Context(), a, r.PathValue("NetworkAccessProfileSid"), formOf(r).get("Network"))
			respond(w, http.StatusCreated, e, err, renderNN(r))
		},
	})
	s.handle("/v1/NetworkAccessProfiles/{NetworkAccessProfileSid}/Networks/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			e, err := c.NAPNetwork(a, r.PathValue("NetworkAccessProfileSid"), r.PathValue("Sid"))
			respond(w, http.StatusOK, e, err, renderNN(r))
		},
		http.MethodDelete: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			if err := c.RemoveNAPNetwork(r.Context(), a, r.PathValue("NetworkAccessProfileSid"), r.PathValue("Sid")); err != nil {
				writeError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		},
	})

	// The Networks catalog.
	s.handle("/v1/Networks", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			nets := c.Catalog().Filter(p.get("IsoCountry"), p.get("Mcc"), p.get("Mnc"))
			list(w, r, "networks", nets, nil, nil, func(n sim.Network) any { return renderNetwork(r, n) })
		},
	})
	s.handle("/v1/Networks/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			n, ok := c.Catalog().Network(r.PathValue("Sid"))
			if !ok {
				writeError(w, notFound(r))
				return
			}
			writeJSON(w, http.StatusOK, renderNetwork(r, n))
		},
	})

	// Usage.
	s.handle("/v1/UsageRecords", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			q := sim.UsageQuery{
				Sim: p.get("Sim"), Fleet: p.get("Fleet"), Network: p.get("Network"), IsoCountry: p.get("IsoCountry"),
				Group: p.get("Group"), Granularity: p.get("Granularity"),
				Start: p.optTime("StartTime"), End: p.optTime("EndTime"),
			}
			if p.err != nil {
				writeError(w, p.err)
				return
			}
			recs, err := c.UsagePages(a, q)
			pages(w, r, "usage_records", recs, err, func(u sim.UsageRecord) any {
				j := renderUsage(u).(usageRecordJSON)
				if u.Upload+u.Download == 0 {
					j.BilledUnit = nil // nothing was billed: no billing information yet
				}
				return j
			})
		},
	})

	// Commands, eSIM profiles, settings updates.
	renderSMS := func(r *http.Request) func(*sim.SmsCommand) any {
		return func(m *sim.SmsCommand) any { return renderSmsCommand(r, m) }
	}
	s.handle("/v1/SmsCommands", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			ms, err := c.SmsCommandPages(a, p.get("Sim"), p.get("Status"), p.get("Direction"))
			pages(w, r, "sms_commands", ms, err, renderSMS(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			m, err := c.CreateSmsCommand(r.Context(), a, p.get("Sim"), p.get("Payload"), p.get("CallbackUrl"), p.get("CallbackMethod"))
			respond(w, http.StatusCreated, m, err, renderSMS(r))
		},
	})
	s.handle("/v1/SmsCommands/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			m, err := c.SmsCommand(a, r.PathValue("Sid"))
			respond(w, http.StatusOK, m, err, renderSMS(r))
		},
	})
	renderIP := func(r *http.Request) func(*sim.IPCommand) any {
		return func(m *sim.IPCommand) any { return renderIPCommand(r, m) }
	}
	s.handle("/v1/IpCommands", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			ms, err := c.IPCommandPages(a, p.get("Sim"), p.get("SimIccid"), p.get("Status"), p.get("Direction"))
			pages(w, r, "ip_commands", ms, err, renderIP(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			port := p.optInt("DevicePort")
			if p.err != nil {
				writeError(w, p.err)
				return
			}
			ip := sim.IPCommandParams{Sim: p.get("Sim"), Payload: p.get("Payload"), PayloadType: p.get("PayloadType"),
				CallbackURL: p.get("CallbackUrl"), CallbackMethod: p.get("CallbackMethod")}
			if port != nil {
				ip.DevicePort = *port
			}
			m, err := c.CreateIPCommand(r.Context(), a, ip)
			respond(w, http.StatusCreated, m, err, renderIP(r))
		},
	})
	s.handle("/v1/IpCommands/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			m, err := c.IPCommand(a, r.PathValue("Sid"))
			respond(w, http.StatusOK, m, err, renderIP(r))
		},
	})
	renderE := func(r *http.Request) func(*sim.ESimProfile) any {
		return func(p *sim.ESimProfile) any {
			j := renderESim(r, p).(esimJSON)
			j.ErrorCode, j.ErrorMessage = null(p.ErrorCode), null(p.ErrorMessage)
			return j
		}
	}
	s.handle("/v1/ESimProfiles", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			ps, err := c.ESimProfilePages(a, p.get("Eid"), p.get("SimSid"), p.get("Status"))
			pages(w, r, "esim_profiles", ps, err, renderE(r))
		},
		http.MethodPost: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			gen := p.optBool("GenerateMatchingId")
			if p.err != nil {
				writeError(w, p.err)
				return
			}
			ep, err := c.CreateESimProfile(r.Context(), a, p.get("Eid"), gen != nil && *gen, p.get("CallbackUrl"), p.get("CallbackMethod"))
			respond(w, http.StatusCreated, ep, err, renderE(r))
		},
	})
	s.handle("/v1/ESimProfiles/{Sid}", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			ep, err := c.ESimProfile(a, r.PathValue("Sid"))
			respond(w, http.StatusOK, ep, err, renderE(r))
		},
	})
	s.handle("/v1/SettingsUpdates", methods{
		http.MethodGet: func(w http.ResponseWriter, r *http.Request, a *sim.Account) {
			p := formOf(r)
			us, err := c.SettingsUpdatePages(a, p.get("Sim"), p.get("Status"))
			pages(w, r, "settings_updates", us, err, renderSettingsUpdate)
		},
	})

	s.simulatorRoutes()
}

// respond writes v rendered, or err.
func respond[T any](w http.ResponseWriter, status int, v T, err error, render func(T) any) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, status, render(v))
}

// list writes a page of items, or err. Without seq, an item's position is
// its index (for lists computed per request).
func list[T any](w http.ResponseWriter, r *http.Request, key string, items []T, err error, seq func(T) int64, render func(T) any) {
	if err != nil {
		writeError(w, err)
		return
	}
	pos := func(i int, _ T) int64 { return int64(i) + 1 }
	if seq != nil {
		pos = func(_ int, v T) int64 { return seq(v) }
	}
	writePage(w, r, key, items, pos, render)
}

// pages writes a page of a List, or err.
func pages[T any](w http.ResponseWriter, r *http.Request, key string, l sim.List[T], err error, render func(T) any) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeList(w, r, key, l, render)
}
