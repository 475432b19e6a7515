package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

// SMS and IP Commands in scenarios: timeline actions that send them to a
// group through the REST API, firmware that sends SMS to 000 and answers
// the SMS it receives through the AT layer (27.005 text mode, common to
// every module family), and expectations on the Commands as the API lists
// them.

// Timeline actions.

// sendCommands sends timeline entry i's SMS or IP Command to its targets.
func (r *runner) sendCommands(i int) bool {
	e := &r.s.Timeline[i]
	switch {
	case e.SMS != nil:
		for _, d := range r.targets(e.SMS.Targets) {
			r.apiAction(i, http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {r.sids.get(int(d.Index))}, "Payload": {e.SMS.Text}}, 0)
		}
	case e.IP != nil:
		for _, d := range r.targets(e.IP.Targets) {
			p := url.Values{"Sim": {r.sids.get(int(d.Index))}, "Payload": {e.IP.Text}, "DevicePort": {strconv.Itoa(e.IP.Port)}}
			r.apiAction(i, http.MethodPost, "/v1/IpCommands", p, 0)
		}
	default:
		return false
	}
	return true
}

// Expectations.

// command is what a check reads of an SMS or IP Command.
type command struct {
	SimSid      string    `json:"sim_sid"`
	Status      string    `json:"status"`
	Direction   string    `json:"direction"`
	DateCreated time.Time `json:"date_created"`
	DateUpdated time.Time `json:"date_updated"`
}

// observeCommands evaluates sms_commands or ip_commands: it returns what
// was seen, whether it holds and the figure of its first bound.
func (r *runner) observeCommands(group, what string, c *spec.CommandCheck) (text string, ok bool, figure float64, err error) {
	path, key := "/v1/SmsCommands", "sms_commands"
	if what == "ip" {
		path, key = "/v1/IpCommands", "ip_commands"
	}
	q := url.Values{}
	if c.Direction != "" {
		q.Set("Direction", c.Direction)
	}
	in := r.simsOf(group)
	var all, with []command
	err = r.api.ListAll(r.Ctx, path, q, key, func(raw json.RawMessage) error {
		var m command
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if in.has(m.SimSid) {
			all = append(all, m)
			if m.Status == c.Status {
				with = append(with, m)
			}
		}
		return nil
	})
	if err != nil {
		return "", false, 0, err
	}
	name := what + " commands"
	if c.Direction != "" {
		name += " " + c.Direction
	}
	ok = true
	var parts []string
	if c.Count.Set() {
		k, n := len(with), len(all)
		parts = append(parts, fmt.Sprintf("%s %s %d/%d (%s)", name, c.Status, k, n, pct(k, n)))
		figure = float64(k)
		if c.Count.Bound.Percent && n > 0 {
			figure = 100 * float64(k) / float64(n)
		}
		ok = c.Count.Holds(float64(k), n)
	}
	if l := c.Latency; l != nil {
		v, txt := commandPercentile(with, l.P)
		parts = append(parts, fmt.Sprintf("%s queued→%s p%g %s", name, c.Status, l.P, txt))
		if !c.Count.Set() && !math.IsInf(v, 1) {
			figure = time.Duration(v).Seconds()
		}
		ok = ok && !math.IsInf(v, 1) && l.Max.Holds(v, 0)
	}
	return strings.Join(parts, "; "), ok, figure, nil
}

// commandPercentile is the p-th percentile of the time from creation to
// the last update.
func commandPercentile(ms []command, p float64) (float64, string) {
	if len(ms) == 0 {
		return math.Inf(1), "none"
	}
	lat := make([]float64, len(ms))
	for i, m := range ms {
		lat[i] = float64(m.DateUpdated.Sub(m.DateCreated))
	}
	slices.Sort(lat)
	k := max(int(math.Ceil(p/100*float64(len(lat))))-1, 0)
	v := lat[min(k, len(lat)-1)]
	return v, spec.FormatDuration(time.Duration(v).Round(time.Millisecond))
}

// describeCommands writes a Command check, e.g. "sms to_sim delivered
// == 100%".
func describeCommands(what string, c *spec.CommandCheck) []string {
	if c == nil {
		return nil
	}
	name := what
	if c.Direction != "" {
		name += " " + c.Direction
	}
	var parts []string
	if c.Count.Set() {
		parts = append(parts, name+" "+c.Status+" "+c.Count.Text)
	}
	if l := c.Latency; l != nil {
		parts = append(parts, fmt.Sprintf("%s queued→%s p%g %s", name, c.Status, l.P, l.Max.Text))
	}
	return parts
}
