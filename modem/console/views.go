package console

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

// accounts are those whose resources a caller sees: the main account sees
// its subaccounts' too, as it may act on them in the API.
func (s *Server) accounts(a *sim.Account) []*sim.Account {
	if !a.IsMain() {
		return []*sim.Account{a}
	}
	out := []*sim.Account{a}
	for _, x := range s.ctl.Accounts() {
		if x.ParentSid == a.Sid {
			out = append(out, x)
		}
	}
	return out
}

// cardSet is the ICCIDs of the cards a caller sees; nil means every card
// (the main account's view of the inventory).
type cardSet map[string]bool

func (c cardSet) has(iccid string) bool { return c == nil || c[iccid] }

// visibleCards: the main account sees the whole inventory, a subaccount
// the cards of its own Sims.
func (s *Server) visibleCards(a *sim.Account) cardSet {
	if a.IsMain() {
		return nil
	}
	out := cardSet{}
	for _, c := range s.ctl.Cards() {
		if c.AccountSid == a.Sid {
			out[c.ICCID] = true
		}
	}
	return out
}

// simInfo is a Sim as the console shows it.
type simInfo struct {
	Sid         string `json:"sid"`
	UniqueName  string `json:"unique_name,omitempty"`
	AccountSid  string `json:"account_sid"`
	ICCID       string `json:"iccid"`
	Status      string `json:"status"`
	FleetSid    string `json:"fleet_sid,omitempty"`
	FleetName   string `json:"fleet_name,omitempty"`
	DataEnabled bool   `json:"data_enabled"`
	DataUsed    int64  `json:"data_used"`             // bytes this billing period
	LimitMB     int    `json:"data_limit_mb"`         // the limit the network enforces now
	Blocked     string `json:"data_blocked,omitzero"` // "limit" or "disabled"; "" while data may flow
	Modem       *int   `json:"modem,omitempty"`       // the modem holding the card, if any
}

// simTable is every Sim a caller sees, by ICCID and in creation order.
type simTable struct {
	list    []*simInfo
	byICCID map[string]*simInfo
}

func (s *Server) simTable(a *sim.Account) simTable {
	t := simTable{byICCID: map[string]*simInfo{}}
	now := s.ctl.Now()
	for _, acct := range s.accounts(a) {
		fleets := map[string]*sim.Fleet{}
		fl, _ := s.ctl.ListFleets(acct, "")
		for _, f := range fl {
			fleets[f.Sid] = f
		}
		sims, _ := s.ctl.ListSims(acct, sim.SimFilter{})
		for _, x := range sims {
			in := &simInfo{Sid: x.Sid, UniqueName: x.UniqueName, AccountSid: x.AccountSid, ICCID: x.ICCID,
				Status: x.APIStatus().String(), FleetSid: x.FleetSid, DataUsed: x.DataUsed}
			if f := fleets[x.FleetSid]; f != nil {
				in.FleetName, in.DataEnabled, in.LimitMB = f.UniqueName, f.DataEnabled, f.EnforcedLimitMB(x.ICCID, now)
			}
			// The control plane's own decision, not a copy of its rule.
			switch err := s.ctl.AuthorizeData(x.ICCID); {
			case errors.Is(err, sim.ErrDataLimitReached):
				in.Blocked = "limit"
			case errors.Is(err, sim.ErrDataDisabled):
				in.Blocked = "disabled"
			}
			t.list = append(t.list, in)
			t.byICCID[x.ICCID] = in
		}
	}
	return t
}

// modemRow is one modem in the fleet table.
type modemRow struct {
	Index       int    `json:"index"`
	Profile     string `json:"profile"`
	ICCID       string `json:"iccid"`
	Location    string `json:"location"`
	Reg         string `json:"registration"`
	NetworkSid  string `json:"network_sid,omitempty"`
	Network     string `json:"network,omitempty"`
	PLMN        string `json:"plmn,omitempty"`
	Signal      int    `json:"signal"` // AT+CSQ's <rssi>: 0..31, 99 unknown
	DataActive  bool   `json:"data_active"`
	Blocked     string `json:"data_blocked,omitzero"`
	SimSid      string `json:"sim_sid,omitempty"`
	SimStatus   string `json:"sim_status,omitempty"`
	PTY         string `json:"pty,omitempty"`
	Functional  int    `json:"cfun"`
	RejectCause int    `json:"reject_cause,omitempty"`
}

