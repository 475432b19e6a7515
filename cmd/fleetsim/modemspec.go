package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetsim/fleetsim/modem"
)

// modemSpec is the value of serve's --modems: a number of modems of the
// --modem-profile family ("4"), or a mixed fleet as family:count pairs
// ("bg96:2,sim7080:2,sara-r4:1"), modems numbered in the order given.
type modemSpec struct {
	families []string // one per modem, empty for a plain number until resolved
	n        int
	mixed    bool
}

func (s *modemSpec) String() string {
	if !s.mixed {
		return strconv.Itoa(s.n)
	}
	var parts []string
	for i := 0; i < len(s.families); {
		j := i
		for j < len(s.families) && s.families[j] == s.families[i] {
			j++
		}
		parts = append(parts, fmt.Sprintf("%s:%d", s.families[i], j-i))
		i = j
	}
	return strings.Join(parts, ",")
}

func (s *modemSpec) Type() string { return "N|family:count,..." }

// maxModems bounds the PTYs one serve opens.
const maxModems = 10000

func (s *modemSpec) Set(v string) error {
	*s = modemSpec{}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > maxModems {
			return fmt.Errorf("%d is outside 0..%d", n, maxModems)
		}
		s.n = n
		return nil
	}
	s.mixed = true
	for _, part := range strings.Split(v, ",") {
		name, count, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return fmt.Errorf("%q: want a number or family:count pairs such as bg96:2,sim7080:1", part)
		}
		p, err := modem.ProfileByName(name)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return fmt.Errorf("%q: the count must be a positive number", part)
		}
		if s.n += n; s.n > maxModems {
			return fmt.Errorf("%d modems in all is more than %d", s.n, maxModems)
		}
		for range n {
			s.families = append(s.families, p.Name())
		}
	}
	return nil
}

// profiles returns each modem's profile: the mixed fleet's, or def for all.
func (s *modemSpec) profiles(def string) ([]modem.Profile, error) {
	ps := make([]modem.Profile, s.n)
	for i := range ps {
		name := def
		if s.mixed {
			name = s.families[i]
		}
		p, err := modem.ProfileByName(name)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}
