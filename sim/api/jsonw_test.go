package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fleetsim/fleetsim/sim"
)

// encodeJSON is what writeJSON wrote before the appenders: encoding/json
// with HTML characters unescaped, without the newline.
func encodeJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// refSimJSON is the reflection-encoded shape of a Sim that simJSON
// replaces, field for field.
type refSimJSON struct {
	Sid         string            `json:"sid"`
	UniqueName  *string           `json:"unique_name"`
	AccountSid  string            `json:"account_sid"`
	ICCID       string            `json:"iccid"`
	Status      string            `json:"status"`
	FleetSid    *string           `json:"fleet_sid"`
	DateCreated *string           `json:"date_created"`
	DateUpdated *string           `json:"date_updated"`
	URL         string            `json:"url"`
	Links       map[string]string `json:"links"`
}

func refSim(base string, s *sim.Sim) refSimJSON {
	u := base + "/v1/Sims/" + s.Sid
	return refSimJSON{
		Sid: s.Sid, UniqueName: null(s.UniqueName), AccountSid: s.AccountSid, ICCID: s.ICCID,
		Status: s.APIStatus().String(), FleetSid: null(s.FleetSid),
		DateCreated: date(s.DateCreated), DateUpdated: date(s.DateUpdated), URL: u,
		Links: map[string]string{"billing_periods": u + "/BillingPeriods", "sim_ip_addresses": u + "/IpAddresses"},
	}
}

// strangeStrings are strings whose JSON needs every kind of escape.
var strangeStrings = []string{
	"", "dev-1", `quote " backslash \ slash /`, "<tag>&amp;", "tab\tnewline\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é日本\U0001F600", "\u2028\u2029", "bad \xff\xfe utf-8 \xe6\x97", "\xed\xa0\x80",
}

func TestAppendMatchesJSON(t *testing.T) {
	for _, s := range strangeStrings {
		if got, want := appendString(nil, s), encodeJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
	}
	times := []time.Time{{}, time.Date(2024, 2, 29, 23, 59, 59, 999, time.FixedZone("x", 3600)), time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 12, 31, 1, 2, 3, 0, time.UTC), time.Date(7, 1, 9, 10, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.FixedZone("y", -7200))}
	for _, name := range strangeStrings {
		for _, tm := range times {
			for _, pending := range []bool{false, true} {
				s := &sim.Sim{Sid: "HS" + name, UniqueName: name, AccountSid: "AC1", ICCID: "89" + name, Status: sim.StatusActive,
					FleetSid: name, DateCreated: tm, DateUpdated: tm}
				if pending {
					s.Pending = &sim.SimUpdate{}
				}
				for _, base := range []string{"http://127.0.0.1:80", "https://example.com"} {
					got := (&simJSON{base: base, s: s}).appendJSON(nil)
					if want := encodeJSON(t, refSim(base, s)); !bytes.Equal(got, want) {
						t.Errorf("Sim %q:\n got %s\nwant %s", name, got, want)
					}
					// Through encoding/json too (a Sim inside another body).
					if got, want := encodeJSON(t, []any{&simJSON{base: base, s: s}}), encodeJSON(t, []any{refSim(base, s)}); !bytes.Equal(got, want) {
						t.Errorf("Sim %q in encoding/json:\n got %s\nwant %s", name, got, want)
					}
				}
			}
		}
	}
}

// TestPageMatchesJSON holds the appended page envelope to the map encoding
// it replaces, for keys on either side of "meta" and items that do not
// append themselves.
func TestPageMatchesJSON(t *testing.T) {
	next, prev := "http://h/v1/X?PageSize=2&Page=2&PageToken=PA7", `http://h/v1/X?A="<&>"&PageSize=2&Page=0`
	metas := []meta{
		{FirstPageURL: "http://h/v1/X?PageSize=2&Page=0", Key: "sims", Page: 1, PageSize: 2, URL: "http://h/v1/X?PageSize=2&Page=1"},
		{FirstPageURL: "f", Key: "fleets", NextPageURL: &next, PreviousPageURL: &prev, Page: 1 << 40, PageSize: 1000, URL: "u\u2028"},
	}
	for _, m := range metas {
		for _, key := range []string{"sims", "fleets", "billing_periods", "usage_records"} {
			for _, items := range [][]int{nil, {1}, {1, 2, 3}} {
				render := func(i int) any { return map[string]any{"n": i, "s": strangeStrings[i]} }
				got := pageJSON[int]{key: key, items: items, render: render, meta: &m}.appendJSON(nil)
				out := make([]any, 0, len(items))
				for _, it := range items {
					out = append(out, render(it))
				}
				if want := encodeJSON(t, map[string]any{key: out, "meta": m}); !bytes.Equal(got, want) {
					t.Errorf("page %s:\n got %s\nwant %s", key, got, want)
				}
			}
		}
	}
}

// TestWriteJSONBody checks the framing: the body, a newline, its length.
func TestWriteJSONBody(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, 201, map[string]string{"a": "<b>"})
	if rec.Code != 201 || rec.Body.String() != "{\"a\":\"<b>\"}\n" || rec.Header().Get("Content-Length") != "12" ||
		rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("writeJSON wrote %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range strangeStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendString(nil, s), encodeJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}
