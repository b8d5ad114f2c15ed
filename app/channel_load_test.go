package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/internal/loadgen"
	"github.com/dropcast/dropcast/store/storetest"
)

// TestChannelLoadServer is the server half of the shopper-channel benchmark
// (cmd/wsload is the load half, in its own process). It runs only when
// DROPCAST_LOAD_SERVER names a file: it starts the whole app on 127.0.0.1:0
// with a fresh database, seeds a drop with a live burst and one card, writes
// a loadgen.ChannelServer as JSON to that file and serves until SIGINT/SIGTERM.
func TestChannelLoadServer(t *testing.T) {
	out := os.Getenv("DROPCAST_LOAD_SERVER")
	if out == "" {
		t.Skip("DROPCAST_LOAD_SERVER not set; see BENCHMARKS.md (## Shopper channel)")
	}
	if os.Getenv("DROPCAST_LOAD_PPROF") != "" {
		runtime.MemProfileRate = 64 // precise heap profiles for the memory figures
	}
	_, dbURL := storetest.NewWithURL(t)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	const token = "load-admin-token-0123456789"
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(ctx, Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: token, DataDir: t.TempDir()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "load", Title: "Load", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(24 * time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, d.ID, catalog.ProductInput{Title: "Load hoodie",
		Images: []string{"https://img.example/h.jpg"}, Variants: []catalog.VariantInput{
			{SKU: "L-S", Label: "S", Price: 5000, Stock: 100}, {SKU: "L-M", Label: "M", Price: 5000, Stock: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Load", Kind: drops.KindHeadline,
		ScheduledAt: now.Add(time.Minute), MaxDurationS: 14400})
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Drops.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 14000, DurationS: 60})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	b = liveNow(t, a, b)

	servePprof(t, os.Getenv("DROPCAST_LOAD_PPROF"))
	// A control listener beside the app: GET /gc collects garbage, so that
	// wsload reads live memory from /metrics, not garbage waiting for a cycle.
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctlMux := http.NewServeMux()
	ctlMux.HandleFunc("GET /gc", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		w.WriteHeader(http.StatusNoContent)
	})
	ctlSrv := &http.Server{Handler: ctlMux}
	go func() { _ = ctlSrv.Serve(ctl) }()
	defer ctlSrv.Close()
	info, _ := json.Marshal(loadgen.ChannelServer{URL: "http://" + a.Addr(), Control: "http://" + ctl.Addr().String(), BurstID: b.ID, CardID: c.ID, AdminToken: token, PID: os.Getpid()})
	if err := os.WriteFile(out, info, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("serving %s", info)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
