package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

// The app wires the channel: a shopper connects to /ws/{burst} and gets a
// welcome, /metrics counts the connection, and shutdown closes it with 1001
// before Run returns.
func TestChannelWiredAndShutdown(t *testing.T) {
	_, dbURL := storetest.NewWithURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: "app-admin-token-0123456789", DataDir: t.TempDir()},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "app", Title: "App", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "B", Kind: drops.KindHeadline, ScheduledAt: now})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	ws, resp, err := websocket.DefaultDialer.DialContext(t.Context(), fmt.Sprintf("ws://%s/ws/%d", a.Addr(), b.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "dropcast_shopper=") {
		t.Fatalf("no shopper cookie on the upgrade: %v", resp.Header)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var w struct{ Type, Shopper string }
	if err := ws.ReadJSON(&w); err != nil || w.Type != "welcome" || w.Shopper == "" {
		t.Fatalf("welcome = %+v, %v", w, err)
	}
	mresp, err := http.Get("http://" + a.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(body), "dropcast_live_connections 1") {
		t.Fatal("metrics do not count the connection")
	}

	cancel()
	_, _, err = ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("read after shutdown: %v, want close 1001", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
}
