package spec

import (
	"strings"
	"time"
)

// MinSMSEvery is the floor of a group's sms.every.
const MinSMSEvery = time.Minute

// smsEvents is the cost of one SMS a device sends or reads, in events.
const smsEvents = 6

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
	v.smsText(c.Pos.At("text"), p+".text", c.Text, true, true)
	v.smsText(c.Pos.At("reply"), p+".reply", c.Reply, true, false)
	if c.Every == nil && c.Text == "" && c.Reply == "" {
		v.errorf(c.Pos, p, "nothing to do: want every and text, or reply")
	}
	if g.Fleet == "" {
		v.errorf(c.Pos, p, "the group has no Fleet: its SIMs cannot send SMS")
	}
}

// smsText checks the text of an SMS: what text mode can type (a
// printable line, no Ctrl-Z or escape), at most one SMS long, each
// SeqPlaceholder counted as the number it becomes when seq is set.
func (v *validator) smsText(at Pos, path, text string, optional, seq bool) {
	if text == "" {
		if !optional {
			v.errorf(at, path, "must not be empty")
		}
		return
	}
	n, unit := len([]rune(text)), "characters (one SMS)"
	if seq && strings.Contains(text, SeqPlaceholder) {
		n, unit = n+seqGrowth(text), "characters (one SMS; {n} counts as 5)"
	}
	if n > 160 {
		v.errorf(at, path, "at most 160 %s, got %d", unit, n)
	}
	for _, c := range text {
		if c < ' ' || c == 0x7f {
			v.errorf(at, path, "only printable characters (text mode ends a message with Ctrl-Z), got %q", c)
			return
		}
	}
}

// seqGrowth is how much longer text can become once each SeqPlaceholder
// is a number.
func seqGrowth(text string) int {
	return strings.Count(text, SeqPlaceholder) * (seqWidth - len(SeqPlaceholder))
}

func (v *validator) sendSMS(c *SendSMS, path string) {
	v.targets(&c.Targets, path)
	v.smsText(c.Pos.At("text"), path+".text", c.Text, false, false)
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
