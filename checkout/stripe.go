package checkout

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/client"
	"golang.org/x/time/rate"

	"github.com/dropcast/dropcast/apperr"
)

// stripeClient makes Stripe API calls through a bounded queue drained by a
// few worker goroutines that share one rate limiter, so a rush of checkouts
// never exceeds Stripe's request limits. The workers are owned by run.
type stripeClient struct {
	api     *client.API
	limiter *rate.Limiter
	queue   chan stripeJob
	workers int
	log     *slog.Logger
}

type stripeJob struct {
	ctx  context.Context
	call func(ctx context.Context) error
	done chan error
}

// slogLeveled bridges stripe-go's LeveledLogger to slog. Its errors become
// warnings: checkout handles every failed call itself (and says so).
type slogLeveled struct{ l *slog.Logger }

func (s slogLeveled) Debugf(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLeveled) Infof(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s slogLeveled) Warnf(format string, v ...any)  { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s slogLeveled) Errorf(format string, v ...any) { s.l.Warn(fmt.Sprintf(format, v...)) }

func newStripeClient(cfg Config, log *slog.Logger) *stripeClient {
	log = log.With("component", "stripe")
	bc := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: cfg.StripeTimeout},
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     slogLeveled{log},
	}
	if cfg.StripeAPIURL != "" {
		bc.URL = stripe.String(cfg.StripeAPIURL)
	}
	burst := max(1, int(cfg.StripeRate))
	return &stripeClient{
		api:     client.New(cfg.StripeSecretKey, stripe.NewBackendsWithConfig(bc)),
		limiter: rate.NewLimiter(rate.Limit(cfg.StripeRate), burst),
		queue:   make(chan stripeJob, cfg.StripeQueue),
		workers: cfg.StripeWorkers,
		log:     log,
	}
}

// do queues call and waits for its result. A full queue is refused at once
// (unavailable) rather than letting requests pile up.
func (c *stripeClient) do(ctx context.Context, call func(ctx context.Context) error) error {
	j := stripeJob{ctx: ctx, call: call, done: make(chan error, 1)}
	select {
	case c.queue <- j:
	default:
		return apperr.Errorf(apperr.Unavailable, "checkout is busy; try again in a moment")
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run starts the workers and returns when ctx is done and they have stopped.
// Jobs still queued then are answered with the context's error.
func (c *stripeClient) run(ctx context.Context) {
	done := make(chan struct{})
	for range c.workers {
		go func() {
			defer func() { done <- struct{}{} }()
			c.work(ctx)
		}()
	}
	for range c.workers {
		<-done
	}
	for {
		select {
		case j := <-c.queue:
			j.done <- ctx.Err()
		default:
			return
		}
	}
}

func (c *stripeClient) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-c.queue:
			if j.ctx.Err() != nil {
				j.done <- j.ctx.Err() // the caller has gone; skip the call
				continue
			}
			if err := c.limiter.Wait(ctx); err != nil {
				j.done <- err
				continue
			}
			j.done <- j.call(j.ctx)
		}
	}
}
