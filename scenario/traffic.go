package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetsim/fleetsim/scenario/apiclient"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

// This file holds download traffic, usage by direction, the spread of a
// new data limit over the SIMs and the api expectation's checks.

// usageByDirection reads each device's SIM's upload, download and total
// data use in bytes from UsageRecords, over the run so far, by device.
func (r *runner) usageByDirection(api *apiclient.Client) ([][3]float64, error) {
	used := make([][3]float64, r.sids.len())
	start := r.s.Start.Time.Truncate(time.Hour)
	end := r.Clock.Now().Truncate(time.Hour).Add(time.Hour)
	for from := start; from.Before(end); from = from.Add(30 * 24 * time.Hour) {
		to := from.Add(30 * 24 * time.Hour)
		if to.After(end) {
			to = end
		}
		p := url.Values{"Group": {"sim"}, "Granularity": {"all"}, "StartTime": {from.Format(time.RFC3339)}, "EndTime": {to.Format(time.RFC3339)}}
		r.listStart()
		err := api.ListAll(r.Ctx, "/v1/UsageRecords", p, "usage_records", func(raw json.RawMessage) error {
			var u struct {
				SimSid       string  `json:"sim_sid"`
				DataTotal    float64 `json:"data_total"`
				DataUpload   float64 `json:"data_upload"`
				DataDownload float64 `json:"data_download"`
			}
			if err := json.Unmarshal(raw, &u); err != nil {
				return err
			}
			r.listItem(u.SimSid)
			if i := r.deviceOf(u.SimSid); i >= 0 {
				v := &used[i]
				v[spec.DirTotal] += u.DataTotal
				v[spec.DirUpload] += u.DataUpload
				v[spec.DirDownload] += u.DataDownload
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return used, nil
}

// usageIn counts the group's SIMs whose use in direction dir satisfies c,
// with the smallest and largest use in MB.
// any is false when the group has no SIM (in the shard).
func (r *runner) usageIn(used [][3]float64, groupName string, dir spec.Direction, c spec.Condition) (lo, hi float64, good int, any bool) {
	lo = math.Inf(1)
	r.simsOf(groupName).each(func(i int) {
		mb := used[i][dir] / sim.MB
		lo, hi = min(lo, mb), max(hi, mb)
		if c.Holds(mb, 0) {
			good++
		}
		any = true
	})
	if !any {
		lo = 0
	}
	return lo, hi, good, any
}

// apiOutcome checks an api expectation: it GETs the path and compares the
// status and the field. It returns the text for the report and whether
// the check holds.
func (r *runner) apiOutcome(api *apiclient.Client, a *spec.APICheck) (string, bool, error) {
	path, err := r.expand(a.Path)
	if err != nil {
		return "", false, err
	}
	status, body, err := api.Do(r.Ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", false, err
	}
	var parts []string
	ok := true
	if a.Status != 0 || status < 200 || status > 299 {
		parts = append(parts, "HTTP "+strconv.Itoa(status))
		ok = status == a.Status || (a.Status == 0 && status >= 200 && status <= 299)
	}
	if a.Field == "" {
		return strings.Join(parts, "; "), ok, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "", false, fmt.Errorf("GET %s: %w", path, err)
	}
	vals := fieldValues(v, strings.Split(a.Field, "."))
	if a.Absent {
		parts = append(parts, fmt.Sprintf("%s present %d times", a.Field, len(vals)))
		return strings.Join(parts, "; "), ok && len(vals) == 0, nil
	}
	if len(vals) == 0 {
		return "", false, fmt.Errorf("GET %s: no field %q", path, a.Field)
	}
	want, err := r.expand(a.Equals)
	if err != nil {
		want = a.Equals
	}
	for _, x := range vals {
		switch {
		case a.Number.Set():
			f, err := strconv.ParseFloat(x, 64)
			ok = ok && err == nil && a.Number.Holds(f, 0)
		case a.In != nil:
			ok = ok && slices.Contains(a.In, x)
		default:
			ok = ok && x == want
		}
	}
	if len(vals) == 1 {
		parts = append(parts, fmt.Sprintf("%s = %q", a.Field, vals[0]))
	} else {
		parts = append(parts, fmt.Sprintf("%s = %s", a.Field, summarize(vals)))
	}
	return strings.Join(parts, "; "), ok, nil
}

// fieldValues follows a dotted path into v, "*" standing for every element
// of a list, and returns the values present as text (null is present, a
// missing key adds none).
func fieldValues(v any, keys []string) (vals []string) {
	if len(keys) == 0 {
		return []string{apiText(v)}
	}
	k, rest := keys[0], keys[1:]
	switch x := v.(type) {
	case map[string]any:
		if y, ok := x[k]; ok {
			return fieldValues(y, rest)
		}
	case []any:
		if k == "*" {
			for _, y := range x {
				vals = append(vals, fieldValues(y, rest)...)
			}
			return vals
		}
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(x) {
			return fieldValues(x[i], rest)
		}
	}
	return nil
}

func apiText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// summarize lists distinct values with their counts, in first-seen order.
func summarize(vals []string) string {
	var order []string
	n := map[string]int{}
	for _, v := range vals {
		if n[v] == 0 {
			order = append(order, v)
		}
		n[v]++
	}
	parts := make([]string, len(order))
	for i, v := range order {
		parts[i] = fmt.Sprintf("%q×%d", v, n[v])
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// apiCheckText describes an api check for the report.
func apiCheckText(a *spec.APICheck) string {
	s := "GET " + a.Path
	if a.Status != 0 {
		s += " status " + strconv.Itoa(a.Status)
	}
	switch {
	case a.Field == "":
	case a.Absent:
		s += " " + a.Field + " absent"
	case a.Number.Set():
		s += " " + a.Field + " " + a.Number.Text
	case a.In != nil:
		s += " " + a.Field + " in [" + strings.Join(a.In, ", ") + "]"
	default:
		s += fmt.Sprintf(" %s == %q", a.Field, a.Equals)
	}
	return s
}
