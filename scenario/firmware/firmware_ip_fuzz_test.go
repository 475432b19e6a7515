package firmware

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzIPPayload: whatever a read command answers, taking its datagram
// neither panics nor finds data in an empty read.
func FuzzIPPayload(f *testing.F) {
	for _, s := range []string{
		"+QIRD: 6\nreboot", "+QIRD: 0", "+CARECV: 6,reboot", "+CARECV: 0",
		`+USORF: 0,"100.64.0.1",6969,6,"reboot"`, `+USORF: 0,"",0,0,""`, "", ",,,,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info := strings.Split(s, "\n")
		for _, k := range []ipKind{ipQuectel, ipSimcom, ipUblox} {
			data, ok := ipPayload(k, info)
			if !ok {
				require.Empty(t, data)
			}
		}
		_, ok := ipPayload(ipUblox, []string{`+USORF: 0,"",0,0,""`})
		require.False(t, ok)
	})
}
