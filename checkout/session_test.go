package checkout_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/events"
)

// checkoutCart fills a cart (2 at the deal, 1 regular) and opens checkout
// against stripe-mock.
func checkoutCart(t *testing.T, e *env, shopper string) checkout.Order {
	t.Helper()
	v := e.fx.Variants[0].ID
	e.showCard(t)
	_, err := e.add(t, shopper, v, 2, e.fx.Card.ID)
	require.NoError(t, err)
	_, err = e.add(t, shopper, v, 1, 0)
	require.NoError(t, err)
	o, err := e.svc.StartCheckout(t.Context(), checkout.CheckoutInput{ShopperID: shopper, DropID: e.fx.Drop.ID, BurstID: e.fx.Burst.ID,
		ReturnURL: "http://shop.test/watch/1?x=1"})
	require.NoError(t, err)
	return o
}

func TestCheckoutAgainstStripeMock(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	v := e.fx.Variants[0].ID
	o := checkoutCart(t, e, "a")
	require.Equal(t, checkout.StatusPending, o.Status)
	require.NotEmpty(t, o.StripeSessionID)
	u, err := url.Parse(o.CheckoutURL)
	require.NoError(t, err, "checkout url %q", o.CheckoutURL)
	require.Equal(t, "https", u.Scheme)
	require.EqualValues(t, 2*1500+2500, o.Amount)
	require.Equal(t, "EUR", o.Currency)
	require.Equal(t, e.fx.Card.ID, *o.CardID)
	require.Equal(t, e.fx.Burst.ID, *o.BurstID)
	require.Len(t, o.Items, 2)
	require.Equal(t, 7, e.available(t, v), "stock stays taken while the order is open")
	// The hold now lasts the session's lifetime, not the cart's.
	require.True(t, o.ExpiresAt.After(e.clock.Now().Add(30*time.Minute)), "expires %v", o.ExpiresAt)

	cart, err := e.svc.CartOf(t.Context(), "a", e.fx.Drop.ID)
	require.NoError(t, err)
	require.Empty(t, cart.Items)
	require.NotNil(t, cart.PendingOrder)
	require.Equal(t, o.ID, cart.PendingOrder.ID)

	// Checkout again with an empty cart: the same order.
	again, err := e.svc.StartCheckout(t.Context(), checkout.CheckoutInput{ShopperID: "a", DropID: e.fx.Drop.ID})
	require.NoError(t, err)
	require.Equal(t, o.ID, again.ID)
	require.Equal(t, o.CheckoutURL, again.CheckoutURL)

	// A past-the-hold sweep does not touch an open order.
	e.clock.Advance(20 * time.Minute)
	_, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 7, e.available(t, v))

	// Past the session and the grace, an unpaid order is released.
	e.clock.Advance(20 * time.Minute)
	_, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 10, e.available(t, v))
	got, err := e.svc.Order(t.Context(), o.ID)
	require.NoError(t, err)
	require.Equal(t, checkout.StatusExpired, got.Status)
}

func TestCheckoutRefusals(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	_, err := e.svc.StartCheckout(t.Context(), checkout.CheckoutInput{ShopperID: "a", DropID: e.fx.Drop.ID})
	require.Equal(t, apperr.Invalid, apperr.CodeOf(err), "empty cart: %v", err)

	_, err = e.add(t, "a", e.fx.Variants[0].ID, 1, 0)
	require.NoError(t, err)
	for _, bad := range []string{"https://evil.test/", "//evil.test/x", "javascript:alert(1)", "http://shop.test.evil.test/"} {
		_, err = e.svc.StartCheckout(t.Context(), checkout.CheckoutInput{ShopperID: "a", DropID: e.fx.Drop.ID, ReturnURL: bad})
		require.Equal(t, apperr.Invalid, apperr.CodeOf(err), "return url %q: %v", bad, err)
	}
	cart, err := e.svc.CartOf(t.Context(), "a", e.fx.Drop.ID)
	require.NoError(t, err)
	require.Len(t, cart.Items, 1, "a refused checkout changed the cart")
}

func TestCheckoutStripeDownKeepsCart(t *testing.T) {
	e := newEnv(t, 0, []int{10}, func(c *checkout.Config) {
		c.StripeAPIURL = "http://127.0.0.1:1" // nothing listens there
		c.StripeTimeout = 2 * time.Second
	})
	_, err := e.add(t, "a", e.fx.Variants[0].ID, 1, 0)
	require.NoError(t, err)
	_, err = e.svc.StartCheckout(t.Context(), checkout.CheckoutInput{ShopperID: "a", DropID: e.fx.Drop.ID})
	require.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "%v", err)
	cart, err := e.svc.CartOf(t.Context(), "a", e.fx.Drop.ID)
	require.NoError(t, err)
	require.Len(t, cart.Items, 1, "the cart was lost with the failed checkout")
	require.Nil(t, cart.PendingOrder)
}

