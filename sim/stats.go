package sim

import "sync/atomic"

// Stats is what the control plane metered and relayed since it started:
// counters only, which a metrics collector reads with Control.Stats.
type Stats struct {
	BytesUp, BytesDown uint64 // data metered by RecordUsage
	// SmsCommands and IPCommands count the commands that reached each
	// status (a command counts once per status it passes through), by
	// direction: every pair a command can reach, zero or not.
	SmsCommands []CommandCount
	IPCommands  []CommandCount
}

// CommandCount is how many commands of one direction reached one status.
type CommandCount struct {
	Direction string // DirectionToSim, DirectionFromSim
	Status    string // CommandQueued, CommandSent...
	N         uint64
}

var (
	commandDirections = [...]string{DirectionToSim, DirectionFromSim}
	commandStatuses   = [...]string{CommandQueued, CommandSent, CommandDelivered, CommandReceived, CommandFailed}
)

// commandCounts counts commands by direction and status.
type commandCounts [len(commandDirections)][len(commandStatuses)]atomic.Uint64

func (cc *commandCounts) add(direction, status string) {
	for i, d := range commandDirections {
		if d != direction {
			continue
		}
		for j, s := range commandStatuses {
			if s == status {
				cc[i][j].Add(1)
			}
		}
	}
}

// snapshot returns the counts of every pair a command can reach (zero
// or not: to_sim commands are queued, sent, delivered if delivered is
// set, or failed; from_sim ones are received) and of any other seen.
func (cc *commandCounts) snapshot(delivered bool) []CommandCount {
	var out []CommandCount
	for i, d := range commandDirections {
		for j, s := range commandStatuses {
			possible := (d == DirectionFromSim) == (s == CommandReceived) && (delivered || s != CommandDelivered)
			if n := cc[i][j].Load(); n > 0 || possible {
				out = append(out, CommandCount{Direction: d, Status: s, N: n})
			}
		}
	}
	return out
}

// stats are a Control's counters, added to with atomic adds after a
// change commits, read without its lock.
type stats struct {
	bytesUp, bytesDown atomic.Uint64
	sms, ip            commandCounts
}

func (s *stats) metered(up, down int64) {
	s.bytesUp.Add(uint64(max(up, 0)))
	s.bytesDown.Add(uint64(max(down, 0)))
}

// Stats returns the control plane's counters.
func (c *Control) Stats() Stats {
	return Stats{
		BytesUp: c.stats.bytesUp.Load(), BytesDown: c.stats.bytesDown.Load(),
		SmsCommands: c.stats.sms.snapshot(true), IPCommands: c.stats.ip.snapshot(false),
	}
}
