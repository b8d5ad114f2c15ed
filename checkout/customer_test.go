package checkout_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/drops"
)

func shipTo(t *testing.T, e *env, countries ...string) {
	t.Helper()
	_, err := e.fx.Drops.UpdateDrop(t.Context(), e.fx.Drop.ID, drops.DropPatch{ShippingCountries: &countries})
	require.NoError(t, err)
}

// A drop that ships asks Stripe for a shipping address (stripe-mock accepts
// the parameter's shape), and the completed session's customer and address
// land on the order; a later expiry does not erase them.
func TestCompletedSessionRecordsCustomer(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	shipTo(t, e, "US", "CA", "DE")
	o := checkoutCart(t, e, "a")
	require.Nil(t, o.Customer)

	want := &checkout.Customer{Email: "ana@example.com", Name: "Ana Diaz", Phone: "+15555550100", Shipping: &checkout.Address{
		Name: "Ana Diaz", Line1: "12 Main St", Line2: "Apt 4", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"}}
	payload := checkout.SessionEvent{EventID: "evt_c1", Type: "checkout.session.completed", SessionID: o.StripeSessionID, OrderID: o.ID,
		PaymentStatus: "paid", AmountTotal: o.Amount, Currency: o.Currency, Created: time.Now(), Customer: want}.JSON()
	res, err := deliver(t, e, payload)
	require.NoError(t, err)
	require.Equal(t, checkout.OutcomePaid, res.Outcome)
	_, err = deliver(t, e, sessionEvent("evt_c2", "checkout.session.expired", o, "unpaid"))
	require.NoError(t, err)

	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, want, got.Customer)
	list, err := e.svc.ListOrders(t.Context(), checkout.OrderFilter{DropID: e.fx.Drop.ID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, want, list[0].Customer)
}

// A forged delivery carrying a customer changes nothing.
func TestForgedSessionLeavesCustomer(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	o := checkoutCart(t, e, "a")
	payload := checkout.SessionEvent{EventID: "evt_f", Type: "checkout.session.completed", SessionID: o.StripeSessionID, OrderID: o.ID,
		PaymentStatus: "paid", AmountTotal: o.Amount, Currency: o.Currency, Created: time.Now(),
		Customer: &checkout.Customer{Email: "mallory@example.com"}}.JSON()
	_, err := e.svc.HandleWebhook(t.Context(), payload, checkout.SignEvent(payload, "whsec_forged", time.Now()))
	require.Error(t, err)
	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Nil(t, got.Customer)
	require.Equal(t, checkout.StatusPending, got.Status)
}

// The development payment simulator sends a placeholder customer, with an
// address in a country the drop ships to.
func TestSimulatedPaymentHasPlaceholderCustomer(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	shipTo(t, e, "DE")
	o := checkoutCart(t, e, "a")
	payload, sig, err := e.svc.SimulatePayment(t.Context(), o.ID)
	require.NoError(t, err)
	_, err = e.svc.HandleWebhook(t.Context(), payload, sig)
	require.NoError(t, err)
	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, checkout.StatusPaid, got.Status)
	require.NotNil(t, got.Customer)
	require.Equal(t, "shopper@example.com", got.Customer.Email)
	require.NotNil(t, got.Customer.Shipping)
	require.Equal(t, "DE", got.Customer.Shipping.Country)
}
