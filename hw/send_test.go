package hw

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/modem"
	"github.com/fleetsim/fleetsim/sim"
)

// TestFramerPrompt: while a prompt is awaited, '>' or '@' at a line start
// is a line at once and the blanks after it go; one prompt only; without
// the flag they are text. Fed in one chunk or byte by byte, the same.
func TestFramerPrompt(t *testing.T) {
	for _, tc := range []struct {
		in     string
		prompt bool
		want   []string
	}{
		{"\r\n> ", true, []string{">"}},
		{"\r\n@", true, []string{"@"}},
		{"\r\n> \r\n+CMGS: 7\r\n\r\nOK\r\n", true, []string{">", "+CMGS: 7", "OK"}},
		{"> SEND OK\r\n", true, []string{">", "SEND OK"}},
		{"\r\n> >x\r\n", true, []string{">", ">x"}},
		{"\r\n>x\r\n", false, []string{">x"}},
		{"\r\n> \r\n", false, []string{">"}},
		{"+CMTI: \"SM\",1> \r\n", true, []string{"+CMTI: \"SM\",1>"}},
	} {
		var chunk, bytewise []string
		f1, f2 := framer{prompt: tc.prompt}, framer{prompt: tc.prompt}
		f1.feed([]byte(tc.in), func(l string) { chunk = append(chunk, l) })
		for i := range len(tc.in) {
			f2.feed([]byte{tc.in[i]}, func(l string) { bytewise = append(bytewise, l) })
		}
		if !slices.Equal(chunk, tc.want) || !slices.Equal(bytewise, tc.want) {
			t.Errorf("%q (prompt %v): chunk %q, byte by byte %q, want %q", tc.in, tc.prompt, chunk, bytewise, tc.want)
		}
	}
}

// FuzzFramer: whatever the bytes and however they are cut, the framer
// emits the same non-empty lines of at most MaxLine bytes, and at most one
// prompt.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("\r\n> \r\n+CMGS: 7\r\n\r\nOK\r\n"), true, uint8(3))
	f.Add([]byte("\r\n@\r\n+USOST: 0,5\r\nOK\r\n"), true, uint8(1))
	f.Add([]byte("AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"), false, uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, prompt bool, cut uint8) {
		var whole, parts []string
		f1, f2 := framer{prompt: prompt}, framer{prompt: prompt}
		f1.feed(in, func(l string) { whole = append(whole, l) })
		step := int(cut%16) + 1
		for i := 0; i < len(in); i += step {
			f2.feed(in[i:min(i+step, len(in))], func(l string) { parts = append(parts, l) })
		}
		if !slices.Equal(whole, parts) {
			t.Fatalf("whole %q, in parts of %d %q", whole, step, parts)
		}
		if f1.prompts > 1 || !prompt && f1.prompts > 0 {
			t.Fatalf("%d prompts (prompt %v)", f1.prompts, prompt)
		}
		for _, l := range whole {
			if l == "" || len(l) > MaxLine {
				t.Fatalf("line of %d bytes", len(l))
			}
		}
	})
}

// servedModem serves one of fleetsim's modems of a family on a PTY, its
// SIM active in a Fleet whose NAP allows Vodafone UK, registered; it
// returns the PTY's path, the control plane and the Sim.
func servedModem(t *testing.T, family string) (string, *sim.Control, *sim.Sim) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctl, err := sim.New(ctx, sim.NewMemStore(), sim.WithCards("hw", 1), sim.WithUpdateDelay(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	acct := ctl.MainAccount()
	vf, _ := ctl.Catalog().ByPLMN(sim.PLMN{MCC: "234", MNC: "15"})
	nap, err := ctl.CreateNAP(ctx, acct, nil, []string{vf.Sid})
	if err != nil {
		t.Fatal(err)
	}
	fl, err := ctl.CreateFleet(ctx, acct, sim.FleetParams{NetworkAccessProfile: &nap.Sid})
	if err != nil {
		t.Fatal(err)
	}
	card := ctl.Cards()[0].Card
	s, err := ctl.RegisterSim(ctx, acct, card.ICCID, card.RegistrationCode)
	if err != nil {
		t.Fatal(err)
	}
	active := "active"
	if _, _, err := ctl.UpdateSim(ctx, acct, s.Sid, sim.SimParams{Status: &active, Fleet: &fl.Sid}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Sim active", func() bool {
		cur, err := ctl.Sim(acct, s.Sid)
		return err == nil && cur.Status == sim.StatusActive && cur.Pending == nil
	})
	profile, err := modem.ProfileByName(family)
	if err != nil {
		t.Fatal(err)
	}
	m := modem.New(modem.Config{
		Card: card, IMEI: modem.IMEI(0), Core: ctl, World: modem.NewWorld(ctl.Catalog()), Country: "GB", Profile: profile,
		Timing: modem.Timing{Boot: time.Millisecond, Scan: 20 * time.Millisecond, Attach: 10 * time.Millisecond, Data: 5 * time.Millisecond},
	})
	p, err := modem.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); m.Serve(ctx, p) }()
	t.Cleanup(func() {
		cancel()
		p.Close()
		<-served
		m.Close()
	})
	eventually(t, "the modem registered", func() bool { return m.Status().Reg == int(modem.RegRoaming) })
	return p.Path(), ctl, s
}

