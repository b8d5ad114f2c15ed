package checkout

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/store"
)

// releaseSQL releases the reservations that claim (a SELECT of ids with
// FOR UPDATE; $1 is now) yields: their units go back to their shards and off
// the shoppers' counters. It returns the (drop, variant) pairs touched.
const releaseSQL = `
	WITH claimed AS (%s),
	rel AS (
		UPDATE reservations r SET state = 'released', released_at = $1
		FROM claimed c WHERE r.id = c.id
		RETURNING r.shopper_id, r.drop_id, r.variant_id, r.shard, r.qty
	),
	units AS (
		UPDATE shopper_units su SET units = su.units - x.q
		FROM (SELECT shopper_id, drop_id, variant_id, sum(qty)::integer AS q FROM rel GROUP BY 1, 2, 3) x
		WHERE su.shopper_id = x.shopper_id AND su.drop_id = x.drop_id AND su.variant_id = x.variant_id
	),
	back AS (
		UPDATE stock s SET available = s.available + x.q
		FROM (SELECT variant_id, shard, sum(qty)::integer AS q FROM rel GROUP BY 1, 2) x
		WHERE s.variant_id = x.variant_id AND s.shard = x.shard
	)
	SELECT drop_id, variant_id, sum(qty)::integer FROM rel GROUP BY 1, 2`

// Claims for releaseSQL. SKIP LOCKED lets the sweeper and a reservation's
// own reclaim run side by side without waiting for each other.
const (
	claimExpired = `SELECT id FROM reservations WHERE state = 'held' AND expires_at <= $1
		ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED`
	claimExpiredOf = `SELECT id FROM reservations WHERE state = 'held' AND expires_at <= $1 AND variant_id = $2
		LIMIT 500 FOR UPDATE SKIP LOCKED`
	claimOrder = `SELECT id FROM reservations WHERE order_id = $2 AND state = 'ordered' FOR UPDATE`
)

// release runs releaseSQL with claim on db and marks the touched variants'
// stock as changed once the caller's transaction commits (the caller passes
// the marks on). It returns the units released.
func release(ctx context.Context, db store.DBTX, claim string, now time.Time, args ...any) (units int, touched [][2]int64, err error) {
	rows, err := db.Query(ctx, fmt.Sprintf(releaseSQL, claim), append([]any{now}, args...)...)
	if err != nil {
		return 0, nil, fmt.Errorf("release holds: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, v int64
		var n int
		if err := rows.Scan(&d, &v, &n); err != nil {
			return 0, nil, fmt.Errorf("release holds: %w", err)
		}
		units += n
		touched = append(touched, [2]int64{d, v})
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("release holds: %w", err)
	}
	return units, touched, nil
}

func (s *Service) markAll(touched [][2]int64) {
	for _, t := range touched {
		s.stock.mark(t[1])
	}
}

// releaseExpiredOf releases variantID's lapsed holds and returns the units
// it gave back.
func (s *Service) releaseExpiredOf(ctx context.Context, variantID int64, now time.Time) (int, error) {
	var units int
	var touched [][2]int64
	err := s.inTxRetry(ctx, func(tx pgx.Tx) error {
		var err error
		units, touched, err = release(ctx, tx, claimExpiredOf, now, variantID)
		return err
	})
	if err != nil {
		return 0, wrapf(err, "reclaim lapsed holds of variant %d", variantID)
	}
	s.markAll(touched)
	return units, nil
}

// Sweep releases every lapsed hold and every unpaid order past its expiry
// (plus OrderGrace) once, and returns the units put back on sale. Run calls
// it every SweepInterval; tests call it directly.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for {
		var units int
		var touched [][2]int64
		err := s.inTxRetry(ctx, func(tx pgx.Tx) error {
			var err error
			units, touched, err = release(ctx, tx, claimExpired, now)
			return err
		})
		if err != nil {
			return total, wrapf(err, "sweep lapsed holds")
		}
		s.markAll(touched)
		total += units
		if len(touched) == 0 {
			break
		}
	}
	ids, err := s.lapsedOrders(ctx, now)
	if err != nil {
		return total, err
	}
	for _, id := range ids {
		n, err := s.closeOrder(ctx, id, "expired", "sweeper", now)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (s *Service) lapsedOrders(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM orders WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT 1000`, now)
	if err != nil {
		return nil, fmt.Errorf("list lapsed orders: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("list lapsed orders: %w", err)
	}
	return ids, nil
}

// closeOrder moves a pending order to status (expired or failed) and puts its
// stock back on sale. An order that is no longer pending is left alone. It
// returns the units released.
func (s *Service) closeOrder(ctx context.Context, id int64, status, why string, now time.Time) (int, error) {
	var units int
	var touched [][2]int64
	err := s.inTxRetry(ctx, func(tx pgx.Tx) error {
		var err error
		units, touched, err = closeOrderTx(ctx, tx, id, status, now)
		return err
	})
	if err != nil {
		return 0, wrapf(err, "close order %d", id)
	}
	s.markAll(touched)
	if touched != nil {
		s.log.Info("order closed", "order_id", id, "status", status, "reason", why, "units", units)
	}
	return units, nil
}

func closeOrderTx(ctx context.Context, tx pgx.Tx, id int64, status string, now time.Time) (int, [][2]int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE orders SET status = $2, closed_at = $3, updated_at = $3 WHERE id = $1 AND status = 'pending'`, id, status, now)
	if err != nil {
		return 0, nil, fmt.Errorf("close order: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return 0, nil, nil
	}
	return release(ctx, tx, claimOrder, now, id)
}

func (s *Service) runSweeper(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("sweep", "err", err)
			} else if n > 0 {
				s.log.Debug("swept lapsed holds", "units", n)
			}
		}
	}
}
