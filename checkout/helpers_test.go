package checkout_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/events"
	"github.com/dropcast/dropcast/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(checkouttest.Main(m)) }

// clock is a time source tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const webhookSecret = "whsec_test_dropcast"

type env struct {
	svc   *checkout.Service
	pool  *pgxpool.Pool
	bus   *events.Bus
	clock *clock
	fx    checkouttest.Fixture
}

// newEnv builds a fresh database, the fixture and a running Service whose
// clock the test moves. mod adjusts the config.
func newEnv(t testing.TB, cardLimit int, stock []int, mod func(*checkout.Config)) *env {
	t.Helper()
	pool := storetest.New(t)
	fx := checkouttest.NewFixture(t, pool, cardLimit, stock...)
	cfg := checkout.Config{
		PublicURL:           "http://shop.test",
		StripeSecretKey:     "sk_test_123",
		StripeWebhookSecret: webhookSecret,
		StripeAPIURL:        checkouttest.StripeMock(t),
		SweepInterval:       time.Hour, // tests sweep by hand
		StockFlushInterval:  10 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	bus := events.NewBus()
	clk := newClock()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := checkout.New(cfg, pool, bus, fx.Drops, logger, clk.Now)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("checkout Run did not return after cancel")
		}
	})
	return &env{svc: svc, pool: pool, bus: bus, clock: clk, fx: fx}
}

// available is the variant's available stock, straight from the shards.
func (e *env) available(t *testing.T, variantID int64) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT coalesce(sum(available), 0) FROM stock WHERE variant_id = $1`, variantID).Scan(&n))
	return n
}

func (e *env) add(t *testing.T, shopper string, variantID int64, qty int, card int64) (checkout.Cart, error) {
	t.Helper()
	return e.svc.Add(t.Context(), checkout.AddInput{ShopperID: shopper, DropID: e.fx.Drop.ID, BurstID: e.fx.Burst.ID, VariantID: variantID, Qty: qty, CardID: card})
}

// showCard publishes the card as shown and waits until checkout knows.
func (e *env) showCard(t *testing.T) {
	t.Helper()
	e.bus.Publish(events.CardShown{BurstID: e.fx.Burst.ID, CardID: e.fx.Card.ID, At: e.clock.Now(), EndsAt: e.clock.Now().Add(2 * time.Minute)})
	require.Eventually(t, func() bool { return e.svc.CardShown(e.fx.Card.ID) }, 5*time.Second, 5*time.Millisecond)
}

func (e *env) hideCard(t *testing.T) {
	t.Helper()
	e.bus.Publish(events.CardHidden{BurstID: e.fx.Burst.ID, CardID: e.fx.Card.ID, At: e.clock.Now()})
	grace := e.svc.Config().DealGrace
	e.clock.Advance(grace + time.Second)
	require.Eventually(t, func() bool { return !e.svc.CardShown(e.fx.Card.ID) }, 5*time.Second, 5*time.Millisecond)
}
