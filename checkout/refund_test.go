package checkout_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
)

// Refunds made in Stripe reach the order through charge.refunded, matched
// by the PaymentIntent the completed session named: the running total is
// kept whatever order the deliveries come in, the order stays paid with its
// items sold, and refunds for payments checkout does not know change nothing.
func TestChargeRefunded(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	o := checkoutCart(t, e, "a")
	paid := checkout.SessionEvent{EventID: "evt_p", Type: "checkout.session.completed", SessionID: o.StripeSessionID, OrderID: o.ID,
		PaymentStatus: "paid", AmountTotal: o.Amount, Currency: o.Currency, Created: time.Now(), PaymentIntent: "pi_r1"}.JSON()
	_, err := deliver(t, e, paid)
	require.NoError(t, err)

	refund := func(id, pi string, total int64) checkout.WebhookResult {
		t.Helper()
		res, err := deliver(t, e, checkouttest.RefundEvent{EventID: id, ChargeID: "ch_1", PaymentIntent: pi, Amount: o.Amount,
			AmountRefunded: total, Currency: o.Currency, Created: time.Now()}.JSON())
		require.NoError(t, err)
		return res
	}
	res := refund("evt_r2", "pi_r1", 2000)
	require.Equal(t, checkout.OutcomeRefunded, res.Outcome)
	require.Equal(t, o.ID, res.OrderID)
	refund("evt_r1", "pi_r1", 1000) // an earlier partial refund delivered late
	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2000, got.RefundedAmount)
	require.NotNil(t, got.RefundedAt)
	require.Equal(t, checkout.StatusPaid, got.Status)
	for _, it := range got.Items {
		require.Equal(t, "sold", it.State)
	}

	require.True(t, refund("evt_r2", "pi_r1", 9999).Duplicate, "a redelivered event changes nothing")
	refund("evt_r3", "pi_r1", o.Amount+500) // never more than the order
	got, err = e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, o.Amount, got.RefundedAmount)

	require.Equal(t, checkout.OutcomeUnknownSession, refund("evt_r4", "pi_other", 100).Outcome)
	payload := checkouttest.RefundEvent{EventID: "evt_forged", PaymentIntent: "pi_r1", Amount: o.Amount, AmountRefunded: 1, Currency: o.Currency, Created: time.Now()}.JSON()
	_, err = e.svc.HandleWebhook(t.Context(), payload, checkout.SignEvent(payload, "whsec_forged", time.Now()))
	require.Error(t, err)
}
