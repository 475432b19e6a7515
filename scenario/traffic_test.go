package scenario

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFieldValues: a dotted path reaches into objects and lists; * takes
// every element; a missing key is absent, null is present.
func TestFieldValues(t *testing.T) {
	var v any
	require.NoError(t, json.Unmarshal([]byte(`{"a": 1, "n": null, "sims": [{"status": "active", "x": {"y": 2}}, {"status": "ready"}]}`), &v))
	for _, tc := range []struct {
		path string
		vals []string
	}{
		{"a", []string{"1"}},
		{"n", []string{"null"}},
		{"missing", nil},
		{"sims.0.status", []string{"active"}},
		{"sims.2.status", nil},
		{"sims.*.status", []string{"active", "ready"}},
		{"sims.*.x.y", []string{"2"}},
		{"sims.*.x", []string{`{"y":2}`}},
		{"a.b", nil},
	} {
		assert.Equal(t, tc.vals, fieldValues(v, strings.Split(tc.path, ".")), tc.path)
	}
}