// TestSendSMSAndDatagrams drives fleetsim's BG96, SIM7080 and SARA-R4 on a
// PTY through Send, as a bench module: an SMS to 000 in text mode (the
// "> " prompt, the text and Ctrl-Z), and a datagram to the IP Commands
// gateway through the family's own socket commands ("> " or "@"). Each
// reaches the control plane as a received Command from the SIM; an SMS to
// another number is refused with a typed +CMS ERROR.
func TestSendSMSAndDatagrams(t *testing.T) {
	for _, tc := range []struct {
		family string
		open   []string // the data context and the socket
		ready  string   // the indication that says the context is up, after the first command
		send   string   // the send command of 9 bytes
	}{
		{"bg96", []string{"+QIACT=1", `+QIOPEN=1,0,"UDP","100.64.0.1",6969,6969,0`}, "", "+QISEND=0,9"},
		{"sim7080", []string{"+CNACT=0,1", `+CACFG="LOCALPORT",0,6969`, `+CAOPEN=0,0,"UDP","100.64.0.1",6969`}, "+APP PDP: 0,ACTIVE", "+CASEND=0,9"},
		{"sara-r4", []string{"+CGACT=1,1", "+USOCR=17,6969"}, "", `+USOST=0,"100.64.0.1",6969,9`},
	} {
		t.Run(tc.family, func(t *testing.T) {
			checkLeaks(t)
			path, ctl, s := servedModem(t, tc.family)
			c, err := Open(testCtx(t), path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := testCtx(t)
			mustCmd(t, c, "+CMGF=1")
			info, err := c.Send(ctx, `+CMGS="000"`, []byte("status ok\x1a"))
			if err != nil || len(info) != 1 || !strings.HasPrefix(info[0], "+CMGS: ") {
				t.Fatalf(`AT+CMGS="000": %q, %v`, info, err)
			}
			_, err = c.Send(ctx, `+CMGS="+4477"`, []byte("nope\x1a"))
			var cms *CMSError
			if !errors.As(err, &cms) || cms.Code != 21 {
				t.Fatalf(`AT+CMGS to another number: %v, want +CMS ERROR: 21`, err)
			}
			mustCmd(t, c, "AT") // in step after the error

			up := make(chan string, 4)
			if tc.ready != "" {
				c.OnIndication(tc.ready, func(l string) { up <- l })
			}
			for i, cmd := range tc.open {
				if _, err := c.Command(ctx, cmd); err != nil {
					t.Fatalf("AT%s: %v", cmd, err)
				}
				if i == 0 && tc.ready != "" {
					select {
					case <-up:
					case <-ctx.Done():
						t.Fatalf("no %s after AT%s", tc.ready, cmd)
					}
				}
			}
			if _, err := c.Send(ctx, tc.send, []byte("temp=21.5")); err != nil {
				t.Fatalf("AT%s: %v", tc.send, err)
			}
			mustCmd(t, c, "AT")

			acct := ctl.MainAccount()
			var sms []*sim.SmsCommand
			eventually(t, "the SMS Command from the SIM", func() bool {
				sms, _ = ctl.ListSmsCommands(acct, s.Sid, "", sim.DirectionFromSim)
				return len(sms) == 1
			})
			if sms[0].Payload != "status ok" || sms[0].Status != sim.CommandReceived {
				t.Errorf("SMS Command %+v", sms[0])
			}
			var ips []*sim.IPCommand
			eventually(t, "the IP Command from the SIM", func() bool {
				ips, _ = ctl.ListIPCommands(acct, s.Sid, "", sim.CommandReceived, sim.DirectionFromSim)
				return len(ips) == 1
			})
			if got, _ := base64.StdEncoding.DecodeString(ips[0].Payload); string(got) != "temp=21.5" || ips[0].DevicePort != 6969 {
				t.Errorf("IP Command %+v", ips[0])
			}
		})
	}
}
