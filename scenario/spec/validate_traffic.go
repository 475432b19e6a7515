package spec

import (
	"strings"

	"github.com/fleetsim/fleetsim/sim"
)

// MaxDownload bounds a transfer's download.
const MaxDownload = 100 << 20

// apiCheck validates an api expectation: a status, or a field with exactly
// one of equals, in, number and absent.
func (v *validator) apiCheck(a *APICheck, path string) {
	v.apiPath(a.Pos.At("path"), path+".path", a.Path)
	if a.Status != 0 && (a.Status < 100 || a.Status > 599) {
		v.errorf(a.Pos.At("status"), path+".status", "want an HTTP status (100..599), got %d", a.Status)
	}
	var set []string
	for _, k := range []struct {
		key string
		on  bool
	}{{"equals", a.Equals != ""}, {"in", a.In != nil}, {"number", a.Number.Set()}, {"absent", a.Absent}} {
		if k.on {
			set = append(set, k.key)
		}
	}
	switch {
	case a.Field == "" && len(set) > 0:
		v.errorf(a.Pos.At(set[0]), path+".field", "required with %s: the field to check", set[0])
	case a.Field == "" && a.Status == 0:
		v.errorf(a.Pos, path, "no check: want status, or field with one of equals, in, number or absent")
	case a.Field != "" && len(set) == 0:
		v.errorf(a.Pos.At("field"), path+".field", "want one of equals, in, number or absent with field")
	case len(set) > 1:
		v.errorf(a.Pos.At(set[1]), path+"."+set[1], "only one of equals, in, number and absent, got %s", strings.Join(set, " and "))
	}
	for _, k := range strings.Split(a.Field, ".") {
		if a.Field != "" && k == "" {
			v.errorf(a.Pos.At("field"), path+".field", "empty key in %q: want a dotted path such as sims.0.status", a.Field)
			break
		}
	}
	if a.In != nil && len(a.In) == 0 {
		v.errorf(a.Pos.At("in"), path+".in", "must list at least one value")
	}
	if c := a.Number; c.Set() && (c.IsDur || c.Bound.Percent) {
		v.errorf(a.Pos.At("number"), path+".number", "want a number bound such as '>= 5', got %q", c.Text)
	}
}

// traffic validates a group's data pattern beyond its interval.
func (v *validator) traffic(d *Traffic, path string) {
	if d.Download < 0 || d.Download > MaxDownload {
		v.errorf(d.Pos.At("download"), path+".download", "must be 0..100MB, got %d bytes", int64(d.Download))
	}
}

// propagationSpread validates settings.limit_propagation_max.
func (v *validator) propagationSpread(st *Settings) {
	m := st.LimitPropagationMax
	if m == 0 {
		return
	}
	if m.D() < st.LimitPropagation.D() || m.D() > sim.MaxLimitPropagation {
		v.errorf(st.Pos.At("limit_propagation_max"), "settings.limit_propagation_max", "must be limit_propagation (%s) .. %s, got %s", st.LimitPropagation, Duration(sim.MaxLimitPropagation), m)
	}
}

// Direction is which side of a SIM's data usage an expectation reads.
type Direction uint8

const (
	DirTotal Direction = iota
	DirUpload
	DirDownload
)

// UsageCheck is one of an expectation's per-SIM usage conditions.
type UsageCheck struct {
	Key  string // the expectation's key: usage_mb, upload_mb, download_mb
	Dir  Direction
	Cond Condition
}

// UsageChecks are the expectation's per-SIM usage conditions, by direction.
func (e *Expectation) UsageChecks() []UsageCheck {
	return []UsageCheck{{"usage_mb", DirTotal, e.UsageMB}, {"upload_mb", DirUpload, e.UploadMB}, {"download_mb", DirDownload, e.DownloadMB}}
}
