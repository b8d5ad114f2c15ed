package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
	"github.com/dropcast/dropcast/store/storetest"
)

const testAdminToken = "test-admin-token-0123456789"

// startApp runs an App on 127.0.0.1:0 with a fresh database and data dir.
func startApp(t *testing.T) (*App, string) { return startAppWith(t, nil) }

// startAppWith is startApp with the Config adjusted by tune first.
func startAppWith(t *testing.T, tune func(*Config)) (*App, string) {
	t.Helper()
	_, dbURL := storetest.NewWithURL(t)
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("APP_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	cfg := Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: testAdminToken, DataDir: dir}
	if tune != nil {
		tune(&cfg)
	}
	a, err := New(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return a, dir
}

func api(t *testing.T, method, url string, body any, admin bool) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestRecordedBurstReplayAndClips publishes the fixture into the burst's
// sink as the media registry will, with cards shown on the bus, then checks
// the recording, the proposed clips, a cut clip, the replay playlist and
// the timeline over HTTP.
func TestRecordedBurstReplayAndClips(t *testing.T) {
	rt.NeedFFmpeg(t)
	a, _ := startApp(t)
	ctx := t.Context()
	base := "http://" + a.Addr()
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "rec", Title: "Rec", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(47 * time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	var products []catalog.Product
	for _, title := range []string{"Hoodie", "Cap"} {
		p, err := a.Catalog.CreateProduct(ctx, d.ID, catalog.ProductInput{Title: title, Variants: []catalog.VariantInput{{SKU: title + "-M", Label: "M", Price: 4900, Stock: 10}}})
		if err != nil {
			t.Fatal(err)
		}
		products = append(products, p)
	}
	b, _, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Headline", Kind: drops.KindHeadline, ScheduledAt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var cards []drops.Card
	for i, p := range products {
		c, err := a.Drops.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 2 + 4*i, DurationS: 3})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, c)
	}

	fx := rt.LoadFixture(t, rt.FixturePath())
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	a.bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "live", At: start, LiveAt: start})
	for _, c := range cards {
		shown := start.Add(c.Offset())
		a.bus.Publish(events.CardShown{BurstID: b.ID, CardID: c.ID, At: shown, Offset: c.Offset()})
		a.bus.Publish(events.CardHidden{BurstID: b.ID, CardID: c.ID, At: shown.Add(3 * time.Second), Offset: c.Offset() + 3*time.Second})
	}
	sink := a.Recorder.SinkFor(b.ID)
	sink.SinkStart(fx.Tracks())
	rt.Play(sink, fx.Packets(t, rt.Feed{Length: 10 * time.Second, Start: start, SRs: true}))
	sink.SinkStop()
	a.bus.Publish(events.BurstState{BurstID: b.ID, DropID: d.ID, State: "ended", At: start.Add(10 * time.Second), LiveAt: start})

	// Proposals: a snap and a cut per card, one hero clip.
	clipsURL := fmt.Sprintf("%s/api/bursts/%d/clips", base, b.ID)
	var list struct {
		Clips []struct {
			ID         string   `json:"id"`
			Kind       string   `json:"kind"`
			FromS      float64  `json:"from_s"`
			ToS        float64  `json:"to_s"`
			ProductIDs []string `json:"product_ids"`
			URL        string   `json:"url"`
		} `json:"clips"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(list.Clips) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("proposed clips: %+v, want 5", list.Clips)
		}
		resp, body := api(t, "GET", clipsURL, nil, true)
		if resp.StatusCode != 200 {
			t.Fatalf("list clips: %d %s", resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Clips) < 5 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	kinds := map[string]int{}
	for _, c := range list.Clips {
		kinds[c.Kind]++
		if len(c.ProductIDs) == 0 {
			t.Errorf("clip %+v has no product link", c)
		}
		if c.Kind == "hero" && len(c.ProductIDs) != 2 {
			t.Errorf("hero clip links %v, want both products", c.ProductIDs)
		}
		if c.Kind == "snap" && c.FromS != 2 && c.FromS != 6 {
			t.Errorf("snap at %.3f s, want at a card moment (2 or 6)", c.FromS)
		}
	}
	if kinds["snap"] != 2 || kinds["cut"] != 2 || kinds["hero"] != 1 {
		t.Errorf("proposal kinds %v, want 2 snap, 2 cut, 1 hero", kinds)
	}
	if n, err := a.Recorder.ProposeClips(ctx, b.ID); err != nil || n != 0 {
		t.Errorf("proposing again made %d clips (%v), want none", n, err)
	}

	// A clip of [3, 8] s: 5 ± 0.1 s, starting on a keyframe, served with ranges.
	resp, body := api(t, "POST", clipsURL, map[string]any{"from_s": 3, "to_s": 8, "label": "look"}, true)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create clip: %d %s", resp.StatusCode, body)
	}
	var clip struct {
		URL        string   `json:"url"`
		ProductIDs []string `json:"product_ids"`
	}
	if err := json.Unmarshal(body, &clip); err != nil {
		t.Fatal(err)
	}
	if len(clip.ProductIDs) != 2 {
		t.Errorf("clip [3, 8] links products %v, want both cards' (shown 2–5 s and 6–9 s)", clip.ProductIDs)
	}
	clipURL := base + clip.URL[strings.Index(clip.URL, "/clips/"):]
	if d := rt.FFprobe(t, clipURL).Duration(t); d < 4.9 || d > 5.1 {
		t.Errorf("clip lasts %.3f s, want 5 ± 0.1", d)
	}
	local := filepath.Join(t.TempDir(), "clip.mp4")
	_, full := api(t, "GET", clipURL, nil, false)
	if err := os.WriteFile(local, full, 0o644); err != nil {
		t.Fatal(err)
	}
	if f := rt.FirstVideoPacketFlags(t, local); !strings.HasPrefix(f, "K") {
		t.Errorf("clip's first video packet flags %q, want a keyframe", f)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", clipURL, nil)
	req.Header.Set("Range", "bytes=100-199")
	rresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rresp.Body)
	rresp.Body.Close()
	if rresp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, full[100:200]) {
		t.Errorf("range request: %d with %d bytes, want 206 with bytes 100-199", rresp.StatusCode, len(part))
	}

	// Bad ranges are 400 with the field at fault.
	for _, tc := range []struct {
		name  string
		body  string
		field string
	}{
		{"reversed", `{"from_s":8,"to_s":3}`, "to_s"},
		{"negative", `{"from_s":-1,"to_s":3}`, "from_s"},
		{"past the end", `{"from_s":30,"to_s":40}`, "from_s"},
		{"ends past the end", `{"from_s":5,"to_s":40}`, "to_s"},
		{"missing to_s", `{"from_s":5}`, "to_s"},
		{"not a number", `{"from_s":"5","to_s":8}`, "from_s"},
		{"unknown field", `{"from_s":1,"to_s":3,"speed":2}`, "speed"},
	} {
		t.Run("400 "+tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, "POST", clipsURL, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				Error struct{ Code, Field, Message string } `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != 400 || e.Error.Field != tc.field {
				t.Errorf("got %d %+v, want 400 on %s", resp.StatusCode, e.Error, tc.field)
			}
		})
	}
	if resp, _ := api(t, "POST", clipsURL, map[string]any{"from_s": 1, "to_s": 3}, false); resp.StatusCode != 401 {
		t.Errorf("clip without admin token: %d, want 401", resp.StatusCode)
	}

	// The replay playlist: ffprobe plays it, and it carries both cards.
	plURL := fmt.Sprintf("%s/replay/%d/index.m3u8", base, b.ID)
	_, pl := api(t, "GET", plURL, nil, false)
	t.Logf("playlist:\n%s", pl)
	for _, c := range cards {
		if !bytes.Contains(pl, fmt.Appendf(nil, `X-CARD-ID="%d"`, c.ID)) {
			t.Errorf("playlist lacks card %d:\n%s", c.ID, pl)
		}
	}
	for _, tag := range []string{"#EXT-X-MAP:", "#EXT-X-PROGRAM-DATE-TIME:", "#EXT-X-DATERANGE:", "#EXT-X-BYTERANGE:", "#EXT-X-ENDLIST"} {
		if !bytes.Contains(pl, []byte(tag)) {
			t.Errorf("playlist lacks %s:\n%s", tag, pl)
		}
	}
	p := rt.FFprobe(t, plURL)
	if d := p.Duration(t); d < 9.5 || d > 10.5 {
		t.Errorf("replay lasts %.3f s, want 10 ± 0.5\n%s", d, pl)
	}
	if len(p.Streams) != 2 {
		t.Errorf("replay streams %+v, want video and audio", p.Streams)
	}

	// The timeline JSON has the cards at their media offsets.
	_, tlBody := api(t, "GET", fmt.Sprintf("%s/replay/%d/timeline.json", base, b.ID), nil, false)
	var tl struct {
		Events []struct {
			Type   string  `json:"type"`
			CardID string  `json:"card_id"`
			MediaS float64 `json:"media_s"`
		} `json:"events"`
	}
	if err := json.Unmarshal(tlBody, &tl); err != nil {
		t.Fatal(err)
	}
	shows := map[string]float64{}
	for _, e := range tl.Events {
		if e.Type == "card.show" {
			shows[e.CardID] = e.MediaS
		}
	}
	for _, c := range cards {
		got, ok := shows[fmt.Sprint(c.ID)]
		if want := c.Offset().Seconds(); !ok || got < want-0.1 || got > want+0.1 {
			t.Errorf("card %d at media %.3f s (present %v), want %.0f", c.ID, got, ok, want)
		}
	}

	// The admin listing shows the finished part.
	_, recBody := api(t, "GET", fmt.Sprintf("%s/api/bursts/%d/recordings", base, b.ID), nil, true)
	if !bytes.Contains(recBody, []byte(`"state":"complete"`)) {
		t.Errorf("recordings: %s", recBody)
	}
}
