// Package apiclient is the scenario runner's client of the Super SIM REST
// API, as a team's backend would use it: in process to the embedded
// simulator's handler (an http.RoundTripper, InProcess, that also carries
// the control plane's callbacks), or over HTTP to `fleetsim serve` or the
// real API. It follows list pages, finds a NAP or Fleet by unique name to
// reuse it, makes subaccount clients, and counts the requests.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client makes the scenario's control-plane requests through the REST
// API, as a team's backend would: to the embedded simulator's handler in
// process, or to a server over HTTP.
type Client struct {
	Handler   http.Handler // in process, when set
	base      string       // e.g. http://127.0.0.1:8080, or a placeholder in process
	http      *http.Client
	SID, Auth string
	Requests  int64
	parent    *Client // counts the requests of another account's client
}

// NewRemote returns a client of the API at base over HTTP.
func NewRemote(base, sid, auth string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: time.Minute}, SID: sid, Auth: auth}
}

// NewEmbedded returns a client of the API h serves, in process.
func NewEmbedded(h http.Handler, sid, auth string) *Client {
	return &Client{Handler: h, base: "http://fleetsim.local", SID: sid, Auth: auth}
}

// Account returns a client for another account (a subaccount) on the
// same API, whose requests c counts too.
func (c *Client) Account(sid, auth string) *Client {
	a := *c
	a.SID, a.Auth, a.Requests, a.parent = sid, auth, 0, c
	return &a
}

// Error is a request the API refused.
type Error struct {
	Method, Path string
	Status       int
	Code         int    `json:"code"`
	Message      string `json:"message"`
}

func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s %s: %d %s (code %d)", e.Method, e.Path, e.Status, e.Message, e.Code)
	}
	return fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.Status)
}

// Call makes a request and decodes a JSON answer into out (if not nil). A
// status outside 2xx is an *Error.
func (c *Client) Call(ctx context.Context, method, path string, params url.Values, out any) (int, error) {
	status, body, err := c.Do(ctx, method, path, params)
	if err != nil {
		return 0, err
	}
	if status < 200 || status > 299 {
		e := &Error{Method: method, Path: path, Status: status}
		_ = json.Unmarshal(body, e)
		return status, e
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return status, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return status, nil
}

// Do makes a request and returns its status and body, whatever the status.
func (c *Client) Do(ctx context.Context, method, path string, params url.Values) (int, []byte, error) {
	if c.parent != nil {
		c.parent.Requests++
	} else {
		c.Requests++
	}
	target := c.base + path
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(c.SID, c.Auth)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	if c.Handler != nil {
		w := &recorder{header: make(http.Header), status: http.StatusOK}
		c.Handler.ServeHTTP(w, req)
		return w.status, w.body.Bytes(), nil
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, b, err
}

// recorder is the response side of an in-process request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// PageSize is the page size ListAll asks for.
const PageSize = 1000

// Pages is how many requests ListAll makes for a list of n items: a page
// says whether an item follows it, so n = 0 takes one and n = PageSize too.
func Pages(n int) int {
	return max(1, (n+PageSize-1)/PageSize)
}

// ListAll follows a list's pages and calls fn with each page's items, the
// JSON array under key.
func (c *Client) ListAll(ctx context.Context, path string, params url.Values, key string, fn func(json.RawMessage) error) error {
	if params == nil {
		params = url.Values{}
	}
	params.Set("PageSize", strconv.Itoa(PageSize))
	next := path + "?" + params.Encode()
	for next != "" {
		var page map[string]json.RawMessage
		if _, err := c.Call(ctx, http.MethodGet, next, nil, &page); err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[key], &items); err != nil {
			return fmt.Errorf("GET %s: no %q list in the answer", path, key)
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		var meta struct {
			Next string `json:"next_page_url"`
		}
		_ = json.Unmarshal(page["meta"], &meta)
		next = ""
		if meta.Next != "" {
			u, err := url.Parse(meta.Next)
			if err != nil {
				return err
			}
			next = u.RequestURI()
		}
	}
	return nil
}

// A scenario's NAPs and Fleets are found by unique name in an account that
// outlives the run (--api): a second run against the same account reuses
// them, made to hold what the scenario states, rather than failing to
// create them again (20409). The embedded control plane starts empty, so
// it is not asked.

// Lookup returns the SID of the resource at path+name, or "" if there is
// none.
func (c *Client) lookup(ctx context.Context, path, name string) (string, error) {
	var out struct{ Sid string }
	status, err := c.Call(ctx, http.MethodGet, path+url.PathEscape(name), nil, &out)
	if status == http.StatusNotFound {
		return "", nil
	}
	return out.Sid, err
}

// ReuseNAP returns the SID of the account's NAP of this unique name, after
// adding the networks it lacks of sids; "" if there is none.
func (c *Client) ReuseNAP(ctx context.Context, name string, sids []string) (string, error) {
	if c.Handler != nil {
		return "", nil
	}
	sid, err := c.lookup(ctx, "/v1/NetworkAccessProfiles/", name)
	if sid == "" || err != nil {
		return "", err
	}
	path := "/v1/NetworkAccessProfiles/" + sid + "/Networks"
	has := map[string]bool{}
	err = c.ListAll(ctx, path, nil, "networks", func(m json.RawMessage) error {
		var n struct{ Sid string }
		err := json.Unmarshal(m, &n)
		has[n.Sid] = true
		return err
	})
	if err != nil {
		return "", err
	}
	for _, nw := range sids {
		if !has[nw] {
			if _, err := c.Call(ctx, http.MethodPost, path, url.Values{"Network": {nw}}, nil); err != nil {
				return "", err
			}
		}
	}
	return sid, nil
}

// ReuseFleet returns the SID of the account's Fleet of this unique name,
// after giving it the NAP and data limit of p (its other settings are
// fixed at creation); "" if there is none.
func (c *Client) ReuseFleet(ctx context.Context, name string, p url.Values) (string, error) {
	if c.Handler != nil {
		return "", nil
	}
	sid, err := c.lookup(ctx, "/v1/Fleets/", name)
	if sid == "" || err != nil {
		return "", err
	}
	up := url.Values{"NetworkAccessProfile": p["NetworkAccessProfile"]}
	for _, k := range []string{"DataLimit", "SmsCommandsUrl", "SmsCommandsMethod", "IpCommandsUrl", "IpCommandsMethod"} {
		if v := p.Get(k); v != "" {
			up.Set(k, v)
		}
	}
	_, err = c.Call(ctx, http.MethodPost, "/v1/Fleets/"+sid, up, nil)
	return sid, err
}

// ListSids lists the Sim SIDs an account sees with a status.
func (c *Client) ListSids(ctx context.Context, status string, fn func(sid string)) error {
	return c.ListAll(ctx, "/v1/Sims", url.Values{"Status": {status}}, "sims", func(raw json.RawMessage) error {
		var s struct{ Sid string }
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		fn(s.Sid)
		return nil
	})
}

// InProcess is an http.RoundTripper that serves requests with a handler,
// in the caller's goroutine.
type InProcess struct{ Handler http.Handler }

func (t InProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	w := &recorder{header: make(http.Header), status: http.StatusOK}
	t.Handler.ServeHTTP(w, req)
	return &http.Response{
		Status: http.StatusText(w.status), StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(bytes.NewReader(w.body.Bytes())), ContentLength: int64(w.body.Len()),
		Request: req,
	}, nil
}
