package checkout

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/catalog"
)

// Cart is what a shopper holds in a drop: unexpired holds grouped by
// variant, price and card. Amounts are minor units of Currency.
type Cart struct {
	DropID   int64      `json:"drop_id,string"`
	Currency string     `json:"currency"`
	Items    []CartItem `json:"items"`
	Total    int64      `json:"total"`
	// ExpiresAt is when the first hold lapses (nil for an empty cart).
	ExpiresAt *time.Time `json:"expires_at"`
	// PendingOrder is the shopper's latest order awaiting payment, if any.
	PendingOrder *PendingOrder `json:"pending_order,omitempty"`
}

// CartItem is qty units of one variant held at one unit price.
type CartItem struct {
	VariantID int64     `json:"variant_id,string"`
	ProductID int64     `json:"product_id,string"`
	SKU       string    `json:"sku"`
	Label     string    `json:"label"`
	Title     string    `json:"title"`
	Qty       int       `json:"qty"`
	UnitPrice int64     `json:"unit_price"`
	CardID    *int64    `json:"card_id,string,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// PendingOrder points a shopper back to an order that awaits payment.
type PendingOrder struct {
	ID          int64     `json:"id,string"`
	Amount      int64     `json:"amount"`
	CheckoutURL string    `json:"checkout_url,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// AddInput is one cart.add. CardID (0: none) asks for that card's deal
// price and limit; BurstID (0: none) attributes the hold to a burst. VIP
// says the shopper holds a VIP pass: a vip_only card's deal needs it.
type AddInput struct {
	ShopperID string
	DropID    int64
	BurstID   int64
	VariantID int64
	Qty       int
	CardID    int64
	VIP       bool
}

func (in AddInput) validate(maxQty int) error {
	switch {
	case in.ShopperID == "" || len(in.ShopperID) > 128:
		return apperr.InvalidField("shopper", "a shopper identity is required")
	case in.VariantID <= 0:
		return &apperr.Error{Code: CodeUnknownVariant, Field: "variant", Message: "variant is required"}
	case in.Qty < 1 || in.Qty > maxQty:
		return apperr.InvalidField("qty", "must be between 1 and %d", maxQty)
	case in.CardID < 0:
		return apperr.InvalidField("card", "must be a card id")
	}
	return nil
}

// Add reserves in.Qty units of the variant for the shopper and returns the
// cart. Stock is taken in PostgreSQL by a conditional update that cannot go
// below zero, at the variant's price, or the card's deal price while the card
// is shown (plus DealGrace); the price is locked into the hold, which lapses
// after HoldDuration. Errors (*apperr.Error): sold_out, limit_reached,
// unknown_variant, card_expired, invalid, forbidden (a VIP card without VIP).
func (s *Service) Add(ctx context.Context, in AddInput) (Cart, error) {
	if err := in.validate(s.cfg.MaxQty); err != nil {
		return Cart{}, err
	}
	now := s.now()
	if s.stock.isSoldOut(in.VariantID, now) {
		return Cart{}, soldOutError(in)
	}
	dealOpen := in.CardID != 0 && s.cards.dealOpen(in.CardID, now)
	var res reserveRes
	var cart Cart
	for attempt := 0; ; attempt++ {
		var err error
		res, cart, err = s.reserveAny(ctx, in, dealOpen, now)
		if err != nil {
			if attempt < 3 && retryable(err) {
				continue
			}
			return Cart{}, wrapf(err, "reserve variant %d", in.VariantID)
		}
		if (res.status == CodeSoldOut || res.status == CodeLimitReached) && res.lapsed && attempt == 0 {
			// The sweeper may be late: give back this variant's lapsed
			// holds, then try once more.
			n, err := s.releaseExpiredOf(ctx, in.VariantID, now)
			if err != nil {
				return Cart{}, err
			}
			if n > 0 {
				continue
			}
		}
		break
	}
	switch res.status {
	case "ok":
		s.stock.mark(in.VariantID)
		return cart, nil
	case CodeSoldOut:
		if in.Qty == 1 && !res.lapsed && !res.remembered {
			// None left, and no lapsed hold to give back: the rest of the
			// rush is answered from memory.
			s.stock.markSoldOut(in.VariantID, now)
		}
		return Cart{}, soldOutError(in)
	case CodeLimitReached:
		return Cart{}, &apperr.Error{Code: CodeLimitReached, Field: "qty", Message: fmt.Sprintf("at most %d of this item per shopper", res.limit)}
	case CodeUnknownVariant:
		return Cart{}, &apperr.Error{Code: CodeUnknownVariant, Field: "variant", Message: fmt.Sprintf("variant %d is not sold in this drop", in.VariantID)}
	case CodeCardExpired:
		return Cart{}, &apperr.Error{Code: CodeCardExpired, Field: "card", Message: fmt.Sprintf("card %d is no longer shown; add without it for the regular price", in.CardID)}
	case "vip_only":
		return Cart{}, &apperr.Error{Code: apperr.Forbidden, Field: "card", Message: fmt.Sprintf("card %d is a deal for VIP pass holders", in.CardID)}
	case "card_mismatch":
		return Cart{}, apperr.InvalidField("card", "card %d does not offer variant %d in this drop", in.CardID, in.VariantID)
	}
	return Cart{}, fmt.Errorf("reserve variant %d: unexpected status %q", in.VariantID, res.status)
}

func soldOutError(in AddInput) error {
	return &apperr.Error{Code: CodeSoldOut, Field: "variant", Message: fmt.Sprintf("variant %d is sold out (fewer than %d left)", in.VariantID, in.Qty)}
}

// reserveAny reserves through the batcher when there is one, and on its own
// (with the cart in the same round trip) otherwise, when the batcher is
// full, or when the reservation needs more than one shard.
func (s *Service) reserveAny(ctx context.Context, in AddInput, dealOpen bool, now time.Time) (reserveRes, Cart, error) {
	if s.batch != nil {
		r := &reserveReq{in: in, dealOpen: dealOpen, expires: now.Add(s.cfg.HoldDuration), reply: make(chan reserveRes, 1)}
		res, ok := s.batch.submit(ctx, r)
		switch {
		case !ok || (res.err != nil && ctx.Err() == nil) || res.status == "contended":
			// fall through to a reservation of its own
		case res.err != nil:
			return reserveRes{}, Cart{}, res.err
		case res.status != "ok":
			return res, Cart{}, nil
		default:
			cart, err := s.CartOf(ctx, in.ShopperID, in.DropID)
			return res, cart, err
		}
	}
	return s.reserve(ctx, in, dealOpen, now)
}

// reserve runs checkout_add: the reservation and, when it succeeds, the
// cart, in one statement and one round trip.
func (s *Service) reserve(ctx context.Context, in AddInput, dealOpen bool, now time.Time) (res reserveRes, cart Cart, err error) {
	var card, burst *int64
	if in.CardID != 0 {
		card = &in.CardID
	}
	if in.BurstID != 0 {
		burst = &in.BurstID
	}
	// In a rush most adds wait here for a connection; by the time one is
	// free the variant may have been found sold out.
	c, err := s.db.Acquire(ctx)
	if err != nil {
		return res, cart, err
	}
	defer c.Release()
	if s.stock.isSoldOut(in.VariantID, s.now()) {
		return reserveRes{status: CodeSoldOut, remembered: true}, cart, nil
	}
	rows, err := c.Query(ctx, `SELECT * FROM checkout_add($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		in.ShopperID, in.DropID, burst, in.VariantID, in.Qty, card, dealOpen, s.cfg.ShopperLimit,
		rand.IntN(catalog.StockShards), now, now.Add(s.cfg.HoldDuration), s.cfg.DurableHolds, in.VIP)
	if err != nil {
		return res, cart, err
	}
	defer rows.Close()
	cart = Cart{DropID: in.DropID, Items: []CartItem{}}
	for rows.Next() {
		var (
			l      *int
			lapsed *bool
			cr     cartRow
		)
		dest := append([]any{&res.status, &l, &lapsed}, cr.dest()...)
		if err := rows.Scan(dest...); err != nil {
			return res, cart, err
		}
		if l != nil {
			res.limit = *l
		}
		res.lapsed = lapsed != nil && *lapsed
		if res.status == "ok" {
			cr.addTo(&cart)
		}
	}
	return res, cart, rows.Err()
}

// retryable reports a deadlock or serialization failure, which PostgreSQL
// resolves by aborting one transaction that may simply run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// CartOf returns the shopper's cart in drop dropID. Expired holds are left
// out even before the sweeper releases them.
func (s *Service) CartOf(ctx context.Context, shopperID string, dropID int64) (Cart, error) {
	var cart Cart
	b := &pgx.Batch{}
	cartQueue(b, &cart, shopperID, dropID, s.now())
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return Cart{}, wrapf(err, "read cart of drop %d", dropID)
	}
	return cart, nil
}

// cartSQL reads a cart in one statement: the drop's currency, the
// shopper's latest open order, and unexpired holds grouped by variant, price
// and card (one row each; item columns are NULL for an empty cart).
const cartSQL = `
	SELECT d.currency, po.id, po.amount, po.checkout_url, po.expires_at,
		i.variant_id, i.product_id, i.sku, i.label, i.title, i.qty, i.unit_price, i.card_id, i.expires_at
	FROM drops d
	LEFT JOIN LATERAL (
		SELECT id, amount, coalesce(checkout_url, '') AS checkout_url, expires_at FROM orders
		WHERE shopper_id = $1 AND drop_id = d.id AND status = 'pending' AND expires_at > $3
		ORDER BY id DESC LIMIT 1
	) po ON true
	LEFT JOIN LATERAL (
		SELECT r.variant_id, v.product_id, v.sku, v.label, p.title, sum(r.qty)::integer AS qty, r.unit_price, r.card_id,
			min(r.expires_at) AS expires_at, min(r.id) AS first
		FROM reservations r
		JOIN variants v ON v.id = r.variant_id
		JOIN products p ON p.id = v.product_id
		WHERE r.shopper_id = $1 AND r.drop_id = d.id AND r.state = 'held' AND r.expires_at > $3
		GROUP BY r.variant_id, v.product_id, v.sku, v.label, p.title, r.unit_price, r.card_id
	) i ON true
	WHERE d.id = $2
	ORDER BY i.first`

// cartRow is one row of cartSQL (and of checkout_add after its status).
type cartRow struct {
	currency          *string
	poID              *int64
	poAmount          *int64
	poURL             *string
	poExpires         *time.Time
	variant, product  *int64
	sku, label, title *string
	qty               *int
	price             *int64
	card              *int64
	expires           *time.Time
}

func (r *cartRow) dest() []any {
	return []any{&r.currency, &r.poID, &r.poAmount, &r.poURL, &r.poExpires,
		&r.variant, &r.product, &r.sku, &r.label, &r.title, &r.qty, &r.price, &r.card, &r.expires}
}

// addTo adds the row's pending order and item (either may be absent) to cart.
func (r *cartRow) addTo(cart *Cart) {
	if r.currency != nil {
		cart.Currency = *r.currency
	}
	if r.poID != nil && cart.PendingOrder == nil {
		cart.PendingOrder = &PendingOrder{ID: *r.poID, Amount: *r.poAmount, CheckoutURL: *r.poURL, ExpiresAt: *r.poExpires}
	}
	if r.variant == nil {
		return
	}
	it := CartItem{VariantID: *r.variant, ProductID: *r.product, SKU: *r.sku, Label: *r.label, Title: *r.title,
		Qty: *r.qty, UnitPrice: *r.price, CardID: r.card, ExpiresAt: *r.expires}
	cart.Items = append(cart.Items, it)
	cart.Total += int64(it.Qty) * it.UnitPrice
	if cart.ExpiresAt == nil || it.ExpiresAt.Before(*cart.ExpiresAt) {
		e := it.ExpiresAt
		cart.ExpiresAt = &e
	}
}

// cartQueue queues the read that fills cart.
func cartQueue(b *pgx.Batch, cart *Cart, shopperID string, dropID int64, now time.Time) {
	cart.DropID = dropID
	cart.Items = []CartItem{}
	b.Queue(cartSQL, shopperID, dropID, now).Query(func(rows pgx.Rows) error {
		found := false
		for rows.Next() {
			found = true
			var r cartRow
			if err := rows.Scan(r.dest()...); err != nil {
				return err
			}
			r.addTo(cart)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return apperr.Errorf(apperr.NotFound, "drop %d not found", dropID)
		}
		return nil
	})
}

// Remove releases qty units of variantID that the shopper holds in drop
// dropID (qty 0: all of them), newest holds first, and returns the cart.
// Errors: invalid (qty, or nothing of that variant held).
func (s *Service) Remove(ctx context.Context, shopperID string, dropID, variantID int64, qty int) (Cart, error) {
	if qty < 0 || qty > 1_000_000 {
		return Cart{}, apperr.InvalidField("qty", "must be 0 (all) or a positive number")
	}
	now := s.now()
	released := 0
	err := s.inTxRetry(ctx, func(tx pgx.Tx) error {
		var err error
		released, err = removeHolds(ctx, tx, shopperID, dropID, variantID, qty, now)
		return err
	})
	if err != nil {
		return Cart{}, err
	}
	if released == 0 {
		return Cart{}, apperr.InvalidField("variant", "variant %d is not in the cart", variantID)
	}
	s.stock.mark(variantID)
	return s.CartOf(ctx, shopperID, dropID)
}

type heldRow struct {
	id    int64
	qty   int
	shard int
}

func removeHolds(ctx context.Context, tx pgx.Tx, shopperID string, dropID, variantID int64, qty int, now time.Time) (int, error) {
	rows, err := tx.Query(ctx, `
		SELECT id, qty, shard FROM reservations
		WHERE shopper_id = $1 AND drop_id = $2 AND variant_id = $3 AND state = 'held' AND expires_at > $4
		ORDER BY id DESC FOR UPDATE`, shopperID, dropID, variantID, now)
	if err != nil {
		return 0, fmt.Errorf("lock holds: %w", err)
	}
	held, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (heldRow, error) {
		var h heldRow
		err := r.Scan(&h.id, &h.qty, &h.shard)
		return h, err
	})
	if err != nil {
		return 0, fmt.Errorf("lock holds: %w", err)
	}
	left := qty
	if qty == 0 {
		left = int(^uint(0) >> 1)
	}
	back := map[int]int{} // shard → units
	total := 0
	for _, h := range held {
		if left == 0 {
			break
		}
		take := min(left, h.qty)
		if take == h.qty {
			_, err = tx.Exec(ctx, `UPDATE reservations SET state = 'released', released_at = $2 WHERE id = $1`, h.id, now)
		} else {
			_, err = tx.Exec(ctx, `UPDATE reservations SET qty = qty - $2 WHERE id = $1`, h.id, take)
		}
		if err != nil {
			return 0, fmt.Errorf("release hold %d: %w", h.id, err)
		}
		back[h.shard] += take
		total += take
		left -= take
	}
	if total == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE shopper_units SET units = units - $4 WHERE shopper_id = $1 AND drop_id = $2 AND variant_id = $3`,
		shopperID, dropID, variantID, total); err != nil {
		return 0, fmt.Errorf("count released units: %w", err)
	}
	// Shard order, as everywhere, so concurrent writers lock rows alike.
	for _, shard := range slices.Sorted(maps.Keys(back)) {
		if _, err := tx.Exec(ctx, `UPDATE stock SET available = available + $3 WHERE variant_id = $1 AND shard = $2`, variantID, shard, back[shard]); err != nil {
			return 0, fmt.Errorf("return stock: %w", err)
		}
	}
	return total, nil
}

// inTxRetry runs fn in a transaction, again (up to three times) after a
// deadlock or serialization failure.
func (s *Service) inTxRetry(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.db, fn)
		if err != nil && attempt < 3 && retryable(err) {
			continue
		}
		return err
	}
}
