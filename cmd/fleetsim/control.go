package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// apiFlags are the flags of the commands that drive a running server.
type apiFlags struct {
	server, sid, token string
	json               bool
}

func (a *apiFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&a.server, "server", defaultServer, "`URL` of the running \"fleetsim serve\" (env FLEETSIM_URL)")
	fs.StringVar(&a.sid, "account-sid", "", "main account `SID` (env FLEETSIM_ACCOUNT_SID, TWILIO_ACCOUNT_SID)")
	fs.StringVar(&a.token, "auth-token", "", "its auth `token` (env FLEETSIM_AUTH_TOKEN, TWILIO_AUTH_TOKEN)")
	fs.BoolVar(&a.json, "json", false, "print the server's JSON answer")
}

// defaultServer is where "fleetsim serve" listens unless told otherwise.
const defaultServer = "http://127.0.0.1:8080"

// client resolves the flags against the environment: a flag wins over
// FLEETSIM_*, which wins over TWILIO_*.
func (a *apiFlags) client(c *cobra.Command, getenv func(string) string) (*client, error) {
	fs := c.Flags()
	fromEnv(fs, "server", getenv, "FLEETSIM_URL")
	sidFrom := fromEnv(fs, "account-sid", getenv, "FLEETSIM_ACCOUNT_SID", "TWILIO_ACCOUNT_SID")
	tokenFrom := fromEnv(fs, "auth-token", getenv, "FLEETSIM_AUTH_TOKEN", "TWILIO_AUTH_TOKEN")
	if a.sid == "" || a.token == "" {
		missing := "FLEETSIM_ACCOUNT_SID and FLEETSIM_AUTH_TOKEN"
		switch {
		case a.sid != "":
			missing = "FLEETSIM_AUTH_TOKEN"
		case a.token != "":
			missing = "FLEETSIM_ACCOUNT_SID"
		}
		return nil, configErr(fmt.Errorf("no credentials for %s: set %s (or the TWILIO_ ones), or pass --account-sid and --auth-token; "+
			"a local `fleetsim serve` prints its credentials at start", a.server, missing))
	}
	return &client{base: strings.TrimRight(a.server, "/"), sid: a.sid, token: a.token, credsFrom: sidFrom + "/" + tokenFrom}, nil
}

// controlCmd is one command of `fleetsim modem` or `fleetsim network`: it
// makes the request req builds from the arguments and prints the answer.
func controlCmd(use, short string, args []string, a *apiFlags, getenv func(string) string,
	req func(args []string) (method, path string, form url.Values), print func(w io.Writer, body []byte) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(args...),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client(c, getenv)
			if err != nil {
				return err
			}
			method, path, form := req(args)
			body, err := cl.do(c.Context(), method, path, form)
			if err != nil {
				return err
			}
			if a.json || print == nil {
				_, err = c.OutOrStdout().Write(body)
				return err
			}
			return print(c.OutOrStdout(), body)
		},
	}
}

