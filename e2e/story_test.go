//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/kpi"
)

// storyRoutes are the routes the full story needs from the media, channel,
// checkout and recorder areas; requireStory skips, naming every one that
// this server lacks, so the test runs for real once they are merged.
func requireStory(t *testing.T, e *env, burstID int64) {
	t.Helper()
	probes := []struct{ method, path, area string }{
		{"POST", "/whip", "live media (WHIP ingest)"},
		{"POST", burstPath("/whep", burstID), "live media (WHEP playback)"},
		{"GET", burstPath("/ws", burstID), "shopper channel (websocket)"},
		{"POST", fmt.Sprintf("/api/bursts/%d/cards/1/show", burstID), "shopper channel (host pins)"},
		{"POST", "/stripe/webhook", "checkout (Stripe)"},
		{"GET", burstPath("/replay", burstID) + "/index.m3u8", "recorder (replay HLS)"},
	}
	var missing []string
	for _, p := range probes {
		if p.path == fmt.Sprintf("/api/bursts/%d/cards/1/show", burstID) {
			// /api/ has a JSON catch-all; a missing route says "no route".
			if apiRouteMissing(t, e.base, p.method, p.path) {
				missing = append(missing, fmt.Sprintf("%s %s [%s]", p.method, p.path, p.area))
			}
			continue
		}
		if routeMissing(t, e.base, p.method, p.path) {
			missing = append(missing, fmt.Sprintf("%s %s [%s]", p.method, p.path, p.area))
		}
	}
	if len(missing) > 0 {
		t.Skipf("full story needs routes this server does not have yet: %s", strings.Join(missing, "; "))
	}
}

// TestFullStory is DESIGN.md's story in a browser: the host goes live from
// the host page with Chromium's fake camera; the watch page plays the video;
// a pin shows the card within a second; add to cart reserves stock in
// PostgreSQL; checkout returns a Stripe URL; after the burst ends the replay
// plays.
func TestFullStory(t *testing.T) {
	e := startApp(t)
	head := e.demo.Bursts[0]
	requireStory(t, e, head.Burst.ID)
	ctx := browser(t)

	// 1. The host publishes from the browser (getUserMedia + WHIP).
	host := tab(t, ctx)
	goLive(t, host, e, head.Burst.ID, head.Key)

	// 2. A shopper's watch page plays the video.
	watch := tab(t, ctx)
	run(t, watch, "open watch", chromedp.Navigate(e.base+burstPath("/watch", head.Burst.ID)))
	waitVideoPlays(t, watch, "#video", 20*time.Second)

	// 3. A host pin shows the card on the watch page within a second.
	cardID := eval[string](t, host, `document.querySelector('#run-of-show li:nth-child(3)').dataset.card`)
	start := time.Now()
	run(t, host, "pin", chromedp.Evaluate[chromedp.Void](`document.querySelector('#run-of-show li:nth-child(3) button').click()`))
	waitFor(t, watch, 3*time.Second, "pinned card", fmt.Sprintf(`!!document.querySelector('#cards .card[data-card="%s"]')`, cardID))
	if d := time.Since(start); d > time.Second {
		t.Errorf("pinned card took %v to appear, want < 1 s", d)
	}

	// 4. Add to cart reserves stock in the database.
	variantID := eval[string](t, watch, fmt.Sprintf(`(() => {
		const input = document.querySelector('#cards .card[data-card="%s"] input:not(:disabled)');
		input.click();
		return input.value;
	})()`, cardID))
	var before int
	if err := e.app.Pool().QueryRow(t.Context(), `SELECT sum(available) FROM stock WHERE variant_id = $1`, variantID).Scan(&before); err != nil {
		t.Fatal(err)
	}
	run(t, watch, "add to cart", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#cards .card[data-card="%s"] .add').click()`, cardID)))
	waitFor(t, watch, 5*time.Second, "cart count", `document.getElementById('cart-count').textContent === '1'`)
	var after int
	if err := e.app.Pool().QueryRow(t.Context(), `SELECT sum(available) FROM stock WHERE variant_id = $1`, variantID).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before-1 {
		t.Errorf("stock of variant %s went %d → %d, want one reserved", variantID, before, after)
	}

	// 5. Checkout answers with a Stripe Checkout URL (opened in a new tab).
	run(t, watch, "checkout", chromedp.Evaluate[chromedp.Void](`document.getElementById('cart-button').click(); document.getElementById('checkout').click()`))
	waitFor(t, watch, 15*time.Second, "checkout URL", `/^https?:\/\//.test(document.body.dataset.checkoutUrl || '')`)

	// 6. The payment arrives as a signed Stripe webhook (development's
	// simulate-payment sends one through the real webhook route): the order
	// is paid and the host console counts the sale.
	var orderID int64
	if err := e.app.Pool().QueryRow(t.Context(), `SELECT id FROM orders WHERE status = 'pending' ORDER BY id DESC LIMIT 1`).Scan(&orderID); err != nil {
		t.Fatalf("pending order: %v", err)
	}
	status := eval[float64](t, watch, fmt.Sprintf(`fetch('/api/shop/orders/%d/simulate-payment', {method: 'POST'}).then(r => r.status)`, orderID))
	if status != 200 && status != 202 {
		t.Fatalf("simulate payment answered %v", status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st string
		if err := e.app.Pool().QueryRow(t.Context(), `SELECT status FROM orders WHERE id = $1`, orderID).Scan(&st); err != nil {
			t.Fatal(err)
		}
		if st == "paid" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d is %s, want paid", orderID, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, host, 5*time.Second, "sale on the host console", `document.getElementById('stat-sales').textContent === '1'
		&& /^\$\d/.test(document.getElementById('stat-revenue').textContent)`)
	// A second device (or a reload) starts from the burst's totals.
	host2 := tab(t, ctx)
	run(t, host2, "open host again", chromedp.Navigate(e.base+burstPath("/host", head.Burst.ID)))
	run(t, host2, "sign in again", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('stream-key').value = %q;
		document.querySelector('#key-form button').click()`, head.Key.String())))
	waitFor(t, host2, 10*time.Second, "totals on a fresh console", fmt.Sprintf(`document.getElementById('stat-sales').textContent === '1'
		&& document.getElementById('stat-carts').textContent === '1'
		&& document.getElementById('stat-revenue').textContent === %q`, eval[string](t, host, `document.getElementById('stat-revenue').textContent`)))

	// 7. The burst ends; the replay page plays the recording.
	run(t, host, "end stream", chromedp.Evaluate[chromedp.Void](`document.getElementById('stop').click()`))
	endBurst(t, e, head.Burst.ID)
	replay := tab(t, ctx)
	run(t, replay, "open replay", chromedp.Navigate(e.base+burstPath("/replay", head.Burst.ID)))
	waitVideoPlays(t, replay, "#video", 60*time.Second)

	// 8. The burst's KPIs count the shopper live and on the replay, the
	// peak, the pin and the paid add through the card.
	var card kpi.CardReport
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rep, err := e.app.KPIs.Burst(t.Context(), head.Burst.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.Cards {
			if fmt.Sprint(c.CardID) == cardID {
				card = c
			}
		}
		a, live := rep.Audience, rep.DuringLive
		if a.LiveShoppers == 1 && a.ReplayShoppers == 1 && a.PeakViewers == 1 && live.Orders == 1 && live.Units == 1 &&
			card.Pins == 1 && card.DuringLive.Units == 1 && rep.Conversion == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("burst KPIs: audience %+v, during live %+v, conversion %v, card %s %+v", a, live, rep.Conversion, cardID, card)
		}
	}
}

