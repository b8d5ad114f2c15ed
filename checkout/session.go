package checkout

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v79"

	"github.com/dropcast/dropcast/apperr"
)

// CheckoutInput starts payment of a shopper's cart in a drop. ReturnURL is
// the page the shopper came from (on PublicURL; empty: the burst's watch
// page or the site root); Stripe sends the shopper back there with
// ?checkout=success|cancel&order=ID.
type CheckoutInput struct {
	ShopperID string
	DropID    int64
	BurstID   int64
	ReturnURL string
}

// StartCheckout turns the shopper's unexpired holds into a pending order,
// extends their hold to the session's lifetime (SessionTTL, at least Stripe's
// 30 minutes, plus OrderGrace), and opens a Stripe Checkout Session for it
// through the rate-limited queue. With no holds but an open pending order it
// returns that order again. Errors: invalid (empty cart, return URL),
// unavailable (payments off, Stripe unreachable or busy; the holds are put
// back in the cart).
func (s *Service) StartCheckout(ctx context.Context, in CheckoutInput) (Order, error) {
	if s.stripe == nil {
		return Order{}, ErrPaymentsOff
	}
	returnURL, err := s.returnURL(in.ReturnURL, in.BurstID)
	if err != nil {
		return Order{}, err
	}
	now := s.now()
	var o Order
	var existing bool
	err = s.inTxRetry(ctx, func(tx pgx.Tx) error {
		var err error
		o, existing, err = s.createOrder(ctx, tx, in, returnURL, now)
		return err
	})
	if err != nil {
		return Order{}, err
	}
	if existing {
		if o.CheckoutURL == "" {
			return Order{}, apperr.Errorf(apperr.Conflict, "checkout of order %d is in progress", o.ID)
		}
		return o, nil
	}
	if err := s.attachItemsInto(ctx, &o); err != nil {
		return Order{}, err
	}
	sess, err := s.createSession(ctx, o, now)
	if err != nil {
		s.log.Warn("create checkout session", "order_id", o.ID, "err", err)
		if rerr := s.reopenCart(context.WithoutCancel(ctx), o.ID); rerr != nil {
			s.log.Error("put order back in cart", "order_id", o.ID, "err", rerr)
		}
		if apperr.CodeOf(err) == apperr.Unavailable {
			return Order{}, err
		}
		return Order{}, apperr.Errorf(apperr.Unavailable, "the payment provider did not answer; your cart is kept, try again")
	}
	o.StripeSessionID, o.CheckoutURL = sess.ID, sess.URL
	if _, err := s.db.Exec(ctx, `UPDATE orders SET stripe_session_id = $2, checkout_url = $3, updated_at = $4 WHERE id = $1`,
		o.ID, sess.ID, sess.URL, now); err != nil {
		return Order{}, wrapf(err, "store session of order %d", o.ID)
	}
	s.log.Info("checkout opened", "order_id", o.ID, "drop_id", o.DropID, "amount", o.Amount, "stripe_session_id", sess.ID)
	return o, nil
}

func (s *Service) attachItemsInto(ctx context.Context, o *Order) error {
	os := []Order{*o}
	if err := s.attachItems(ctx, os); err != nil {
		return err
	}
	*o = os[0]
	return nil
}

// returnURL checks that raw is a page of this site (no open redirect) and
// fills the default.
func (s *Service) returnURL(raw string, burstID int64) (string, error) {
	if raw == "" {
		if burstID != 0 {
			return fmt.Sprintf("%s/watch/%d", s.cfg.PublicURL, burstID), nil
		}
		return s.cfg.PublicURL + "/", nil
	}
	u, err := url.Parse(raw)
	base, _ := url.Parse(s.cfg.PublicURL)
	if err != nil || len(raw) > 2000 {
		return "", apperr.InvalidField("return_url", "must be a URL of this site")
	}
	if !u.IsAbs() {
		if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(raw, "//") {
			return "", apperr.InvalidField("return_url", "must be an absolute path or a URL of this site")
		}
		u = base.ResolveReference(u)
	}
	if u.Scheme != base.Scheme || u.Host != base.Host {
		return "", apperr.InvalidField("return_url", "must be a page of %s", s.cfg.PublicURL)
	}
	u.Fragment = ""
	return u.String(), nil
}

