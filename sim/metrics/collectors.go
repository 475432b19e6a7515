package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

// controlCollector reads a Control's counters when scraped.
type controlCollector struct {
	ctl                    *sim.Control
	bytes, sms, ipCommands *prometheus.Desc
}

func newControlCollector(ctl *sim.Control) *controlCollector {
	return &controlCollector{
		ctl: ctl,
		bytes: prometheus.NewDesc("fleetsim_usage_data_bytes_total",
			"Data metered on SIMs' data sessions, by direction (upload: from the device).",
			[]string{"direction"}, nil),
		sms: prometheus.NewDesc("fleetsim_sms_commands_total",
			"SMS Commands that reached a status, by direction (to_sim, from_sim) and status.",
			[]string{"direction", "status"}, nil),
		ipCommands: prometheus.NewDesc("fleetsim_ip_commands_total",
			"IP Commands that reached a status, by direction (to_sim, from_sim) and status.",
			[]string{"direction", "status"}, nil),
	}
}

func (c *controlCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.sms
	ch <- c.ipCommands
}

func (c *controlCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ctl.Stats()
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.BytesUp), "upload")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(st.BytesDown), "download")
	for _, n := range st.SmsCommands {
		ch <- prometheus.MustNewConstMetric(c.sms, prometheus.CounterValue, float64(n.N), n.Direction, n.Status)
	}
	for _, n := range st.IPCommands {
		ch <- prometheus.MustNewConstMetric(c.ipCommands, prometheus.CounterValue, float64(n.N), n.Direction, n.Status)
	}
}

// regStates are the registration states a virtual modem reports, with
// their label values; the gauge has a series for each, zero or not.
var regStates = []struct {
	st    modem.RegState
	label string
}{
	{modem.RegNotRegistered, "not_registered"},
	{modem.RegSearching, "searching"},
	{modem.RegHome, "registered_home"},
	{modem.RegRoaming, "registered_roaming"},
	{modem.RegDenied, "denied"},
	{modem.RegUnknown, "unknown"},
}

// causeLabel names an EMM cause (TS 24.301 Annex A) for the cause label:
// the causes the virtual network uses by name, any other by number, so
// the set stays bounded (one octet).
func causeLabel(cause int) string {
	switch cause {
	case modem.CausePLMNNotAllowed:
		return "plmn_not_allowed"
	case modem.CauseEPSNonEPSNotAllowed:
		return "eps_and_non_eps_not_allowed"
	}
	return "emm_" + strconv.Itoa(cause)
}

// modemCollector reads the modems' registration states and attach
// counters when scraped.
type modemCollector struct {
	list                                func() []*modem.Modem
	stats                               *modem.Stats
	reg, attaches, rejections, detaches *prometheus.Desc
}

func newModemCollector(list func() []*modem.Modem, stats *modem.Stats) *modemCollector {
	return &modemCollector{
		list: list, stats: stats,
		reg: prometheus.NewDesc("fleetsim_modem_registration_state_modems",
			"Virtual modems in each registration state (the <stat> of +CEREG).",
			[]string{"state"}, nil),
		attaches: prometheus.NewDesc("fleetsim_modem_attaches_total",
			"Attaches the virtual network accepted.", nil, nil),
		rejections: prometheus.NewDesc("fleetsim_modem_attach_rejections_total",
			"Attach attempts the virtual network rejected, by EMM cause.",
			[]string{"cause"}, nil),
		detaches: prometheus.NewDesc("fleetsim_modem_network_detaches_total",
			"Registered modems the network detached, by EMM cause.",
			[]string{"cause"}, nil),
	}
}

func (c *modemCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.reg
	ch <- c.attaches
	ch <- c.rejections
	ch <- c.detaches
}

func (c *modemCollector) Collect(ch chan<- prometheus.Metric) {
	var counts [256]int
	for _, m := range c.list() {
		counts[m.Registration()]++
	}
	other := 0
	for _, n := range counts {
		other += n
	}
	for _, s := range regStates {
		ch <- prometheus.MustNewConstMetric(c.reg, prometheus.GaugeValue, float64(counts[s.st]), s.label)
		other -= counts[s.st]
	}
	if other > 0 { // states a virtual modem does not report today (SMS only, emergency)
		ch <- prometheus.MustNewConstMetric(c.reg, prometheus.GaugeValue, float64(other), "other")
	}
	if c.stats == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.attaches, prometheus.CounterValue, float64(c.stats.Attaches()))
	byCause(ch, c.rejections, c.stats.Rejections())
	byCause(ch, c.detaches, c.stats.Detaches())
}

// byCause sends a counter per EMM cause: the causes the virtual network
// uses always (zero until seen, so rates work from the first scrape), any
// other once seen.
func byCause(ch chan<- prometheus.Metric, d *prometheus.Desc, counts map[int]uint64) {
	for _, cause := range []int{modem.CausePLMNNotAllowed, modem.CauseEPSNonEPSNotAllowed} {
		if _, ok := counts[cause]; !ok {
			counts[cause] = 0
		}
	}
	for cause, n := range counts {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), causeLabel(cause))
	}
}