// goLive signs in on the host page, starts the fake camera and publishes.
func goLive(t *testing.T, host context.Context, e *env, burstID int64, key drops.StreamKey) {
	t.Helper()
	run(t, host, "open host", chromedp.Navigate(e.base+burstPath("/host", burstID)))
	waitFor(t, host, 5*time.Second, "key form", `!!document.getElementById('stream-key')`)
	run(t, host, "sign in", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('stream-key').value = %q;
		document.querySelector('#key-form button').click()`, key.String())))
	waitFor(t, host, 10*time.Second, "console", `!document.getElementById('console').hidden`)
	run(t, host, "camera", chromedp.Evaluate[chromedp.Void](`document.getElementById('camera').click()`))
	waitFor(t, host, 10*time.Second, "camera", `!document.getElementById('golive').disabled`)
	run(t, host, "go live", chromedp.Evaluate[chromedp.Void](`document.getElementById('golive').click()`))
	waitFor(t, host, 15*time.Second, "on air", `!document.getElementById('onair').hidden`)
}

// waitVideoPlays waits until the video has a picture and its time advances.
func waitVideoPlays(t *testing.T, ctx context.Context, sel string, d time.Duration) {
	t.Helper()
	waitFor(t, ctx, d, "video frames", fmt.Sprintf(`document.querySelector(%q).videoWidth > 0`, sel))
	t0 := eval[float64](t, ctx, fmt.Sprintf(`document.querySelector(%q).currentTime`, sel))
	waitFor(t, ctx, 10*time.Second, "video time advancing", fmt.Sprintf(`document.querySelector(%q).currentTime > %f + 0.5`, sel, t0))
}

// endBurst ends the burst unless the media area already did when the
// publisher left.
func endBurst(t *testing.T, e *env, burstID int64) {
	t.Helper()
	b, err := e.app.Drops.Burst(t.Context(), burstID)
	if err != nil {
		t.Fatal(err)
	}
	if b.State == drops.StateEnded {
		return
	}
	if _, err := e.app.Drops.Transition(t.Context(), burstID, drops.StateEnded, time.Now()); err != nil {
		t.Fatalf("end burst: %v", err)
	}
}
