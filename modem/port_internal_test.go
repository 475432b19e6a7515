package modem

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/vclock"
)

// TestLinkPorts links a host to a BG96's modem port and AT port in
// process: each port has its own echo, result format and A/, both share
// the module's state, and indications follow the host to the AT port once
// it talks there.
func TestLinkPorts(t *testing.T) {
	clock := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	bg96, err := ProfileByName("bg96")
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{Card: sim.Card{ICCID: "8988307000000000017"}, IMEI: IMEI(0), Profile: bg96, Clock: clock, Timing: Timing{Boot: time.Second, Scan: time.Second, Attach: time.Second, Data: time.Second}})
	defer m.Close()
	if got := m.Ports(); strings.Join(got, ",") != "modem,at" {
		t.Fatalf("Ports() = %q", got)
	}
	var mainOut, atOut bytes.Buffer
	mainLink := m.Connect(func(b []byte) { mainOut.Write(b) })
	atLink, err := m.ConnectPort("at", func(b []byte) { atOut.Write(b) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ConnectPort("nmea", func([]byte) {}); err == nil {
		t.Fatal(`ConnectPort("nmea") succeeded on a BG96`)
	}
	take := func(b *bytes.Buffer) string { s := b.String(); b.Reset(); return s }
	send := func(l *Link, out *bytes.Buffer, line, want string) {
		t.Helper()
		if _, err := l.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if got := take(out); got != want {
			t.Fatalf("%q answered %q, want %q", line, got, want)
		}
	}

	// Booted with no host on the AT port yet: the boot indications come
	// on the modem port, where firmware on a single UART hears them.
	m.PowerCycle()
	clock.Advance(time.Second)
	if got := take(&mainOut); !strings.HasPrefix(got, "\r\nRDY\r\n") || !strings.HasSuffix(got, "\r\nAPP RDY\r\n") {
		t.Fatalf("modem port after boot: %q", got)
	}
	if got := take(&atOut); got != "" {
		t.Fatalf("AT port after boot: %q", got)
	}

	// Settings per port.
	send(atLink, &atOut, "ATE0\r", "ATE0\r\r\nOK\r\n")
	send(atLink, &atOut, "ATV0\r", "0\r")
	send(mainLink, &mainOut, "AT\r", "AT\r\r\nOK\r\n")
	send(atLink, &atOut, "ATS3?\r", "013\r\n0\r")
	send(mainLink, &mainOut, "ATS3?\r", "ATS3?\r\r\n013\r\n\r\nOK\r\n")

	// State shared.
	send(mainLink, &mainOut, "AT+CGDCONT=3,\"IP\",\"super\"\r", "AT+CGDCONT=3,\"IP\",\"super\"\r\r\nOK\r\n")
	atLink.Write([]byte("AT+CGDCONT?\r"))
	if got := take(&atOut); !strings.Contains(got, "+CGDCONT: 3,\"IP\",\"super\"") {
		t.Fatalf("AT+CGDCONT? on the AT port: %q", got)
	}
	// A/ repeats the port's own last line.
	atLink.Write([]byte("A/"))
	if got := take(&atOut); !strings.Contains(got, "+CGDCONT: 3,") {
		t.Fatalf("A/ on the AT port: %q", got)
	}
	send(atLink, &atOut, "AT+QURCCFG=?\r", "+QURCCFG: \"urcport\",(\"usbat\",\"usbmodem\",\"uart1\")\r\n0\r")
	send(atLink, &atOut, "AT+QURCCFG=\"urcport\",\"usb\"\r", "4\r")

	// The AT port has a host now: indications go there, the modem port
	// gets only its own answers.
	send(mainLink, &mainOut, "AT+QPOWD\r", "AT+QPOWD\r\r\nOK\r\n")
	if got := take(&atOut); got != "POWERED DOWN\r\n" {
		t.Fatalf("AT port after AT+QPOWD on the modem port: %q", got)
	}
	// Until the host moves them.
	send(atLink, &atOut, "AT+QURCCFG=\"urcport\",\"usbmodem\"\r", "0\r")
	send(mainLink, &mainOut, "AT+QPOWD\r", "AT+QPOWD\r\r\nOK\r\n\r\nPOWERED DOWN\r\n")
	if got := take(&atOut); got != "" {
		t.Fatalf("AT port after the URC port moved: %q", got)
	}

	if err := atLink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mainLink.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestConnectWriter: a host linked as a writer hears what a host linked
// as a function hears, byte for byte.
func TestConnectWriter(t *testing.T) {
	var outs [2]bytes.Buffer
	for i := range outs {
		clock := vclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		m := New(Config{Card: sim.Card{ICCID: "8988307000000000017"}, IMEI: IMEI(0), Clock: clock, Timing: Timing{Boot: time.Second}})
		var l *Link
		if i == 0 {
			l = m.Connect(func(b []byte) { outs[0].Write(b) })
		} else {
			l = m.ConnectWriter(&outs[1])
		}
		m.PowerCycle()
		clock.Advance(time.Second)
		for _, line := range []string{"ATE0\r", "AT+CGSN\r", "AT+CSCS?\r", "AT+NOPE\r"} {
			if _, err := l.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
		}
		m.Close()
	}
	if outs[0].String() != outs[1].String() || !strings.Contains(outs[1].String(), "+CSCS: \"GSM\"") {
		t.Fatalf("function host heard %q, writer host %q", outs[0].String(), outs[1].String())
	}
}
