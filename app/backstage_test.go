package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
)

// backstage makes a drop (slug) open now with one backstage burst and one
// VIP pass.
func backstage(t *testing.T, a *App, slug string) (drops.Drop, drops.Burst, drops.Pass, drops.PassKey) {
	t.Helper()
	now := time.Now()
	d, err := a.Drops.CreateDrop(t.Context(), drops.DropInput{Slug: slug, Title: "VIP", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := a.Drops.CreateBurst(t.Context(), d.ID, drops.BurstInput{Title: "Back", Kind: drops.KindBackstage, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}
	p, key, err := a.Drops.CreatePass(t.Context(), d.ID, drops.PassInput{Label: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	return d, b, p, key
}

// TestBackstageNeedsPass checks that a backstage burst's shopper channel
// refuses shoppers without a valid VIP pass and that a pass opens it (WHEP's
// refusals are in server's TestWHIPWHEPErrors).
func TestBackstageNeedsPass(t *testing.T) {
	a, _ := startApp(t)
	_, b, _, pass := backstage(t, a, "vip")
	wsURL := fmt.Sprintf("ws://%s/ws/%d", a.Addr(), b.ID)
	for name, tc := range map[string]struct {
		query  string
		status int
	}{
		"no pass":     {"", http.StatusUnauthorized},
		"forged pass": {"?pass=vip_1_" + strings.Repeat("A", 43), http.StatusForbidden},
	} {
		_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL+tc.query, nil)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: dial err %v, response %v; want status %d", name, err, resp, tc.status)
		}
	}
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL+"?pass="+url.QueryEscape(pass.String()), nil)
	if err != nil {
		t.Fatalf("dial with pass: %v", err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var w struct{ Type string }
	if err := ws.ReadJSON(&w); err != nil || w.Type != "welcome" {
		t.Fatalf("welcome = %+v, %v", w, err)
	}
}

// TestBackstageReplayNeedsPass records a backstage burst and checks that its
// replay (playlist, parts, timeline) and clips open with the drop's VIP pass,
// as a header or as ?pass= (which the playlist carries on to every part, so
// a player that sends no headers still plays it), and with nothing else.
func TestBackstageReplayNeedsPass(t *testing.T) {
	rt.NeedFFmpeg(t)
	a, _ := startApp(t)
	ctx := t.Context()
	base := "http://" + a.Addr()
	d, b, pass, passKey := backstage(t, a, "vip-replay")
	_, _, _, otherKey := backstage(t, a, "other")

	fx := rt.LoadFixture(t, rt.FixturePath())
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	a.bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "live", At: start, LiveAt: start})
	sink := a.Recorder.SinkFor(b.ID)
	sink.SinkStart(fx.Tracks())
	rt.Play(sink, fx.Packets(t, rt.Feed{Length: 4 * time.Second, Start: start, SRs: true}))
	sink.SinkStop()
	a.bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "ended", At: start.Add(4 * time.Second), LiveAt: start})
	recURL := fmt.Sprintf("%s/api/bursts/%d/recordings", base, b.ID)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, body := api(t, "GET", recURL, nil, true); bytes.Contains(body, []byte(`"state":"complete"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backstage recording never completed")
		}
	}
	resp, body := api(t, "POST", fmt.Sprintf("%s/api/bursts/%d/clips", base, b.ID), map[string]any{"from_s": 0, "to_s": 2}, true)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create clip: %d %s", resp.StatusCode, body)
	}
	var clip struct{ URL string }
	if err := json.Unmarshal(body, &clip); err != nil {
		t.Fatal(err)
	}

	get := func(target, bearer string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	replay := fmt.Sprintf("%s/replay/%d/", base, b.ID)
	clipURL := base + clip.URL[strings.Index(clip.URL, "/clips/"):]
	q := "?pass=" + url.QueryEscape(passKey.String())
	for _, target := range []string{replay + "index.m3u8", replay + "timeline.json", replay + "parts/001.mp4", clipURL} {
		for _, tc := range []struct {
			name, query, bearer string
			status              int
		}{
			{"no pass", "", "", http.StatusUnauthorized},
			{"forged pass", "?pass=vip_1_" + strings.Repeat("A", 43), "", http.StatusForbidden},
			{"another drop's pass", "", otherKey.String(), http.StatusForbidden},
			{"pass as header", "", passKey.String(), http.StatusOK},
			{"pass as query", q, "", http.StatusOK},
			{"admin token", "", testAdminToken, http.StatusOK},
		} {
			if got, body := get(target+tc.query, tc.bearer); got != tc.status {
				t.Errorf("%s %s: %d %s, want %d", target, tc.name, got, body, tc.status)
			}
		}
	}

	// A player given the ?pass= playlist URL plays every part without
	// sending a header: the parts' URIs carry the pass.
	if _, pl := get(replay+"index.m3u8"+q, ""); !bytes.Contains(pl, []byte(".mp4"+q)) {
		t.Errorf("playlist with ?pass= does not carry it to its parts:\n%s", pl)
	}
	if _, pl := get(replay+"index.m3u8", passKey.String()); bytes.Contains(pl, []byte("pass=")) {
		t.Errorf("playlist asked with a header puts the pass in URIs:\n%s", pl)
	}
	if dur := rt.FFprobe(t, replay+"index.m3u8"+q).Duration(t); dur < 3.5 || dur > 4.5 {
		t.Errorf("backstage replay through ?pass= lasts %.3f s, want 4 ± 0.5", dur)
	}

	// A revoked pass opens nothing any more.
	if _, err := a.Drops.RevokePass(ctx, d.ID, pass.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := get(replay+"index.m3u8"+q, ""); got != http.StatusForbidden {
		t.Errorf("playlist with a revoked pass: %d, want 403", got)
	}
}
