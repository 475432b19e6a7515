package modem

import (
	"regexp"
	"strconv"
	"testing"
)

// dialPattern is what parseDial accepts, as a regular expression.
var dialPattern = regexp.MustCompile(`^\*99(?:\*\*\*(\d+))?#$`)

// dialByPattern is parseDial by dialPattern.
func dialByPattern(v string) (int, bool) {
	mt := dialPattern.FindStringSubmatch(v)
	if mt == nil {
		return 0, false
	}
	if mt[1] == "" {
		return 1, true
	}
	cid, _ := strconv.Atoi(mt[1])
	return cid, true
}

func TestParseDial(t *testing.T) {
	for _, tc := range []struct {
		in  string
		cid int
		ok  bool
	}{
		{"*99#", 1, true},
		{"*99***1#", 1, true},
		{"*99***16#", 16, true},
		{"*99***007#", 7, true},
		{"*99***#", 0, false},
		{"*99**1#", 0, false},
		{"*99***1", 0, false},
		{"*99***1a#", 0, false},
		{"*98#", 0, false},
		{"*99##", 0, false},
		{"", 0, false},
	} {
		cid, ok := parseDial(tc.in)
		if cid != tc.cid || ok != tc.ok {
			t.Errorf("parseDial(%q) = %d, %v; want %d, %v", tc.in, cid, ok, tc.cid, tc.ok)
		}
	}
}

// FuzzParseDial: parseDial accepts what dialPattern matches, with its
// context.
func FuzzParseDial(f *testing.F) {
	for _, s := range []string{"*99#", "*99***1#", "*99***12345678901234567890#", "*99***#", "*99***١#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cid, ok := parseDial(v)
		wcid, wok := dialByPattern(v)
		if cid != wcid || ok != wok {
			t.Fatalf("parseDial(%q) = %d, %v; the pattern gives %d, %v", v, cid, ok, wcid, wok)
		}
	})
}
