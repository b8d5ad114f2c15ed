//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/drops"
)

// firstFrameLoads is how many watch-page loads TestFirstFrame measures.
const firstFrameLoads = 10

// TestFirstFrame measures page load → first video frame on the watch page:
// navigation start to the first painted frame (requestVideoFrameCallback,
// recorded by the page as dropcastMetrics.marks.firstFrame), over
// firstFrameLoads fresh tabs, with the host publishing Chromium's fake
// camera from the host page. It runs only with DROPCAST_E2E_BENCH=1. Without
// the media routes on the server it measures against the test relay
// (relay_test.go) and says so: that figure covers the page, not the SFU.
func TestFirstFrame(t *testing.T) {
	if os.Getenv("DROPCAST_E2E_BENCH") == "" {
		t.Skip("set DROPCAST_E2E_BENCH=1 to measure page load → first frame")
	}
	e := startApp(t)
	head := e.demo.Bursts[0]
	media := "server"
	for _, p := range []struct{ method, path string }{{"POST", "/whip"}, {"POST", burstPath("/whep", head.Burst.ID)}} {
		if routeMissing(t, e.base, p.method, p.path) {
			media = "test-relay"
		}
	}
	if media == "test-relay" {
		if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateLive, time.Now()); err != nil {
			t.Fatal(err)
		}
		rl := newRelay(t, head.Burst.ID, head.Key.String())
		e = &env{app: e.app, base: contractFront(t, e, rl), demo: e.demo}
	}
	ctx := browser(t)
	goLive(t, tab(t, ctx), e, head.Burst.ID, head.Key)

	var ms []float64
	for i := range firstFrameLoads {
		watch := tab(t, ctx)
		run(t, watch, "open watch", chromedp.Navigate(e.base+burstPath("/watch", head.Burst.ID)))
		waitFor(t, watch, 20*time.Second, "first frame", `globalThis.dropcastMetrics?.marks?.firstFrame > 0`)
		v := eval[float64](t, watch, `dropcastMetrics.marks.firstFrame`)
		t.Logf("load %d: first frame after %.0f ms (%s)", i+1, v, eval[string](t, watch, `JSON.stringify(dropcastMetrics.marks, (k, v) => typeof v === 'number' ? Math.round(v) : v)`))
		ms = append(ms, v)
		run(t, watch, "leave", chromedp.Navigate("about:blank"))
	}
	slices.Sort(ms)
	p50 := (ms[len(ms)/2-1] + ms[len(ms)/2]) / 2
	fmt.Printf("first-frame: media=%s loads=%d p50=%.0fms min=%.0fms max=%.0fms\n", media, len(ms), p50, ms[0], ms[len(ms)-1])
	if p50 > 1000 {
		t.Errorf("p50 page load → first frame = %.0f ms, goal < 1000 ms", p50)
	}
}
