package checkout

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/apperr"
)

// Order statuses: pending (awaiting payment, stock held), paid, expired (the
// session lapsed unpaid; stock released), failed (payment failed or the
// session could not be created; stock released).
const (
	StatusPending = "pending"
	StatusPaid    = "paid"
	StatusExpired = "expired"
	StatusFailed  = "failed"
)

// Order is a shopper's checkout of a cart, attributed to the burst it was
// made from and the card of its first deal. Amount is in minor units.
type Order struct {
	ID              int64  `json:"id,string"`
	ShopperID       string `json:"shopper_id"`
	DropID          int64  `json:"drop_id,string"`
	BurstID         *int64 `json:"burst_id,string"`
	CardID          *int64 `json:"card_id,string"`
	Status          string `json:"status"`
	Currency        string `json:"currency"`
	Amount          int64  `json:"amount"`
	StripeSessionID string `json:"stripe_session_id,omitempty"`
	// StripePaymentIntent is the payment's pi_… once the session completed.
	StripePaymentIntent string     `json:"stripe_payment_intent,omitempty"`
	CheckoutURL         string     `json:"checkout_url,omitempty"`
	ReturnURL           string     `json:"return_url,omitempty"`
	ExpiresAt           time.Time  `json:"expires_at"`
	PaidAt              *time.Time `json:"paid_at"`
	ClosedAt            *time.Time `json:"closed_at"`
	StockShort          bool       `json:"stock_short"`
	CreatedAt           time.Time  `json:"created_at"`
	// Customer is who paid and where it ships; nil until Stripe reports it.
	Customer *Customer `json:"customer"`
	// RefundedAmount is what was refunded in Stripe so far (the order stays
	// paid); RefundedAt is when it last grew.
	RefundedAmount int64       `json:"refunded_amount"`
	RefundedAt     *time.Time  `json:"refunded_at"`
	Items          []OrderItem `json:"items"`
}

// OrderItem is one reservation of an order.
type OrderItem struct {
	VariantID int64  `json:"variant_id,string"`
	SKU       string `json:"sku"`
	Label     string `json:"label"`
	Title     string `json:"title"`
	Qty       int    `json:"qty"`
	UnitPrice int64  `json:"unit_price"`
	BurstID   *int64 `json:"burst_id,string"`
	CardID    *int64 `json:"card_id,string"`
	State     string `json:"state"`
}

const orderColumns = `id, shopper_id, drop_id, burst_id, card_id, status, currency, amount,
	coalesce(stripe_session_id, ''), coalesce(checkout_url, ''), return_url, expires_at, paid_at, closed_at, stock_short, created_at, customer,
	refunded_amount, refunded_at, coalesce(stripe_payment_intent, '')`

func scanOrder(row pgx.Row) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.ShopperID, &o.DropID, &o.BurstID, &o.CardID, &o.Status, &o.Currency, &o.Amount,
		&o.StripeSessionID, &o.CheckoutURL, &o.ReturnURL, &o.ExpiresAt, &o.PaidAt, &o.ClosedAt, &o.StockShort, &o.CreatedAt, &o.Customer,
		&o.RefundedAmount, &o.RefundedAt, &o.StripePaymentIntent)
	return o, err
}

// Order returns order id with its items. Errors: not_found.
func (s *Service) Order(ctx context.Context, id int64) (Order, error) {
	o, err := scanOrder(s.db.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, apperr.Errorf(apperr.NotFound, "order %d not found", id)
	}
	if err != nil {
		return Order{}, wrapf(err, "read order %d", id)
	}
	os := []Order{o}
	if err := s.attachItems(ctx, os); err != nil {
		return Order{}, err
	}
	return os[0], nil
}

// OrderFilter narrows ListOrders. Zero fields do not filter. Limit defaults
// to 100 and is at most 1000; Before pages by id (orders come newest first).
type OrderFilter struct {
	DropID  int64
	BurstID int64
	Status  string
	Before  int64
	Limit   int
}

// ListOrders returns orders, newest first, with their items. Errors: invalid
// (status).
func (s *Service) ListOrders(ctx context.Context, f OrderFilter) ([]Order, error) {
	switch f.Status {
	case "", StatusPending, StatusPaid, StatusExpired, StatusFailed:
	default:
		return nil, apperr.InvalidField("status", "must be pending, paid, expired or failed")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE ($1 = 0 OR drop_id = $1) AND ($2 = 0 OR burst_id = $2) AND ($3 = '' OR status = $3) AND ($4 = 0 OR id < $4)
		ORDER BY id DESC LIMIT $5`, f.DropID, f.BurstID, f.Status, f.Before, f.Limit)
	if err != nil {
		return nil, wrapf(err, "list orders")
	}
	os, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, wrapf(err, "list orders")
	}
	if err := s.attachItems(ctx, os); err != nil {
		return nil, err
	}
	return os, nil
}

func (s *Service) attachItems(ctx context.Context, os []Order) error {
	if len(os) == 0 {
		return nil
	}
	ids := make([]int64, len(os))
	index := make(map[int64]int, len(os))
	for i, o := range os {
		ids[i] = o.ID
		index[o.ID] = i
		os[i].Items = []OrderItem{}
	}
	rows, err := s.db.Query(ctx, `
		SELECT r.order_id, r.variant_id, v.sku, v.label, p.title, r.qty, r.unit_price, r.burst_id, r.card_id, r.state
		FROM reservations r JOIN variants v ON v.id = r.variant_id JOIN products p ON p.id = v.product_id
		WHERE r.order_id = ANY($1) ORDER BY r.order_id, r.id`, ids)
	if err != nil {
		return wrapf(err, "list order items")
	}
	defer rows.Close()
	for rows.Next() {
		var oid int64
		var it OrderItem
		if err := rows.Scan(&oid, &it.VariantID, &it.SKU, &it.Label, &it.Title, &it.Qty, &it.UnitPrice, &it.BurstID, &it.CardID, &it.State); err != nil {
			return wrapf(err, "list order items")
		}
		i := index[oid]
		os[i].Items = append(os[i].Items, it)
	}
	if err := rows.Err(); err != nil {
		return wrapf(err, "list order items")
	}
	return nil
}

// ShopperOrder returns order id if it belongs to shopperID. Errors:
// not_found (also for someone else's order).
func (s *Service) ShopperOrder(ctx context.Context, shopperID string, id int64) (Order, error) {
	o, err := s.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if o.ShopperID != shopperID {
		return Order{}, apperr.Errorf(apperr.NotFound, "order %d not found", id)
	}
	return o, nil
}

func fmtID(id int64) string { return strconv.FormatInt(id, 10) }
