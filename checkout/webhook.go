package checkout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/events"
)

// Webhook outcomes, recorded with each event id in stripe_events.
const (
	OutcomePaid             = "paid"
	OutcomePaidAfterRelease = "paid_after_release" // stock was taken again (see Order.StockShort)
	OutcomeAlreadyPaid      = "already_paid"
	OutcomeAwaitingPayment  = "awaiting_payment" // completed, asynchronous payment still running
	OutcomeExpired          = "expired"
	OutcomeFailed           = "failed"
	OutcomeAlreadyClosed    = "already_closed"
	OutcomeUnknownSession   = "unknown_session"
	OutcomeIgnored          = "ignored" // an event type checkout does not act on
)

// asyncPaymentHold is how long an order stays held while an asynchronous
// payment (bank debit and the like) is being settled.
const asyncPaymentHold = 7 * 24 * time.Hour

// WebhookResult says what one delivery did.
type WebhookResult struct {
	EventID   string
	Type      string
	OrderID   int64
	Outcome   string
	Duplicate bool // the event had been applied before; nothing changed
}

// HandleWebhook verifies a Stripe webhook delivery (signature with the
// endpoint secret, timestamp within stripe-go's 5-minute tolerance, API
// version) and applies it once: the event id is recorded in the transaction
// that applies its effect, so a redelivery changes nothing.
//
// checkout.session.completed (paid) and async_payment_succeeded mark the
// order paid and its stock sold, and keep the customer and the PaymentIntent;
// charge.refunded records a refund made in Stripe on that order; checkout.session.expired and
// async_payment_failed release its stock unless it was paid already (so an
// expiry delivered after the completion leaves the order paid). A completion
// for an order whose stock was released meanwhile takes the stock again, or
// flags the order stock_short for an operator: a paid order is never lost.
// An event for a session checkout does not know is recorded and otherwise
// ignored (outcome unknown_session), so Stripe stops retrying it.
//
// Errors: invalid (forged, stale or malformed: nothing changed),
// unavailable (no endpoint secret configured).
func (s *Service) HandleWebhook(ctx context.Context, payload []byte, sigHeader string) (WebhookResult, error) {
	if s.cfg.StripeWebhookSecret == "" {
		return WebhookResult{}, apperr.Errorf(apperr.Unavailable, "stripe webhooks are not configured")
	}
	ev, err := webhook.ConstructEvent(payload, sigHeader, s.cfg.StripeWebhookSecret)
	if err != nil {
		return WebhookResult{}, apperr.Errorf(apperr.Invalid, "webhook refused: %v", webhookReason(err))
	}
	res := WebhookResult{EventID: ev.ID, Type: string(ev.Type)}
	if ev.ID == "" {
		return res, apperr.Errorf(apperr.Invalid, "webhook refused: event has no id")
	}
	var sess stripe.CheckoutSession
	var charge *stripe.Charge // set for charge.refunded
	switch ev.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded,
		stripe.EventTypeCheckoutSessionExpired, stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
		if ev.Data == nil || json.Unmarshal(ev.Data.Raw, &sess) != nil {
			return res, apperr.Errorf(apperr.Invalid, "webhook refused: data.object is not a checkout session")
		}
		res.OrderID = sessionOrderID(&sess)
	case stripe.EventTypeChargeRefunded:
		charge = &stripe.Charge{}
		if ev.Data == nil || json.Unmarshal(ev.Data.Raw, charge) != nil {
			return res, apperr.Errorf(apperr.Invalid, "webhook refused: data.object is not a charge")
		}
	default:
		res.Outcome = OutcomeIgnored
		return res, nil
	}
	now := s.now()
	var touched [][2]int64
	var sale *events.Sale
	err = s.inTxRetry(ctx, func(tx pgx.Tx) error {
		touched, sale, res.Duplicate, res.Outcome = nil, nil, false, ""
		tag, err := tx.Exec(ctx, `INSERT INTO stripe_events (id, type, order_id, outcome) VALUES ($1, $2, $3, '')
			ON CONFLICT (id) DO NOTHING`, ev.ID, string(ev.Type), nullID(res.OrderID))
		if err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		if tag.RowsAffected() == 0 {
			res.Duplicate = true
			return nil
		}
		if charge != nil {
			res.OrderID, res.Outcome, err = s.applyRefund(ctx, tx, charge, now)
		} else {
			res.Outcome, touched, sale, err = s.applySession(ctx, tx, ev.Type, &sess, res.OrderID, now)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE stripe_events SET outcome = $2, order_id = coalesce(order_id, $3) WHERE id = $1`,
			ev.ID, res.Outcome, nullID(res.OrderID))
		return err
	})
	if err != nil {
		return res, wrapf(err, "apply stripe event %s", ev.ID)
	}
	s.markAll(touched)
	if sale != nil {
		s.bus.Publish(*sale)
	}
	s.log.Info("stripe event", "stripe_event_id", ev.ID, "type", ev.Type, "order_id", res.OrderID, "outcome", res.Outcome, "duplicate", res.Duplicate)
	return res, nil
}

func webhookReason(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "no Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "malformed Stripe-Signature header"
	case errors.Is(err, webhook.ErrTooOld):
		return "timestamp outside the tolerance"
	case errors.Is(err, webhook.ErrNoValidSignature):
		return "no valid signature"
	}
	return "malformed or unexpected event"
}

func sessionOrderID(sess *stripe.CheckoutSession) int64 {
	ref := sess.Metadata["order_id"]
	if ref == "" {
		ref = sess.ClientReferenceID
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// applySession applies one session event to its order inside tx.
func (s *Service) applySession(ctx context.Context, tx pgx.Tx, typ stripe.EventType, sess *stripe.CheckoutSession, orderID int64, now time.Time) (string, [][2]int64, *events.Sale, error) {
	if orderID == 0 {
		return OutcomeUnknownSession, nil, nil, nil
	}
	o, err := scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders WHERE id = $1 FOR UPDATE`, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return OutcomeUnknownSession, nil, nil, nil
	}
	if err != nil {
		return "", nil, nil, fmt.Errorf("lock order %d: %w", orderID, err)
	}
	if o.StripeSessionID != "" && sess.ID != o.StripeSessionID {
		s.log.Warn("stripe event for another session of the order", "order_id", orderID, "stripe_session_id", sess.ID)
		return OutcomeUnknownSession, nil, nil, nil
	}
	if typ == stripe.EventTypeCheckoutSessionCompleted || typ == stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded {
		if err := storeSessionDetails(ctx, tx, o.ID, sess); err != nil {
			return "", nil, nil, err
		}
	}
	switch typ {
	case stripe.EventTypeCheckoutSessionCompleted:
		if sess.PaymentStatus == stripe.CheckoutSessionPaymentStatusUnpaid {
			return s.awaitPayment(ctx, tx, o, now)
		}
		return s.markPaid(ctx, tx, o, now)
	case stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
		return s.markPaid(ctx, tx, o, now)
	case stripe.EventTypeCheckoutSessionExpired, stripe.EventTypeCheckoutSessionAsyncPaymentFailed:
		status, outcome := StatusExpired, OutcomeExpired
		if typ == stripe.EventTypeCheckoutSessionAsyncPaymentFailed {
			status, outcome = StatusFailed, OutcomeFailed
		}
		switch o.Status {
		case StatusPaid:
			return OutcomeAlreadyPaid, nil, nil, nil
		case StatusPending:
			_, touched, err := closeOrderTx(ctx, tx, o.ID, status, now)
			return outcome, touched, nil, err
		}
		return OutcomeAlreadyClosed, nil, nil, nil
	}
	return OutcomeIgnored, nil, nil, nil
}

func (s *Service) awaitPayment(ctx context.Context, tx pgx.Tx, o Order, now time.Time) (string, [][2]int64, *events.Sale, error) {
	if o.Status != StatusPending {
		return OutcomeAlreadyClosed, nil, nil, nil
	}
	until := now.Add(asyncPaymentHold)
	if _, err := tx.Exec(ctx, `UPDATE orders SET expires_at = $2, updated_at = $3 WHERE id = $1`, o.ID, until, now); err != nil {
		return "", nil, nil, fmt.Errorf("extend order %d: %w", o.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE reservations SET expires_at = $2 WHERE order_id = $1 AND state = 'ordered'`, o.ID, until); err != nil {
		return "", nil, nil, fmt.Errorf("extend order %d: %w", o.ID, err)
	}
	return OutcomeAwaitingPayment, nil, nil, nil
}

// markPaid settles order o: its held units become sold. If the order had
// been closed and its stock released (a completion delivered after the
// expiry), the units are taken again where stock allows.
func (s *Service) markPaid(ctx context.Context, tx pgx.Tx, o Order, now time.Time) (string, [][2]int64, *events.Sale, error) {
	outcome := OutcomePaid
	var touched [][2]int64
	short := false
	switch o.Status {
	case StatusPaid:
		return OutcomeAlreadyPaid, nil, nil, nil
	case StatusExpired, StatusFailed:
		outcome = OutcomePaidAfterRelease
		var err error
		touched, short, err = retakeOrder(ctx, tx, o.ID)
		if err != nil {
			return "", nil, nil, err
		}
		if short {
			s.log.Error("paid order could not get its stock back", "order_id", o.ID)
		}
	}
	var items int
	err := tx.QueryRow(ctx, `WITH sold AS (
			UPDATE reservations SET state = 'sold' WHERE order_id = $1 AND state IN ('ordered', 'released') RETURNING qty
		) SELECT coalesce(sum(qty), 0)::integer FROM sold`, o.ID).Scan(&items)
	if err != nil {
		return "", nil, nil, fmt.Errorf("sell order %d: %w", o.ID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = 'paid', paid_at = $2, closed_at = NULL, stock_short = $3, updated_at = $2 WHERE id = $1`,
		o.ID, now, short); err != nil {
		return "", nil, nil, fmt.Errorf("mark order %d paid: %w", o.ID, err)
	}
	sale := &events.Sale{OrderID: o.ID, DropID: o.DropID, Amount: o.Amount, Currency: o.Currency, Items: items, At: now}
	if o.BurstID != nil {
		sale.BurstID = *o.BurstID
	}
	if o.CardID != nil {
		sale.CardID = *o.CardID
	}
	return outcome, touched, sale, nil
}

// retakeOrder takes the released units of order id from stock again, never
// below zero, and counts them against their shoppers again. short reports
// that some could not be taken.
func retakeOrder(ctx context.Context, tx pgx.Tx, id int64) (touched [][2]int64, short bool, err error) {
	rows, err := tx.Query(ctx, `SELECT id, shopper_id, drop_id, variant_id, qty FROM reservations
		WHERE order_id = $1 AND state = 'released' ORDER BY variant_id, id FOR UPDATE`, id)
	if err != nil {
		return nil, false, fmt.Errorf("lock released items: %w", err)
	}
	type item struct {
		id, drop, variant int64
		shopper           string
		qty               int
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (item, error) {
		var it item
		err := r.Scan(&it.id, &it.shopper, &it.drop, &it.variant, &it.qty)
		return it, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("lock released items: %w", err)
	}
	for _, it := range items {
		ok, err := takeStock(ctx, tx, it.variant, it.qty)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			short = true
			continue
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO shopper_units (shopper_id, drop_id, variant_id, units) VALUES ($1, $2, $3, $4)
			ON CONFLICT (shopper_id, drop_id, variant_id) DO UPDATE SET units = shopper_units.units + EXCLUDED.units`,
			it.shopper, it.drop, it.variant, it.qty); err != nil {
			return nil, false, fmt.Errorf("count retaken units: %w", err)
		}
		touched = append(touched, [2]int64{it.drop, it.variant})
	}
	return touched, short, nil
}

// takeStock takes qty units of variantID from its shards (all locked, in
// order) if there are that many; it never drives a shard below zero.
func takeStock(ctx context.Context, tx pgx.Tx, variantID int64, qty int) (bool, error) {
	rows, err := tx.Query(ctx, `SELECT shard, available FROM stock WHERE variant_id = $1 ORDER BY shard FOR UPDATE`, variantID)
	if err != nil {
		return false, fmt.Errorf("lock stock of variant %d: %w", variantID, err)
	}
	type shard struct{ n, avail int }
	shards, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (shard, error) {
		var sh shard
		err := r.Scan(&sh.n, &sh.avail)
		return sh, err
	})
	if err != nil {
		return false, fmt.Errorf("lock stock of variant %d: %w", variantID, err)
	}
	total := 0
	for _, sh := range shards {
		total += sh.avail
	}
	if total < qty {
		return false, nil
	}
	for _, sh := range shards {
		if qty == 0 {
			break
		}
		take := min(qty, sh.avail)
		if take == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE stock SET available = available - $3 WHERE variant_id = $1 AND shard = $2`, variantID, sh.n, take); err != nil {
			return false, fmt.Errorf("take stock of variant %d: %w", variantID, err)
		}
		qty -= take
	}
	return true, nil
}
