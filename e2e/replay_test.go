//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dropcast/dropcast/drops"
)

// replayFiles stands in for the recorder's replay contract: an HLS VOD of
// fMP4 byte ranges (made by ffmpeg: H264 + Opus, as the recorder writes) and
// a timeline.json, served under /replay/{burst}/.
type replayFiles struct {
	burstID int64
	dir     string
}

func (f replayFiles) routes(mux *http.ServeMux) {
	mux.Handle(fmt.Sprintf("GET /replay/%d/{file}", f.burstID), http.StripPrefix(fmt.Sprintf("/replay/%d/", f.burstID), http.FileServer(http.Dir(f.dir))))
}

func makeReplay(t *testing.T, burstID int64, timeline any) replayFiles {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is needed to make the replay fixture: apt-get install -y ffmpeg")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "12", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "30", "-bf", "0", "-c:a", "libopus", "-b:a", "64k",
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4", "-hls_flags", "single_file",
		filepath.Join(dir, "index.m3u8"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := json.Marshal(timeline)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "timeline.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return replayFiles{burstID: burstID, dir: dir}
}

// TestReplay plays the replay page against the recorder's contract: the
// HLS (byte-range fMP4) plays through the vendored hls.js, the card from the
// timeline shows during its moment only, and a clip button seeks to its start.
func TestReplay(t *testing.T) {
	e := startApp(t)
	head := e.demo.Bursts[0]
	now := time.Now()
	if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateLive, now.Add(-20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Drops.Transition(t.Context(), head.Burst.ID, drops.StateEnded, now.Add(-5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	cards, err := e.app.Drops.ListCards(t.Context(), head.Burst.ID)
	if err != nil {
		t.Fatal(err)
	}
	cardID := strconv.FormatInt(cards[1].ID, 10)
	files := makeReplay(t, head.Burst.ID, map[string]any{
		// A terse timeline: the page fills the product in from the run-of-show.
		"cards": []map[string]any{{"card": map[string]any{"id": cardID}, "start_s": 4, "end_s": 8}},
		"clips": []map[string]any{{"title": "The tee", "start_s": 6, "end_s": 10}},
	})
	base := contractFront(t, e, files)
	ctx := browser(t)
	run(t, ctx, "open replay", chromedp.Navigate(base+burstPath("/replay", head.Burst.ID)))
	waitVideoPlays(t, ctx, "#video", 20*time.Second)
	if muted := eval[bool](t, ctx, `document.getElementById('video').muted && !document.getElementById('unmute').hidden`); !muted {
		t.Error("replay should autoplay muted with the unmute button showing")
	}

	sel := fmt.Sprintf(`#cards .card[data-card="%s"]`, cardID)
	if shown := eval[bool](t, ctx, fmt.Sprintf(`!!document.querySelector('%s') && document.getElementById('video').currentTime < 4`, sel)); shown {
		t.Error("card shown before its moment")
	}
	waitFor(t, ctx, 15*time.Second, "card at its moment", fmt.Sprintf(`!!document.querySelector('%s .add')`, sel))
	title := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s .card-title').textContent`, sel))
	if title != "Run Club Logo Tee" {
		t.Errorf("card title %q, want the run-of-show's product", title)
	}
	screenshot(t, ctx, "replay-playing-desktop", false)
	waitFor(t, ctx, 15*time.Second, "card gone after its moment", fmt.Sprintf(`document.getElementById('video').currentTime > 8.5 && !document.querySelector('%s')`, sel))

	clips := eval[[]string](t, ctx, `[...document.querySelectorAll('#clips button')].map(b => b.textContent)`)
	if len(clips) != 1 || clips[0] != "The tee0:06" {
		t.Fatalf("clips %q", clips)
	}
	run(t, ctx, "play clip", chromedp.Evaluate[chromedp.Void](`document.querySelector('#clips button').click()`))
	waitFor(t, ctx, 5*time.Second, "seek to the clip", `Math.abs(document.getElementById('video').currentTime - 6) < 1.5`)
	waitFor(t, ctx, 5*time.Second, "card back during the clip", fmt.Sprintf(`!!document.querySelector('%s')`, sel))
}

// TestBackstageReplayGate opens a backstage burst's replay: the page asks for
// the VIP pass, says so when a pass does not open it, and with the demo's
// pass goes on to the recording (still being prepared here).
func TestBackstageReplayGate(t *testing.T) {
	e := startApp(t)
	var back drops.Burst
	for _, b := range e.demo.Bursts {
		if b.Burst.Kind == drops.KindBackstage {
			back = b.Burst
		}
	}
	if back.ID == 0 || e.demo.VIPPass == "" {
		t.Fatal("the demo has no backstage burst with a pass")
	}
	now := time.Now()
	if _, err := e.app.Drops.Transition(t.Context(), back.ID, drops.StateLive, now.Add(-20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Drops.Transition(t.Context(), back.ID, drops.StateEnded, now.Add(-5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	run(t, ctx, "open backstage replay", chromedp.Navigate(e.base+burstPath("/replay", back.ID)))
	waitFor(t, ctx, 10*time.Second, "VIP pass form", `!!document.getElementById('vip-pass')`)
	run(t, ctx, "wrong pass", chromedp.Evaluate[chromedp.Void](`document.getElementById('vip-pass').value = 'vip_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
		document.querySelector('#overlay-state form button').click()`))
	waitFor(t, ctx, 10*time.Second, "refusal", `document.querySelector('#overlay-state .form-error')?.textContent.includes('did not open')`)
	run(t, ctx, "the demo's pass", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById('vip-pass').value = %q;
		document.querySelector('#overlay-state form button').click()`, e.demo.VIPPass.String())))
	waitFor(t, ctx, 10*time.Second, "past the gate", `!document.getElementById('vip-pass') && document.getElementById('overlay-state').textContent.includes('Coming soon')`)
	if stored := eval[string](t, ctx, fmt.Sprintf(`sessionStorage.getItem('dropcast.pass.%d') || ''`, back.ID)); stored != e.demo.VIPPass.String() {
		t.Errorf("stored pass %q, want the one entered", stored)
	}
}