// fleetView is GET /console/api/fleet: counts over every modem the caller
// sees, and one page of the table, filtered.
type fleetView struct {
	Total      int            `json:"total"`
	ByFamily   map[string]int `json:"by_family"`
	ByReg      map[string]int `json:"by_registration"`
	ByNetwork  map[string]int `json:"by_network"`
	Blocked    int            `json:"data_blocked"`
	DataActive int            `json:"data_active"`
	Matched    int            `json:"matched"` // rows the filter keeps
	Offset     int            `json:"offset"`
	Rows       []modemRow     `json:"rows"`
	TookMs     float64        `json:"took_ms"`
}

// fleet serves the fleet view. Query: offset, limit (at most 500),
// family, registration, network (a SID), blocked=true, q (a substring of
// the ICCID, network or location).
func (s *Server) fleet(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	a := api.AccountOf(r.Context())
	v := fleetView{ByFamily: map[string]int{}, ByReg: map[string]int{}, ByNetwork: map[string]int{}, Rows: []modemRow{}}
	if s.modems == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	q := r.URL.Query()
	offset, limit := pageOf(r, 100, 500)
	v.Offset = offset
	cards := s.visibleCards(a)
	sims := s.simTable(a)
	cat := s.ctl.Catalog()
	for i, m := range s.modems.Modems() {
		if !cards.has(m.ICCID()) {
			continue
		}
		st := m.Status()
		row := modemRow{Index: i, Profile: st.Profile, ICCID: st.ICCID, Location: st.Country, Reg: st.RegName,
			NetworkSid: st.Network, PLMN: st.PLMN, Signal: st.Signal, DataActive: st.DataActive,
			Functional: st.Functional, RejectCause: st.Cause}
		if nw, ok := cat.Network(st.Network); ok {
			row.Network = nw.FriendlyName
		}
		if in := sims.byICCID[st.ICCID]; in != nil {
			row.SimSid, row.SimStatus, row.Blocked = in.Sid, in.Status, in.Blocked
		}
		v.Total++
		v.ByFamily[row.Profile]++
		v.ByReg[row.Reg]++
		if row.Network != "" {
			v.ByNetwork[row.Network]++
		}
		if row.Blocked != "" {
			v.Blocked++
		}
		if row.DataActive {
			v.DataActive++
		}
		if !matches(row, q) {
			continue
		}
		if v.Matched >= offset && len(v.Rows) < limit {
			if ports := s.modems.Ports(i); len(ports) > 0 {
				row.PTY = ports[0].PTY
			}
			v.Rows = append(v.Rows, row)
		}
		v.Matched++
	}
	v.TookMs = float64(time.Since(start).Microseconds()) / 1000
	writeJSON(w, http.StatusOK, v)
}

func matches(row modemRow, q url.Values) bool {
	if f := q.Get("family"); f != "" && f != row.Profile {
		return false
	}
	if f := q.Get("registration"); f != "" && f != row.Reg {
		return false
	}
	if f := q.Get("network"); f != "" && f != row.NetworkSid && f != row.Network {
		return false
	}
	if q.Get("blocked") == "true" && row.Blocked == "" {
		return false
	}
	if f := strings.ToLower(q.Get("q")); f != "" {
		hay := strings.ToLower(row.ICCID + " " + row.Network + " " + row.Location + " " + row.SimSid)
		if !strings.Contains(hay, f) {
			return false
		}
	}
	return true
}

// simsView is GET /console/api/sims.
type simsView struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
	Blocked  int            `json:"data_blocked"`
	Matched  int            `json:"matched"`
	Offset   int            `json:"offset"`
	Rows     []*simInfo     `json:"rows"`
}

// sims serves the SIM table. Query: offset, limit (at most 500), status,
// blocked=true.
func (s *Server) sims(w http.ResponseWriter, r *http.Request) {
	a := api.AccountOf(r.Context())
	t := s.simTable(a)
	q := r.URL.Query()
	offset, limit := pageOf(r, 50, 500)
	v := simsView{ByStatus: map[string]int{}, Offset: offset, Rows: []*simInfo{}}
	var byICCID map[string]int
	if s.modems != nil {
		byICCID = map[string]int{}
		for i, m := range s.modems.Modems() {
			byICCID[m.ICCID()] = i
		}
	}
	for _, in := range t.list {
		v.Total++
		v.ByStatus[in.Status]++
		if in.Blocked != "" {
			v.Blocked++
		}
		if st := q.Get("status"); st != "" && st != in.Status || q.Get("blocked") == "true" && in.Blocked == "" {
			continue
		}
		if v.Matched >= offset && len(v.Rows) < limit {
			if i, ok := byICCID[in.ICCID]; ok {
				in.Modem = &i
			}
			v.Rows = append(v.Rows, in)
		}
		v.Matched++
	}
	writeJSON(w, http.StatusOK, v)
}

