package live_test

import (
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/live"
)

// The live audience goes out on the bus for the KPIs: nothing while the
// burst waits, the waiting room's count at the first tick once it is live
// (even though it did not change), each change while live, nothing after
// the end.
func TestViewerCountsOnBusWhileLive(t *testing.T) {
	e := newEnv(t, live.Config{ViewersInterval: 50 * time.Millisecond})
	sub := e.bus.Subscribe(64, func(ev events.Event) bool { _, ok := ev.(events.Viewers); return ok })
	defer sub.Close()
	next := func(within time.Duration) (events.Viewers, bool) {
		select {
		case ev := <-sub.C:
			return ev.(events.Viewers), true
		case <-time.After(within):
			return events.Viewers{}, false
		}
	}

	for range 2 {
		id, token, err := e.signer.New()
		must(t, err)
		c := e.dial(e.wsPath()+"?shopper="+string(token), nil)
		if w := c.next(live.TypeWelcome, 5*time.Second); w.str("shopper") != string(id) {
			t.Fatalf("welcome %v", w)
		}
	}
	if v, ok := next(300 * time.Millisecond); ok {
		t.Fatalf("viewer count %+v published before the burst went live", v)
	}
	e.goLive(time.Now())
	if v, ok := next(5 * time.Second); !ok || v.Count != 2 || v.BurstID != e.burst.ID {
		t.Fatalf("first live count %+v (%v), want 2 for burst %d", v, ok, e.burst.ID)
	}
	_, token, err := e.signer.New()
	must(t, err)
	third := e.dial(e.wsPath()+"?shopper="+string(token), nil)
	third.next(live.TypeWelcome, 5*time.Second)
	if v, ok := next(5 * time.Second); !ok || v.Count != 3 {
		t.Fatalf("count after a join %+v (%v), want 3", v, ok)
	}
	if v, ok := next(300 * time.Millisecond); ok {
		t.Fatalf("unchanged count published again: %+v", v)
	}
	e.transition(drops.StateEnded, time.Now())
	_, token, err = e.signer.New()
	must(t, err)
	e.dial(e.wsPath()+"?shopper="+string(token), nil).next(live.TypeWelcome, 5*time.Second)
	if v, ok := next(300 * time.Millisecond); ok {
		t.Fatalf("count %+v published after the end", v)
	}
}
