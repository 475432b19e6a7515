package modem_test

// ModemManager, the modem daemon behind NetworkManager on Linux gateways,
// drives a virtual BG96 as it drives a real one on USB: it probes the PTY,
// picks its Quectel plugin from the USB attributes, enables the modem,
// waits for registration and connects a bearer.
//
// ModemManager runs as a real process without udev: it gets a private
// D-Bus system bus (dbus-daemon with a config written here, and polkitd on
// it so that root's requests are authorised), it is told of the port by
// `mmcli --report-kernel-event`, and it reads the port's USB attributes
// from sysfs itself. A PTY has no USB device in sysfs, so the daemon runs
// in a private mount namespace (unshare -m) where a small tree that looks
// like a BG96's option-driver interface is bound over /sys/class/tty.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mmWait bounds each wait on ModemManager: probing, enabling and connecting
// each take a few seconds on a real daemon.
const mmWait = 30 * time.Second

// mmEnv is a private system bus with polkitd and ModemManager on it.
type mmEnv struct {
	t     *testing.T
	dir   string
	bus   string // the bus address, DBUS_SYSTEM_BUS_ADDRESS
	mmcli string
	tty   string // the directory bound over /sys/class/tty
	log   *mmLog // ModemManager's debug log
	procs []*mmProc
	mm    *mmProc // the daemon itself
}

// mmProc is a daemon the test started, and a channel closed when it exits.
type mmProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// mmLog is a process's output, written by its copier goroutine and read
// by the test.
type mmLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *mmLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *mmLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// mmEnvRequire skips the test when cond is false, or fails it under CI.
func mmEnvRequire(t *testing.T, cond bool, msg string) {
	t.Helper()
	if cond {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal(msg + ": required under CI")
	}
	t.Skip(msg)
}

// mmEnvStart starts the bus, polkitd and ModemManager.
func mmEnvStart(t *testing.T) *mmEnv {
	t.Helper()
	mmEnvRequire(t, os.Geteuid() == 0, "ModemManager needs root (a private mount namespace, a system bus, /dev/pts)")
	daemon := ptyEnvNeed(t, "ModemManager", "modemmanager", "/usr/sbin/ModemManager")
	mmcli := ptyEnvNeed(t, "mmcli", "modemmanager")
	dbusDaemon := ptyEnvNeed(t, "dbus-daemon", "dbus")
	dbusSend := ptyEnvNeed(t, "dbus-send", "dbus")
	polkitd := ptyEnvNeed(t, "polkitd", "polkitd", "/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd")
	unshare := ptyEnvNeed(t, "unshare", "util-linux")

	dir := t.TempDir()
	// polkitd drops root for its own user, which must reach the bus socket.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := &mmEnv{t: t, dir: dir, mmcli: mmcli, tty: filepath.Join(dir, "sys/class/tty"), log: &mmLog{}}
	t.Cleanup(m.stop)
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("ModemManager log:\n%s", m.log.String())
		}
	})

	// The bus: anyone may own any name and call anything; it is ours alone.
	sock := filepath.Join(dir, "system_bus_socket")
	conf := filepath.Join(dir, "system.conf")
	mmEnvWrite(t, conf, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=`+sock+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`)
	bus := exec.Command(dbusDaemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bus.Stderr = m.log
	m.start(bus)
	addr := make([]byte, 512)
	n, err := out.Read(addr) // dbus-daemon prints its address once it listens
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	m.bus = strings.TrimSpace(string(addr[:n]))

	// polkitd authorises root for every ModemManager action.
	pk := exec.Command(polkitd, "--no-debug")
	pk.Env = m.env()
	pk.Stdout, pk.Stderr = m.log, m.log
	m.start(pk)
	m.eventually("polkitd on the bus", func() bool {
		c := exec.Command(dbusSend, "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
			"org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.PolicyKit1")
		c.Env = m.env()
		out, err := c.CombinedOutput()
		return err == nil && strings.Contains(string(out), "boolean true")
	})

	// The sysfs tree: /sys/class/tty/pts/N will point into it.
	for _, d := range []string{"sys/class/tty", "sys/bus/usb", "sys/bus/usb-serial", "sys/bus/usb/drivers/option", "sys/bus/usb-serial/drivers/option1"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	mm := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c", `mount --bind "$1" /sys/class/tty && shift && exec "$@"`,
		"sh", m.tty, daemon, "--test-no-udev", "--no-auto-scan", "--test-no-suspend-resume", "--test-no-qrtr", "--debug", "--log-level=DEBUG")
	mm.Env = m.env()
	mm.Stdout, mm.Stderr = m.log, m.log
	m.mm = m.start(mm)
	m.eventually("ModemManager on the bus", func() bool {
		_, err := m.run("-L")
		return err == nil
	})
	return m
}

