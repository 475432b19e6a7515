package sim

// EventKind says which kind of resource changed.
type EventKind uint8

// Event kinds.
const (
	EventSim        EventKind = iota + 1 // a Sim's status, Fleet or account changed
	EventFleet                           // a Fleet changed (NAP, data limit)
	EventNAP                             // a NAP's allow list changed
	EventSmsCommand                      // an SMS Command for a SIM is waiting (Sid: the command, ICCID: the SIM)
	EventIPCommand                       // an IP Command for a SIM is waiting (Sid: the command, ICCID: the SIM)
)

// Event tells subscribers, such as the virtual modems, that the control
// plane's state changed in a way the network may have to act on.
type Event struct {
	Kind  EventKind
	Sid   string
	ICCID string // for EventSim
	// Limit is a Fleet's new data limit (EventFleet), published when it is
	// set: a modem whose SIM enforces it later (a spread propagation)
	// re-checks its data then.
	Limit *LimitChange
}

// Subscribe calls fn after every committed change, in the goroutine that
// made it; fn must not block. The returned func cancels the subscription.
func (c *Control) Subscribe(fn func(Event)) (cancel func()) {
	c.mu.Lock()
	id := c.nextSub
	c.nextSub++
	c.subs[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
	}
}

func (c *Control) publish(e Event) {
	c.mu.RLock()
	fns := make([]func(Event), 0, len(c.subs))
	for _, fn := range c.subs {
		fns = append(fns, fn)
	}
	c.mu.RUnlock()
	for _, fn := range fns {
		fn(e)
	}
}
