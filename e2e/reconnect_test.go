//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/drops"
)

// TestReconnectAndDropEmbed: when the media side drops a viewer the watch
// page says so and plays again by itself; the drop page embeds the burst
// that is live and links to its watch page.
func TestReconnectAndDropEmbed(t *testing.T) {
	e := startApp(t)
	head := e.demo.Bursts[0]
	if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateLive, time.Now()); err != nil {
		t.Fatal(err)
	}
	rl := newRelay(t, head.Burst.ID, head.Key.String())
	base := contractFront(t, e, rl)
	ctx := browser(t)
	goLive(t, tab(t, ctx), &env{app: e.app, base: base, demo: e.demo}, head.Burst.ID, head.Key)
	rl.waitLive(t, 15*time.Second)

	watch := tab(t, ctx)
	run(t, watch, "open watch", chromedp.Navigate(base+burstPath("/watch", head.Burst.ID)))
	waitVideoPlays(t, watch, "#video", 20*time.Second)
	run(t, watch, "note the session", chromedp.Evaluate[chromedp.Void](`window.firstSession = document.getElementById('video').srcObject.id; undefined`))
	if n := rl.dropViewers(); n != 1 {
		t.Fatalf("dropped %d viewers, want 1", n)
	}
	waitFor(t, watch, 15*time.Second, "reconnecting notice", `/Reconnecting|Connecting/.test(document.getElementById('overlay-state').textContent)`)
	waitFor(t, watch, 20*time.Second, "playing again", `document.getElementById('overlay-state').textContent === '' && document.getElementById('video').srcObject?.id !== window.firstSession`)
	waitVideoPlays(t, watch, "#video", 10*time.Second)

	drop := tab(t, ctx)
	run(t, drop, "open drop", chromedp.Navigate(base+"/d/"+e.demo.Drop.Slug))
	waitFor(t, drop, 10*time.Second, "live section", `!document.getElementById('live-section').hidden`)
	if href := eval[string](t, drop, `document.getElementById('live-link').getAttribute('href')`); href != fmt.Sprintf("/watch/%d", head.Burst.ID) {
		t.Errorf("live link %q", href)
	}
	waitVideoPlays(t, drop, "#live-video", 20*time.Second)
	screenshot(t, drop, "drop-live-desktop", false)
}
