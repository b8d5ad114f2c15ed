package events

import (
	"testing"
	"time"
)

func TestBusDeliversMatchingEvents(t *testing.T) {
	b := NewBus()
	all := b.Subscribe(0, nil)
	defer all.Close()
	one := b.Subscribe(4, ForBurst(7))
	defer one.Close()

	b.Publish(BurstState{BurstID: 7, State: "live"})
	b.Publish(BurstState{BurstID: 8, State: "live"})
	b.Publish(StockChanged{VariantID: 1, Available: 3})

	if got := len(all.C); got != 3 {
		t.Fatalf("unfiltered subscription has %d events, want 3", got)
	}
	if got := len(one.C); got != 1 {
		t.Fatalf("burst subscription has %d events, want 1", got)
	}
	if e := (<-one.C).(BurstState); e.BurstID != 7 {
		t.Fatalf("got burst %d, want 7", e.BurstID)
	}
}

func TestBusNeverBlocksOnFullSubscriber(t *testing.T) {
	b := NewBus()
	stuck := b.Subscribe(2, nil)
	defer stuck.Close()
	done := make(chan struct{})
	go func() {
		for range 100 {
			b.Publish(CardShown{BurstID: 1, CardID: 2, At: time.Now()})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publish blocked on a full subscriber")
	}
	if got := stuck.Dropped(); got != 98 {
		t.Fatalf("dropped %d, want 98", got)
	}
}

func TestCloseIsIdempotentAndStopsDelivery(t *testing.T) {
	b := NewBus()
	s := b.Subscribe(1, nil)
	s.Close()
	s.Close()
	b.Publish(Sale{OrderID: 1})
	if _, ok := <-s.C; ok {
		t.Fatal("closed subscription received an event")
	}
}
