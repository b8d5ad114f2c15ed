package checkout

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config holds checkout's settings as plain values. Zero values take the
// defaults documented on each field.
type Config struct {
	// PublicURL is the base URL shoppers reach the server at; return URLs
	// must be on it. Required.
	PublicURL string
	// HoldDuration is how long a cart hold keeps its stock. It defaults to
	// 10 minutes.
	HoldDuration time.Duration
	// DealGrace is how long after its card comes down a deal price is still
	// given. It defaults to 10 s.
	DealGrace time.Duration
	// ShopperLimit is the most units of one variant a shopper may hold, order
	// or buy in a drop, unless the card used sets its own. It defaults to 5.
	ShopperLimit int
	// MaxQty bounds the qty of one add. It defaults to 10.
	MaxQty int
	// DurableHolds makes every cart hold wait for PostgreSQL's WAL flush.
	// By default holds (not orders or payments) commit asynchronously, which
	// more than doubles reservations/s: a database crash can then forget the
	// last fraction of a second of holds, each together with its stock, so
	// nothing is oversold or leaked.
	DurableHolds bool
	// ReserveBatch, when above 1, groups up to that many concurrent
	// reservations into one database call and transaction. It defaults to
	// 0 (off): on the 2-core test machine it did not measurably raise
	// reservations/s (see BENCHMARKS.md), the function's own work dominates.
	ReserveBatch int
	// ReserveWorkers is how many grouped calls may run at once. It defaults
	// to 2.
	ReserveWorkers int
	// SweepInterval is how often expired holds and orders are released. It
	// defaults to 5 s. Reservations never wait for it: a sold-out or
	// over-limit answer first reclaims the variant's expired holds.
	SweepInterval time.Duration
	// StockFlushInterval is how often changed stock counts are published as
	// events.StockChanged (coalesced per variant). It defaults to 100 ms.
	StockFlushInterval time.Duration
	// SessionTTL is how long a Stripe Checkout Session stays open; the
	// order's stock is held that long. Stripe wants 30 min to 24 h. It
	// defaults to 31 minutes (a minute of margin over Stripe's minimum).
	SessionTTL time.Duration
	// OrderGrace is how long after its session expired an unpaid order's
	// stock is released, leaving Stripe time to deliver a late completion.
	// It defaults to 5 minutes.
	OrderGrace time.Duration

	// StripeSecretKey is the Stripe API key (sk_test_… or sk_live_…). Empty
	// disables Checkout Sessions: carts work, checkout answers unavailable.
	StripeSecretKey string
	// StripeWebhookSecret is the endpoint secret (whsec_…) that webhook
	// signatures are checked against. Empty refuses every webhook.
	StripeWebhookSecret string
	// StripeAPIURL points stripe-go elsewhere than api.stripe.com, such as a
	// stripe-mock at http://127.0.0.1:12111. Empty means Stripe itself.
	StripeAPIURL string
	// StripeRate is the most Stripe API calls per second. It defaults to 20
	// (Stripe allows about 25/s in test mode, 100/s live).
	StripeRate float64
	// StripeWorkers is how many Stripe calls may be in flight at once. It
	// defaults to 4.
	StripeWorkers int
	// StripeQueue bounds the calls waiting for the rate limiter; beyond it
	// checkout answers unavailable at once. It defaults to 1000.
	StripeQueue int
	// StripeTimeout bounds one Stripe call. It defaults to 20 s.
	StripeTimeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HoldDuration, 10*time.Minute)
	def(&c.DealGrace, 10*time.Second)
	def(&c.SweepInterval, 5*time.Second)
	def(&c.StockFlushInterval, 100*time.Millisecond)
	def(&c.SessionTTL, 31*time.Minute)
	def(&c.OrderGrace, 5*time.Minute)
	def(&c.StripeTimeout, 20*time.Second)
	if c.ShopperLimit == 0 {
		c.ShopperLimit = 5
	}
	if c.ReserveWorkers <= 0 {
		c.ReserveWorkers = 2
	}
	if c.MaxQty == 0 {
		c.MaxQty = 10
	}
	if c.StripeRate == 0 {
		c.StripeRate = 20
	}
	if c.StripeWorkers == 0 {
		c.StripeWorkers = 4
	}
	if c.StripeQueue == 0 {
		c.StripeQueue = 1000
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
}

// Validate reports the first setting out of range.
func (c Config) Validate() error {
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("checkout: public url %q must be an absolute http(s) URL", c.PublicURL)
	}
	switch {
	case c.HoldDuration < time.Second:
		return errors.New("checkout: hold duration must be at least 1s")
	case c.SessionTTL < 30*time.Minute || c.SessionTTL > 24*time.Hour:
		return errors.New("checkout: session ttl must be between 30m and 24h (Stripe's bounds)")
	case c.ShopperLimit < 1:
		return errors.New("checkout: shopper limit must be at least 1")
	case c.MaxQty < 1:
		return errors.New("checkout: max qty must be at least 1")
	case c.StripeRate <= 0:
		return errors.New("checkout: stripe rate must be positive")
	case c.DealGrace < 0 || c.OrderGrace < 0:
		return errors.New("checkout: grace periods must not be negative")
	}
	if c.StripeSecretKey != "" && !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
		return errors.New("checkout: stripe secret key must start with sk_ or rk_")
	}
	return nil
}

// LiveMode reports whether a live Stripe key is configured. Development
// shortcuts (simulated payments) are refused in live mode.
func (c Config) LiveMode() bool {
	return strings.HasPrefix(c.StripeSecretKey, "sk_live_") || strings.HasPrefix(c.StripeSecretKey, "rk_live_")
}
