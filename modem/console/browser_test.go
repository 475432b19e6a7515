package console_test

// The console in a real browser: headless Chromium driven over the
// DevTools protocol, asserting on the rendered DOM.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/fleetsim/fleetsim/sim"
)

// chromium finds the browser; without one the test skips, except in CI
// (.ci/run installs Debian's chromium), where it fails.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (.ci/run installs Debian's chromium)")
	}
	t.Skip("chromium is not installed: apt-get install chromium")
	return ""
}

// browser starts a headless Chromium with a fresh profile, sending a's
// credentials with every request, and returns its tab's context.
func browser(t testing.TB, a *sim.Account) context.Context {
	t.Helper()
	path := chromium(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	auth := base64.StdEncoding.EncodeToString([]byte(a.Sid + ":" + a.AuthToken))
	err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Authorization": "Basic " + auth}})
		return chromedp.Void{}, err
	})
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// run runs browser actions within envWait.
func run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, envWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// until waits for a JavaScript condition on the page to hold.
func until(t testing.TB, ctx context.Context, what, js string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, envWait+time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(envWait))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// TestConsoleInBrowser loads the console as the main account and checks
// the fleet, a blocked SIM, a modem's AT exchange appearing live after a
// command typed on its PTY, and the modem controls.
func TestConsoleInBrowser(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t, e.main)
	e.settled(t)

	run(t, ctx, "loading the console", chromedp.Navigate(e.srv.URL+"/console/"))
	until(t, ctx, "the first load", `document.body.dataset.loaded === "true"`)

	// The fleet: every modem with its family and registration state, as
	// the modems report them.
	var want []string
	for i, m := range e.fleet.Modems() {
		st := m.Status()
		want = append(want, fmt.Sprintf("%d %s %s", i, st.Profile, st.RegName))
	}
	rows := `[...document.querySelectorAll("#modems tbody tr")].map(tr => tr.dataset.modem + " " +
		tr.querySelector('[data-col="profile"]').textContent + " " + tr.querySelector('[data-col="registration"]').textContent).join("\n")`
	until(t, ctx, "the fleet table", rows+` === `+jsString(strings.Join(want, "\n")))
	until(t, ctx, "the counts", `document.querySelector('[data-stat="family"] [data-key="bg96"] b').textContent === "3" &&
		document.querySelector('[data-stat="registration"] [data-key="roaming"] b').textContent === "4" &&
		document.querySelector('[data-stat="blocked"] .n').textContent === "1"`)

	// The SIM over its Fleet's limit is shown blocked, in the SIM table and
	// on its modem's row; the others are not.
	until(t, ctx, "the blocked SIM", fmt.Sprintf(`(() => {
		const tr = document.querySelector('#sim-table tr[data-sim=%q]');
		const ok = document.querySelector('#sim-table tr[data-sim=%q]');
		return tr && tr.dataset.blocked === "limit" && /blocked: over limit/.test(tr.textContent) && /2\.00 \/ 1 MB/.test(tr.textContent) &&
			ok && ok.dataset.blocked === "" && /allowed/.test(ok.textContent) &&
			/blocked \(limit\)/.test(document.querySelector('#modems tr[data-modem="0"] [data-col="data"]').textContent);
	})()`, e.sims[0].Sid, e.sims[1].Sid))

	// One modem's AT exchange, live: open it, then type on its PTY.
	run(t, ctx, "opening modem 1", chromedp.Click(chromedp.CSS(`#modems tr[data-modem="1"]`)))
	until(t, ctx, "the AT stream", `document.querySelector("#at-log").dataset.live === "true"`)
	host := e.openHost(t, 1)
	imei := e.fleet.Modems()[1].Status().IMEI
	if _, err := host.Write([]byte("AT+CGSN\r")); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "the command and its answer in the AT log", fmt.Sprintf(`(() => {
		const li = [...document.querySelectorAll("#at-log li")];
		const i = li.findIndex(l => l.classList.contains("in") && l.querySelector(".x").textContent === "AT+CGSN");
		return i >= 0 && li.slice(i + 1).some(l => l.classList.contains("out") && l.querySelector(".x").textContent === %q);
	})()`, imei))

	// The controls: a forced signal shows in the modem's status; a power
	// cycle restarts it, which its AT exchange shows (the BG96 says RDY).
	run(t, ctx, "setting the signal",
		chromedp.SetValue(chromedp.CSS(`#ctl-signal`), "7"),
		chromedp.Click(chromedp.CSS(`#ctl-signal-set`)))
	until(t, ctx, "the signal control to take effect", `document.querySelector("#ctl-msg").textContent === "signal: done"`)
	if got := e.fleet.Modems()[1].Status().Signal; got != 7 {
		t.Errorf("signal after the control: %d, want 7", got)
	}
	until(t, ctx, "the new signal in the panel", `/^7 \(/.test([...document.querySelectorAll("#modem-status dt")].find(d => d.textContent === "Signal").nextElementSibling.textContent)`)
	run(t, ctx, "power-cycling", chromedp.Click(chromedp.CSS(`#ctl-power`)))
	until(t, ctx, "the power cycle in the AT log", `[...document.querySelectorAll("#at-log li.out .x")].some(x => x.textContent === "RDY")`)
	// Back to natural signal, and the modem registers again.
	e.post(t, e.main, "/_fleetsim/v1/modems/1", map[string][]string{"Signal": {"-1"}})
	until(t, ctx, "modem 1 to register again", `document.querySelector('#modems tr[data-modem="1"] [data-col="registration"]').textContent === "roaming"`)

	if os.Getenv("UPDATE_SCREENSHOTS") != "" {
		// Some activity to show, and the AT exchange of a modem at work.
		hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(hook.Close)
		for i, payload := range []string{"reboot", "report=300"} {
			if _, err := e.ctl.CreateSmsCommand(context.Background(), e.main, e.sims[i+1].Sid, payload, hook.URL+"/sms-status", http.MethodPost); err != nil {
				t.Fatal(err)
			}
		}
		until(t, ctx, "the callbacks", `document.querySelectorAll("#callbacks tbody tr .st-delivered").length >= 2`)
		until(t, ctx, "the panel to show modem 1 registered", `document.querySelector('[data-field="registration"]').textContent === "roaming"`)
		if _, err := host.Write([]byte("AT+CEREG?;+CSQ;+QNWINFO\r")); err != nil {
			t.Fatal(err)
		}
		until(t, ctx, "the screenshot's AT lines", `[...document.querySelectorAll("#at-log li.out .x")].some(x => x.textContent.startsWith("+QNWINFO"))`)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("taking the screenshot: %v", err)
		}
		out := filepath.Join("..", "..", "docs", "console.png")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", out)
	}
}

// A subaccount's browser sees its own SIM and modem, and no controls.
func TestConsoleInBrowserSubaccount(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t, e.sub)
	e.settled(t)
	run(t, ctx, "loading the console", chromedp.Navigate(e.srv.URL+"/console/#modem=3"))
	until(t, ctx, "the subaccount's view", fmt.Sprintf(`document.body.dataset.loaded === "true" &&
		[...document.querySelectorAll("#modems tbody tr")].map(tr => tr.dataset.modem).join() === "3" &&
		[...document.querySelectorAll("#sim-table tbody tr")].map(tr => tr.dataset.sim).join() === %q &&
		/subaccount/.test(document.querySelector("#who").textContent) &&
		!document.querySelector("#controls-main-only").hidden && document.querySelector("#controls-body").hidden`, e.sims[3].Sid))
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }
