package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specFile is Twilio's reference OpenAPI description of the Super SIM API,
// vendored unchanged (see testdata/openapi/README.md).
const specFile = "testdata/openapi/twilio_supersim_v1.json"

// twilioErrorDocs is where the more_info of Twilio's error body points.
const twilioErrorDocs = "https://www.twilio.com/docs/errors/"

// openAPISpec is the loaded reference description.
type openAPISpec struct {
	doc    *openapi3.T
	router routers.Router
	// server is the scheme and host of the description's servers entry
	// (https://supersim.twilio.com): requests to the loopback test server are
	// looked up in the router as if they had been sent there.
	server *url.URL
	// ops maps every operationId to "METHOD /path".
	ops map[string]string
	// opts are the validation options of every response.
	opts *openapi3filter.Options
}

// loadSpec loads and validates the description once per test binary.
var loadSpec = sync.OnceValues(func() (*openAPISpec, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromFile(specFile)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", specFile, err)
	}
	// The description's response examples are checked by checkExamples,
	// which knows its one defect; doc.Validate would reject the whole
	// document for it.
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("validating %s: %w", specFile, err)
	}
	if err := checkExamples(doc); err != nil {
		return nil, fmt.Errorf("validating the examples of %s: %w", specFile, err)
	}
	servers := map[string]bool{}
	for _, s := range doc.Servers {
		servers[s.URL] = true
	}
	ops := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for _, s := range item.Servers {
			servers[s.URL] = true
		}
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("%s %s has no operationId", method, path)
			}
			if prev, dup := ops[op.OperationID]; dup {
				return nil, fmt.Errorf("operationId %s is used by %s and %s %s", op.OperationID, prev, method, path)
			}
			ops[op.OperationID] = method + " " + path
		}
	}
	// The router matches scheme and host too, so the rewriting in findRoute
	// needs exactly one server, without variables.
	if len(servers) != 1 {
		return nil, fmt.Errorf("want exactly one server URL in %s, have %v", specFile, servers)
	}
	var server *url.URL
	for s := range servers {
		if server, err = url.Parse(s); err != nil || server.Scheme == "" || server.Host == "" || strings.Trim(server.Path, "/") != "" {
			return nil, fmt.Errorf("server URL %q of %s is not a bare scheme://host", s, specFile)
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("routing %s: %w", specFile, err)
	}
	return &openAPISpec{
		doc: doc, router: router, server: server, ops: ops,
		opts: &openapi3filter.Options{
			// A status the operation does not document is a failure, not a pass.
			IncludeResponseStatus: true,
			MultiError:            true,
			// Per-validation format checkers; the package globals of
			// openapi3 stay untouched for other tests.
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				openapi3.WithStringFormatValidators(specFormats()),
			},
		},
	}, nil
})

