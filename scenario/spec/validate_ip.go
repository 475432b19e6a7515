package spec

import (
	"slices"
	"strings"
	"time"
)

// MinIPEvery is the floor of a group's ip.every.
const MinIPEvery = time.Minute

// ipEvents is the cost of one datagram a device sends or reads, in events.
const ipEvents = 6

// IPModules are the module families whose firmware can send IP Commands.
var IPModules = []string{"bg96", "bg95", "sim7080", "sim7000", "sara-r4"}

func (v *validator) deviceIP(g *Group, path string) {
	c := g.IP
	if c == nil {
		return
	}
	p := path + ".ip"
	if g.Module != "" && !slices.Contains(IPModules, g.Module) {
		v.errorf(g.Pos.At("module"), p, "module %s has no socket commands: want one of %s", g.Module, strings.Join(IPModules, ", "))
	}
	if c.Every != nil {
		v.atLeast(c.Pos.At("every"), p+".every", *c.Every, MinIPEvery)
		if c.Text == "" {
			v.errorf(c.Pos.At("every"), p+".text", "required with every: what the datagram says")
		}
	} else if c.Text != "" {
		v.errorf(c.Pos.At("text"), p+".every", "required with text: how often the datagram is sent")
	}
	v.ipText(c.Pos.At("text"), p+".text", c.Text, true)
	v.ipText(c.Pos.At("reply"), p+".reply", c.Reply, false)
	if c.Port < 1 || c.Port > 65535 {
		v.errorf(c.Pos.At("port"), p+".port", "must be between 1 and 65535, got %d", c.Port)
	}
	if c.Every == nil && c.Text == "" && c.Reply == "" {
		v.errorf(c.Pos, p, "nothing to do: want every and text, or reply")
	}
	if g.Fleet == "" {
		v.errorf(c.Pos, p, "the group has no Fleet: its SIMs cannot send IP Commands")
	}
}

// ipText checks a datagram's payload: printable (the firmware reads it
// back as a line), at most 512 bytes (u-blox's binary send), each
// SeqPlaceholder counted as the number it becomes when seq is set.
func (v *validator) ipText(at Pos, path, text string, seq bool) {
	n, unit := len(text), "bytes"
	if seq && strings.Contains(text, SeqPlaceholder) {
		n, unit = n+seqGrowth(text), "bytes ({n} counts as 5)"
	}
	if n > 512 {
		v.errorf(at, path, "at most 512 %s, got %d", unit, n)
	}
	for _, c := range text {
		if c < ' ' || c == 0x7f || c == '"' {
			v.errorf(at, path, "only printable characters other than '\"', got %q", c)
			return
		}
	}
}
