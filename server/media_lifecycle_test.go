package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// A publisher that drops off and comes back within the grace period keeps
// its viewers, who see one SSRC and continuous sequence numbers.
func TestPublisherBlipKeepsViewers(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{SilentAfter: 300 * time.Millisecond, Grace: 10 * time.Second})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	first, err := sfutest.Publish(ctxTimeout(t, 10*time.Second), e.url+"/whip", key)
	if err != nil {
		t.Fatal(err)
	}
	sendCtx, stopFirst := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); first.Send(sendCtx, sfutest.LoadFixture(t)) }()

	v := watch(t, e, b.ID)
	ctx := ctxTimeout(t, 15*time.Second)
	if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= 50 }) {
		t.Fatal("no video before the blip")
	}
	// The network drops: media stops, the connection goes away.
	stopFirst()
	<-done
	first.Close()
	before, _ := v.Stats()

	// The server counts the old session as live until it has been silent
	// for SilentAfter, so the comeback may first see 409.
	back := republish(ctx, t, e, key)
	sendCtx2, stopBack := context.WithCancel(context.Background())
	done2 := make(chan struct{})
	go func() { defer close(done2); back.Send(sendCtx2, sfutest.LoadFixture(t)) }()
	t.Cleanup(func() { stopBack(); <-done2; back.Close() })
	if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= before.Packets+60 }) {
		t.Fatal("viewer got no video after the publisher came back")
	}
	video, audio := v.Stats()
	if len(video.SSRCs) != 1 || len(audio.SSRCs) != 1 {
		t.Fatalf("viewer saw SSRCs video %v audio %v, want one each", video.SSRCs, audio.SSRCs)
	}
	// Without rewriting, the new publisher's random sequence numbers would
	// jump by ~32,768 on average; a handful of gaps is loopback loss on a
	// busy machine.
	if video.Gaps > 10 || audio.Gaps > 10 || video.Reorders > 10 || audio.Reorders > 10 {
		t.Fatalf("sequence not continuous across the blip: video gaps %d reorders %d, audio gaps %d reorders %d",
			video.Gaps, video.Reorders, audio.Gaps, audio.Reorders)
	}
	if v.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Fatalf("viewer connection %s", v.PC.ConnectionState())
	}
}

// A publisher that went silent is replaced by a new publish with its key
// (OBS reconnects that way); an active one is not (409, tested in errors).
func TestSilentPublisherReplaced(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{SilentAfter: 300 * time.Millisecond})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	first := startPublisher(t, e, key)
	v := watch(t, e, b.ID)
	ctx := ctxTimeout(t, 15*time.Second)
	if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= 30 }) {
		t.Fatal("no video")
	}
	first.Pause()
	second := republish(ctx, t, e, key)
	sendCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); second.Send(sendCtx, sfutest.LoadFixture(t)) }()
	t.Cleanup(func() { cancel(); <-done; second.Close() })
	before, _ := v.Stats()
	if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= before.Packets+60 }) {
		t.Fatal("viewer got nothing from the replacing publisher")
	}
	select {
	case <-ctx.Done():
		t.Fatal("replaced publisher's connection was not closed")
	case <-waitState(first.PC, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed):
	}
}

