package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

const controlUsage = `Usage:
  fleetsim modem list                      every modem: PTY, ICCID, location, registration
  fleetsim modem show <i>                  one modem in full (JSON)
  fleetsim modem move <i> <country>        move it to another ISO country
  fleetsim modem signal <i> <rssi>         force the signal, 0..31 (0 = no coverage), -1 = natural
  fleetsim modem power-cycle <i>           power it off and on
  fleetsim modem data <i> <up> <down>      move bytes over its data session
  fleetsim network down|up <HW sid>        a coverage outage of a network, and its end

Flags (before the arguments):
  --server URL        the running "fleetsim serve" (env FLEETSIM_URL, default http://127.0.0.1:8080)
  --account-sid SID   main account (env FLEETSIM_ACCOUNT_SID)
  --auth-token TOKEN  its auth token (env FLEETSIM_AUTH_TOKEN)
  --json              print the server's JSON answer
`

// control drives a running server's simulator endpoints.
func control(ctx context.Context, kind string, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleetsim "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, controlUsage) }
	server := fs.String("server", firstNonEmpty(getenv("FLEETSIM_URL"), "http://127.0.0.1:8080"), "")
	sid := fs.String("account-sid", getenv("FLEETSIM_ACCOUNT_SID"), "")
	token := fs.String("auth-token", getenv("FLEETSIM_AUTH_TOKEN"), "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	a := fs.Args()
	c := &client{base: strings.TrimRight(*server, "/"), sid: *sid, token: *token}
	var (
		method = http.MethodPost
		path   string
		form   = url.Values{}
	)
	switch {
	case kind == "modem" && len(a) == 1 && a[0] == "list":
		method, path = http.MethodGet, "/_fleetsim/v1/modems"
	case kind == "modem" && len(a) == 2 && a[0] == "show":
		method, path = http.MethodGet, "/_fleetsim/v1/modems/"+a[1]
	case kind == "modem" && len(a) == 3 && a[0] == "move":
		path = "/_fleetsim/v1/modems/" + a[1]
		form.Set("Location", a[2])
	case kind == "modem" && len(a) == 3 && a[0] == "signal":
		path = "/_fleetsim/v1/modems/" + a[1]
		form.Set("Signal", a[2])
	case kind == "modem" && len(a) == 2 && a[0] == "power-cycle":
		path = "/_fleetsim/v1/modems/" + a[1]
		form.Set("PowerCycle", "true")
	case kind == "modem" && len(a) == 4 && a[0] == "data":
		path = "/_fleetsim/v1/modems/" + a[1]
		form.Set("DataUp", a[2])
		form.Set("DataDown", a[3])
	case kind == "network" && len(a) == 2 && (a[0] == "down" || a[0] == "up"):
		path = "/_fleetsim/v1/networks/" + a[1]
		form.Set("Down", fmt.Sprint(a[0] == "down"))
	default:
		fmt.Fprint(stderr, controlUsage)
		return 2
	}
	body, err := c.do(ctx, method, path, form)
	if err != nil {
		fmt.Fprintf(stderr, "fleetsim %s: %v\n", kind, err)
		return 1
	}
	if *asJSON || !(kind == "modem" && a[0] == "list") {
		_, _ = stdout.Write(body)
		return 0
	}
	var list struct {
		Modems []struct {
			Index int    `json:"index"`
			PTY   string `json:"pty"`
			Ports []struct {
				Name string `json:"name"`
				PTY  string `json:"pty"`
			} `json:"ports"`
			Profile      string `json:"profile"`
			ICCID        string `json:"iccid"`
			Location     string `json:"location"`
			Signal       int    `json:"signal"`
			Registration string `json:"registration_name"`
			PLMN         string `json:"plmn"`
			Cause        int    `json:"reject_cause"`
			Data         bool   `json:"data_active"`
		} `json:"modems"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		fmt.Fprintf(stderr, "fleetsim modem: unexpected answer: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEM\tFAMILY\tPTY\tOTHER PORTS\tICCID\tLOCATION\tCSQ\tREGISTRATION\tPLMN\tCAUSE\tDATA")
	for _, m := range list.Modems {
		cause := ""
		if m.Cause != 0 {
			cause = fmt.Sprint("#", m.Cause)
		}
		var others []string
		for _, p := range m.Ports {
			if p.PTY != m.PTY {
				others = append(others, p.Name+"="+p.PTY)
			}
		}
		if len(others) == 0 {
			others = []string{"-"}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%v\n", m.Index, m.Profile, m.PTY, strings.Join(others, ","), m.ICCID, m.Location, m.Signal, m.Registration, m.PLMN, cause, m.Data)
	}
	tw.Flush()
	return 0
}

type client struct {
	base, sid, token string
}

func (c *client) do(ctx context.Context, method, path string, form url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(c.sid, c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s (%d, HTTP %d)", e.Message, e.Code, resp.StatusCode)
		}
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	return b, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
