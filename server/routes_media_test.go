package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// startPublisher publishes the fixture to the burst until the test ends.
func startPublisher(t *testing.T, e *mediaEnv, key string) *sfutest.Publisher {
	t.Helper()
	pub, err := sfutest.Publish(ctxTimeout(t, 10*time.Second), e.url+"/whip", key)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); pub.Send(ctx, sfutest.LoadFixture(t)) }()
	t.Cleanup(func() { cancel(); wg.Wait(); pub.Close() })
	return pub
}

// watch joins as a viewer, retrying while the publisher's media has not
// arrived yet (409).
func watch(t *testing.T, e *mediaEnv, burstID int64) *sfutest.Viewer {
	t.Helper()
	ctx := ctxTimeout(t, 10*time.Second)
	for {
		v, err := sfutest.Watch(ctx, fmt.Sprintf("%s/whep/%d", e.url, burstID), "")
		if err == nil {
			t.Cleanup(v.Close)
			return v
		}
		var se *sfutest.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusConflict || ctx.Err() != nil {
			t.Fatalf("watch: %v", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestWHIPPublishToWHEPViewers(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindHeadline, time.Now().Add(10*time.Minute))
	sub := e.bus.Subscribe(16, events.ForBurst(b.ID))
	defer sub.Close()

	startPublisher(t, e, key)
	var viewers []*sfutest.Viewer
	for range 3 {
		viewers = append(viewers, watch(t, e, b.ID))
	}
	ctx := ctxTimeout(t, 10*time.Second)
	for i, v := range viewers {
		ok := v.WaitFor(ctx, func(video, audio sfutest.TrackStats) bool { return video.Packets >= 60 && audio.Packets >= 25 })
		video, audio := v.Stats()
		if !ok {
			t.Fatalf("viewer %d: video %d packets, audio %d packets", i, video.Packets, audio.Packets)
		}
		if video.Mime != "video/H264" || audio.Mime != "audio/opus" {
			t.Fatalf("viewer %d codecs %q %q", i, video.Mime, audio.Mime)
		}
		nals := v.FirstNALs()
		// The first video packet must open a decodable picture: SPS, PPS, IDR.
		if len(nals) < 3 || nals[0] != 7 || !slices.Contains(nals[:4], 8) || !slices.Contains(nals[:min(len(nals), 6)], 5) {
			t.Fatalf("viewer %d first NAL types %v, want SPS, PPS, IDR first", i, nals)
		}
	}
	got, err := e.drops.Burst(t.Context(), b.ID)
	if err != nil || got.State != drops.StateLive {
		t.Fatalf("burst state %q (%v), want live", got.State, err)
	}
	select {
	case ev := <-sub.C:
		if bs, ok := ev.(events.BurstState); !ok || bs.State != "live" || bs.EndsAt.IsZero() {
			t.Fatalf("event %#v, want live with ends_at", ev)
		}
	case <-ctx.Done():
		t.Fatal("no live event")
	}
	if v := e.media.Stream(b.ID).Viewers(); v != 3 {
		t.Fatalf("stream has %d viewers, want 3", v)
	}
	assertMediaMetrics(t, e, b.ID)
	code, err := viewers[0].Delete(ctx)
	if err != nil || code != http.StatusOK {
		t.Fatalf("viewer DELETE: %d %v", code, err)
	}
}

// rawOffer makes a real client offer for the error cases that need one.
func rawOffer(t *testing.T, publish bool) string {
	t.Helper()
	sdp, closeFn, err := sfutest.NewOffer(ctxTimeout(t, 5*time.Second), publish)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return sdp
}

func post(t *testing.T, url, token, ctype, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = fmt.Fprint(&sb, readAll(resp))
	return resp, sb.String()
}

func readAll(resp *http.Response) string {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func TestWHIPWHEPErrors(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	now := time.Now()
	live, liveKey := e.burst(t, drops.KindHeadline, now.Add(time.Minute))
	_, earlyKey := e.burst(t, drops.KindCollab, now.Add(3*time.Hour))
	ended, endedKey := e.burst(t, drops.KindCommunity, now.Add(time.Minute))
	if _, err := e.drops.Transition(t.Context(), ended.ID, drops.StateEnded, now); err != nil {
		t.Fatal(err)
	}
	backstage, _ := e.burst(t, drops.KindBackstage, now.Add(time.Minute))
	_, pass, err := e.drops.CreatePass(t.Context(), e.dropID, drops.PassInput{Label: "VIP"})
	if err != nil {
		t.Fatal(err)
	}
	notLive, _ := e.burst(t, drops.KindHeadline, now.Add(2*time.Minute))
	offer := rawOffer(t, true)
	recvOffer := rawOffer(t, false)
	noCodec := strings.NewReplacer("H264/", "H265/", "VP8/", "XP8/", "opus/", "speex/", "PCMU/", "XCMU/", "PCMA/", "XCMA/").Replace(offer)
	startPublisher(t, e, liveKey)

	cases := []struct {
		name, path, token, ctype, body string
		want                           int
		reason                         string
	}{
		{"no bearer", "/whip", "", "application/sdp", offer, 401, "Authorization"},
		{"unknown key", "/whip", "dck_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "application/sdp", offer, 401, "unknown stream key"},
		{"malformed key", "/whip", "nope", "application/sdp", offer, 401, "unknown stream key"},
		{"wrong content type", "/whip", liveKey, "application/json", offer, 400, "application/sdp"},
		{"malformed sdp", "/whip", liveKey, "application/sdp", "v=0\r\nbogus", 400, "malformed SDP"},
		{"empty body", "/whip", liveKey, "application/sdp", "", 400, "empty"},
		{"no usable codec", "/whip", liveKey, "application/sdp", noCodec, 400, "no usable codec"},
		{"huge body", "/whip", liveKey, "application/sdp", strings.Repeat("a", sfu.MaxOfferSize+1), 413, "larger"},
		{"too early", "/whip", earlyKey, "application/sdp", offer, 403, "opens for publishing"},
		{"ended", "/whip", endedKey, "application/sdp", offer, 403, "ended"},
		{"someone else publishing", "/whip", liveKey, "application/sdp", offer, 409, "another publisher"},
		{"whep unknown burst", "/whep/999999", "", "application/sdp", recvOffer, 404, "not found"},
		{"whep bad id", "/whep/abc", "", "application/sdp", recvOffer, 404, "not found"},
		{"whep not live", fmt.Sprintf("/whep/%d", notLive.ID), "", "application/sdp", recvOffer, 409, "not live"},
		{"whep ended", fmt.Sprintf("/whep/%d", ended.ID), "", "application/sdp", recvOffer, 403, "ended"},
		{"whep backstage without pass", fmt.Sprintf("/whep/%d", backstage.ID), "", "application/sdp", recvOffer, 401, "VIP pass"},
		{"whep backstage forged pass", fmt.Sprintf("/whep/%d", backstage.ID), "vip_1_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "application/sdp", recvOffer, 403, "not valid"},
		{"whep backstage with pass, not live", fmt.Sprintf("/whep/%d", backstage.ID), pass.String(), "application/sdp", recvOffer, 409, "not live"},
		{"whep sendonly offer", fmt.Sprintf("/whep/%d", live.ID), "", "application/sdp", offer, 400, "no usable codec"},
		{"whep malformed", fmt.Sprintf("/whep/%d", live.ID), "", "application/sdp", "junk", 400, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, e.url+tc.path, tc.token, tc.ctype, tc.body)
			if resp.StatusCode != tc.want || !strings.Contains(body, tc.reason) {
				t.Fatalf("status %d body %q, want %d with %q", resp.StatusCode, body, tc.want, tc.reason)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("no CORS header on error")
			}
		})
	}

	t.Run("delete unknown session", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, e.url+"/whip/session/deadbeef", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("DELETE unknown: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
	})
	t.Run("patch unknown session", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPatch, e.url+"/whip/session/deadbeef", strings.NewReader("a=end-of-candidates"))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		req.Header.Set("If-Match", `"x"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("PATCH unknown: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
	})
	t.Run("options", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, e.url+"/whip", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("OPTIONS: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
		h := resp.Header
		for _, want := range []string{"Authorization", "Content-Type", "If-Match"} {
			if !strings.Contains(h.Get("Access-Control-Allow-Headers"), want) {
				t.Fatalf("Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
			}
		}
		for _, want := range []string{"Location", "ETag", "Link"} {
			if !strings.Contains(h.Get("Access-Control-Expose-Headers"), want) {
				t.Fatalf("Expose-Headers %q lacks %s", h.Get("Access-Control-Expose-Headers"), want)
			}
		}
	})
}

// assertMediaMetrics checks the burst's media metrics after three viewers
// received video.
func assertMediaMetrics(t *testing.T, e *mediaEnv, burstID int64) {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != fmt.Sprint(burstID) {
				continue
			}
			switch {
			case m.Counter != nil:
				got[mf.GetName()] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				got[mf.GetName()] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				got[mf.GetName()] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, min := range map[string]float64{
		"dropcast_media_publishers": 1, "dropcast_media_viewers": 3, "dropcast_media_packets_in_total": 50,
		"dropcast_media_bytes_in_total": 10000, "dropcast_media_packets_out_total": 100, "dropcast_media_first_keyframe_seconds": 3,
	} {
		if got[name] < min {
			t.Errorf("%s = %v, want ≥ %v", name, got[name], min)
		}
	}
}

// A browser-style VP8 publisher reaches viewers as VP8, starting at a key
// frame.
func TestVP8Publisher(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindCollab, time.Now())
	pub, err := sfutest.PublishCodec(ctxTimeout(t, 10*time.Second), e.url+"/whip", key, "video/VP8")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); pub.Send(ctx, sfutest.SyntheticVP8(sfutest.LoadFixture(t), 120)) }()
	t.Cleanup(func() { cancel(); wg.Wait(); pub.Close() })
	v := watch(t, e, b.ID)
	wctx := ctxTimeout(t, 10*time.Second)
	if !v.WaitFor(wctx, func(video, audio sfutest.TrackStats) bool { return video.Packets >= 30 && audio.Packets >= 10 }) {
		t.Fatal("no VP8 media")
	}
	if video, _ := v.Stats(); video.Mime != "video/VP8" {
		t.Fatalf("viewer codec %q, want video/VP8", video.Mime)
	}
	if first := v.FirstVP8(); len(first) == 0 || first[0]&0x01 != 0 {
		t.Fatalf("first VP8 frame header %x is not a key frame", first)
	}
}

// A HeadersOnly viewer (the load generator's) starts like any viewer, from
// SPS/PPS/IDR, and keeps counting both tracks from their RTP headers long
// after it stopped decrypting.
func TestHeadersOnlyViewerCounts(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	startPublisher(t, e, key)
	ctx := ctxTimeout(t, 15*time.Second)
	var v *sfutest.Viewer
	for v == nil {
		var err error
		v, err = sfutest.WatchWith(ctx, fmt.Sprintf("%s/whep/%d", e.url, b.ID), "", sfutest.WatchOptions{HeadersOnly: true})
		var se *sfutest.StatusError
		if err != nil && (!errors.As(err, &se) || se.Code != http.StatusConflict || ctx.Err() != nil) {
			t.Fatalf("watch: %v", err)
		}
	}
	t.Cleanup(v.Close)
	// ~2 s of the fixture: far past the first keyframe, where decryption stops.
	if !v.WaitFor(ctx, func(video, audio sfutest.TrackStats) bool { return video.Packets >= 200 && audio.Packets >= 60 }) {
		video, audio := v.Stats()
		t.Fatalf("video %d packets, audio %d packets", video.Packets, audio.Packets)
	}
	video, audio := v.Stats()
	if video.Mime != "video/H264" || audio.Mime != "audio/opus" || len(video.SSRCs) != 1 || len(audio.SSRCs) != 1 || video.SSRCs[0] == audio.SSRCs[0] {
		t.Fatalf("tracks %q %v / %q %v", video.Mime, video.SSRCs, audio.Mime, audio.SSRCs)
	}
	if video.Bytes <= video.Packets*100 {
		t.Fatalf("video %d bytes in %d packets: sizes not counted", video.Bytes, video.Packets)
	}
	if k := v.FirstKeyframe(); k == 0 {
		t.Fatal("no first keyframe")
	}
	if nals := v.FirstNALs(); len(nals) < 3 || nals[0] != 7 {
		t.Fatalf("first NAL types %v, want SPS first", nals)
	}
}