// waitState is closed when pc reaches one of states.
func waitState(pc *webrtc.PeerConnection, states ...webrtc.PeerConnectionState) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			for _, s := range states {
				if pc.ConnectionState() == s {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return ch
}

// A burst whose limit arrives is moved to ending, then ended: publisher and
// viewers are closed and a new publish is refused.
func TestBurstEndsAtLimit(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{EndingWarning: time.Second})
	// Went live 57 s ago with a 60 s limit: ending now-ish, ended in ~3 s.
	b, key, sub := nearLimit(t, e, 57*time.Second)
	pub := startPublisher(t, e, key)
	v := watch(t, e, b.ID)
	ctx := ctxTimeout(t, 15*time.Second)

	var states []string
	for len(states) < 2 {
		select {
		case ev := <-sub.C:
			states = append(states, ev.(events.BurstState).State)
		case <-ctx.Done():
			t.Fatalf("states so far %v, want ending, ended", states)
		}
	}
	if states[0] != "ending" || states[1] != "ended" {
		t.Fatalf("states %v, want ending, ended", states)
	}
	got, _ := e.drops.Burst(t.Context(), b.ID)
	if got.State != drops.StateEnded || got.EndedAt == nil {
		t.Fatalf("stored state %s", got.State)
	}
	for _, pc := range []*webrtc.PeerConnection{pub.PC, v.PC} {
		select {
		case <-ctx.Done():
			t.Fatalf("peer still %s after the end", pc.ConnectionState())
		case <-waitState(pc, webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected):
		}
	}
	_, err := sfutest.Publish(ctx, e.url+"/whip", key)
	if se, ok := err.(*sfutest.StatusError); !ok || se.Code != http.StatusForbidden {
		t.Fatalf("publish after the end: %v, want 403", err)
	}
}

func ptr[T any](v T) *T { return &v }

// A viewer that stops reading does not slow the others.
func TestStalledViewerDoesNotSlowOthers(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{ViewerQueue: 64})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	startPublisher(t, e, key)
	stalled := watch(t, e, b.ID)
	stalled.Stall.Store(true)
	fast := []*sfutest.Viewer{watch(t, e, b.ID), watch(t, e, b.ID)}
	ctx := ctxTimeout(t, 15*time.Second)
	for _, v := range fast {
		if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= 20 }) {
			t.Fatal("no video")
		}
	}
	start, _ := fast[0].Stats()
	t0 := time.Now()
	if !fast[0].WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets >= start.Packets+100 }) {
		t.Fatal("fast viewer starved")
	}
	// The fixture is ~300 kbit/s in ~1,000-byte packets: ~40 packets/s; 100
	// packets must take no longer than real time plus slack.
	if el := time.Since(t0); el > 8*time.Second {
		t.Fatalf("100 packets took %s", el)
	}
	for _, v := range fast {
		if video, _ := v.Stats(); video.Gaps*50 > video.Packets {
			t.Fatalf("fast viewer lost %d of %d packets", video.Gaps, video.Packets)
		}
	}
}

// A burst that was live when the server stopped still ends at its limit
// after a restart, with nobody publishing.
func TestResumeEndsBurstAfterRestart(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{EndingWarning: time.Second})
	b, _, sub := nearLimit(t, e, 58*time.Second)
	if err := e.media.Resume(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	var states []string
	for len(states) < 2 {
		select {
		case ev := <-sub.C:
			states = append(states, ev.(events.BurstState).State)
		case <-ctx.Done():
			t.Fatalf("states %v, want ending, ended", states)
		}
	}
	if got, _ := e.drops.Burst(t.Context(), b.ID); got.State != drops.StateEnded {
		t.Fatalf("state %s after the limit", got.State)
	}
}

// republish publishes with key, retrying while the server still counts an
// earlier, now silent publisher as live (409), until ctx ends.
func republish(ctx context.Context, t *testing.T, e *mediaEnv, key string) *sfutest.Publisher {
	t.Helper()
	for {
		p, err := sfutest.Publish(ctx, e.url+"/whip", key)
		if err == nil {
			return p
		}
		if se, ok := err.(*sfutest.StatusError); !ok || se.Code != http.StatusConflict {
			t.Fatalf("republish: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("silent publisher never replaced")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nearLimit makes a headline burst with a 60 s limit that went live ago
// before now, and subscribes to its events (closed when the test ends).
func nearLimit(t *testing.T, e *mediaEnv, ago time.Duration) (drops.Burst, string, *events.Subscription) {
	t.Helper()
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	if _, err := e.drops.Transition(t.Context(), b.ID, drops.StateLive, time.Now().Add(-ago)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.drops.UpdateBurst(t.Context(), b.ID, drops.BurstPatch{MaxDurationS: ptr(60)}); err != nil {
		t.Fatal(err)
	}
	sub := e.bus.Subscribe(16, events.ForBurst(b.ID))
	t.Cleanup(sub.Close)
	return b, key, sub
}
