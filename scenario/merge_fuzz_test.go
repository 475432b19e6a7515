package scenario

import (
	"bytes"
	"testing"

	"github.com/fleetsim/fleetsim/scenario/report"
)

// FuzzMergePart feeds arbitrary bytes to the partial-report reader and
// merges what it accepts: a damaged or forged part is an error, never a
// crash, and a part merge accepts writes back to one it reads again.
func FuzzMergePart(f *testing.F) {
	f.Add([]byte(`{"fleetsim_part":1}`))
	f.Add([]byte(`{"fleetsim_part":1,"partial":{"shard":0,"of":1},"report":{},"data":{}}`))
	cat := testCatalog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := report.ReadPart(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := report.WritePart(&buf, p); err != nil {
			t.Fatalf("an accepted part does not write back: %v", err)
		}
		if _, err := report.ReadPart(&buf); err != nil {
			t.Fatalf("a written part does not read back: %v", err)
		}
		rep, err := Merge([]*report.Part{p}, cat)
		if err == nil && rep == nil {
			t.Fatal("no report and no error")
		}
	})
}
