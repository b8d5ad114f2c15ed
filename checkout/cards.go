package checkout

import (
	"context"
	"sync"
	"time"

	"github.com/dropcast/dropcast/events"
)

// cardTracker knows which cards are shown, from the bus's CardShown,
// CardHidden and BurstState events (published by the shopper channel's
// scheduler and host pins). A mutex guards the map: the tracking goroutine
// writes, reservations read.
//
// Only events count, not the run-of-show in the database: a host can pin a
// card early or hide it late, and only the channel knows. After a restart,
// deal prices apply again once the channel announces its cards.
type cardTracker struct {
	grace time.Duration

	mu     sync.Mutex
	shown  map[int64]cardState // card id →
	bursts map[int64]map[int64]struct{}
}

type cardState struct {
	burstID int64
	up      bool
	endsAt  time.Time // expected end while up (zero: until hidden)
	downAt  time.Time // when it came down
}

func newCardTracker(grace time.Duration) *cardTracker {
	return &cardTracker{grace: grace, shown: make(map[int64]cardState), bursts: make(map[int64]map[int64]struct{})}
}

func isCardEvent(e events.Event) bool {
	switch e := e.(type) {
	case events.CardShown, events.CardHidden:
		return true
	case events.BurstState:
		return e.State == "ended"
	}
	return false
}

func (t *cardTracker) run(ctx context.Context, sub *events.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return
			}
			t.apply(e)
		}
	}
}

func (t *cardTracker) apply(e events.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := e.(type) {
	case events.CardShown:
		t.shown[e.CardID] = cardState{burstID: e.BurstID, up: true, endsAt: e.EndsAt}
		if t.bursts[e.BurstID] == nil {
			t.bursts[e.BurstID] = make(map[int64]struct{})
		}
		t.bursts[e.BurstID][e.CardID] = struct{}{}
	case events.CardHidden:
		t.shown[e.CardID] = cardState{burstID: e.BurstID, downAt: e.At}
	case events.BurstState:
		for id := range t.bursts[e.BurstID] {
			if st := t.shown[id]; st.up {
				t.shown[id] = cardState{burstID: e.BurstID, downAt: e.At}
			}
		}
	}
}

// dealOpen reports whether card id's deal price applies at now: the card is
// up (and not past its announced end plus grace), or came down less than the
// grace ago. An unknown card is not shown.
func (t *cardTracker) dealOpen(id int64, now time.Time) bool {
	t.mu.Lock()
	st, ok := t.shown[id]
	t.mu.Unlock()
	switch {
	case !ok:
		return false
	case st.up:
		return st.endsAt.IsZero() || now.Before(st.endsAt.Add(t.grace))
	default:
		return now.Before(st.downAt.Add(t.grace))
	}
}

// CardShown reports whether card id's deal price applies now. Tests use it
// to wait until a published card event has been taken into account.
func (s *Service) CardShown(id int64) bool { return s.cards.dealOpen(id, s.now()) }
