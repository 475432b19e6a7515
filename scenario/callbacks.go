package scenario

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fleetsim/fleetsim/scenario/spec"
)

// Callbacks
//
// A run owns a receiver for the control plane's callbacks: the Sim update's
// (CallbackUrl), SMS and IP Command status callbacks, and a Fleet's
// sms_commands_url and ip_commands_url. Each kind has its URL, the
// receiver's base followed by the kind, which the scenario gives the control
// plane (callbacks: true on a Fleet, callback: receiver on a SIM change,
// {callback:KIND} in api events).
//
// On virtual time the embedded control plane delivers them inline on the
// run's clock through an in-process transport (sim.WithWebhookTransport),
// signed as over the network, so they arrive at virtual instants and replay
// identically. In real time (--exec, --hw) the receiver is a real HTTP
// server on loopback.

// virtualHooksBase is the receiver's base URL on virtual time; nothing
// resolves it: the in-process transport answers for it.
const virtualHooksBase = "http://callbacks.fleetsim.local/hooks"

// received is one callback the receiver got.
type received struct {
	kind   string
	at     time.Duration // since the start
	params url.Values
	signed bool // its X-Twilio-Signature is valid
}

// receiver records callbacks. It is an http.Handler.
type receiver struct {
	base    string
	elapsed func() time.Duration
	token   func(accountSid string) string // "" when unknown

	mu  sync.Mutex
	got []received

	srv  *http.Server // real time only
	done chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	kind := path.Base(req.URL.Path)
	if !slices.Contains(spec.CallbackKinds, kind) {
		http.NotFound(w, req)
		return
	}
	target := "http://" + req.Host + req.URL.RequestURI()
	var params, signed url.Values
	if req.Method == http.MethodPost {
		if err := req.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		params, signed = req.PostForm, req.PostForm
	} else {
		params = req.URL.Query()
	}
	ok := validSignature(rc.token(params.Get("AccountSid")), target, signed, req.Header.Get("X-Twilio-Signature"))
	rc.mu.Lock()
	rc.got = append(rc.got, received{kind: kind, at: rc.elapsed(), params: params, signed: ok})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// of returns the callbacks of a kind received so far, in arrival order.
func (rc *receiver) of(kind string) []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []received
	for _, c := range rc.got {
		if c.kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// url is where callbacks of kind go.
func (rc *receiver) url(kind string) string { return rc.base + "/" + kind }

// listen serves the receiver on a loopback port.
func (rc *receiver) listen() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("callback receiver: %w", err)
	}
	rc.base = "http://" + ln.Addr().String() + "/hooks"
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	rc.done = make(chan struct{})
	go func() {
		defer close(rc.done)
		_ = rc.srv.Serve(ln)
	}()
	return nil
}

// close stops the loopback server, if any, and waits for it.
func (rc *receiver) close() {
	if rc.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = rc.srv.Shutdown(ctx)
	_ = rc.srv.Close()
	<-rc.done
	rc.srv = nil
}

// validSignature checks an X-Twilio-Signature as Twilio's request
// validators do: base64 HMAC-SHA1 keyed with the auth token of the URL,
// followed, for a POST, by each parameter name and value in sorted order;
// the URL is tried as given and with its default port added or removed.
func validSignature(token, target string, post url.Values, got string) bool {
	if token == "" || got == "" {
		return false
	}
	want := []string{target}
	if u, err := url.Parse(target); err == nil {
		port := map[string]string{"http": "80", "https": "443"}[u.Scheme]
		if u.Port() == "" && port != "" {
			v := *u
			v.Host = net.JoinHostPort(u.Hostname(), port)
			want = append(want, v.String())
		} else if u.Port() == port {
			v := *u
			v.Host = u.Hostname()
			want = append(want, v.String())
		}
	}
	for _, t := range want {
		var b strings.Builder
		b.WriteString(t)
		keys := make([]string, 0, len(post))
		for k := range post {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vs := slices.Clone(post[k])
			sort.Strings(vs)
			for i, v := range vs {
				if i > 0 && vs[i-1] == v {
					continue
				}
				b.WriteString(k)
				b.WriteString(v)
			}
		}
		mac := hmac.New(sha1.New, []byte(token))
		mac.Write([]byte(b.String()))
		if hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(got)) {
			return true
		}
	}
	return false
}

// newReceiver makes the run's receiver: on loopback in real time, else
// in process (the base URL resolves to nothing).
func (r *runner) newReceiver(real bool) error {
	r.hooks = &receiver{base: virtualHooksBase, elapsed: r.Elapsed, token: r.authToken}
	if real {
		return r.hooks.listen()
	}
	return nil
}

