// Package events is the in-process bus on which domain packages announce what
// happened (a burst went live, a card was shown, stock changed, a sale was
// made) so that others can react without calling up into each other. It owns
// no domain state: events carry plain ids and values.
//
// Publish never blocks. Each subscription has a bounded queue; when a
// subscriber falls that far behind, new events for it are dropped and
// counted (Subscription.Dropped), so a stuck consumer can never stall the
// media path or a request.
package events

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is one of the types below.
type Event interface{ event() }

// BurstState is published on every lifecycle change of a burst:
// scheduled → live → ending → ended. EndsAt is the burst's hard limit once it
// is live (zero before).
type BurstState struct {
	BurstID int64
	DropID  int64
	State   string
	At      time.Time
	LiveAt  time.Time
	EndsAt  time.Time
}

// CardShown is published when a card goes up, by the run-of-show or a host pin.
// Offset is the time since the burst's live start.
type CardShown struct {
	BurstID int64
	CardID  int64
	At      time.Time
	Offset  time.Duration
	EndsAt  time.Time
	Pinned  bool
}

// CardHidden is published when a card comes down.
type CardHidden struct {
	BurstID int64
	CardID  int64
	At      time.Time
	Offset  time.Duration
}

// StockChanged is published when a variant's available stock changes.
type StockChanged struct {
	DropID    int64
	VariantID int64
	Available int
}

// Sale is published when an order is paid.
type Sale struct {
	OrderID  int64
	DropID   int64
	BurstID  int64 // 0 when the order came from no burst
	CardID   int64 // 0 when no card is attributed
	Amount   int64 // minor units
	Currency string
	Items    int
	At       time.Time
}

// Viewers is the number of distinct shoppers on a live burst's channel:
// published once the burst is live, then on each change (coalesced: at most
// once per the channel's viewers interval). Counts before the start or after
// the end are not published.
type Viewers struct {
	BurstID int64
	Count   int
	At      time.Time
}

func (BurstState) event()   {}
func (CardShown) event()    {}
func (CardHidden) event()   {}
func (StockChanged) event() {}
func (Sale) event()         {}
func (Viewers) event()      {}

// DefaultQueue is the queue length of a subscription made with size 0.
const DefaultQueue = 256

// Bus fans events out to subscriptions. The zero value is not usable; call
// NewBus. It is safe for concurrent use: a mutex guards the subscriber set,
// and Publish holds it only for non-blocking sends.
type Bus struct {
	mu   sync.RWMutex
	subs map[*Subscription]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: make(map[*Subscription]struct{})} }

// Subscription receives the events that match its filter on C until Close.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	bus     *Bus
	match   func(Event) bool
	dropped atomic.Int64
	once    sync.Once
}

// Subscribe returns a subscription to every event for which match returns
// true (every event when match is nil), with a queue of size events
// (DefaultQueue when 0). The caller must Close it.
func (b *Bus) Subscribe(size int, match func(Event) bool) *Subscription {
	if size <= 0 {
		size = DefaultQueue
	}
	c := make(chan Event, size)
	s := &Subscription{C: c, c: c, bus: b, match: match}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// ForBurst is a filter for the events of one burst.
func ForBurst(burstID int64) func(Event) bool {
	return func(e Event) bool {
		switch e := e.(type) {
		case BurstState:
			return e.BurstID == burstID
		case CardShown:
			return e.BurstID == burstID
		case CardHidden:
			return e.BurstID == burstID
		case Sale:
			return e.BurstID == burstID
		case Viewers:
			return e.BurstID == burstID
		}
		return false
	}
}

// Publish hands e to every matching subscription without waiting.
func (b *Bus) Publish(e Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for s := range b.subs {
		if s.match != nil && !s.match(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// Dropped is the number of events this subscription missed because its queue
// was full.
func (s *Subscription) Dropped() int64 { return s.dropped.Load() }

// Close ends the subscription and closes C. It is idempotent.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
		close(s.c)
	})
}
