package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	rt "github.com/dropcast/dropcast/recorder/recordertest"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// TestWHIPPublishIsRecorded publishes the committed fixture through the real
// WHIP endpoint and checks that the recorder, attached by the app to every
// stream, wrote a playable H264 + Opus file of about the length sent.
func TestWHIPPublishIsRecorded(t *testing.T) {
	rt.NeedFFmpeg(t)
	a, dir := startApp(t)
	ctx := t.Context()
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "rec", Title: "Rec", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(time.Hour), Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	b, key, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "B", Kind: drops.KindHeadline, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}

	pub, err := sfutest.Publish(ctx, "http://"+a.Addr()+"/whip", key.String())
	if err != nil {
		t.Fatal(err)
	}
	const sent = 4 * time.Second
	sendCtx, cancel := context.WithTimeout(ctx, sent)
	defer cancel()
	start := time.Now()
	_ = pub.Send(sendCtx, sfutest.LoadFixture(t)) // returns when sendCtx ends
	elapsed := time.Since(start)
	if code, err := pub.Delete(ctx); err != nil || code != 200 {
		t.Fatalf("WHIP DELETE = %d, %v", code, err)
	}

	var path string
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := a.Recorder.Recordings(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 && recs[0].State != "recording" {
			path = filepath.Join(dir, filepath.FromSlash(recs[0].Path))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished recording of burst %d: %+v", b.ID, recs)
		}
		time.Sleep(100 * time.Millisecond)
	}

	probe := rt.FFprobe(t, path)
	codecs := map[string]bool{}
	for _, s := range probe.Streams {
		codecs[s.CodecName] = true
	}
	if !codecs["h264"] || !codecs["opus"] {
		t.Fatalf("recording %s has streams %v, want h264 and opus", path, codecs)
	}
	got := probe.Duration(t)
	// The file is never longer than what was sent, and starts with the first
	// picture: the sinks get the video sent before the audio track was
	// declared from the GOP cache (a lost first keyframe would cost a whole
	// GOP, 1 s in the fixture).
	if got > elapsed.Seconds()+0.5 || got < elapsed.Seconds()-0.5 {
		t.Fatalf("recording lasts %.2f s, sent for %.2f s", got, elapsed.Seconds())
	}
	if errs := rt.DecodeErrors(t, path); errs != "" {
		t.Fatalf("ffmpeg decode errors in %s:\n%s", path, errs)
	}
	t.Logf("recorded %.2f s of %.2f s sent", got, elapsed.Seconds())
}
