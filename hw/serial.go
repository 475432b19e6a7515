package hw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Parity and StopBits are go.bug.st/serial's.
type (
	Parity   = serial.Parity
	StopBits = serial.StopBits
)

const (
	NoParity    = serial.NoParity
	OddParity   = serial.OddParity
	EvenParity  = serial.EvenParity
	MarkParity  = serial.MarkParity
	SpaceParity = serial.SpaceParity

	OneStopBit  = serial.OneStopBit
	TwoStopBits = serial.TwoStopBits
)

// DefaultBaud is the rate cellular modules' UARTs start at (and the
// nominal one of USB CDC ports, where it does not matter).
const DefaultBaud = 115200

// config is what Options set.
type config struct {
	baud     int
	dataBits int
	parity   Parity
	stopBits StopBits
	rtscts   bool
	dtr      *bool

	trace       io.Writer
	tracePort   string
	now         func() time.Time
	timeout     time.Duration            // for commands without their own
	timeouts    map[string]time.Duration // by command, e.g. "+COPS=?"
	syncTimeout time.Duration            // for each resynchronisation probe
	backoffMin  time.Duration
	backoffMax  time.Duration
	init        []string
	urcs        []string
}

func defaultConfig() config {
	return config{
		baud: DefaultBaud, dataBits: 8, parity: NoParity, stopBits: OneStopBit,
		now: time.Now, timeout: DefaultTimeout, syncTimeout: 2 * time.Second,
		backoffMin: 100 * time.Millisecond, backoffMax: 5 * time.Second,
		init: []string{"E0", "+CMEE=1"},
		urcs: defaultURCs,
	}
}

// Option configures Open or Dial.
type Option func(*config)

// WithBaud sets the bit rate (default 115200).
func WithBaud(n int) Option { return func(c *config) { c.baud = n } }

// WithDataBits sets the character size, 5 to 8 (default 8).
func WithDataBits(n int) Option { return func(c *config) { c.dataBits = n } }

// WithParity sets the parity (default none).
func WithParity(p Parity) Option { return func(c *config) { c.parity = p } }

// WithStopBits sets the stop bits (default one).
func WithStopBits(s StopBits) Option { return func(c *config) { c.stopBits = s } }

// WithRTSCTS turns hardware flow control on. go.bug.st/serial has no
// setting for it (its Open turns CRTSCTS off), so on Linux the client sets
// the termios flag itself after opening; elsewhere Open fails with
// errors.ErrUnsupported.
func WithRTSCTS(on bool) Option { return func(c *config) { c.rtscts = on } }

// WithDTR sets the DTR line once the port is open (by default the OS
// raises it on open and the client leaves it). Many modules hang up a
// data call or leave sleep on DTR; pseudo-terminals have no DTR and fail.
func WithDTR(on bool) Option { return func(c *config) { c.dtr = &on } }

// WithTrace records every exchange in trace format to w (see ReadTrace).
func WithTrace(w io.Writer) Option { return func(c *config) { c.trace = w } }

// WithTracePort names the modem in each trace record, for a trace that
// several clients write (w must then be safe for concurrent use).
func WithTracePort(name string) Option { return func(c *config) { c.tracePort = name } }

// WithClock sets where trace timestamps come from (default time.Now).
// Command timeouts run on the wall clock: the at package's timers do.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTimeout sets the timeout of commands that DefaultTimeouts does not
// list (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithCommandTimeout sets the timeout of one command, as DefaultTimeouts
// keys them: "+COPS=?" for the scan.
func WithCommandTimeout(cmd string, d time.Duration) Option {
	return func(c *config) {
		if c.timeouts == nil {
			c.timeouts = map[string]time.Duration{}
		}
		c.timeouts[timeoutKey(cmd)] = d
	}
}

// WithSyncTimeout sets how long the client waits for the answer to each
// probe when it resynchronises after a timeout (default 2 s, three probes).
func WithSyncTimeout(d time.Duration) Option { return func(c *config) { c.syncTimeout = d } }

