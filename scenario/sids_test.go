package scenario

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSimSidsKeepEverySidAsGivenAndOrderThemAsText(t *testing.T) {
	given := []string{
		"HS0123456789abcdef0123456789abcdef", // compact
		"",                                   // no SIM
		"HS0123456789ABCDEF0123456789ABCDEF", // upper case: as text
		"HS00000000000000000000000000000000", // all zero: as text
		"HSffffffffffffffffffffffffffffffff",
		"HS0123", // short: as text
		"HSa0000000000000000000000000000001",
	}
	s := newSimSids(len(given))
	for i, sid := range given {
		s.set(i, sid)
	}
	for i, sid := range given {
		assert.Equal(t, sid, s.get(i))
		assert.Equal(t, sid, string(s.append([]byte("x")[:0], i)))
		for j, other := range given {
			assert.Equal(t, strings.Compare(sid, other), s.compare(i, j), "%q vs %q", sid, other)
			b, ok := parseSimSid(other)
			assert.Equal(t, strings.Compare(sid, other), s.compareTo(i, other, b, ok), "%q vs %q", sid, other)
		}
	}
	assert.Len(t, s.other, 3)
	s.set(2, given[0])
	assert.Len(t, s.other, 2, "a compact SID replaces a text one")
}

func FuzzSimSids(f *testing.F) {
	f.Add("HS0123456789abcdef0123456789abcdef", "HS0123456789abcdef0123456789abcdee")
	f.Add("HS00000000000000000000000000000000", "")
	f.Add("HSzz23456789abcdef0123456789abcdef", "HS0123456789ABCDEF0123456789ABCDEF")
	f.Fuzz(func(t *testing.T, a, b string) {
		s := newSimSids(2)
		s.set(0, a)
		s.set(1, b)
		require.Equal(t, a, s.get(0))
		require.Equal(t, b, s.get(1))
		require.Equal(t, strings.Compare(a, b), s.compare(0, 1))
		pb, ok := parseSimSid(b)
		require.Equal(t, strings.Compare(a, b), s.compareTo(0, b, pb, ok))
	})
}
