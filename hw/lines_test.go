package hw

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"
	"golang.org/x/sys/unix"
)

// TestFramer: the same input fed in one chunk and byte by byte gives the
// same lines; noise is dropped and an overlong line is cut.
func TestFramer(t *testing.T) {
	long := strings.Repeat("y", MaxLine+10)
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"\r\nOK\r\n", []string{"OK"}},
		{"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n", []string{"AT+CSQ", "+CSQ: 20,99", "OK"}},
		{"\x00\xff+CEREG: 5\x01\r\n\n\rRDY\n", []string{"+CEREG: 5", "RDY"}},
		{"Caf\xc3\xa9 \xff\xfe\r\n", []string{"Café"}},
		{long + "\r\nOK\r\n", []string{"OK"}},
		{"no end", nil},
	} {
		var chunk, bytewise []string
		var f1, f2 framer
		f1.feed([]byte(tc.in), func(l string) { chunk = append(chunk, l) })
		for i := range len(tc.in) {
			f2.feed([]byte{tc.in[i]}, func(l string) { bytewise = append(bytewise, l) })
		}
		if !slices.Equal(chunk, tc.want) || !slices.Equal(bytewise, tc.want) {
			t.Errorf("%.40q: chunk %q, byte by byte %q, want %q", tc.in, chunk, bytewise, tc.want)
		}
	}
}

func TestUnsolicited(t *testing.T) {
	for _, tc := range []struct {
		line, id string
		want     bool
	}{
		{"+CEREG: 5", "", true},
		{"+CEREG: 5", "+CEREG", true},
		{"+CEREG: 0,5", "+CEREG", false},
		{`+CEREG: 5,"1A2B","01A2B3C",8`, "+CEREG", true},
		{`+CEREG: 2,5,"1A2B","01A2B3C",8`, "+CEREG", false},
		{`+CEREG: 3,,,,0,11`, "+CEREG", true},
		{"+CEREG: 0,5", "+CSQ", true},
		{"+CPIN: READY", "+CPIN", false},
		{"+CPIN: READY", "", true},
		{"NO CARRIER", "D*99#", false},
		{"NO CARRIER", "+CSQ", true},
		{"+CSQ: 20,99", "+CSQ", false},
		{"Quectel", "+CGMI", false},
		{"RDY", "+CGATT", true},
	} {
		if got := unsolicited(tc.line, cmdID(tc.id), defaultURCs); got != tc.want {
			t.Errorf("unsolicited(%q, %q) = %v, want %v", tc.line, tc.id, got, tc.want)
		}
	}
}

func TestCommandTimeout(t *testing.T) {
	for cmd, want := range map[string]time.Duration{
		"AT+COPS=?": 180 * time.Second, "+cops=1,2,\"23415\"": 180 * time.Second, "AT+COPS?": DefaultTimeout,
		"AT+CGATT=1": 140 * time.Second, "ATD*99#": 150 * time.Second, "AT+CSQ": DefaultTimeout,
	} {
		if got := CommandTimeout(cmd); got != want {
			t.Errorf("CommandTimeout(%q) = %v, want %v", cmd, got, want)
		}
	}
}

// TestRTSCTS: go.bug.st/serial cannot turn on hardware flow control; the
// client does it through termios, as the tty shows.
func TestRTSCTS(t *testing.T) {
	checkLeaks(t)
	l := newPTYLink(t)
	p := l.plug()
	newFake(t, p, false)
	c, err := Open(testCtx(t), l.link, WithRTSCTS(true), WithBaud(9600))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustCmd(t, c, "AT+CSQ", "+CSQ: 20,99")
	f, err := os.OpenFile(p.Path(), os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("cannot open the port a second time to read its termios: %v", err)
	}
	defer f.Close()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Cflag&unix.CRTSCTS == 0 {
		t.Fatal("CRTSCTS is off")
	}
}

// TestMergePorts: on Linux the enumerator leaves Name empty for a port
// without a sysfs device; Ports keeps the path.
func TestMergePorts(t *testing.T) {
	got := mergePorts([]string{"/dev/ttyS0", "/dev/ttyUSB2"}, []*enumerator.PortDetails{
		{},
		{Name: "/dev/ttyUSB2", IsUSB: true, VID: "2C7C", PID: "0700", SerialNumber: "abc", Product: "Qualcomm CDMA Technologies MSM"},
	})
	want := []PortInfo{{Path: "/dev/ttyS0"}, {Path: "/dev/ttyUSB2", USB: true, VID: "2C7C", PID: "0700", SerialNumber: "abc", Product: "Qualcomm CDMA Technologies MSM"}}
	if !slices.Equal(got, want) {
		t.Fatalf("mergePorts = %+v, want %+v", got, want)
	}
}
