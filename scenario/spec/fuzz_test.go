package spec

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLoad: whatever the file, decoding and validating it neither panics
// nor hangs, and fails with problems that say where they are.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		fullScenario, minimalScenario, aliasScenario,
		"", "~", "duration: 1h\ndevices: []\n", "duration: [\n", "\xff\xfe",
		"duration: 1h\ndevices:\n  - &g {name: a, count: 1, location: DE}\n  - {<<: *g, name: b}\n",
		"a: &a [*a]\n", "duration: 1h\ndevices: [{<<: [{<<: {name: x}}]}]\n",
		"duration: 1h\ndevices: []\n---\nx: 1\n",
	} {
		f.Add([]byte(s))
	}
	cat := catalogForTest(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err == nil {
			require.NotNil(t, s)
			s.Defaults()
			err = s.Validate(cat)
			if err == nil {
				return
			}
		} else {
			require.Nil(t, s)
		}
		var list ErrorList
		require.True(t, errors.As(err, &list), "%T: %v", err, err)
		require.NotEmpty(t, list)
		for _, e := range list {
			require.Equal(t, "f.yaml", e.File)
			require.NotEmpty(t, e.Msg)
			if e.Line < 1 { // only problems of the whole file
				require.Regexp(t, `^(file |invalid YAML: )`, e.Msg)
			}
		}
		require.LessOrEqual(t, len(list), maxErrors+1)
		// The path fleetsim run and validate take: partial decoding then
		// validation never panics and agrees on validity.
		sv, verr := ParseValid("f.yaml", data, cat)
		require.Error(t, verr)
		require.Nil(t, sv)
		require.True(t, errors.As(verr, &list), "%T: %v", verr, verr)
	})
}

// FuzzScalars: the scalar parsers never panic, what they accept fits the
// schema's pattern, and what they print they read back the same.
func FuzzScalars(f *testing.F) {
	for _, s := range []string{
		"0", "90s", "1h30m", "2d", "1d12h", "1.5d", "-1h", "36501d", "99999999999h",
		"50%", "2500", "101%", "1e3", "2KB", "1.5MB", "1GiB", "2 kb",
		">= 99%", "<=5m", "== 0", "= 3", "!= 2.5", "> 1d", ">>1", "about 5", " < 10 % ",
	} {
		f.Add(s)
	}
	patterns := map[string]*regexp.Regexp{}
	for name, sc := range map[string]scalar{"Duration": new(Duration), "Quantity": new(Quantity), "ByteSize": new(ByteSize), "Condition": new(Condition)} {
		patterns[name] = regexp.MustCompile(sc.schema()["pattern"].(string))
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Duration
		if d.parse(s) == nil {
			require.GreaterOrEqual(t, d, Duration(0))
			require.Regexp(t, patterns["Duration"], s)
			var back Duration
			require.NoError(t, back.parse(d.String()), "%q prints as %q", s, d.String())
			require.Equal(t, d, back)
		}
		var q Quantity
		if q.parse(s) == nil {
			require.True(t, q.Set)
			require.GreaterOrEqual(t, q.Value, 0.0)
			require.True(t, !q.Percent || q.Value <= 100)
			require.Regexp(t, patterns["Quantity"], s)
			var back Quantity
			require.NoError(t, back.parse(q.String()))
			require.Equal(t, q, back)
			for _, n := range []int{0, 1, 1000} {
				require.True(t, q.Of(n) >= 0 && q.Of(n) <= n, "%v of %d is %d", q, n, q.Of(n))
			}
		}
		var b ByteSize
		if b.parse(s) == nil {
			require.True(t, b >= 0 && b <= 1<<40)
			require.Regexp(t, patterns["ByteSize"], s)
		}
		var c Condition
		if c.parse(s) == nil {
			require.True(t, c.Set())
			require.Regexp(t, patterns["Condition"], s)
			require.Equal(t, strings.TrimSpace(s), c.Text)
			var back Condition
			require.NoError(t, back.parse(c.Text))
			require.Equal(t, c, back)
		}
		var tm Time
		_ = tm.parse(s)
	})
}
