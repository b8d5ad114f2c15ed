package live

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// activeCard is a card that is up now.
type activeCard struct {
	view CardView
}

// planned is a scheduler entry: show or hide card at at. Entries for shows
// carry the scheduled end.
type planned struct {
	at   time.Time
	card int64
	show bool
	end  time.Time
}

func sortCards(cs []CardView) {
	slices.SortFunc(cs, func(a, b CardView) int {
		if c := a.ShownAt.Compare(b.ShownAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
}

// offset is the media time of t: the time since the burst's live start.
func (h *Hub) offset(t time.Time) time.Duration {
	if h.burst.LiveAt == nil {
		return 0
	}
	return max(t.Sub(*h.burst.LiveAt), 0)
}

// startSchedule brings the run-of-show up to date with the burst's actual
// live start, once per hub: cards whose window is open now show at once,
// later ones are planned. The stored timeline is the memory across
// restarts: a card already shown (or hidden by the host) in its window is
// not shown again, and a card still up in the timeline is restored as it was.
func (h *Hub) startSchedule(ctx context.Context) {
	if h.scheduled || h.burst.LiveAt == nil {
		return
	}
	h.scheduled = true
	live, now := *h.burst.LiveAt, h.now()
	cards, err := h.reg.deps.Drops.ListCards(ctx, h.id)
	if err != nil {
		h.log.Error("load run-of-show", "err", err)
		return
	}
	past, err := h.reg.timeline.Events(ctx, h.id)
	if err != nil {
		h.log.Error("load card timeline", "err", err)
		return
	}
	byID := make(map[int64]drops.Card, len(cards))
	for _, c := range cards {
		byID[c.ID] = c
	}
	last := make(map[int64]TimelineEvent)
	for _, e := range past {
		last[e.CardID] = e
	}
	for id, e := range last {
		h.restore(ctx, byID, id, e, now)
	}
	for _, c := range cards {
		start := live.Add(c.Offset())
		end := start.Add(c.Duration())
		if !end.After(now) {
			continue
		}
		if e, ok := last[c.ID]; ok && !e.At.Before(start) {
			continue // handled in this window already (shown, or hidden by the host)
		}
		if start.After(now) {
			h.planAt(planned{at: start, card: c.ID, show: true, end: end})
			continue
		}
		if err := h.showCard(ctx, c, SourceSchedule, now, end); err != nil {
			h.log.Error("show card", "card_id", c.ID, "err", err)
		}
	}
	h.resetTimer()
}

// restore puts a card that the timeline says is up back on, or records the
// hide that was missed while no hub ran.
func (h *Hub) restore(ctx context.Context, byID map[int64]drops.Card, id int64, e TimelineEvent, now time.Time) {
	if e.Kind != KindShow || e.EndsAt == nil {
		return
	}
	c, ok := byID[id]
	if !ok || !e.EndsAt.After(now) {
		at := now
		if ok {
			at = *e.EndsAt
		}
		if err := h.hideCard(ctx, id, e.Source, at); err != nil {
			h.log.Error("hide card", "card_id", id, "err", err)
		}
		return
	}
	view, err := h.cardView(ctx, c, e.At, *e.EndsAt, e.Source == SourcePin)
	if err != nil {
		h.log.Error("restore card", "card_id", id, "err", err)
		return
	}
	h.active[id] = &activeCard{view: view}
	h.planAt(planned{at: *e.EndsAt, card: id})
}

// cardView builds what shoppers see of c, with current stock.
func (h *Hub) cardView(ctx context.Context, c drops.Card, shownAt, endsAt time.Time, pinned bool) (CardView, error) {
	p, err := h.reg.deps.Catalog.Product(ctx, c.ProductID)
	if err != nil {
		return CardView{}, err
	}
	vs := make([]CardVariant, 0, len(p.Variants))
	for _, v := range p.Variants {
		if c.VariantID != nil && *c.VariantID != v.ID {
			continue
		}
		vs = append(vs, CardVariant{ID: v.ID, Label: v.Label, Price: v.Price, Available: v.Available})
	}
	images := p.Images
	if images == nil {
		images = []string{}
	}
	return CardView{
		ID: c.ID, Product: CardProduct{ID: p.ID, Title: p.Title, Images: images}, Variants: vs,
		DealPrice: c.DealPrice, Currency: h.currency, VIPOnly: c.VIPOnly,
		ShownAt: shownAt, EndsAt: endsAt, OffsetMS: millis(h.offset(shownAt)), Pinned: pinned,
	}, nil
}

// showCard puts c up from at until end: timeline first (the record is what
// replays and KPIs read), then the broadcast and the bus event.
func (h *Hub) showCard(ctx context.Context, c drops.Card, source string, at, end time.Time) error {
	view, err := h.cardView(ctx, c, at, end, source == SourcePin)
	if err != nil {
		return err
	}
	ev, err := h.reg.timeline.Record(ctx, TimelineEvent{BurstID: h.id, CardID: c.ID, Kind: KindShow,
		Source: source, At: at, Offset: h.offset(at), EndsAt: &end})
	if err != nil {
		return err
	}
	h.active[c.ID] = &activeCard{view: view}
	h.planAt(planned{at: end, card: c.ID})
	h.broadcast(Everyone, cardShowMsg{Type: TypeCardShow, Card: view, MediaTime: ev.OffsetMS()})
	h.reg.deps.Bus.Publish(events.CardShown{BurstID: h.id, CardID: c.ID, At: at, Offset: ev.Offset,
		EndsAt: end, Pinned: source == SourcePin})
	h.log.Debug("card shown", "card_id", c.ID, "source", source, "offset_ms", ev.OffsetMS())
	h.lastEvent = ev
	return nil
}

// hideCard takes card id down at at.
func (h *Hub) hideCard(ctx context.Context, id int64, source string, at time.Time) error {
	delete(h.active, id)
	ev, err := h.reg.timeline.Record(ctx, TimelineEvent{BurstID: h.id, CardID: id, Kind: KindHide,
		Source: source, At: at, Offset: h.offset(at)})
	h.broadcast(Everyone, cardHideMsg{Type: TypeCardHide, Card: id, MediaTime: millis(h.offset(at))})
	h.reg.deps.Bus.Publish(events.CardHidden{BurstID: h.id, CardID: id, At: at, Offset: h.offset(at)})
	h.lastEvent = ev
	return err
}

// pin shows a card now at the host's request, for the card's duration. A
// card that is up already is shown again with a new end.
func (h *Hub) pin(ctx context.Context, cardID int64) (TimelineEvent, error) {
	if !h.isLive() || h.burst.LiveAt == nil {
		return TimelineEvent{}, ErrBurstNotLive
	}
	c, err := h.reg.deps.Drops.Card(ctx, h.id, cardID)
	if err != nil {
		return TimelineEvent{}, err
	}
	now := h.now()
	if err := h.showCard(ctx, c, SourcePin, now, now.Add(c.Duration())); err != nil {
		return TimelineEvent{}, fmt.Errorf("pin card %d: %w", cardID, err)
	}
	h.resetTimer()
	return h.lastEvent, nil
}

// unpin takes a card down now at the host's request.
func (h *Hub) unpin(ctx context.Context, cardID int64) (TimelineEvent, error) {
	if !h.isLive() || h.burst.LiveAt == nil {
		return TimelineEvent{}, ErrBurstNotLive
	}
	if _, err := h.reg.deps.Drops.Card(ctx, h.id, cardID); err != nil {
		return TimelineEvent{}, err
	}
	if _, ok := h.active[cardID]; !ok {
		return TimelineEvent{}, apperr.Errorf(apperr.Conflict, "card %d is not shown", cardID)
	}
	if err := h.hideCard(ctx, cardID, SourcePin, h.now()); err != nil {
		return TimelineEvent{}, fmt.Errorf("hide card %d: %w", cardID, err)
	}
	return h.lastEvent, nil
}

// planAt adds an entry to the scheduler, kept sorted by time.
func (h *Hub) planAt(p planned) {
	i, _ := slices.BinarySearchFunc(h.plan, p.at, func(e planned, t time.Time) int { return e.at.Compare(t) })
	h.plan = slices.Insert(h.plan, i, p)
}

func (h *Hub) resetTimer() {
	if len(h.plan) == 0 {
		h.timer.Stop()
		return
	}
	h.timer.Reset(max(h.plan[0].at.Sub(h.now()), 0))
}

// fireDue runs every entry that is due. A planned hide only takes a card
// down if it is still meant to end by now (a pin may have extended it); a
// planned show skips a card that is up already.
func (h *Hub) fireDue(ctx context.Context) {
	now := h.now()
	for len(h.plan) > 0 && !h.plan[0].at.After(now) {
		p := h.plan[0]
		h.plan = h.plan[1:]
		if err := h.fire(ctx, p, now); err != nil {
			h.log.Error("run-of-show", "card_id", p.card, "show", p.show, "err", err)
		}
	}
	h.resetTimer()
}

func (h *Hub) fire(ctx context.Context, p planned, now time.Time) error {
	a, up := h.active[p.card]
	if !p.show {
		if !up || a.view.EndsAt.After(now) {
			return nil
		}
		source := SourceSchedule
		if a.view.Pinned {
			source = SourcePin
		}
		return h.hideCard(ctx, p.card, source, now)
	}
	if up || !h.isLive() {
		return nil
	}
	c, err := h.reg.deps.Drops.Card(ctx, h.id, p.card)
	if errors.Is(err, &apperr.Error{Code: apperr.NotFound}) {
		return nil // deleted from the run-of-show meanwhile
	}
	if err != nil {
		return err
	}
	return h.showCard(ctx, c, SourceSchedule, now, p.end)
}

// endAll takes every card down when the burst ends and stops the scheduler.
func (h *Hub) endAll(ctx context.Context, at time.Time) {
	if at.IsZero() {
		at = h.now()
	}
	ids := make([]int64, 0, len(h.active))
	for id := range h.active {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := h.hideCard(ctx, id, SourceEnd, at); err != nil {
			h.log.Error("hide card at end", "card_id", id, "err", err)
		}
	}
	h.plan = nil
	h.resetTimer()
}

// onStock records a variant's new availability in the active cards and
// broadcasts it at most once per StockInterval per variant: the first change
// after a quiet interval goes out at once, later ones are coalesced into the
// latest value.
func (h *Hub) onStock(variantID int64, available int) {
	for _, a := range h.active {
		for i := range a.view.Variants {
			if a.view.Variants[i].ID == variantID {
				a.view.Variants[i].Available = available
			}
		}
	}
	h.stock[variantID] = available
	h.flushStock()
}

// stockInterval is the shortest time between two stock batches: the
// configured interval, lengthened for a large audience
// (Config.StockIntervalPerConn).
func (h *Hub) stockInterval() time.Duration {
	every := h.reg.cfg.StockInterval
	if per := h.reg.cfg.StockIntervalPerConn; per > 0 {
		every = max(every, time.Duration(h.fan.size())*per)
	}
	return every
}

// flushStock sends every pending value at once, at most once per
// stockInterval per burst: the first change after a quiet interval goes out
// at once, and the rest of a rush is collected until the interval is over.
// A batch is one "stock" message per variant, written to each connection in
// one go: in a rush on many variants that is one write per connection per
// interval instead of one per variant.
func (h *Hub) flushStock() {
	if len(h.stock) == 0 {
		return
	}
	now := h.now()
	if due := h.stockAt.Add(h.stockInterval()); due.After(now) {
		h.stockT.Reset(due.Sub(now))
		return
	}
	variants := slices.Sorted(maps.Keys(h.stock))
	msgs := make([]any, len(variants))
	for i, v := range variants {
		msgs[i] = stockMsg{Type: TypeStock, Variant: v, Available: h.stock[v]}
	}
	clear(h.stock)
	h.stockAt = now
	h.broadcastBatch(Everyone, msgs)
}