func newModemCmd(getenv func(string) string) *cobra.Command {
	var a apiFlags
	cmd := &cobra.Command{
		Use:   "modem",
		Short: "Control the virtual modems of a running server",
		Long: `Controls the virtual modems of a running "fleetsim serve --modems N":
list them, move them, force their signal, power-cycle them, move data.`,
		Args: cobra.ArbitraryArgs,
		RunE: runGroup,
	}
	a.add(cmd.PersistentFlags())
	modemPath := func(i string) string { return "/_fleetsim/v1/modems/" + url.PathEscape(i) }
	post := func(i string, kv ...string) (string, string, url.Values) {
		form := url.Values{}
		for j := 0; j+1 < len(kv); j += 2 {
			form.Set(kv[j], kv[j+1])
		}
		return http.MethodPost, modemPath(i), form
	}
	cmd.AddCommand(
		controlCmd("list", "List every modem: PTY, ICCID, location, signal, registration", nil, &a, getenv,
			func([]string) (string, string, url.Values) { return http.MethodGet, "/_fleetsim/v1/modems", nil }, printModemList),
		controlCmd("show <i>", "Show one modem in full (JSON)", []string{"<i>"}, &a, getenv,
			func(a []string) (string, string, url.Values) { return http.MethodGet, modemPath(a[0]), nil }, nil),
		controlCmd("move <i> <country>", "Move a modem to another ISO country", []string{"<i>", "<country>"}, &a, getenv,
			func(a []string) (string, string, url.Values) { return post(a[0], "Location", a[1]) }, nil),
		controlCmd("signal <i> <rssi>", "Force a modem's signal, 0..31 (0 = no coverage), -1 = natural", []string{"<i>", "<rssi>"}, &a, getenv,
			func(a []string) (string, string, url.Values) { return post(a[0], "Signal", a[1]) }, nil),
		controlCmd("power-cycle <i>", "Power a modem off and on", []string{"<i>"}, &a, getenv,
			func(a []string) (string, string, url.Values) { return post(a[0], "PowerCycle", "true") }, nil),
		controlCmd("data <i> <up> <down>", "Move bytes over a modem's data session", []string{"<i>", "<up>", "<down>"}, &a, getenv,
			func(a []string) (string, string, url.Values) { return post(a[0], "DataUp", a[1], "DataDown", a[2]) }, nil),
	)
	return cmd
}

func newNetworkCmd(getenv func(string) string) *cobra.Command {
	var a apiFlags
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Start or end a coverage outage of a network",
		Long: `Starts or ends a coverage outage of a network, everywhere, on a running
"fleetsim serve --modems N": its modems lose it and select another.`,
		Args: cobra.ArbitraryArgs,
		RunE: runGroup,
	}
	a.add(cmd.PersistentFlags())
	outage := func(down bool) func([]string) (string, string, url.Values) {
		return func(a []string) (string, string, url.Values) {
			return http.MethodPost, "/_fleetsim/v1/networks/" + url.PathEscape(a[0]), url.Values{"Down": {fmt.Sprint(down)}}
		}
	}
	cmd.AddCommand(
		controlCmd("down <HW sid>", "Start a coverage outage of the network", []string{"<HW sid>"}, &a, getenv, outage(true), nil),
		controlCmd("up <HW sid>", "End the network's outage", []string{"<HW sid>"}, &a, getenv, outage(false), nil),
	)
	return cmd
}

// printModemList prints the modem list as a table.
func printModemList(w io.Writer, body []byte) error {
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
		return fmt.Errorf("unexpected answer: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
	return tw.Flush()
}

// client talks to a running "fleetsim serve".
type client struct {
	base, sid, token string
	credsFrom        string // where the credentials came from, for hints
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
		if unreachable(err) {
			return nil, unreachableHint(c.base, "--server (env FLEETSIM_URL)", err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	err = fmt.Errorf("%s (%d, HTTP %d)", e.Message, e.Code, resp.StatusCode)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: %s refused the credentials (%s); a local `fleetsim serve` prints its credentials at start", err, c.base, c.credsFrom)
	case resp.StatusCode == http.StatusNotFound && strings.HasPrefix(e.Message, "The requested resource /_fleetsim/"):
		return nil, fmt.Errorf("%w: the server at %s serves no modems; start it with `fleetsim serve --modems N`", err, c.base)
	}
	return nil, err
}

// unreachable tells whether err is a failure to reach a server at all
// (connection refused, no route, no such host, dial timeout).
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unreachableHint explains a server that cannot be reached.
func unreachableHint(server, flag string, err error) error {
	cause := err
	var op *net.OpError
	if errors.As(err, &op) {
		cause = op.Err
	}
	start := "fleetsim serve --modems 4"
	if u, err := url.Parse(server); err == nil && u.Host != "" && "http://"+u.Host != defaultServer {
		start = "fleetsim serve --listen " + u.Host + " --modems 4"
	}
	return fmt.Errorf("cannot reach %s (%w): is `fleetsim serve` running there? "+
		"Start one with `%s`, or point %s at it", server, cause, start, flag)
}
