package server

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/sfu/sfutest"
)

// mediaGoroutines returns the stacks of goroutines running media code
// (ours or Pion's).
func mediaGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/pion/") || strings.Contains(g, "dropcast/sfu.") {
			out = append(out, g)
		}
	}
	return out
}

// Closing the registry stops every goroutine it, its streams, viewers and
// peer connections started.
func TestMediaCloseStopsGoroutines(t *testing.T) {
	e := newMediaEnv(t, sfu.Config{})
	b, key := e.burst(t, drops.KindHeadline, time.Now())
	pub, err := sfutest.Publish(ctxTimeout(t, 10*time.Second), e.url+"/whip", key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 15*time.Second)
	sendCtx, stopSend := context.WithCancel(ctx)
	sendDone := make(chan struct{})
	go func() { defer close(sendDone); pub.Send(sendCtx, sfutest.LoadFixture(t)) }()
	v, err := func() (*sfutest.Viewer, error) {
		for {
			v, err := sfutest.Watch(ctx, e.url+"/whep/"+itoa(b.ID), "")
			if err == nil || ctx.Err() != nil {
				return v, err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if !v.WaitFor(ctx, func(video, _ sfutest.TrackStats) bool { return video.Packets > 20 }) {
		t.Fatal("no video")
	}
	if err := e.media.Close(); err != nil {
		t.Fatal(err)
	}
	v.Close()
	stopSend()
	<-sendDone
	pub.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := mediaGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d media goroutines left after Close; first:\n%s", len(left), left[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