// checkExamples validates every response example of the description
// against its schema, as doc.Validate does, except for the description's one
// known defect: the UsageRecords examples give data_total_billed as a decimal
// string ("0.03") while the schema says type number. The schema is what the
// wire format is checked against, so the simulator sends a JSON number; a
// string there is tolerated in examples only (Twilio's own helper libraries
// accept both: twilio-go decodes the field with client.UnmarshalFloat32).
// Any other example that does not match its schema fails the load.
func checkExamples(doc *openapi3.T) error {
	var problems []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				if ref == nil || ref.Value == nil {
					continue
				}
				for ct, mt := range ref.Value.Content {
					if mt.Schema == nil || mt.Schema.Value == nil {
						continue
					}
					for name, ex := range mt.Examples {
						if ex == nil || ex.Value == nil {
							continue
						}
						err := mt.Schema.Value.VisitJSON(ex.Value.Value, openapi3.MultiErrors(), openapi3.VisitAsResponse())
						for _, e := range flattenSchemaErrors(err) {
							var se *openapi3.SchemaError
							if errors.As(e, &se) && knownExampleDefect(se) {
								continue
							}
							problems = append(problems, fmt.Sprintf("%s %s %s %s example %s: %v", method, path, code, ct, name, e))
						}
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// knownExampleDefect reports whether se is a decimal string given for
// data_total_billed (see checkExamples).
func knownExampleDefect(se *openapi3.SchemaError) bool {
	ptr := se.JSONPointer()
	if len(ptr) == 0 || ptr[len(ptr)-1] != "data_total_billed" {
		return false
	}
	str, ok := se.Value.(string)
	if !ok {
		return false
	}
	_, err := strconv.ParseFloat(str, 64)
	return err == nil
}

func flattenSchemaErrors(err error) []error {
	if err == nil {
		return nil
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []error
		for _, e := range me {
			out = append(out, flattenSchemaErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// specFormats checks the string formats of the description. kin-openapi
// checks only date, date-time and byte by itself and silently accepts every
// other format; each format the Super SIM description uses is checked here,
// none is left out:
//
//   - uri: url, links, paging URLs, smdp_plus_address and the callback URLs.
//   - http-method: the *_commands_method fields; their enum [GET, POST]
//     already narrows the value, the format only adds that it is a method.
//   - iso-country-code: usage_record.iso_country, ISO 3166-1 alpha-2.
//   - currency: usage_record.billed_unit, ISO 4217 alphabetic code.
//   - date-time: kin-openapi's own RFC 3339 pattern, plus a real calendar
//     date (the pattern alone takes 2026-02-31).
//
// The other format of the description, uri-map, is set on objects, where
// kin-openapi ignores formats; checkShape checks it.
func specFormats() map[string]openapi3.StringFormatValidator {
	re := func(pattern string) openapi3.StringFormatValidator { return openapi3.NewRegexpFormatValidator(pattern) }
	builtinDateTime := openapi3.SchemaStringFormats["date-time"]
	return map[string]openapi3.StringFormatValidator{
		"uri":              openapi3.NewCallbackValidator(checkAbsoluteURI),
		"http-method":      re(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)$`),
		"iso-country-code": re(`^[A-Z]{2}$`),
		"currency":         re(`^[A-Z]{3}$`),
		"date-time": openapi3.NewCallbackValidator(func(s string) error {
			if builtinDateTime != nil {
				if err := builtinDateTime.Validate(s); err != nil {
					return err
				}
			}
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return fmt.Errorf("not an RFC 3339 date-time: %v", err)
			}
			return nil
		}),
	}
}

// checkAbsoluteURI accepts an absolute URI with a scheme and an authority,
// which is what every uri field of the description holds.
func checkAbsoluteURI(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("not a URI: %v", err)
	case !u.IsAbs() || u.Host == "":
		return errors.New("not an absolute URI with a host")
	case strings.ContainsAny(s, " \t\r\n"):
		return errors.New("URI contains white space")
	}
	return nil
}

// mustLoadSpec returns the description or stops the test.
func mustLoadSpec(t testing.TB) *openAPISpec {
	t.Helper()
	spec, err := loadSpec()
	if err != nil {
		t.Fatalf("OpenAPI description: %v", err)
	}
	return spec
}

// findRoute looks req up in the description as if it had been sent to the
// description's server rather than to the loopback test server.
func (s *openAPISpec) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = s.server.Scheme, s.server.Host, s.server.Host
	return s.router.FindRoute(r)
}

// validatingTransport checks every response against the reference OpenAPI
// description:
//
//   - a 2xx to a /v1/ path must be a status the matched operation documents,
//     with a body that validates against its schema (kin-openapi), that has
//     exactly the documented properties (checkShape), and no body on 204;
//   - a 4xx to a /v1/ path must carry Twilio's error JSON (checkTwilioError),
//     as the description documents no error responses;
//   - any 5xx, on any path, is a failure.
//
// Failures are reported with t.Errorf; the response reaches the caller with
// its body intact either way. Every operation answered with a 2xx is
// recorded, see exercised.
type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper

	mu  sync.Mutex
	ops map[string]int // operationId → 2xx responses seen
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the response to %s %s: %w", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	for _, p := range v.check(req, resp, raw) {
		v.t.Errorf("OpenAPI conformance: %s %s → %d: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, p)
	}
	return resp, nil
}

// exercised returns how many 2xx responses each operation gave so far.
func (v *validatingTransport) exercised() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.ops))
	for k, n := range v.ops {
		out[k] = n
	}
	return out
}

func (v *validatingTransport) record(opID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ops == nil {
		v.ops = map[string]int{}
	}
	v.ops[opID]++
}

// check returns the conformance problems of one exchange.
func (v *validatingTransport) check(req *http.Request, resp *http.Response, raw []byte) []string {
	status := resp.StatusCode
	if status >= 500 {
		return []string{fmt.Sprintf("server error, body: %s", truncate(raw))}
	}
	if !strings.HasPrefix(req.URL.Path, "/v1/") {
		return nil
	}
	switch {
	case status >= 400:
		return checkTwilioError(status, resp.Header, raw)
	case status < 200 || status >= 300:
		return []string{"the API never answers with this status"}
	}
	spec, err := loadSpec()
	if err != nil {
		return []string{err.Error()}
	}
	route, params, err := spec.findRoute(req)
	if err != nil {
		return []string{fmt.Sprintf("success for a request the description has no operation for: %v", err)}
	}
	op := route.Operation.OperationID
	v.record(op)

	var problems []string
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: spec.opts,
		},
		Status:  status,
		Header:  resp.Header,
		Body:    io.NopCloser(bytes.NewReader(raw)),
		Options: spec.opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", op, err))
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return problems // ValidateResponse reported it
	}
	mt := ref.Value.Content.Get(resp.Header.Get("Content-Type"))
	if mt == nil || mt.Schema == nil {
		// No content documented (204): there must be none.
		if len(raw) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d documents no body, got %s", op, status, truncate(raw)))
		}
		return problems
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		return problems // ValidateResponse reported it
	}
	for _, p := range checkShape(mt.Schema.Value, body, "body") {
		problems = append(problems, op+": "+p)
	}
	return problems
}

// checkShape checks what kin-openapi cannot: the description lists every
// property of every response object but marks none required and does not
// forbid others, while Twilio always sends every listed property (null when
// unset) and nothing else. So each object with listed properties must have
// exactly those. It also checks the uri-map format, which the description
// puts on objects (links): every value must be an absolute URI.
func checkShape(s *openapi3.Schema, v any, at string) []string {
	if s == nil {
		return nil
	}
	var problems []string
	switch x := v.(type) {
	case map[string]any:
		if s.Format == "uri-map" {
			for k, val := range x {
				str, ok := val.(string)
				if !ok {
					problems = append(problems, fmt.Sprintf("%s.%s: uri-map value %v is not a string", at, k, val))
				} else if err := checkAbsoluteURI(str); err != nil {
					problems = append(problems, fmt.Sprintf("%s.%s: uri-map value %q: %v", at, k, str, err))
				}
			}
		}
		if len(s.Properties) == 0 {
			break
		}
		for name := range s.Properties {
			if _, ok := x[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s: documented property %q is missing", at, name))
			}
		}
		for name, val := range x {
			p, ok := s.Properties[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: property %q is not in the description", at, name))
				continue
			}
			if p != nil {
				problems = append(problems, checkShape(p.Value, val, at+"."+name)...)
			}
		}
	case []any:
		if s.Items == nil {
			break
		}
		for i, it := range x {
			problems = append(problems, checkShape(s.Items.Value, it, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	slices.Sort(problems)
	return problems
}

// checkTwilioError checks a 4xx body is Twilio's error JSON: exactly code
// (integer), message (string), more_info (the code's page under
// https://www.twilio.com/docs/errors/) and status (the HTTP status).
func checkTwilioError(status int, h http.Header, raw []byte) []string {
	var problems []string
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err != nil || mt != "application/json" {
		problems = append(problems, fmt.Sprintf("error Content-Type is %q, want application/json", h.Get("Content-Type")))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil || body == nil {
		return append(problems, fmt.Sprintf("error body is not a JSON object (%v): %s", err, truncate(raw)))
	}
	if _, err := dec.Token(); err != io.EOF {
		problems = append(problems, fmt.Sprintf("error body has data after the object: %s", truncate(raw)))
	}
	want := []string{"code", "message", "more_info", "status"}
	for k := range body {
		if !slices.Contains(want, k) {
			problems = append(problems, fmt.Sprintf("error body has unexpected key %q", k))
		}
	}
	integer := func(key string) (int64, bool) {
		n, ok := body[key].(json.Number)
		if !ok {
			problems = append(problems, fmt.Sprintf("error %s is %#v, want an integer", key, body[key]))
			return 0, false
		}
		i, err := n.Int64()
		if err != nil {
			problems = append(problems, fmt.Sprintf("error %s is %s, want an integer", key, n))
			return 0, false
		}
		return i, true
	}
	code, codeOK := integer("code")
	if st, ok := integer("status"); ok && st != int64(status) {
		problems = append(problems, fmt.Sprintf("error status is %d, HTTP status is %d", st, status))
	}
	if msg, ok := body["message"].(string); !ok {
		problems = append(problems, fmt.Sprintf("error message is %#v, want a string", body["message"]))
	} else if strings.TrimSpace(msg) == "" {
		problems = append(problems, "error message is empty")
	}
	switch info, ok := body["more_info"].(string); {
	case !ok:
		problems = append(problems, fmt.Sprintf("error more_info is %#v, want a string", body["more_info"]))
	case !strings.HasPrefix(info, twilioErrorDocs):
		problems = append(problems, fmt.Sprintf("error more_info %q does not start with %s", info, twilioErrorDocs))
	case codeOK && info != twilioErrorDocs+strconv.FormatInt(code, 10):
		problems = append(problems, fmt.Sprintf("error more_info %q is not the page of code %d", info, code))
	}
	return problems
}

// truncate shortens a body for a failure message.
func truncate(b []byte) string {
	const n = 600
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// TestOpenAPIValidator checks the validator itself: it must reject what is
// wrong, or the conformance tests prove nothing.
func TestOpenAPIValidator(t *testing.T) {
	spec := mustLoadSpec(t)
	if len(spec.ops) != 31 {
		t.Errorf("description has %d operations, want 31", len(spec.ops))
	}
	good := map[string]any{
		"sid": "HS" + strings.Repeat("a", 32), "unique_name": nil, "account_sid": "AC" + strings.Repeat("b", 32),
		"iccid": "89883070000123456789", "status": "new", "fleet_sid": nil,
		"date_created": "2026-01-15T12:00:00Z", "date_updated": "2026-01-15T12:00:00Z",
		"url":   "http://127.0.0.1:1234/v1/Sims/HS" + strings.Repeat("a", 32),
		"links": map[string]any{"billing_periods": "http://127.0.0.1:1234/x", "sim_ip_addresses": "http://127.0.0.1:1234/y"},
	}
	with := func(k string, val any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if val == nil && k != "unique_name" && k != "fleet_sid" {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	cases := []struct {
		name   string
		status int
		body   any
		ok     bool
	}{
		{"good", 200, good, true},
		{"nulls are fine where nullable", 200, with("unique_name", nil), true},
		{"bad enum", 200, with("status", "bogus"), false},
		{"bad sid pattern", 200, with("sid", "XX"+strings.Repeat("a", 32)), false},
		{"bad date-time", 200, with("date_created", "2026-01-15 12:00:00"), false},
		{"impossible date", 200, with("date_created", "2026-02-31T12:00:00Z"), false},
		{"relative url", 200, with("url", "/v1/Sims/x"), false},
		{"links not URIs", 200, with("links", map[string]any{"billing_periods": "nope"}), false},
		{"undocumented property", 200, with("extra", 1), false},
		{"missing property", 200, with("iccid", nil), false},
		{"wrong type", 200, with("iccid", 42), false},
		{"undocumented status", 201, good, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingTB{TB: t}
			v := &validatingTransport{t: rec, base: fixedResponse(tc.status, raw)}
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1234/v1/Sims/HS"+strings.Repeat("a", 32), nil)
			resp, err := v.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, raw) {
				t.Errorf("body not restored: %s", got)
			}
			if ok := len(rec.errs) == 0; ok != tc.ok {
				t.Errorf("valid=%v, want %v; reports: %q", ok, tc.ok, rec.errs)
			}
		})
	}
	errCases := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"twilio error", 404, `{"code":20404,"message":"x","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, true},
		{"status mismatch", 404, `{"code":20404,"message":"x","more_info":"https://www.twilio.com/docs/errors/20404","status":400}`, false},
		{"extra key", 404, `{"code":20404,"message":"x","more_info":"https://www.twilio.com/docs/errors/20404","status":404,"detail":1}`, false},
		{"missing key", 404, `{"code":20404,"message":"x","status":404}`, false},
		{"code not integer", 404, `{"code":"20404","message":"x","more_info":"https://www.twilio.com/docs/errors/20404","status":404}`, false},
		{"bad more_info", 404, `{"code":20404,"message":"x","more_info":"https://example.com/20404","status":404}`, false},
		{"not JSON", 404, `not found`, false},
		{"5xx", 500, `{"code":20500,"message":"x","more_info":"https://www.twilio.com/docs/errors/20500","status":500}`, false},
		{"204 with body", 204, `{}`, false},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			v := &validatingTransport{t: rec, base: fixedResponse(tc.status, []byte(tc.body))}
			req, _ := http.NewRequest(http.MethodDelete, "http://127.0.0.1:1234/v1/NetworkAccessProfiles/HA"+strings.Repeat("a", 32)+"/Networks/HW"+strings.Repeat("b", 32), nil)
			if _, err := v.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			if ok := len(rec.errs) == 0; ok != tc.ok {
				t.Errorf("valid=%v, want %v; reports: %q", ok, tc.ok, rec.errs)
			}
		})
	}
}

// recordingTB collects Errorf reports instead of failing the test.
type recordingTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// fixedResponse is a transport that answers every request with status and body.
func fixedResponse(status int, body []byte) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		h := http.Header{}
		if len(body) > 0 {
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
