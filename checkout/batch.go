package checkout

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/catalog"
)

// reserveBatcher groups concurrent reservations into one database call and
// one transaction (checkout_reserve_batch): under a rush the commit, the
// round trip and the backend wake-up are paid once per batch rather than once
// per shopper. It adds no waiting: a worker takes whatever is queued when it
// becomes free, so a lone request goes alone. Workers are owned by Run.
type reserveBatcher struct {
	reqs    chan *reserveReq
	max     int
	workers int
}

type reserveReq struct {
	in       AddInput
	dealOpen bool
	expires  time.Time
	reply    chan reserveRes
}

type reserveRes struct {
	status string
	limit  int
	lapsed bool
	err    error
	// remembered: sold_out answered from memory (stockNotifier.isSoldOut),
	// not found by PostgreSQL just now.
	remembered bool
}

// batchReq is one element of checkout_reserve_batch's JSON array.
type batchReq struct {
	I         int       `json:"i"`
	Shopper   string    `json:"shopper"`
	DropID    int64     `json:"drop_id"`
	BurstID   *int64    `json:"burst_id"`
	VariantID int64     `json:"variant_id"`
	Qty       int       `json:"qty"`
	CardID    *int64    `json:"card_id"`
	CardShown bool      `json:"card_shown"`
	Limit     int       `json:"lim"`
	Shard     int       `json:"shard"`
	Expires   time.Time `json:"expires"`
	VIP       bool      `json:"vip"`
}

func newReserveBatcher(max, workers int) *reserveBatcher {
	return &reserveBatcher{reqs: make(chan *reserveReq, 4*max), max: max, workers: workers}
}

// submit hands r to a worker and waits for its answer. ok is false when the
// queue is full, and the caller reserves on its own.
func (b *reserveBatcher) submit(ctx context.Context, r *reserveReq) (res reserveRes, ok bool) {
	select {
	case b.reqs <- r:
	default:
		return reserveRes{}, false
	}
	select {
	case res = <-r.reply:
		return res, true
	case <-ctx.Done():
		return reserveRes{err: ctx.Err()}, true
	}
}

func (s *Service) runBatchers(ctx context.Context) {
	done := make(chan struct{})
	for range s.batch.workers {
		go func() {
			defer func() { done <- struct{}{} }()
			s.batchWorker(ctx)
		}()
	}
	for range s.batch.workers {
		<-done
	}
	for {
		select {
		case r := <-s.batch.reqs:
			r.reply <- reserveRes{err: ctx.Err()}
		default:
			return
		}
	}
}

func (s *Service) batchWorker(ctx context.Context) {
	batch := make([]*reserveReq, 0, s.batch.max)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case r := <-s.batch.reqs:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < s.batch.max {
			select {
			case r := <-s.batch.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.execBatch(ctx, batch)
	}
}

// execBatch reserves batch in one call; on a database error every request
// gets it (the callers then reserve on their own).
func (s *Service) execBatch(ctx context.Context, batch []*reserveReq) {
	reqs := make([]batchReq, len(batch))
	for i, r := range batch {
		reqs[i] = batchReq{I: i, Shopper: r.in.ShopperID, DropID: r.in.DropID, VariantID: r.in.VariantID, Qty: r.in.Qty,
			CardShown: r.dealOpen, Limit: s.cfg.ShopperLimit, Shard: rand.IntN(catalog.StockShards), Expires: r.expires, VIP: r.in.VIP}
		if r.in.BurstID != 0 {
			reqs[i].BurstID = &r.in.BurstID
		}
		if r.in.CardID != 0 {
			reqs[i].CardID = &r.in.CardID
		}
	}
	payload, err := json.Marshal(reqs)
	if err != nil {
		for _, r := range batch {
			r.reply <- reserveRes{err: fmt.Errorf("encode batch: %w", err)}
		}
		return
	}
	results := make([]reserveRes, len(batch))
	answered := 0
	rows, err := s.db.Query(ctx, `SELECT i, status, coalesce(shopper_limit, 0), coalesce(lapsed, false) FROM checkout_reserve_batch($1, $2, $3)`,
		payload, s.now(), s.cfg.DurableHolds)
	if err == nil {
		var i, limit int
		var status string
		var lapsed bool
		_, err = pgx.ForEachRow(rows, []any{&i, &status, &limit, &lapsed}, func() error {
			if i < 0 || i >= len(results) || results[i].status != "" {
				return fmt.Errorf("batch answered index %d", i)
			}
			results[i] = reserveRes{status: status, limit: limit, lapsed: lapsed}
			answered++
			return nil
		})
	}
	if err == nil && answered != len(batch) {
		err = fmt.Errorf("batch answered %d of %d", answered, len(batch))
	}
	// Answer only now: the statement, and so its transaction, is complete,
	// so a caller reading its cart sees its hold.
	for i, r := range batch {
		if err != nil {
			r.reply <- reserveRes{err: err}
			continue
		}
		r.reply <- results[i]
	}
}
