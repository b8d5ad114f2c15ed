package checkout_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/store/storetest"
)

// benchEnv is a database with variants of the given stock and a Service on
// a pool of poolSize connections (the app's pool has at least 16).
// BENCH_BATCH sets Config.ReserveBatch; BENCH_DURABLE=1 sets DurableHolds.
func benchEnv(b *testing.B, poolSize int, stock ...int) (*checkout.Service, checkouttest.Fixture, *pgxpool.Pool) {
	b.Helper()
	_, url := storetest.NewWithURL(b)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = int32(poolSize)
	cfg.MinConns = int32(poolSize)
	pool, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	fx := checkouttest.NewFixture(b, pool, 0, stock...)
	batch := 0
	if n, err := strconv.Atoi(os.Getenv("BENCH_BATCH")); err == nil {
		batch = n
	}
	svc, err := checkout.New(checkout.Config{PublicURL: "http://bench.test", ShopperLimit: 100, SweepInterval: time.Hour, ReserveBatch: batch,
		DurableHolds: os.Getenv("BENCH_DURABLE") == "1"},
		pool, events.NewBus(), fx.Drops, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	// Warm the pool's connections and the function's plan.
	var wg sync.WaitGroup
	for i := range poolSize {
		wg.Go(func() {
			_, _ = svc.CartOf(b.Context(), fmt.Sprint("warm-", i), fx.Drop.ID)
		})
	}
	wg.Wait()
	return svc, fx, pool
}

// latencies collects per-operation durations from many goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.all)
	if len(l.all) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(l.all[int(p*float64(len(l.all)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
}

// BenchmarkReserve measures cart.add (reservation plus the cart read, one
// round trip) with many concurrent shoppers: on one hot variant and spread
// over 20 variants. Stock is ample, so every add succeeds.
func BenchmarkReserve(b *testing.B) {
	for _, tc := range []struct {
		name     string
		variants int
	}{{"hot_variant", 1}, {"variants=20", 20}} {
		for _, conc := range []int{16, 64} {
			b.Run(fmt.Sprintf("%s/shoppers=%d", tc.name, conc), func(b *testing.B) {
				stock := make([]int, tc.variants)
				for i := range stock {
					stock[i] = 1_000_000
				}
				svc, fx, pool := benchEnv(b, benchPool(), stock...)
				var seq atomic.Int64
				var lat latencies
				var failed atomic.Int64
				b.SetParallelism(max(1, conc/runtimeProcs()))
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					mine := make([]time.Duration, 0, 1024)
					for pb.Next() {
						n := seq.Add(1)
						v := fx.Variants[rand.IntN(len(fx.Variants))].ID
						t0 := time.Now()
						_, err := svc.Add(context.Background(), checkout.AddInput{
							ShopperID: fmt.Sprint("s", n), DropID: fx.Drop.ID, BurstID: fx.Burst.ID, VariantID: v, Qty: 1,
						})
						mine = append(mine, time.Since(t0))
						if err != nil {
							failed.Add(1)
						}
					}
					lat.add(mine)
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reservations/s")
				lat.report(b)
				if failed.Load() > 0 {
					b.Fatalf("%d adds failed", failed.Load())
				}
				var taken int64
				if err := pool.QueryRow(context.Background(), `SELECT coalesce(sum(qty), 0) FROM reservations`).Scan(&taken); err != nil {
					b.Fatal(err)
				}
				var avail int64
				if err := pool.QueryRow(context.Background(), `SELECT sum(available) FROM stock`).Scan(&avail); err != nil {
					b.Fatal(err)
				}
				if oversold := taken - (int64(tc.variants)*1_000_000 - avail); oversold != 0 {
					b.Fatalf("stock and reservations disagree by %d", oversold)
				}
			})
		}
	}
}

// BenchmarkSellout: 10,000 shoppers (64 at a time) rush 500 units of one
// variant; each iteration resets the stock. Reports the time to sell out,
// successful reservations per second until then, and the oversold count
// (successes beyond the stock, which must be 0).
func BenchmarkSellout(b *testing.B) {
	svc, fx, pool := benchEnv(b, 32, 500)
	v := fx.Variants[0].ID
	ctx := context.Background()
	var lat latencies
	var totalSellout time.Duration
	var oversold int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `DELETE FROM reservations; DELETE FROM shopper_units`); err != nil {
			b.Fatal(err)
		}
		if _, err := fx.Catalog.UpdateVariant(ctx, v, catalogStock(500)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var next, ok atomic.Int64
		var soldOutAt atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				mine := make([]time.Duration, 0, 256)
				for {
					n := next.Add(1)
					if n > 10_000 {
						break
					}
					t0 := time.Now()
					_, err := svc.Add(ctx, checkout.AddInput{ShopperID: fmt.Sprint("r", i, "-", n), DropID: fx.Drop.ID, VariantID: v, Qty: 1})
					mine = append(mine, time.Since(t0))
					switch {
					case err == nil:
						if ok.Add(1) == 500 {
							soldOutAt.Store(int64(time.Since(start)))
						}
					case errors.Is(err, checkout.ErrSoldOut):
					default:
						b.Errorf("add: %v", err)
					}
				}
				lat.add(mine)
			})
		}
		wg.Wait()
		totalSellout += time.Duration(soldOutAt.Load())
		oversold += max(0, ok.Load()-500)
		if ok.Load() != 500 {
			b.Fatalf("%d reservations succeeded, want 500", ok.Load())
		}
	}
	b.StopTimer()
	perRun := totalSellout / time.Duration(b.N)
	b.ReportMetric(float64(perRun)/1e6, "sellout_ms")
	b.ReportMetric(500/perRun.Seconds(), "reservations/s")
	b.ReportMetric(float64(oversold), "oversold")
	lat.report(b)
}
