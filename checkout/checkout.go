// Package checkout owns carts, stock reservations, orders, Stripe Checkout
// Sessions and the Stripe webhooks that settle them. It reserves stock in
// PostgreSQL before any payment call, so nothing is ever oversold, and it
// knows nothing of HTTP or websockets: server and the shopper channel call
// its methods (it implements live.Commerce without importing live).
//
// Which cards are shown, and so which deal prices apply, is learnt from the
// events.CardShown, events.CardHidden and events.BurstState events on the
// app's bus; changes of available stock are published as
// events.StockChanged, and paid orders as events.Sale.
package checkout

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// burstReader resolves a burst to its drop.
type burstReader interface {
	Burst(ctx context.Context, id int64) (drops.Burst, error)
}

// Service is checkout. Build it with New, then call Run once; its methods may
// be called before Run and from any goroutine. Run owns the background
// goroutines: card tracking, the stock-change publisher, the expiry sweeper
// and the Stripe call workers.
type Service struct {
	cfg    Config
	db     *pgxpool.Pool
	bus    *events.Bus
	bursts burstReader
	log    *slog.Logger
	now    func() time.Time

	cards  *cardTracker
	stock  *stockNotifier
	stripe *stripeClient   // nil when no key is configured
	batch  *reserveBatcher // nil when ReserveBatch is 0

	burstMu    sync.Mutex
	burstDrops map[int64]burstInfo // a burst never changes drop or kind

	cardSub *events.Subscription
}

// New builds a Service. now may be nil (time.Now); tests pass a clock they
// move. It subscribes to the bus at once so no card event is missed before
// Run.
func New(cfg Config, db *pgxpool.Pool, bus *events.Bus, bursts burstReader, logger *slog.Logger, now func() time.Time) (*Service, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	log := logger.With("component", "checkout")
	s := &Service{
		cfg:        cfg,
		db:         db,
		bus:        bus,
		bursts:     bursts,
		log:        log,
		now:        now,
		cards:      newCardTracker(cfg.DealGrace),
		stock:      newStockNotifier(),
		burstDrops: make(map[int64]burstInfo),
	}
	if cfg.StripeSecretKey != "" {
		s.stripe = newStripeClient(cfg, log)
	}
	if cfg.ReserveBatch > 1 {
		s.batch = newReserveBatcher(cfg.ReserveBatch, cfg.ReserveWorkers)
	}
	s.cardSub = bus.Subscribe(4096, isCardEvent)
	return s, nil
}

// Config returns the settings in use, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// PaymentsEnabled reports whether a Stripe key is configured.
func (s *Service) PaymentsEnabled() bool { return s.stripe != nil }

// Run runs the background work until ctx is done and returns once every
// goroutine it started has stopped. Call it once.
func (s *Service) Run(ctx context.Context) error {
	defer s.cardSub.Close()
	var wg sync.WaitGroup
	wg.Go(func() { s.cards.run(ctx, s.cardSub) })
	wg.Go(func() { s.runStockFlusher(ctx) })
	wg.Go(func() { s.runSweeper(ctx) })
	if s.stripe != nil {
		wg.Go(func() { s.stripe.run(ctx) })
	}
	if s.batch != nil {
		wg.Go(func() { s.runBatchers(ctx) })
	}
	wg.Wait()
	return nil
}

type burstInfo struct {
	dropID    int64
	backstage bool
}

// dropOfBurst resolves burstID to its drop, caching the answer (a burst
// never moves to another drop). Errors: not_found.
func (s *Service) dropOfBurst(ctx context.Context, burstID int64) (int64, error) {
	b, err := s.burstInfo(ctx, burstID)
	return b.dropID, err
}

func (s *Service) burstInfo(ctx context.Context, burstID int64) (burstInfo, error) {
	s.burstMu.Lock()
	info, ok := s.burstDrops[burstID]
	s.burstMu.Unlock()
	if ok {
		return info, nil
	}
	b, err := s.bursts.Burst(ctx, burstID)
	if err != nil {
		return burstInfo{}, err
	}
	info = burstInfo{dropID: b.DropID, backstage: b.Kind == drops.KindBackstage}
	s.burstMu.Lock()
	if len(s.burstDrops) > 100_000 {
		clear(s.burstDrops) // bounded: far more bursts than any deployment runs at once
	}
	s.burstDrops[burstID] = info
	s.burstMu.Unlock()
	return info, nil
}

func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
