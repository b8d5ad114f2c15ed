package server

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// longGOP keeps only the fixture's first IDR: one keyframe every loop (~4 s).
func longGOP(t *testing.T) *sfutest.Media {
	m := sfutest.LoadFixture(t)
	var video []media.Sample
	for i, s := range m.Video {
		if i > 0 && bytes.Contains(s.Data, []byte{0, 0, 0, 1, 0x65}) {
			continue
		}
		video = append(video, s)
	}
	m.Video = video
	return m
}

// A viewer joining mid-GOP starts from the cached GOP: its first keyframe
// arrives long before the publisher's next one (the publisher ignores PLI,
// like OBS).
func TestNewViewerStartsFromCachedGOP(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	pub, err := sfutest.Publish(ctxTimeout(t, 10*time.Second), e.url+"/whip", key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); pub.Send(ctx, longGOP(t)) }()
	t.Cleanup(func() { cancel(); wg.Wait(); pub.Close() })

	// Join 1.5 s into the ~4 s GOP.
	for pub.Frames.Load() < 45 {
		time.Sleep(10 * time.Millisecond)
	}
	v := watch(t, e, b.ID)
	wctx := ctxTimeout(t, 10*time.Second)
	if !v.WaitFor(wctx, func(video, _ sfutest.TrackStats) bool { return video.Packets > 10 }) {
		t.Fatal("no video")
	}
	framesAtKey := pub.Frames.Load()
	if k := v.FirstKeyframe(); k == 0 || k > time.Second || framesAtKey > 110 {
		t.Fatalf("first keyframe after %s at publisher frame %d: not served from the GOP cache", k, framesAtKey)
	}
	if nals := v.FirstNALs(); len(nals) < 3 || nals[0] != 7 {
		t.Fatalf("first NALs %v", nals)
	}
}