// env is the environment of a process on the private bus.
func (m *mmEnv) env() []string {
	return append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+m.bus)
}

// start starts a daemon that stop ends.
func (m *mmEnv) start(c *exec.Cmd) *mmProc {
	m.t.Helper()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		m.t.Fatalf("starting %s: %v", c.Path, err)
	}
	p := &mmProc{cmd: c, done: make(chan struct{})}
	go func() { _ = c.Wait(); close(p.done) }()
	m.procs = append(m.procs, p)
	return p
}

// stop ends the daemons, the last started first: SIGTERM, then SIGKILL
// for one that has not exited within a few seconds.
func (m *mmEnv) stop() {
	for i := len(m.procs) - 1; i >= 0; i-- {
		p := m.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	m.procs = nil
}

// usbPort adds a USB serial port of a BG96 (vendor 2c7c, product 0296) on
// interface ifnum, as the option driver shows it in sysfs, and points
// /sys/class/tty/<name> at it; name is the PTY's name under /dev.
func (m *mmEnv) usbPort(name string, ifnum int) {
	m.t.Helper()
	usb := filepath.Join(m.dir, "sys/devices/pci0000:00/0000:00:14.0/usb1/1-1")
	iface := filepath.Join(usb, fmt.Sprintf("1-1:1.%d", ifnum))
	serial := filepath.Join(iface, fmt.Sprintf("ttyUSB%d", ifnum))
	tty := filepath.Join(serial, "tty", fmt.Sprintf("ttyUSB%d", ifnum))
	if err := os.MkdirAll(tty, 0o755); err != nil {
		m.t.Fatal(err)
	}
	files := map[string]string{
		// The device.
		usb + "/idVendor": "2c7c", usb + "/idProduct": "0296", usb + "/bcdDevice": "0000",
		usb + "/manufacturer": "Quectel", usb + "/product": "Qualcomm CDMA Technologies MSM",
		// The interface: vendor-specific, as the option driver binds it.
		iface + "/bInterfaceClass": "ff", iface + "/bInterfaceSubClass": "ff", iface + "/bInterfaceProtocol": "ff",
		iface + "/bInterfaceNumber": fmt.Sprintf("%02x", ifnum), iface + "/interface": "",
	}
	for p, v := range files {
		mmEnvWrite(m.t, p, v+"\n")
	}
	links := map[string]string{
		usb + "/subsystem":         "sys/bus/usb",
		iface + "/subsystem":       "sys/bus/usb",
		iface + "/driver":          "sys/bus/usb/drivers/option",
		serial + "/subsystem":      "sys/bus/usb-serial",
		serial + "/driver":         "sys/bus/usb-serial/drivers/option1",
		tty + "/subsystem":         "sys/class/tty",
		filepath.Join(m.tty, name): tty,
	}
	for l, target := range links {
		if !filepath.IsAbs(target) {
			target = filepath.Join(m.dir, target)
		}
		if err := os.MkdirAll(filepath.Dir(l), 0o755); err != nil {
			m.t.Fatal(err)
		}
		_ = os.Remove(l)
		if err := os.Symlink(target, l); err != nil {
			m.t.Fatal(err)
		}
	}
}

// announce tells ModemManager of a PTY, as udev would of a new port.
func (m *mmEnv) announce(ptyPath string, ifnum int) {
	m.t.Helper()
	name := strings.TrimPrefix(ptyPath, "/dev/")
	m.usbPort(name, ifnum)
	m.must("--report-kernel-event=action=add,name=" + name + ",subsystem=tty")
}

// run runs mmcli on the private bus.
func (m *mmEnv) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mmWait)
	defer cancel()
	c := exec.CommandContext(ctx, m.mmcli, args...)
	c.Env = m.env()
	out, err := c.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mmcli %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// must runs mmcli and fails the test if it fails.
