package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/app"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(checkouttest.Main(m)) }

const (
	adminToken = "admin-token-0123456789"
	whsec      = "whsec_server_test"
)

type shopClient struct {
	t     *testing.T
	base  string
	token string
}

func (c shopClient) do(method, path string, body any, admin bool) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	u := c.base + path
	if c.token != "" {
		u += sep + "shopper=" + c.token
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, u, rd)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func startApp(t *testing.T, key string) *app.App {
	t.Helper()
	_, dbURL := storetest.NewWithURL(t)
	a, err := app.New(t.Context(), app.Config{
		DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: adminToken, DataDir: t.TempDir(),
		Checkout: checkout.Config{StripeSecretKey: key, StripeWebhookSecret: whsec, StripeAPIURL: checkouttest.StripeMock(t)},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("app did not stop")
		}
	})
	return a
}

func TestShopAPIAndWebhook(t *testing.T) {
	a := startApp(t, "sk_test_123")
	fx := checkouttest.NewFixture(t, a.Pool(), 0, 6)
	base := "http://" + a.Addr()
	anon := shopClient{t: t, base: base}
	code, sh := anon.do("POST", "/api/shoppers", nil, false)
	require.Equal(t, http.StatusCreated, code)
	c := shopClient{t: t, base: base, token: sh["token"].(string)}
	burst := fmt.Sprint(fx.Burst.ID)
	variant := fmt.Sprint(fx.Variants[0].ID)

	code, cart := c.do("POST", "/api/shop/bursts/"+burst+"/cart", map[string]any{"variant": variant, "qty": 2}, false)
	require.Equal(t, http.StatusOK, code, "%v", cart)
	require.EqualValues(t, 5000, cart["total"])

	code, body := anon.do("POST", "/api/shop/bursts/"+burst+"/cart", map[string]any{"variant": variant, "qty": 5}, false)
	require.Equal(t, http.StatusConflict, code)
	require.Equal(t, "sold_out", body["error"].(map[string]any)["code"])
	code, body = c.do("POST", "/api/shop/bursts/"+burst+"/cart", map[string]any{"variant": "424242", "qty": 1}, false)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, "unknown_variant", body["error"].(map[string]any)["code"])
	code, body = c.do("POST", "/api/shop/bursts/"+burst+"/cart", map[string]any{"variant": variant, "card": fmt.Sprint(fx.Card.ID)}, false)
	require.Equal(t, http.StatusGone, code)
	require.Equal(t, "card_expired", body["error"].(map[string]any)["code"])

	code, cart = c.do("DELETE", "/api/shop/bursts/"+burst+"/cart/"+variant+"?qty=1", nil, false)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 2500, cart["total"])
	code, cart = c.do("GET", "/api/shop/bursts/"+burst+"/cart", nil, false)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, cart["items"], 1)

	// Another shopper's cart is empty.
	code, other := anon.do("GET", "/api/shop/bursts/"+burst+"/cart", nil, false)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, other["items"])

	code, co := c.do("POST", "/api/shop/bursts/"+burst+"/checkout", map[string]any{"return_url": "/watch/" + burst}, false)
	require.Equal(t, http.StatusOK, code, "%v", co)
	require.Contains(t, co["checkout_url"], "https://")
	orderID := co["order_id"].(string)

	// Webhooks over HTTP: forged, then valid, then duplicate.
	var oid int64
	fmt.Sscan(orderID, &oid)
	o, err := a.Checkout.Order(t.Context(), oid)
	require.NoError(t, err)
	payload := checkout.SessionEvent{EventID: "evt_http_1", Type: "checkout.session.completed", SessionID: o.StripeSessionID,
		OrderID: oid, PaymentStatus: "paid", AmountTotal: o.Amount, Currency: o.Currency, Created: time.Now()}.JSON()
	post := func(sig string) int {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/stripe/webhook", bytes.NewReader(payload))
		req.Header.Set("Stripe-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusBadRequest, post(checkout.SignEvent(payload, "whsec_forged", time.Now())))
	require.Equal(t, http.StatusBadRequest, post(checkout.SignEvent(payload, whsec, time.Now().Add(-time.Hour))))
	code, order := c.do("GET", "/api/orders/"+orderID, nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "pending", order["status"])
	require.Equal(t, http.StatusOK, post(checkout.SignEvent(payload, whsec, time.Now())))
	require.Equal(t, http.StatusOK, post(checkout.SignEvent(payload, whsec, time.Now())))

	code, order = c.do("GET", "/api/orders/"+orderID, nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "paid", order["status"])
	require.Equal(t, burst, order["burst_id"])
	require.Len(t, order["items"], 1)
	code, list := c.do("GET", fmt.Sprintf("/api/orders?drop=%d&status=paid", fx.Drop.ID), nil, true)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, list["orders"], 1)
	code, _ = c.do("GET", "/api/orders", nil, false)
	require.Equal(t, http.StatusUnauthorized, code)
	code, mine := c.do("GET", "/api/shop/orders/"+orderID, nil, false)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "paid", mine["status"])
	code, _ = anon.do("GET", "/api/shop/orders/"+orderID, nil, false)
	require.Equal(t, http.StatusNotFound, code, "someone else's order")

	// Simulated payment for a second order.
	_, _ = c.do("POST", "/api/shop/bursts/"+burst+"/cart", map[string]any{"variant": variant}, false)
	code, co = c.do("POST", "/api/shop/bursts/"+burst+"/checkout", nil, false)
	require.Equal(t, http.StatusOK, code, "%v", co)
	code, _ = anon.do("POST", "/api/shop/orders/"+co["order_id"].(string)+"/simulate-payment", nil, false)
	require.Equal(t, http.StatusNotFound, code, "simulating someone else's order")
	code, sim := c.do("POST", "/api/shop/orders/"+co["order_id"].(string)+"/simulate-payment", nil, false)
	require.Equal(t, http.StatusOK, code, "%v", sim)
	require.Equal(t, "paid", sim["status"])
}

func TestSimulatePaymentRefusedWithLiveKey(t *testing.T) {
	a := startApp(t, "sk_live_not_a_real_key")
	code, body := shopClient{t: t, base: "http://" + a.Addr()}.do("POST", "/api/shop/orders/1/simulate-payment", nil, true)
	require.Equal(t, http.StatusForbidden, code, "%v", body)
}
