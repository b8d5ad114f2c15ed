package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/kpi"
	"github.com/dropcast/dropcast/live"
)

// TestKPIs runs a small burst end to end — shoppers on the channel (one in
// two tabs), a pinned card, adds to cart with the card's deal, a paid order,
// a cart left open, then a replay viewer who buys after the end — and
// checks the burst's and the drop's KPIs over HTTP.
func TestKPIs(t *testing.T) {
	a, _ := startAppWith(t, func(c *Config) {
		c.Channel = live.Config{ViewersInterval: 50 * time.Millisecond}
		c.Checkout = checkout.Config{StripeSecretKey: "sk_test_123", StripeWebhookSecret: "whsec_kpi", StripeAPIURL: checkouttest.StripeMock(t)}
	})
	base := "http://" + a.Addr()
	fx := checkouttest.NewFixture(t, a.pool, 0, 10)
	burst, variant, card := fx.Burst.ID, fx.Variants[0].ID, fx.Card.ID

	liveAt := time.Now().Add(-time.Minute)
	b, err := a.Drops.Transition(t.Context(), burst, drops.StateLive, liveAt)
	if err != nil {
		t.Fatal(err)
	}
	a.bus.Publish(events.BurstState{BurstID: burst, DropID: b.DropID, State: "live", At: liveAt, LiveAt: liveAt})

	type shopper struct{ token string }
	newShopper := func() shopper {
		t.Helper()
		var s struct{ Token string }
		resp, body := api(t, "POST", base+"/api/shoppers", nil, false)
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &s) != nil {
			t.Fatalf("new shopper: %d %s", resp.StatusCode, body)
		}
		return shopper{s.Token}
	}
	join := func(s shopper) {
		t.Helper()
		ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), fmt.Sprintf("ws://%s/ws/%d?shopper=%s", a.Addr(), burst, url.QueryEscape(s.token)), nil)
		if err != nil {
			t.Fatalf("join: %v", err)
		}
		t.Cleanup(func() { ws.Close() })
		var w struct{ Type string }
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.ReadJSON(&w); err != nil || w.Type != "welcome" {
			t.Fatalf("welcome = %+v, %v", w, err)
		}
		go func() { // keep reading so the channel never counts it slow
			for {
				if _, _, err := ws.NextReader(); err != nil {
					return
				}
			}
		}()
	}
	shop := func(s shopper, method, path string, body any) map[string]any {
		t.Helper()
		resp, raw := api(t, method, base+path+"?shopper="+url.QueryEscape(s.token), body, false)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return out
	}
	buy := func(s shopper) {
		t.Helper()
		co := shop(s, "POST", fmt.Sprintf("/api/shop/bursts/%d/checkout", burst), nil)
		if paid := shop(s, "POST", fmt.Sprintf("/api/shop/orders/%s/simulate-payment", co["order_id"]), nil); paid["status"] != "paid" {
			t.Fatalf("simulated payment: %v", paid)
		}
	}

	// Live: a buyer, a shopper who leaves units in the cart, a viewer in two tabs.
	buyer, carter, viewer := newShopper(), newShopper(), newShopper()
	for _, s := range []shopper{buyer, carter, viewer, viewer} {
		join(s)
	}
	if resp, body := api(t, "POST", fmt.Sprintf("%s/api/bursts/%d/cards/%d/show", base, burst, card), nil, true); resp.StatusCode != http.StatusOK {
		t.Fatalf("pin: %d %s", resp.StatusCode, body)
	}
	add := map[string]any{"variant": fmt.Sprint(variant), "qty": 2, "card": fmt.Sprint(card)}
	if cart := shop(buyer, "POST", fmt.Sprintf("/api/shop/bursts/%d/cart", burst), add); cart["total"] != float64(2*checkouttest.DealPrice) {
		t.Fatalf("buyer's cart %v, want the deal price", cart)
	}
	buy(buyer)
	// The label refunds part of it in Stripe.
	bought, err := a.Checkout.ListOrders(t.Context(), checkout.OrderFilter{BurstID: burst, Status: checkout.StatusPaid})
	if err != nil || len(bought) != 1 || bought[0].StripePaymentIntent == "" {
		t.Fatalf("paid orders %+v, %v: want one with its PaymentIntent", bought, err)
	}
	refund := checkouttest.RefundEvent{EventID: "evt_kpi_refund", ChargeID: "ch_kpi", PaymentIntent: bought[0].StripePaymentIntent,
		Amount: bought[0].Amount, AmountRefunded: 500, Currency: bought[0].Currency, Created: time.Now()}.JSON()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/stripe/webhook", bytes.NewReader(refund))
	req.Header.Set("Stripe-Signature", checkout.SignEvent(refund, "whsec_kpi", time.Now()))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("refund webhook: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	add["qty"] = 1
	shop(carter, "POST", fmt.Sprintf("/api/shop/bursts/%d/cart", burst), add)

	var rep kpi.BurstReport
	kpis := func() {
		t.Helper()
		if err := a.audience.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		resp, body := api(t, "GET", fmt.Sprintf("%s/api/bursts/%d/kpis", base, burst), nil, true)
		rep = kpi.BurstReport{}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &rep) != nil {
			t.Fatalf("burst kpis: %d %s", resp.StatusCode, body)
		}
	}
	// The peak arrives with the channel's next viewer count.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if kpis(); rep.Audience.PeakViewers == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peak viewers %d, want 3 (two tabs are one shopper)", rep.Audience.PeakViewers)
		}
	}

	endAt := time.Now()
	if b, err = a.Drops.Transition(t.Context(), burst, drops.StateEnded, endAt); err != nil {
		t.Fatal(err)
	}
	a.bus.Publish(events.BurstState{BurstID: burst, DropID: b.DropID, State: "ended", At: endAt, LiveAt: liveAt})
	time.Sleep(10 * time.Millisecond) // adds after the end are the replay's

	// Replay: a new shopper watches and buys one at the regular price.
	replayer := newShopper()
	join(replayer)
	shop(replayer, "POST", fmt.Sprintf("/api/shop/bursts/%d/cart", burst), map[string]any{"variant": fmt.Sprint(variant)})
	buy(replayer)

	kpis()
	want := kpi.Audience{LiveShoppers: 3, ReplayShoppers: 1, PeakViewers: 3}
	if got := rep.Audience; got.LiveShoppers != want.LiveShoppers || got.ReplayShoppers != want.ReplayShoppers || got.PeakViewers != 3 || got.PeakAt == nil {
		t.Errorf("audience %+v, want %+v with a peak time", got, want)
	}
	if want := (kpi.Sales{Adds: 2, UnitsAdded: 3, CartShoppers: 2, Orders: 1, Buyers: 1, Units: 2, Revenue: 2 * checkouttest.DealPrice, InCarts: 1}); rep.DuringLive != want {
		t.Errorf("during live %+v, want %+v", rep.DuringLive, want)
	}
	if want := (kpi.Sales{Adds: 1, UnitsAdded: 1, CartShoppers: 1, Orders: 1, Buyers: 1, Units: 1, Revenue: checkouttest.Price}); rep.SecondChance != want {
		t.Errorf("second chance %+v, want %+v", rep.SecondChance, want)
	}
	if want := (kpi.Sales{Adds: 3, UnitsAdded: 4, CartShoppers: 3, Orders: 2, Buyers: 2, Units: 3, Revenue: 2*checkouttest.DealPrice + checkouttest.Price, InCarts: 1}); rep.Sales != want {
		t.Errorf("sales %+v, want %+v", rep.Sales, want)
	}
	if rep.Refunded != 500 {
		t.Errorf("refunded %d, want 500", rep.Refunded)
	}
	if rep.Conversion < 0.33 || rep.Conversion > 0.34 || rep.ReplayConversion != 1 {
		t.Errorf("conversion %.3f / replay %.3f, want 1/3 and 1", rep.Conversion, rep.ReplayConversion)
	}
	if rep.LiveS < 59 || rep.LiveS > 120 || rep.EndedAt == nil {
		t.Errorf("live for %.1f s (ended %v), want about a minute", rep.LiveS, rep.EndedAt)
	}
	if len(rep.Cards) != 1 {
		t.Fatalf("cards %+v, want the one card", rep.Cards)
	}
	c := rep.Cards[0]
	// The run-of-show put it up at the live start (offset 0), the pin again.
	if c.CardID != card || c.Product != "Hoodie" || c.Shows != 2 || c.Pins != 1 || c.FirstShownAt == nil || c.OnScreenS <= 0 {
		t.Errorf("card %+v: want a scheduled and a pinned show, with time on screen", c)
	}
	if c.DuringLive.Adds != 2 || c.DuringLive.Units != 2 || c.SecondChance.Adds != 0 || c.AddRate < 0.66 || c.AddRate > 0.67 {
		t.Errorf("card sales %+v / %+v, add rate %.3f: want 2 live adds by 2 of 3 shoppers", c.DuringLive, c.SecondChance, c.AddRate)
	}

	resp, body := api(t, "GET", fmt.Sprintf("%s/api/drops/%d/kpis", base, fx.Drop.ID), nil, true)
	var drop kpi.DropReport
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &drop) != nil {
		t.Fatalf("drop kpis: %d %s", resp.StatusCode, body)
	}
	if drop.Shoppers != 4 || drop.Sales.Units != 3 || drop.Sales.Orders != 2 || len(drop.Bursts) != 1 || drop.Currency != "EUR" || drop.Refunded != 500 {
		t.Errorf("drop %+v: want 4 shoppers, 3 units in 2 orders, one burst, 500 refunded", drop)
	}
	if len(drop.Variants) != 1 {
		t.Fatalf("variants %+v", drop.Variants)
	}
	if v := drop.Variants[0]; v.Sold != 3 || v.InCarts != 1 || v.Available != 6 || v.SellThrough != 0.3 {
		t.Errorf("variant %+v: want 3 sold, 1 in a cart, 6 left, sell-through 0.3", v)
	}

	// Refusals: no token, a shopper's token, an unknown id; KPIs changed nothing.
	for _, tc := range []struct {
		path   string
		admin  bool
		status int
	}{
		{fmt.Sprintf("/api/bursts/%d/kpis", burst), false, http.StatusUnauthorized},
		{fmt.Sprintf("/api/drops/%d/kpis", fx.Drop.ID), false, http.StatusUnauthorized},
		{"/api/bursts/999999/kpis", true, http.StatusNotFound},
		{"/api/drops/999999/kpis", true, http.StatusNotFound},
		{"/api/bursts/x/kpis", true, http.StatusNotFound},
	} {
		if resp, body := api(t, "GET", base+tc.path, nil, tc.admin); resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, body, tc.status)
		}
	}
	_, again := api(t, "GET", fmt.Sprintf("%s/api/drops/%d/kpis", base, fx.Drop.ID), nil, true)
	if !bytes.Equal(again, body) {
		t.Errorf("asking twice gave different reports:\n%s\n%s", body, again)
	}
}
