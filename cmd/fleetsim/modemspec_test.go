package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestModemSpec(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		n        int
		err      string
	}{
		{in: "4", want: "4", n: 4},
		{in: "0", want: "0"},
		{in: "bg96:2,bg95:1", want: "bg96:2,bg95:1", n: 3},
		{in: "generic:1, bg96:1", want: "generic:1,bg96:1", n: 2},
		{in: "-1", err: "-1 is outside 0..10000"},
		{in: "bg96", err: `"bg96": want a number or family:count pairs such as bg96:2,sim7080:1`},
		{in: "bg96:0", err: `"bg96:0": the count must be a positive number`},
		{in: "nokia:2", err: `unknown modem profile "nokia"`},
		{in: "bg96:6000,bg95:6000", err: "12000 modems in all is more than 10000"},
	} {
		var s modemSpec
		err := s.Set(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, s.String(), tc.in)
		require.Equal(t, tc.n, s.n, tc.in)
		ps, err := s.profiles("bg96")
		require.NoError(t, err)
		require.Len(t, ps, tc.n)
	}
}