func (m *mmEnv) must(args ...string) string {
	m.t.Helper()
	start := time.Now()
	out, err := m.run(args...)
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Logf("$ mmcli %s (%v)\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
	return out
}

// json runs mmcli -J and decodes its answer.
func (m *mmEnv) json(args ...string) (map[string]any, error) {
	out, err := m.run(append([]string{"-J"}, args...)...)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("mmcli -J %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return v, nil
}

// eventually polls cond until it holds, failing the test after mmWait or
// as soon as ModemManager exits (it crashes on answers it cannot parse).
func (m *mmEnv) eventually(what string, cond func() bool) {
	m.t.Helper()
	deadline := time.Now().Add(mmWait)
	for !cond() {
		if m.mm != nil {
			select {
			case <-m.mm.done:
				m.t.Fatalf("ModemManager exited (%v) while waiting for %s", m.mm.cmd.ProcessState, what)
			default:
			}
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("timed out after %v waiting for %s", mmWait, what)
		}
		time.Sleep(100 * time.Millisecond) // polling a daemon, not waiting for time to pass
	}
}

// field reads a path of keys from a decoded mmcli -J answer.
func field(v map[string]any, keys ...string) string {
	var cur any = v
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = obj[k]
	}
	switch x := cur.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func mmEnvWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestModemManager has ModemManager detect a virtual BG96 on its PTY,
// enable it, see it registered and connect a bearer with the Super SIM
// APN.
func TestModemManager(t *testing.T) {
	m := mmEnvStart(t)
	e := ptyEnvNew(t, 1)
	m.announce(e.modems.PTYPath(0), 2)

	var modemPath string
	m.eventually("a modem in mmcli -L", func() bool {
		v, err := m.json("-L")
		if err != nil {
			return false
		}
		list, _ := v["modem-list"].([]any)
		if len(list) == 0 {
			return false
		}
		modemPath, _ = list[0].(string)
		return true
	})
	m.must("-m", modemPath)
	var last map[string]any
	state := func(want ...string) func() bool {
		return func() bool {
			v, err := m.json("-m", modemPath)
			if err != nil {
				return false
			}
			last = v
			s := field(v, "modem", "generic", "state")
			for _, w := range want {
				if s == w {
					return true
				}
			}
			return false
		}
	}
	m.eventually("the modem disabled (initialised)", state("disabled", "enabled", "searching", "registered"))
	if got := field(last, "modem", "generic", "manufacturer"); got != "Quectel" {
		t.Errorf("manufacturer %q, want Quectel", got)
	}
	if got := field(last, "modem", "generic", "plugin"); got != "quectel" {
		t.Errorf("plugin %q, want quectel", got)
	}
	if got := field(last, "modem", "3gpp", "imei"); got != e.status(0).IMEI {
		t.Errorf("IMEI %q, want %q", got, e.status(0).IMEI)
	}
	// The SIM's identity, read through AT+CRSM (EF ICCID) and AT+CIMI.
	simPath := field(last, "modem", "generic", "sim")
	simInfo, err := m.json("-i", simPath)
	if err != nil {
		t.Fatal(err)
	}
	card := e.ctl.Cards()[0].Card
	if got := field(simInfo, "sim", "properties", "iccid"); got != card.ICCID {
		t.Errorf("SIM ICCID %q, want %q", got, card.ICCID)
	}
	if got := field(simInfo, "sim", "properties", "imsi"); got != card.IMSI {
		t.Errorf("SIM IMSI %q, want %q", got, card.IMSI)
	}
	if got := field(last, "modem", "generic", "supported-capabilities"); !strings.Contains(got, "lte") {
		t.Errorf("supported capabilities %s, want LTE (from AT+WS46=?)", got)
	}

	m.must("-m", modemPath, "--enable")
	m.eventually("the modem registered", state("registered", "connected"))
	if got := field(last, "modem", "3gpp", "operator-code"); got != ptyEnvVodafoneGB.String() {
		t.Errorf("operator code %q, want %s", got, ptyEnvVodafoneGB)
	}
	if got := field(last, "modem", "3gpp", "registration-state"); got != "roaming" {
		t.Errorf("registration state %q, want roaming", got)
	}
	t.Logf("access technologies %s, current modes %s", field(last, "modem", "generic", "access-technologies"), field(last, "modem", "generic", "current-modes"))

	m.must("-m", modemPath, "--simple-connect=apn=super,ip-type=ipv4")
	m.eventually("the modem connected", state("connected"))
	bearers, _ := last["modem"].(map[string]any)["generic"].(map[string]any)["bearers"].([]any)
	if len(bearers) != 1 {
		t.Fatalf("bearers %v, want one", bearers)
	}
	b, err := m.json("-b", bearers[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	if got := field(b, "bearer", "status", "connected"); got != "yes" {
		t.Errorf("bearer connected %q, want yes", got)
	}
	if got := field(b, "bearer", "properties", "apn"); got != "super" {
		t.Errorf("bearer APN %q, want super", got)
	}
	if !e.status(0).DataActive {
		t.Errorf("the virtual modem has no data session (%+v)", e.status(0))
	}
}