// WithBackoff sets the first and the longest wait between attempts to
// reopen a port that went away (default 100 ms doubling up to 5 s).
func WithBackoff(first, longest time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = first, longest }
}

// WithInit sets the commands sent after every (re)connection and modem
// restart, before the next command (default ATE0, AT+CMEE=1). Errors
// they get are ignored: a module without +CMEE still works.
func WithInit(cmds ...string) Option { return func(c *config) { c.init = cmds } }

// WithURCs adds prefixes of lines to treat as indications.
func WithURCs(prefixes ...string) Option {
	return func(c *config) { c.urcs = append(append([]string(nil), c.urcs...), prefixes...) }
}

// Open opens a serial port (following symlinks, such as /dev/serial/by-id
// ones) and returns a client talking AT over it. When the port goes away
// the client reopens the same path with backoff.
func Open(ctx context.Context, path string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	dial := func(context.Context) (io.ReadWriteCloser, error) { return openPort(path, &cfg) }
	return dial2(ctx, path, dial, cfg)
}

// openPort opens and configures the serial port at path.
func openPort(path string, cfg *config) (serial.Port, error) {
	var flow *flowControl
	if cfg.rtscts {
		f, err := openFlowControl(path)
		if err != nil {
			return nil, fmt.Errorf("opening %s: RTS/CTS: %w", path, err)
		}
		flow = f
		defer flow.close()
	}
	p, err := serial.Open(path, &serial.Mode{BaudRate: cfg.baud, DataBits: cfg.dataBits, Parity: cfg.parity, StopBits: cfg.stopBits})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if flow != nil {
		if err := flow.enable(); err != nil {
			p.Close()
			return nil, fmt.Errorf("opening %s: RTS/CTS: %w", path, err)
		}
	}
	if cfg.dtr != nil {
		if err := p.SetDTR(*cfg.dtr); err != nil {
			p.Close()
			return nil, fmt.Errorf("opening %s: setting DTR: %w", path, err)
		}
	}
	return p, nil
}

// PortInfo describes a serial port; the USB fields are empty for other ports.
type PortInfo struct {
	Path         string `json:"path"`
	USB          bool   `json:"usb"`
	VID          string `json:"vid,omitempty"`
	PID          string `json:"pid,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
}

// Ports lists the serial ports of the machine with their USB details
// where the OS gives them (Linux reads them from sysfs).
func Ports() ([]PortInfo, error) {
	names, err := serial.GetPortsList()
	if err != nil {
		return nil, fmt.Errorf("listing serial ports: %w", err)
	}
	details, err := enumerator.GetDetailedPortsList()
	if err != nil && !isNotImplemented(err) {
		return nil, fmt.Errorf("listing serial ports: %w", err)
	}
	return mergePorts(names, details), nil
}

// mergePorts joins the plain list and the detailed one. On Linux the
// enumerator leaves Name empty for a port without a sysfs device (a
// platform UART, a pseudo-terminal), so its entries are matched by
// position (both lists come from the same directory walk) and, failing
// that, by name.
func mergePorts(names []string, details []*enumerator.PortDetails) []PortInfo {
	byName := map[string]*enumerator.PortDetails{}
	for _, d := range details {
		if d != nil && d.Name != "" {
			byName[d.Name] = d
		}
	}
	out := make([]PortInfo, 0, len(names))
	for i, n := range names {
		d := byName[n]
		if d == nil && len(details) == len(names) && details[i] != nil && details[i].Name == "" {
			d = details[i]
		}
		p := PortInfo{Path: n}
		if d != nil && d.IsUSB {
			p.USB, p.VID, p.PID, p.SerialNumber, p.Manufacturer, p.Product = true, d.VID, d.PID, d.SerialNumber, d.Manufacturer, d.Product
		}
		out = append(out, p)
	}
	return out
}

func isNotImplemented(err error) bool {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		return pe.Code() == serial.FunctionNotImplemented
	}
	var pv serial.PortError
	return errors.As(err, &pv) && pv.Code() == serial.FunctionNotImplemented
}
