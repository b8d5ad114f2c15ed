package checkout_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/events"
)

func sessionEvent(id, typ string, o checkout.Order, payment string) []byte {
	return checkout.SessionEvent{
		EventID: id, Type: typ, SessionID: o.StripeSessionID, OrderID: o.ID, PaymentStatus: payment,
		AmountTotal: o.Amount, Currency: o.Currency, Created: time.Now(),
	}.JSON()
}

func deliver(t *testing.T, e *env, payload []byte) (checkout.WebhookResult, error) {
	t.Helper()
	return e.svc.HandleWebhook(t.Context(), payload, checkout.SignEvent(payload, webhookSecret, time.Now()))
}

func orderStatus(t *testing.T, e *env, id int64) (string, []string) {
	t.Helper()
	o, err := e.svc.Order(t.Context(), id)
	require.NoError(t, err)
	var states []string
	for _, it := range o.Items {
		states = append(states, it.State)
	}
	return o.Status, states
}

func TestWebhookCompletedThenDuplicateThenExpired(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	v := e.fx.Variants[0].ID
	sales := e.bus.Subscribe(8, func(ev events.Event) bool { _, ok := ev.(events.Sale); return ok })
	defer sales.Close()
	o := checkoutCart(t, e, "a")

	payload := sessionEvent("evt_1", "checkout.session.completed", o, "paid")
	res, err := deliver(t, e, payload)
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomePaid, res.Outcome)
	status, states := orderStatus(t, e, o.ID)
	require.Equal(t, checkout.StatusPaid, status)
	require.Equal(t, []string{"sold", "sold"}, states)
	require.Equal(t, 7, e.available(t, v))

	select {
	case ev := <-sales.C:
		sale := ev.(events.Sale)
		require.Equal(t, o.ID, sale.OrderID)
		require.Equal(t, e.fx.Burst.ID, sale.BurstID)
		require.Equal(t, e.fx.Card.ID, sale.CardID)
		require.EqualValues(t, 5500, sale.Amount)
		require.Equal(t, 3, sale.Items)
	case <-time.After(5 * time.Second):
		t.Fatal("no sale event")
	}

	// The same delivery again (re-signed, as Stripe retries): nothing.
	res, err = deliver(t, e, payload)
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	select {
	case ev := <-sales.C:
		t.Fatalf("second sale event %v", ev)
	default:
	}

	// An expiry delivered after the completion leaves the order paid.
	res, err = deliver(t, e, sessionEvent("evt_2", "checkout.session.expired", o, "unpaid"))
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomeAlreadyPaid, res.Outcome)
	status, _ = orderStatus(t, e, o.ID)
	require.Equal(t, checkout.StatusPaid, status)
	require.Equal(t, 7, e.available(t, v))

	// Sweeps long after never release a paid order.
	e.clock.Advance(48 * time.Hour)
	_, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 7, e.available(t, v))

	list, err := e.svc.ListOrders(t.Context(), checkout.OrderFilter{DropID: e.fx.Drop.ID, Status: checkout.StatusPaid})
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestWebhookExpiredReleasesThenLateCompletion(t *testing.T) {
	e := newEnv(t, 0, []int{3}, nil)
	v := e.fx.Variants[0].ID
	o := checkoutCart(t, e, "a")
	require.Equal(t, 0, e.available(t, v))

	res, err := deliver(t, e, sessionEvent("evt_exp", "checkout.session.expired", o, "unpaid"))
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomeExpired, res.Outcome)
	status, states := orderStatus(t, e, o.ID)
	require.Equal(t, checkout.StatusExpired, status)
	require.Equal(t, []string{"released", "released"}, states)
	require.Equal(t, 3, e.available(t, v))

	// Payment after all (out of order): paid, stock taken again.
	res, err = deliver(t, e, sessionEvent("evt_done", "checkout.session.completed", o, "paid"))
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomePaidAfterRelease, res.Outcome)
	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, checkout.StatusPaid, got.Status)
	require.False(t, got.StockShort)
	require.Equal(t, 0, e.available(t, v))
}

