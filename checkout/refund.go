package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v79"
)

// OutcomeRefunded is the outcome of a charge.refunded event applied to its
// order.
const OutcomeRefunded = "refunded"

// applyRefund records a refund made in Stripe on the order paid by the
// charge's PaymentIntent. amount_refunded is the charge's running total, so
// applying it is idempotent and order-independent: the larger total wins.
// The order stays paid and its items sold: whether refunded goods go back
// on sale is the label's call (PATCH the variant's stock).
func (s *Service) applyRefund(ctx context.Context, tx pgx.Tx, ch *stripe.Charge, now time.Time) (int64, string, error) {
	if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
		return 0, OutcomeUnknownSession, nil
	}
	var id, amount int64
	err := tx.QueryRow(ctx, `SELECT id, amount FROM orders WHERE stripe_payment_intent = $1 FOR UPDATE`, ch.PaymentIntent.ID).Scan(&id, &amount)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, OutcomeUnknownSession, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("find order of payment %s: %w", ch.PaymentIntent.ID, err)
	}
	refunded := min(max(ch.AmountRefunded, 0), amount)
	if _, err := tx.Exec(ctx, `UPDATE orders SET refunded_amount = greatest(refunded_amount, $2),
		refunded_at = CASE WHEN $2 > refunded_amount THEN $3 ELSE refunded_at END, updated_at = $3 WHERE id = $1`,
		id, refunded, now); err != nil {
		return 0, "", fmt.Errorf("record refund of order %d: %w", id, err)
	}
	return id, OutcomeRefunded, nil
}