// TestCrashLeaksNoStock: a process that reserved (and one that created an
// order) and died before checkout completed leaves no stock behind once the
// holds lapse, as seen by a fresh process on the same database.
func TestCrashLeaksNoStock(t *testing.T) {
	e := newEnv(t, 0, []int{10}, func(c *checkout.Config) { c.HoldDuration = time.Minute })
	v := e.fx.Variants[0].ID
	_, err := e.add(t, "a", v, 3, 0)
	require.NoError(t, err)
	checkoutCart(t, e, "b") // 3 more, in an order
	require.Equal(t, 4, e.available(t, v))

	// "Restart": a new Service on the same database, an hour later.
	clk := newClock()
	clk.Advance(time.Hour)
	svc, err := checkout.New(e.svc.Config(), e.pool, events.NewBus(), e.fx.Drops, slog.New(slog.NewTextHandler(io.Discard, nil)), clk.Now)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	n, err := svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 6, n)
	require.Equal(t, 10, e.available(t, v))
	var units int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT coalesce(sum(units), 0) FROM shopper_units`).Scan(&units))
	require.Zero(t, units)
}

func TestSimulatePaymentRefusedLive(t *testing.T) {
	cfg := checkout.Config{PublicURL: "http://x.test", StripeSecretKey: "sk_live_abc", StripeWebhookSecret: webhookSecret}
	e := newEnv(t, 0, []int{5}, nil)
	svc, err := checkout.New(cfg, e.pool, e.bus, e.fx.Drops, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	require.NoError(t, err)
	_, _, err = svc.SimulatePayment(t.Context(), 1)
	require.ErrorIs(t, err, checkout.ErrLiveMode)
}

func TestCommerceCheckout(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	cart, err := e.svc.AddToCart(t.Context(), "a", e.fx.Burst.ID, e.fx.Variants[0].ID, 2, 0)
	require.NoError(t, err)
	require.Len(t, cart.(checkout.Cart).Items, 1)
	cart, err = e.svc.RemoveFromCart(t.Context(), "a", e.fx.Burst.ID, e.fx.Variants[0].ID, 1)
	require.NoError(t, err)
	require.Equal(t, 1, cart.(checkout.Cart).Items[0].Qty)
	got, err := e.svc.Cart(t.Context(), "a", e.fx.Burst.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2500, got.(checkout.Cart).Total)
	_, err = e.svc.AddToCart(t.Context(), "a", 987654, e.fx.Variants[0].ID, 1, 0)
	require.Equal(t, apperr.NotFound, apperr.CodeOf(err), "unknown burst")

	// Another host name for the page: checkout still opens, returning to the watch page.
	u, err := e.svc.Checkout(t.Context(), "a", e.fx.Burst.ID, "http://127.0.0.1:8080/watch/1")
	require.NoError(t, err)
	require.Contains(t, u, "https://")
	list, err := e.svc.ListOrders(t.Context(), checkout.OrderFilter{BurstID: e.fx.Burst.ID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, fmt.Sprintf("http://shop.test/watch/%d", e.fx.Burst.ID), list[0].ReturnURL)
}

// TestStripeCallsRateLimited: 15 checkouts at once with a limit of 5 calls/s
// (burst 5) cannot all reach Stripe in under 2 s, and all succeed.
func TestStripeCallsRateLimited(t *testing.T) {
	e := newEnv(t, 0, []int{100}, func(c *checkout.Config) { c.StripeRate = 5 })
	v := e.fx.Variants[0].ID
	for i := range 15 {
		_, err := e.add(t, fmt.Sprint("r", i), v, 1, 0)
		require.NoError(t, err)
	}
	start := time.Now()
	errs := make(chan error, 15)
	for i := range 15 {
		go func() {
			_, err := e.svc.StartCheckout(t.Context(), checkout.CheckoutInput{ShopperID: fmt.Sprint("r", i), DropID: e.fx.Drop.ID})
			errs <- err
		}()
	}
	for range 15 {
		require.NoError(t, <-errs)
	}
	require.GreaterOrEqual(t, time.Since(start), 1900*time.Millisecond, "15 calls at 5/s finished too fast")
}
