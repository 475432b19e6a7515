package sim

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRecordViews: recState and recView, which read a Sim's record
// without making the Sim, agree with view of the Sim the record makes,
// around and across the ends of ready and active billing periods.
func TestRecordViews(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, DiscardStore{}, WithCards("views", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	card := c.Cards()[0]
	s, err := c.RegisterSim(ctx, c.MainAccount(), card.ICCID, card.RegistrationCode)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := c.sims.lookup(s.Sid)
	if !ok {
		t.Fatal("no record")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	statuses := []SimStatus{StatusNew, StatusReady, StatusActive, StatusInactive}
	for i := range 20000 {
		rec := c.sims.at(key)
		start := base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		rec.status = statuses[rng.IntN(len(statuses))]
		rec.period = []periodKind{readyPeriod, activePeriod}[rng.IntN(2)]
		rec.periodStart, rec.periodAcct, rec.dataUsed = start.UnixNano(), rec.account, rng.Int64N(1000)+1
		rec.flags &^= recUsageCurrent
		if rng.IntN(2) == 0 {
			rec.flags |= recUsageCurrent
		}
		now := start.Add(time.Duration(rng.Int64N(int64(130*24*time.Hour))) - 24*time.Hour)
		want := c.view(c.simOf(key), now)
		status, used := c.recState(rec, now)
		if status != want.Status || used != want.DataUsed {
			t.Fatalf("case %d: recState = %v, %d; view gives %v, %d", i, status, used, want.Status, want.DataUsed)
		}
		got := c.recView(*rec, now)
		wantRec, err := c.recOf(want, false)
		if err != nil {
			t.Fatal(err)
		}
		wantRec.base, wantRec.flags = rec.base, wantRec.flags|rec.flags&recBase
		if got != wantRec {
			t.Fatalf("case %d: recView = %+v; view gives %+v", i, got, wantRec)
		}
	}
}