// checkCallbacks observes a callbacks expectation: what was seen and
// whether it holds, and the count.
func (r *runner) checkCallbacks(e *spec.Expectation) (text string, ok bool, count int, err error) {
	c := e.Callbacks
	if r.hooks == nil {
		return "", false, 0, errors.New("no callback receiver")
	}
	where := make(map[string]string, len(c.Where))
	for k, v := range c.Where {
		if where[k], err = r.expand(v); err != nil {
			return "", false, 0, err
		}
	}
	in := r.simsOf(e.Group)
	var got []received
	for _, cb := range r.hooks.of(c.Kind) {
		if e.Group != "" && !in.has(cb.params.Get("SimSid")) {
			continue
		}
		match := true
		for k, v := range where {
			match = match && cb.params.Get(k) == v
		}
		if match {
			got = append(got, cb)
		}
	}
	n := len(got)
	ok = true
	parts := []string{fmt.Sprintf("%s callbacks %d", c.Kind, n)}
	if c.Count.Set() {
		ok = c.Count.Holds(float64(n), 0)
	}
	for _, p := range c.Params {
		want := p.In
		if p.Equals != nil {
			v, err := r.expand(*p.Equals)
			if err != nil {
				return "", false, 0, err
			}
			want = []string{v}
		}
		k := 0
		var bad string
		for _, cb := range got {
			if slices.Contains(want, cb.params.Get(p.Name)) {
				k++
			} else if bad == "" {
				bad = fmt.Sprintf(" (one has %q)", cb.params.Get(p.Name))
			}
		}
		parts = append(parts, fmt.Sprintf("%s ok %d/%d%s", p.Name, k, n, bad))
		ok = ok && k == n
	}
	if c.Signed {
		k := 0
		for _, cb := range got {
			if cb.signed {
				k++
			}
		}
		parts = append(parts, fmt.Sprintf("signed %d/%d", k, n))
		ok = ok && k == n
	}
	if o := c.Order; o != nil {
		k, groups := inOrder(got, o)
		parts = append(parts, fmt.Sprintf("in order %d/%d by %s", k, groups, o.By))
		ok = ok && k == groups
	}
	return strings.Join(parts, "; "), ok, n, nil
}

// inOrder counts the groups of callbacks (by o.By) whose o.Param values
// are exactly o.Values in that order, and the groups.
func inOrder(got []received, o *spec.OrderCheck) (good, groups int) {
	seq := map[string][]string{}
	var keys []string
	for _, cb := range got {
		k := cb.params.Get(o.By)
		if _, seen := seq[k]; !seen {
			keys = append(keys, k)
		}
		seq[k] = append(seq[k], cb.params.Get(o.Param))
	}
	for _, k := range keys {
		if slices.Equal(seq[k], o.Values) {
			good++
		}
	}
	return good, len(keys)
}

// describeCallbacks writes a callbacks check, e.g. "sim_update callbacks == 10, signed".
func describeCallbacks(c *spec.CallbackCheck) string {
	s := c.Kind + " callbacks"
	if len(c.Where) > 0 {
		keys := make([]string, 0, len(c.Where))
		for k := range c.Where {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var w []string
		for _, k := range keys {
			w = append(w, k+"="+c.Where[k])
		}
		s += " where " + strings.Join(w, ",")
	}
	if c.Count.Set() {
		s += " " + c.Count.Text
	}
	for _, p := range c.Params {
		if p.Equals != nil {
			s += fmt.Sprintf(", %s == %q", p.Name, *p.Equals)
		} else {
			s += fmt.Sprintf(", %s in [%s]", p.Name, strings.Join(p.In, " "))
		}
	}
	if c.Signed {
		s += ", signed"
	}
	if o := c.Order; o != nil {
		s += fmt.Sprintf(", %s %s per %s", o.Param, strings.Join(o.Values, " then "), o.By)
	}
	return s
}

// receiverUnreachable refuses a run whose control plane is not on this
// machine (--api to a host other than loopback) while the scenario points
// it at the receiver: the receiver listens on loopback, where such a
// control plane cannot call it (the real Super SIM API refuses private and
// loopback URLs outright), so every callback it makes would be lost and
// every callbacks expectation would fail for want of them. Each place that
// points the control plane at the receiver is named by file:line.
func receiverUnreachable(s *spec.Scenario, api string) error {
	u, err := url.Parse(api)
	if err != nil || isLoopback(u.Hostname()) {
		return nil
	}
	var l spec.ErrorList
	at := func(p spec.Pos, path string) {
		l = append(l, &spec.Error{File: s.File, Line: p.Line, Column: p.Column, Path: path,
			Msg: fmt.Sprintf("the callback receiver is on loopback, where the control plane at %s cannot reach it", u.Host)})
	}
	for i, f := range s.Control.Fleets {
		if f.Callbacks {
			at(f.Pos.At("callbacks"), fmt.Sprintf("control.fleets[%d].callbacks", i))
		}
	}
	for i, e := range s.Timeline {
		if e.SIMs != nil && e.SIMs.Callback != "" {
			at(e.SIMs.Pos.At("callback"), fmt.Sprintf("timeline[%d].sims.callback", i))
		}
		if c := e.API; c != nil {
			uses := strings.Contains(c.Path, "{callback:")
			for _, v := range c.Params {
				uses = uses || strings.Contains(v, "{callback:")
			}
			if uses {
				at(c.Pos, fmt.Sprintf("timeline[%d].api", i))
			}
		}
	}
	if len(l) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUsage, l)
}

// isLoopback reports whether host names this machine: localhost or a
// loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
