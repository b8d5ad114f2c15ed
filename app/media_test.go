package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu/sfutest"
	"github.com/dropcast/dropcast/store/storetest"
)

// The App wires the media core: a WHIP publish reaches a WHEP viewer, the
// burst goes live on the bus, and Run shuts the media down cleanly.
func TestAppMediaWiring(t *testing.T) {
	_, url := storetest.NewWithURL(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, err := New(ctx, Config{DatabaseURL: url, HTTPAddr: "127.0.0.1:0", AdminToken: "app-media-test-token", DataDir: t.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- a.Run(ctx) }()

	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "app-media", Title: "App media", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, key, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Set", Kind: drops.KindHeadline, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}
	sub := a.bus.Subscribe(4, events.ForBurst(b.ID))
	defer sub.Close()
	base := "http://" + a.Addr()
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	pub, err := sfutest.Publish(wctx, base+"/whip", key.String())
	if err != nil {
		t.Fatal(err)
	}
	sendCtx, stopSend := context.WithCancel(wctx)
	sent := make(chan struct{})
	go func() { defer close(sent); pub.Send(sendCtx, sfutest.LoadFixture(t)) }()
	defer func() { stopSend(); <-sent; pub.Close() }()
	select {
	case ev := <-sub.C:
		if bs, ok := ev.(events.BurstState); !ok || bs.State != "live" {
			t.Fatalf("event %#v", ev)
		}
	case <-wctx.Done():
		t.Fatal("no live event")
	}
	var v *sfutest.Viewer
	for v == nil && wctx.Err() == nil {
		v, err = sfutest.Watch(wctx, fmt.Sprintf("%s/whep/%d", base, b.ID), "")
		if err != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if v == nil {
		t.Fatalf("watch: %v", err)
	}
	defer v.Close()
	if !v.WaitFor(wctx, func(video, audio sfutest.TrackStats) bool { return video.Packets > 30 && audio.Packets > 10 }) {
		t.Fatal("viewer got no media through the app")
	}
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