func withQuery(raw string, kv ...string) string {
	u, _ := url.Parse(raw) // checked by returnURL
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// createOrder locks the shopper's unexpired holds and turns them into a
// pending order; with none, it returns the open pending order (existing).
func (s *Service) createOrder(ctx context.Context, tx pgx.Tx, in CheckoutInput, returnURL string, now time.Time) (Order, bool, error) {
	var amount int64
	var cardID *int64
	var n int
	err := tx.QueryRow(ctx, `
		WITH held AS (
			SELECT id, qty, unit_price, card_id FROM reservations
			WHERE shopper_id = $1 AND drop_id = $2 AND state = 'held' AND expires_at > $3
			ORDER BY id FOR UPDATE
		)
		SELECT count(*)::integer, coalesce(sum(qty * unit_price), 0)::bigint,
			(SELECT card_id FROM held WHERE card_id IS NOT NULL ORDER BY id LIMIT 1) FROM held`,
		in.ShopperID, in.DropID, now).Scan(&n, &amount, &cardID)
	if err != nil {
		return Order{}, false, fmt.Errorf("lock cart: %w", err)
	}
	if n == 0 {
		o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders
			WHERE shopper_id = $1 AND drop_id = $2 AND status = 'pending' AND expires_at > $3 ORDER BY id DESC LIMIT 1`,
			in.ShopperID, in.DropID, now))
		if errors.Is(err, pgx.ErrNoRows) {
			return Order{}, false, apperr.InvalidField("cart", "the cart is empty")
		}
		if err != nil {
			return Order{}, false, fmt.Errorf("read pending order: %w", err)
		}
		return o, true, nil
	}
	var burst *int64
	if in.BurstID != 0 {
		burst = &in.BurstID
	}
	expires := now.Add(s.cfg.SessionTTL + s.cfg.OrderGrace)
	o, err := scanOrder(tx.QueryRow(ctx, `
		INSERT INTO orders (shopper_id, drop_id, burst_id, card_id, currency, amount, return_url, expires_at, created_at, updated_at)
		SELECT $1, $2, $3, $4, d.currency, $5, $6, $7, $8, $8 FROM drops d WHERE d.id = $2
		RETURNING `+orderColumns, in.ShopperID, in.DropID, burst, cardID, amount, returnURL, expires, now))
	if err != nil {
		return Order{}, false, fmt.Errorf("insert order: %w", err)
	}
	if _, err := tx.Exec(ctx, `
		UPDATE reservations SET state = 'ordered', order_id = $4, expires_at = $5
		WHERE shopper_id = $1 AND drop_id = $2 AND state = 'held' AND expires_at > $3`,
		in.ShopperID, in.DropID, now, o.ID, expires); err != nil {
		return Order{}, false, fmt.Errorf("move cart into order %d: %w", o.ID, err)
	}
	return o, false, nil
}

// reopenCart puts a failed order's reservations back in the cart for a fresh
// hold period and marks the order failed.
func (s *Service) reopenCart(ctx context.Context, orderID int64) error {
	now := s.now()
	return s.inTxRetry(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE reservations SET state = 'held', order_id = NULL, expires_at = $2
			WHERE order_id = $1 AND state = 'ordered'`, orderID, now.Add(s.cfg.HoldDuration)); err != nil {
			return fmt.Errorf("reopen cart: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE orders SET status = 'failed', closed_at = $2, updated_at = $2 WHERE id = $1 AND status = 'pending'`, orderID, now)
		return err
	})
}

// createSession opens the Stripe Checkout Session of o: one price_data line
// per item (prices from our database, never from the client), the order's
// ids in metadata and client_reference_id, an idempotency key from the order.
func (s *Service) createSession(ctx context.Context, o Order, now time.Time) (*stripe.CheckoutSession, error) {
	currency := strings.ToLower(o.Currency)
	ships, err := s.shippingCountries(ctx, o.DropID)
	if err != nil {
		return nil, err
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(fmtID(o.ID)),
		SuccessURL:        stripe.String(withQuery(o.ReturnURL, "checkout", "success", "order", fmtID(o.ID))),
		CancelURL:         stripe.String(withQuery(o.ReturnURL, "checkout", "cancel", "order", fmtID(o.ID))),
		ExpiresAt:         stripe.Int64(now.Add(s.cfg.SessionTTL).Unix()),
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: orderMetadata(o)},
	}
	for _, it := range o.Items {
		params.LineItems = append(params.LineItems, &stripe.CheckoutSessionLineItemParams{
			Quantity: stripe.Int64(int64(it.Qty)),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:   stripe.String(currency),
				UnitAmount: stripe.Int64(it.UnitPrice),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{
					Name:     stripe.String(it.Title + " (" + it.Label + ")"),
					Metadata: map[string]string{"variant_id": fmtID(it.VariantID), "sku": it.SKU},
				},
			},
		})
	}
	if len(ships) > 0 {
		params.ShippingAddressCollection = &stripe.CheckoutSessionShippingAddressCollectionParams{AllowedCountries: stripe.StringSlice(ships)}
	}
	for k, v := range orderMetadata(o) {
		params.AddMetadata(k, v)
	}
	// Stable for the order (a retry reuses it), yet never the same for two
	// databases that both have an order 1 (Stripe keeps keys for 24 h).
	params.SetIdempotencyKey(fmt.Sprintf("dropcast-order-%d-%d", o.ID, o.CreatedAt.UnixMicro()))
	var sess *stripe.CheckoutSession
	err = s.stripe.do(ctx, func(ctx context.Context) error {
		callCtx, cancel := context.WithTimeout(ctx, s.cfg.StripeTimeout)
		defer cancel()
		params.Context = callCtx
		var err error
		sess, err = s.stripe.api.CheckoutSessions.New(params)
		return err
	})
	if err != nil {
		return nil, wrapf(err, "create checkout session")
	}
	return sess, nil
}

func orderMetadata(o Order) map[string]string {
	m := map[string]string{"order_id": fmtID(o.ID), "drop_id": fmtID(o.DropID)}
	if o.BurstID != nil {
		m["burst_id"] = fmtID(*o.BurstID)
	}
	if o.CardID != nil {
		m["card_id"] = fmtID(*o.CardID)
	}
	return m
}
