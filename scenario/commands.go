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
)

// SMS and IP Commands in scenarios: timeline actions that send them to a
// group through the REST API, firmware that sends SMS to 000 and answers
// the SMS it receives through the AT layer (27.005 text mode, common to
// every module family), and expectations on the Commands as the API lists
// them.

// MinSMSEvery is the floor of a group's sms.every.
const MinSMSEvery = time.Minute

// smsEvents is the cost of one SMS a device sends or reads, in events.
const smsEvents = 6

// Validation.

func (v *validator) deviceSMS(g *Group, path string) {
	c := g.SMS
	if c == nil {
		return
	}
	p := path + ".sms"
	if c.Every != nil {
		v.atLeast(c.Pos.At("every"), p+".every", *c.Every, MinSMSEvery)
		if c.Text == "" {
			v.errorf(c.Pos.At("every"), p+".text", "required with every: what the SMS says")
		}
	} else if c.Text != "" {
		v.errorf(c.Pos.At("text"), p+".every", "required with text: how often the SMS is sent")
	}
	v.smsText(c.Pos.At("text"), p+".text", c.Text, true)
	v.smsText(c.Pos.At("reply"), p+".reply", c.Reply, true)
	if c.Every == nil && c.Text == "" && c.Reply == "" {
		v.errorf(c.Pos, p, "nothing to do: want every and text, or reply")
	}
	if g.Fleet == "" {
		v.errorf(c.Pos, p, "the group has no Fleet: its SIMs cannot send SMS")
	}
}

// smsText checks the text of an SMS: what text mode can type (a
// printable line, no Ctrl-Z or escape), at most one SMS long.
func (v *validator) smsText(at Pos, path, text string, optional bool) {
	if text == "" {
		if !optional {
			v.errorf(at, path, "must not be empty")
		}
		return
	}
	if n := len([]rune(text)); n > 160 {
		v.errorf(at, path, "at most 160 characters (one SMS), got %d", n)
	}
	for _, c := range text {
		if c < ' ' || c == 0x7f {
			v.errorf(at, path, "only printable characters (text mode ends a message with Ctrl-Z), got %q", c)
			return
		}
	}
}

func (v *validator) sendSMS(c *SendSMS, path string) {
	v.targets(&c.Targets, path)
	v.smsText(c.Pos.At("text"), path+".text", c.Text, false)
}

func (v *validator) sendIP(c *SendIP, path string) {
	v.targets(&c.Targets, path)
	switch n := len(c.Text); {
	case n == 0:
		v.errorf(c.Pos.At("text"), path+".text", "must not be empty")
	case n > 1000:
		v.errorf(c.Pos.At("text"), path+".text", "at most 1000 bytes, got %d", n)
	}
	if c.Port < 1 || c.Port > 65535 {
		v.errorf(c.Pos.At("port"), path+".port", "must be between 1 and 65535, got %d", c.Port)
	}
}

// commandCheck validates sms_commands or ip_commands; it reports whether
// it is a check.
func (v *validator) commandCheck(c *CommandCheck, key, path string) bool {
	if c == nil {
		return false
	}
	p := path + "." + key
	if key == "ip_commands" && c.Status == "delivered" {
		v.errorf(c.Pos.At("status"), p+".status", "IP Commands are never delivered (UDP has no receipt): want sent for those to the SIM")
	}
	if c.Direction == "to_sim" && c.Status == "received" || c.Direction == "from_sim" && c.Status != "" && c.Status != "received" {
		v.errorf(c.Pos.At("status"), p+".status", "no %s Command is %s: to_sim ones are queued, sent, delivered or failed; from_sim ones received", c.Direction, c.Status)
	}
	if c.Count.Set() && c.Count.IsDur {
		v.errorf(c.Pos.At("count"), p+".count", "want a count or a share such as '== 100%%', not a duration")
	}
	if l := c.Latency; l != nil {
		if !(l.P > 0 && l.P <= 100) {
			v.errorf(l.Pos.At("p"), p+".latency.p", "must be more than 0 and at most 100, got %v", l.P)
		}
		if l.Max.Set() && !l.Max.IsDur {
			v.errorf(l.Pos.At("max"), p+".latency.max", "want a duration bound such as '<= 1m', got %q", l.Max.Text)
		}
	}
	if (c.Count.Set() || c.Latency != nil) && c.Status == "" {
		v.errorf(c.Pos, p+".status", "required: the status of the Commands to count")
	}
	if !c.Count.Set() && c.Latency == nil {
		v.errorf(c.Pos, p, "no check: want count or latency")
	}
	return true
}

// Timeline actions.

// sendCommands sends timeline entry i's SMS or IP Command to its targets.
func (r *runner) sendCommands(i int) bool {
	e := &r.s.Timeline[i]
	switch {
	case e.SMS != nil:
		for _, d := range r.targets(e.SMS.Targets) {
			r.apiAction(i, http.MethodPost, "/v1/SmsCommands", url.Values{"Sim": {r.sids[d.idx]}, "Payload": {e.SMS.Text}}, 0)
		}
	case e.IP != nil:
		for _, d := range r.targets(e.IP.Targets) {
			p := url.Values{"Sim": {r.sids[d.idx]}, "Payload": {e.IP.Text}, "DevicePort": {strconv.Itoa(e.IP.Port)}}
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
func (r *runner) observeCommands(group, what string, c *CommandCheck) (text string, ok bool, figure float64, err error) {
	path, key := "/v1/SmsCommands", "sms_commands"
	if what == "ip" {
		path, key = "/v1/IpCommands", "ip_commands"
	}
	q := url.Values{}
	if c.Direction != "" {
		q.Set("Direction", c.Direction)
	}
	in := r.memberSids(group)
	var all, with []command
	err = r.api.listAll(r.ctx, path, q, key, func(raw json.RawMessage) error {
		var m command
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if in[m.SimSid] {
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
	return v, formatDuration(time.Duration(v).Round(time.Millisecond))
}

// describeCommands writes a Command check, e.g. "sms to_sim delivered
// == 100%".
func describeCommands(what string, c *CommandCheck) []string {
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
