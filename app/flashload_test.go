package app

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/internal/loadgen"
	"github.com/dropcast/dropcast/store/storetest"
)

// TestFlashSaleServer is the server half of the flash-sale benchmark
// (cmd/flashload is the load half, in its own process). It runs only when
// DROPCAST_FLASH_SERVER names a file: it starts the whole app on 127.0.0.1:0
// with a fresh database, seeds a drop with a live burst and, for each entry
// of DROPCAST_FLASH_VARIANTS (default "1,20"), a product of that many
// variants sharing DROPCAST_FLASH_UNITS units (default 500) and a deal card
// for it, writes a loadgen.FlashServer as JSON to that file and serves until
// SIGINT/SIGTERM. DROPCAST_FLASH_DURABLE=1 commits holds durably
// (DurableHolds); DROPCAST_FLASH_STOCK_INTERVAL sets the channel's
// StockInterval (default 250ms); DROPCAST_FLASH_PPROF=ADDR serves
// net/http/pprof there.
func TestFlashSaleServer(t *testing.T) {
	out := os.Getenv("DROPCAST_FLASH_SERVER")
	if out == "" {
		t.Skip("DROPCAST_FLASH_SERVER not set; see BENCHMARKS.md (## Checkout)")
	}
	units := 500
	if s := os.Getenv("DROPCAST_FLASH_UNITS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("DROPCAST_FLASH_UNITS=%q: want a positive integer", s)
		}
		units = n
	}
	var rounds []int
	for f := range strings.SplitSeq(cmp.Or(os.Getenv("DROPCAST_FLASH_VARIANTS"), "1,20"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > units {
			t.Fatalf("DROPCAST_FLASH_VARIANTS: %q is not a variant count from 1 to %d", f, units)
		}
		rounds = append(rounds, n)
	}

	_, dbURL := storetest.NewWithURL(t)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	const token = "flash-admin-token-0123456789"
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", AdminToken: token, DataDir: t.TempDir()}
	cfg.Checkout.DurableHolds = os.Getenv("DROPCAST_FLASH_DURABLE") == "1"
	if s := os.Getenv("DROPCAST_FLASH_STOCK_INTERVAL"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("DROPCAST_FLASH_STOCK_INTERVAL: %v", err)
		}
		cfg.Channel.StockInterval = d
	}
	a, err := New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d, err := a.Drops.CreateDrop(ctx, drops.DropInput{Slug: "flash", Title: "Flash sale", StartsAt: now.Add(-time.Hour),
		EndsAt: now.Add(24 * time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := a.Drops.CreateBurst(ctx, d.ID, drops.BurstInput{Title: "Flash", Kind: drops.KindHeadline,
		ScheduledAt: now.Add(time.Minute), MaxDurationS: 14400})
	if err != nil {
		t.Fatal(err)
	}
	info := loadgen.FlashServer{BurstID: b.ID, AdminToken: token, DatabaseURL: dbURL, PID: os.Getpid()}
	deal := int64(3900)
	for i, nv := range rounds {
		// The units are spread evenly over the variants, the first ones
		// taking the remainder.
		vs := make([]catalog.VariantInput, nv)
		for j := range vs {
			vs[j] = catalog.VariantInput{SKU: fmt.Sprintf("F%d-%d", i, j), Label: fmt.Sprint("V", j), Price: 5000,
				Stock: units/nv + btoi(j < units%nv)}
		}
		p, err := a.Catalog.CreateProduct(ctx, d.ID, catalog.ProductInput{Title: fmt.Sprintf("Flash hoodie %d", i),
			Images: []string{"https://img.example/h.jpg"}, Variants: vs})
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Drops.CreateCard(ctx, b.ID, drops.CardInput{ProductID: p.ID, OffsetS: 14000 + 10*i, DurationS: 600, DealPrice: &deal})
		if err != nil {
			t.Fatal(err)
		}
		r := loadgen.FlashRound{CardID: c.ID, Units: units}
		for _, v := range p.Variants {
			r.Variants = append(r.Variants, v.ID)
		}
		info.Rounds = append(info.Rounds, r)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	b = liveNow(t, a, b)

	servePprof(t, os.Getenv("DROPCAST_FLASH_PPROF"))
	info.URL = "http://" + a.Addr()
	raw, _ := json.Marshal(info)
	if err := os.WriteFile(out, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("serving %s", raw)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
