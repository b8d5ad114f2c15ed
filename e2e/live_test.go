//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/drops"
)

// TestLiveAgainstContracts runs the live story's browser half against
// stand-ins for the WHIP/WHEP and shopper-channel contracts (relay_test.go,
// contract_test.go): the host goes live from the host page with Chromium's
// fake camera; the watch page plays it; a pin shows the card within a
// second; stock messages move "only N left"; add to cart sends cart.add and
// shows the cart with its hold; checkout opens the URL it is given; the
// 60-second warning and the end lead to the replay link.
func TestLiveAgainstContracts(t *testing.T) {
	e := startApp(t)
	head := e.demo.Bursts[0]
	if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateLive, time.Now()); err != nil {
		t.Fatal(err)
	}
	rl := newRelay(t, head.Burst.ID, head.Key.String())
	ch := newFakeChannel(t, e, head.Burst.ID, head.Key.String())
	base := contractFront(t, e, rl, ch)
	ctx := browser(t)

	host := tab(t, ctx)
	goLive(t, host, &env{app: e.app, base: base, demo: e.demo}, head.Burst.ID, head.Key)
	rl.waitLive(t, 15*time.Second)

	watch := tab(t, ctx)
	run(t, watch, "open watch", chromedp.Navigate(base+burstPath("/watch", head.Burst.ID)))
	waitVideoPlays(t, watch, "#video", 20*time.Second)
	if muted := eval[bool](t, watch, `document.getElementById('video').muted && !document.getElementById('unmute').hidden`); !muted {
		t.Error("video should autoplay muted with the unmute button showing")
	}
	// A real click (user activation), as the browser requires for sound.
	run(t, watch, "unmute", chromedp.Click("#unmute"))
	waitFor(t, watch, 2*time.Second, "unmuted", `!document.getElementById('video').muted && document.getElementById('unmute').hidden`)
	waitFor(t, watch, 5*time.Second, "viewer count", `document.getElementById('viewers').textContent === '41 watching'`)

	// Pin from the host console: the card shows on the watch page in < 1 s.
	cardID := eval[string](t, host, `document.querySelector('#run-of-show li:nth-child(3)').dataset.card`)
	start := time.Now()
	run(t, host, "pin", chromedp.Evaluate[chromedp.Void](`document.querySelector('#run-of-show li:nth-child(3) button').click()`))
	sel := fmt.Sprintf(`#cards .card[data-card="%s"]`, cardID)
	waitFor(t, watch, 3*time.Second, "pinned card", fmt.Sprintf(`!!document.querySelector('%s')`, sel))
	if d := time.Since(start); d > time.Second {
		t.Errorf("pinned card took %v, want < 1 s", d)
	}
	waitFor(t, watch, 3*time.Second, "screen-reader announcement", `/^Now showing: Ripstop Cargo Pant, /.test(document.getElementById('announce').textContent)`)
	waitFor(t, host, 3*time.Second, "host shows the pin", `document.querySelector('#run-of-show li:nth-child(3)').classList.contains('on')`)

	// Stock moves: "only N left" for the picked size, sold-out sizes disabled.
	variant := eval[string](t, watch, fmt.Sprintf(`(() => { const i = document.querySelector('%s input:not(:disabled)'); i.click(); return i.value; })()`, sel))
	ch.broadcast(map[string]any{"type": "stock", "variant": variant, "available": 2})
	waitFor(t, watch, 3*time.Second, "low stock", fmt.Sprintf(`/^Only 2 left in /.test(document.querySelector('%s .low-stock').textContent)`, sel))

	run(t, watch, "add to cart", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('%s .add').click()`, sel)))
	add := ch.waitMessage(t, "cart.add", 5*time.Second)
	if add["variant"] != variant || add["card"] != cardID || add["qty"] != 1.0 || add["req"] == "" {
		t.Errorf("cart.add = %v", add)
	}
	if _, hasPrice := add["price"]; hasPrice {
		t.Error("the client sent a price")
	}
	waitFor(t, watch, 3*time.Second, "cart count", `document.getElementById('cart-count').textContent === '1'`)

	ch.broadcast(map[string]any{"type": "stock", "variant": variant, "available": 0})
	waitFor(t, watch, 3*time.Second, "sold out size", fmt.Sprintf(`document.querySelector('%s input[value="%s"]').disabled`, sel, variant))

	run(t, watch, "open cart", chromedp.Evaluate[chromedp.Void](`document.getElementById('cart-button').click()`))
	waitFor(t, watch, 3*time.Second, "cart line from the card", fmt.Sprintf(`document.querySelector('#cart-items li strong')?.textContent === document.querySelector('%s .card-title').textContent`, sel))
	if total, line := eval[string](t, watch, `document.getElementById('cart-total').textContent`), eval[string](t, watch, `document.querySelector('#cart-items li .meta span').textContent`); !strings.HasSuffix(line, total) || total == "$0.00" {
		t.Errorf("cart total %q for the line %q", total, line)
	}
	waitFor(t, watch, 3*time.Second, "hold timer", `/holding these for you for \d+:\d\d/.test(document.getElementById('cart-hold').textContent)`)
	run(t, watch, "checkout", chromedp.Evaluate[chromedp.Void](`document.getElementById('checkout').click()`))
	ch.waitMessage(t, "checkout", 5*time.Second)
	waitFor(t, watch, 5*time.Second, "checkout URL", `document.body.dataset.checkoutUrl === 'https://checkout.stripe.com/c/pay/cs_test_dropcast'`)
	screenshot(t, watch, "watch-cart-desktop", false)
	run(t, watch, "close cart", chromedp.Evaluate[chromedp.Void](`document.getElementById('cart-close').click()`))

	// Hide from the host: the card leaves.
	run(t, host, "hide", chromedp.Evaluate[chromedp.Void](`document.querySelector('#run-of-show li:nth-child(3) button').click()`))
	waitFor(t, watch, 3*time.Second, "card hidden", fmt.Sprintf(`!document.querySelector('%s')`, sel))

	// The one-minute warning, then the end with the replay link.
	ends := time.Now().Add(59 * time.Second).UTC()
	ch.broadcast(map[string]any{"type": "burst", "state": "ending", "ends_at": ends})
	waitFor(t, watch, 3*time.Second, "ending banner", `/^Ending in \d+ s/.test(document.getElementById('ending').textContent)`)
	waitFor(t, host, 3*time.Second, "host warning", `!document.getElementById('host-warning').hidden`)
	screenshot(t, watch, "watch-ending-desktop", false)
	ch.broadcast(map[string]any{"type": "burst", "state": "ended"})
	waitFor(t, watch, 3*time.Second, "replay link", fmt.Sprintf(`document.querySelector('#overlay-state a.button-primary')?.getAttribute('href') === '/replay/%d'`, head.Burst.ID))
}