func TestWebhookLateCompletionAfterSellout(t *testing.T) {
	e := newEnv(t, 0, []int{3}, nil)
	v := e.fx.Variants[0].ID
	o := checkoutCart(t, e, "a")
	_, err := deliver(t, e, sessionEvent("evt_exp", "checkout.session.expired", o, "unpaid"))
	require.NoError(t, err)
	_, err = e.add(t, "b", v, 3, 0) // someone else takes it all
	require.NoError(t, err)
	res, err := deliver(t, e, sessionEvent("evt_done", "checkout.session.completed", o, "paid"))
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomePaidAfterRelease, res.Outcome)
	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, checkout.StatusPaid, got.Status, "a paid order is never lost")
	require.True(t, got.StockShort)
	require.Equal(t, 0, e.available(t, v), "never below zero")
}

func TestWebhookAsyncPayment(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	v := e.fx.Variants[0].ID
	o := checkoutCart(t, e, "a")
	res, err := deliver(t, e, sessionEvent("evt_c", "checkout.session.completed", o, "unpaid"))
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomeAwaitingPayment, res.Outcome)
	e.clock.Advance(time.Hour) // past the session; the bank debit is still running
	_, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 7, e.available(t, v))
	res, err = deliver(t, e, sessionEvent("evt_f", "checkout.session.async_payment_failed", o, "unpaid"))
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomeFailed, res.Outcome)
	status, _ := orderStatus(t, e, o.ID)
	require.Equal(t, checkout.StatusFailed, status)
	require.Equal(t, 10, e.available(t, v))
}

func TestWebhookRefusals(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	o := checkoutCart(t, e, "a")
	payload := sessionEvent("evt_x", "checkout.session.completed", o, "paid")
	cases := []struct {
		name   string
		header string
		body   []byte
	}{
		{"no signature", "", payload},
		{"wrong secret", checkout.SignEvent(payload, "whsec_forged", time.Now()), payload},
		{"stale", checkout.SignEvent(payload, webhookSecret, time.Now().Add(-10*time.Minute)), payload},
		{"tampered body", checkout.SignEvent(payload, webhookSecret, time.Now()), append([]byte(nil), payload[:len(payload)-1]...)},
		{"garbage header", "t=abc,v1=zz", payload},
		{"not json", checkout.SignEvent([]byte("{"), webhookSecret, time.Now()), []byte("{")},
		{"other api version", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, header := tc.body, tc.header
			if body == nil {
				body = []byte(fmt.Sprintf(`{"id":"evt_v","object":"event","api_version":"2020-08-27","type":"checkout.session.completed","data":{"object":{"id":%q,"object":"checkout.session","metadata":{"order_id":"%d"},"payment_status":"paid"}}}`, o.StripeSessionID, o.ID))
				header = checkout.SignEvent(body, webhookSecret, time.Now())
			}
			_, err := e.svc.HandleWebhook(t.Context(), body, header)
			require.Equal(t, apperr.Invalid, apperr.CodeOf(err), "%v", err)
			status, _ := orderStatus(t, e, o.ID)
			require.Equal(t, checkout.StatusPending, status)
			var n int
			require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT count(*) FROM stripe_events`).Scan(&n))
			require.Zero(t, n)
		})
	}
}

func TestWebhookUnknownSession(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	o := checkoutCart(t, e, "a")
	for i, ev := range []checkout.SessionEvent{
		{OrderID: 0, SessionID: "cs_test_other"},
		{OrderID: 987654, SessionID: "cs_test_other"},
		{OrderID: o.ID, SessionID: "cs_test_not_this_order"},
	} {
		ev.EventID, ev.Type, ev.PaymentStatus, ev.Created = fmt.Sprintf("evt_u%d", i), "checkout.session.completed", "paid", time.Now()
		res, err := deliver(t, e, ev.JSON())
		require.NoError(t, err)
		require.Equal(t, checkout.OutcomeUnknownSession, res.Outcome)
	}
	status, _ := orderStatus(t, e, o.ID)
	require.Equal(t, checkout.StatusPending, status)

	// Event types checkout does not act on are acknowledged and ignored.
	other := []byte(`{"id":"evt_pi","object":"event","api_version":"` + apiVersion() + `","type":"payment_intent.created","data":{"object":{}}}`)
	res, err := deliver(t, e, other)
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomeIgnored, res.Outcome)
}

func TestSimulatePayment(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	o := checkoutCart(t, e, "a")
	payload, header, err := e.svc.SimulatePayment(t.Context(), o.ID)
	require.NoError(t, err)
	res, err := e.svc.HandleWebhook(t.Context(), payload, header)
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomePaid, res.Outcome)
	_, _, err = e.svc.SimulatePayment(t.Context(), o.ID)
	require.Equal(t, apperr.Conflict, apperr.CodeOf(err), "already paid")
}