// recent is how many of each kind of activity the console lists.
const recent = 25

type commandRow struct {
	Kind      string    `json:"kind"` // "sms" or "ip"
	Sid       string    `json:"sid"`
	SimSid    string    `json:"sim_sid"`
	Direction string    `json:"direction"`
	Status    string    `json:"status"`
	Payload   string    `json:"payload"`
	Date      time.Time `json:"date_updated"`
}

type callbackRow struct {
	Kind     string    `json:"kind"`
	URL      string    `json:"url"`
	Method   string    `json:"method"`
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	HTTP     int       `json:"http_status,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Date     time.Time `json:"date_updated"`
}

// activity serves the recent SMS and IP Commands and webhook callbacks,
// newest first.
func (s *Server) activity(w http.ResponseWriter, r *http.Request) {
	a := api.AccountOf(r.Context())
	accts := s.accounts(a)
	mine := map[string]bool{}
	var cmds []commandRow
	for _, acct := range accts {
		mine[acct.Sid] = true
		sms, _ := s.ctl.ListSmsCommands(acct, "", "", "")
		for _, c := range sms {
			cmds = append(cmds, commandRow{Kind: "sms", Sid: c.Sid, SimSid: c.SimSid, Direction: c.Direction,
				Status: c.Status, Payload: clip(c.Payload), Date: c.DateUpdated})
		}
		ips, _ := s.ctl.ListIPCommands(acct, "", "", "", "")
		for _, c := range ips {
			cmds = append(cmds, commandRow{Kind: "ip", Sid: c.Sid, SimSid: c.SimSid, Direction: c.Direction,
				Status: c.Status, Payload: clip(c.Payload), Date: c.DateUpdated})
		}
	}
	slices.SortStableFunc(cmds, func(x, y commandRow) int { return y.Date.Compare(x.Date) })
	cmds = cmds[:min(len(cmds), recent)]

	// A callback belongs to the account its AccountSid parameter names;
	// the main account sees them all, as GET /_fleetsim/v1/Webhooks does.
	ds := s.ctl.WebhookDeliveries(sim.WebhookQuery{})
	var cbs []callbackRow
	for i := len(ds) - 1; i >= 0 && len(cbs) < recent; i-- {
		d := ds[i]
		if !a.IsMain() && !mine[d.Params.Get("AccountSid")] {
			continue
		}
		row := callbackRow{Kind: cmp.Or(string(d.Kind), "callback"), URL: d.URL, Method: d.Method, Status: d.Status.String(),
			Attempts: len(d.Attempts), Reason: d.Reason, Date: d.Updated}
		if n := len(d.Attempts); n > 0 {
			row.HTTP = d.Attempts[n-1].HTTPStatus
		}
		cbs = append(cbs, row)
	}
	slices.SortStableFunc(cbs, func(x, y callbackRow) int { return y.Date.Compare(x.Date) })
	if cmds == nil {
		cmds = []commandRow{}
	}
	if cbs == nil {
		cbs = []callbackRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"commands": cmds, "callbacks": cbs})
}

func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// networkRow is a network the modem's location offers, for the outage
// controls.
type networkRow struct {
	Sid  string `json:"sid"`
	Name string `json:"name"`
	PLMN string `json:"plmn"`
	Down bool   `json:"down"`
}

// modem serves one modem: its status, ports, Sim and the networks where
// it is.
func (s *Server) modem(w http.ResponseWriter, r *http.Request) {
	i, ok := s.modemIndex(w, r)
	if !ok {
		return
	}
	m := s.modems.Modems()[i]
	st := m.Status()
	world := s.modems.World()
	var nets []networkRow
	for _, nw := range s.ctl.Catalog().InCountry(st.Country) {
		row := networkRow{Sid: nw.Sid, Name: nw.FriendlyName, Down: world.Down(nw.Sid)}
		if len(nw.Identifiers) > 0 {
			row.PLMN = nw.Identifiers[0].String()
		}
		nets = append(nets, row)
	}
	out := map[string]any{"index": i, "status": st, "ports": s.modems.Ports(i), "networks": nets}
	if in := s.simTable(api.AccountOf(r.Context())).byICCID[st.ICCID]; in != nil {
		out["sim"] = in
	}
	writeJSON(w, http.StatusOK, out)
}
