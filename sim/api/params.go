package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// params reads Twilio-style parameters, keeping the first problem found.
// Parameters the operation does not know are ignored, as Twilio ignores them.
type params struct {
	v   url.Values
	err error
}

func formOf(r *http.Request) *params {
	if r.Method == http.MethodPost {
		return &params{v: r.Form}
	}
	return &params{v: r.URL.Query()}
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &sim.Error{Code: sim.CodeInvalidParameter, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
	}
}

// get returns a parameter's value, "" when absent.
func (p *params) get(name string) string { return p.v.Get(name) }

// opt returns a parameter's value, nil when absent.
func (p *params) opt(name string) *string {
	if !p.v.Has(name) {
		return nil
	}
	v := p.v.Get(name)
	return &v
}

func (p *params) optBool(name string) *bool {
	s := p.opt(name)
	if s == nil {
		return nil
	}
	switch strings.ToLower(*s) {
	case "true":
		b := true
		return &b
	case "false":
		b := false
		return &b
	}
	p.fail("%s must be true or false", name)
	return nil
}

func (p *params) optInt(name string) *int {
	s := p.opt(name)
	if s == nil {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(*s))
	if err != nil {
		p.fail("%s must be an integer", name)
		return nil
	}
	return &n
}

func (p *params) optTime(name string) *time.Time {
	s := p.opt(name)
	if s == nil {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, *s); err == nil {
			return &t
		}
	}
	p.fail("%s must be an ISO 8601 date-time, e.g. 2021-01-01T00:00:00Z", name)
	return nil
}
