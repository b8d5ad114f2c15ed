package checkout

import (
	"context"
	"sync"
	"time"

	"github.com/dropcast/dropcast/events"
)

// stockNotifier collects the variants whose available stock changed. A mutex
// guards the set; the flusher goroutine swaps it out, reads the current sums
// in one query and publishes one events.StockChanged per variant. Reading
// after the fact, rather than publishing the count each transaction saw,
// makes the last event for a variant always carry the committed value.
//
// It also remembers the variants PostgreSQL has just found with no stock left
// (soldOut), so that the rest of a rush on them is answered sold_out without
// a round trip each. Any stock change this process makes to a variant (a
// hold, a release, an expiry, a restock through the admin API) passes through
// mark and clears that; a change made by another process is seen when the
// mark lapses (soldOutTTL). A refusal can so lag a returned unit by at most
// soldOutTTL; it can never let a sale through: every hold is still taken by
// PostgreSQL.
type stockNotifier struct {
	mu      sync.Mutex
	dirty   map[int64]struct{}  // variant ids
	soldOut map[int64]time.Time // variant id → when PostgreSQL found none left
}

// soldOutTTL is how long a variant found with no stock left is answered
// sold_out from memory.
const soldOutTTL = time.Second

func newStockNotifier() *stockNotifier {
	return &stockNotifier{dirty: make(map[int64]struct{}), soldOut: make(map[int64]time.Time)}
}

func (n *stockNotifier) mark(variantID int64) {
	n.mu.Lock()
	n.dirty[variantID] = struct{}{}
	delete(n.soldOut, variantID)
	n.mu.Unlock()
}

// markSoldOut records that PostgreSQL found variantID with no stock at at.
func (n *stockNotifier) markSoldOut(variantID int64, at time.Time) {
	n.mu.Lock()
	n.soldOut[variantID] = at
	n.mu.Unlock()
}

// isSoldOut reports whether variantID was found with no stock less than
// soldOutTTL before now, with no stock change since.
func (n *stockNotifier) isSoldOut(variantID int64, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.soldOut[variantID]
	if ok && now.Sub(at) >= soldOutTTL {
		delete(n.soldOut, variantID)
		return false
	}
	return ok
}

func (n *stockNotifier) take() map[int64]struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.dirty) == 0 {
		return nil
	}
	d := n.dirty
	n.dirty = make(map[int64]struct{}, len(d))
	return d
}

// StockChanged tells checkout that variantID's stock was changed elsewhere
// (such as the admin API setting it), so that it is published with the rest.
func (s *Service) StockChanged(variantID int64) {
	s.stock.mark(variantID)
}

func (s *Service) runStockFlusher(ctx context.Context) {
	t := time.NewTicker(s.cfg.StockFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Publish what is pending with a short deadline of its own.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			s.flushStock(fctx)
			cancel()
			return
		case <-t.C:
			s.flushStock(ctx)
		}
	}
}

// flushStock publishes the current available stock of every changed variant.
func (s *Service) flushStock(ctx context.Context) {
	dirty := s.stock.take()
	if len(dirty) == 0 {
		return
	}
	ids := make([]int64, 0, len(dirty))
	for id := range dirty {
		ids = append(ids, id)
	}
	rows, err := s.db.Query(ctx, `
		SELECT v.id, p.drop_id, coalesce((SELECT sum(s.available) FROM stock s WHERE s.variant_id = v.id), 0)::integer
		FROM variants v JOIN products p ON p.id = v.product_id
		WHERE v.id = ANY($1)`, ids)
	if err != nil {
		s.log.Warn("read stock for broadcast", "variants", len(ids), "err", err)
		for id := range dirty {
			s.stock.mark(id) // try again next tick
		}
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, dropID int64
		var avail int
		if err := rows.Scan(&id, &dropID, &avail); err != nil {
			s.log.Warn("read stock for broadcast", "err", err)
			return
		}
		s.bus.Publish(events.StockChanged{DropID: dropID, VariantID: id, Available: avail})
	}
	if err := rows.Err(); err != nil {
		s.log.Warn("read stock for broadcast", "err", err)
	}
}
