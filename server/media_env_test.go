package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/sfu"
	"github.com/dropcast/dropcast/store/storetest"
)

// mediaEnv is a real server with a real media registry on loopback and a
// fresh database holding one drop.
type mediaEnv struct {
	url    string
	drops  *drops.Service
	bus    *events.Bus
	media  *sfu.Registry
	dropID int64
	reg    *prometheus.Registry
}

func testLogger() *slog.Logger {
	if os.Getenv("MEDIA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newMediaEnv(t *testing.T, cfg sfu.Config) *mediaEnv {
	t.Helper()
	pool := storetest.New(t)
	ds := drops.NewService(pool, nil)
	bus := events.NewBus()
	reg := prometheus.NewRegistry()
	m, err := sfu.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UDPAddr == "" {
		cfg.UDPAddr = "127.0.0.1:0"
	}
	log := testLogger()
	media, err := sfu.New(cfg, sfu.Deps{Logger: log, Bursts: ds, Bus: bus, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { media.Close() })
	srv, err := New(Config{PublicURL: "http://127.0.0.1", AdminToken: "admin-token-0123456789"}, Deps{
		Logger: log, Pool: pool, Drops: ds, Registry: reg, Gatherer: reg, Media: media,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	now := time.Now()
	d, err := ds.CreateDrop(t.Context(), drops.DropInput{Slug: "media-test", Title: "Media test", StartsAt: now.Add(-2 * time.Hour), EndsAt: now.Add(46 * time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	return &mediaEnv{url: hs.URL, drops: ds, bus: bus, media: media, dropID: d.ID, reg: reg}
}

// burst creates a burst scheduled at `at` and returns it with its key.
func (e *mediaEnv) burst(t *testing.T, kind drops.Kind, at time.Time) (drops.Burst, string) {
	t.Helper()
	b, key, err := e.drops.CreateBurst(t.Context(), e.dropID, drops.BurstInput{Title: "Set", Kind: kind, ScheduledAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return b, key.String()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
