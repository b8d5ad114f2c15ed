package checkout_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
	"github.com/dropcast/dropcast/checkout/checkouttest"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/events"
)

// TestConcurrentAddsNeverOversell: 1,000 shoppers add one unit each of a
// variant with 100 in stock, all at once.
func TestConcurrentAddsNeverOversell(t *testing.T) {
	for _, batch := range []int{0, 32} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			testConcurrentAdds(t, batch)
		})
	}
}

func testConcurrentAdds(t *testing.T, batch int) {
	e := newEnv(t, 0, []int{100}, func(c *checkout.Config) { c.ReserveBatch = batch })
	v := e.fx.Variants[0].ID

	// Watch the shards while the rush runs: none may ever go negative (the
	// CHECK would abort the update, but we look anyway).
	stopWatch := make(chan struct{})
	var negative atomic.Int64
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stopWatch:
				return
			default:
			}
			var n int64
			if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM stock WHERE variant_id = $1 AND available < 0`, v).Scan(&n); err == nil {
				negative.Add(n)
			}
		}
	})

	var ok, soldOut, other atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 1000 {
		wg.Go(func() {
			<-start
			_, err := e.add(t, fmt.Sprintf("shopper-%d", i), v, 1, 0)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, checkout.ErrSoldOut):
				soldOut.Add(1)
			default:
				other.Add(1)
				t.Errorf("add: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	close(stopWatch)
	watch.Wait()

	require.EqualValues(t, 100, ok.Load(), "successful reservations")
	require.EqualValues(t, 900, soldOut.Load(), "sold_out answers")
	require.Zero(t, other.Load())
	require.Zero(t, negative.Load(), "a shard went below zero")
	require.Equal(t, 0, e.available(t, v))
	var held int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT coalesce(sum(qty), 0) FROM reservations WHERE variant_id = $1 AND state = 'held'`, v).Scan(&held))
	require.Equal(t, 100, held)
}

func TestAddErrors(t *testing.T) {
	e := newEnv(t, 0, []int{3, 0}, nil)
	other := struct{ fx checkouttest.Fixture }{checkouttest.NewFixture(t, e.pool, 0, 5)} // another drop
	v := e.fx.Variants[0].ID
	cases := []struct {
		name    string
		variant int64
		qty     int
		card    int64
		code    string
	}{
		{"zero qty", v, 0, 0, apperr.Invalid},
		{"too many at once", v, 11, 0, apperr.Invalid},
		{"no such variant", 999999999, 1, 0, checkout.CodeUnknownVariant},
		{"variant of another drop", other.fx.Variants[0].ID, 1, 0, checkout.CodeUnknownVariant},
		{"more than in stock", v, 4, 0, checkout.CodeSoldOut},
		{"none in stock", e.fx.Variants[1].ID, 1, 0, checkout.CodeSoldOut},
		{"card not shown", v, 1, e.fx.Card.ID, checkout.CodeCardExpired},
		{"card of another drop", v, 1, other.fx.Card.ID, apperr.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.add(t, "s1", tc.variant, tc.qty, tc.card)
			require.Error(t, err)
			require.Equal(t, tc.code, apperr.CodeOf(err), "%v", err)
			require.Equal(t, 3, e.available(t, v), "a refused add changed stock")
		})
	}
	cart, err := e.svc.CartOf(t.Context(), "s1", e.fx.Drop.ID)
	require.NoError(t, err)
	require.Empty(t, cart.Items)
}

// TestAddAcrossShards: a variant's 3 units sit on 3 different shards, so an
// add of 2 must take from several; the cart comes back with the hold, and a
// refusal changes nothing.
func TestAddAcrossShards(t *testing.T) {
	e := newEnv(t, 0, []int{3}, nil)
	v := e.fx.Variants[0].ID
	var shards int
	require.NoError(t, e.pool.QueryRow(t.Context(), `SELECT count(*) FROM stock WHERE variant_id = $1 AND available > 0`, v).Scan(&shards))
	require.Equal(t, 3, shards, "the fixture spreads 3 units over 3 shards")

	cart, err := e.add(t, "s1", v, 2, 0)
	require.NoError(t, err)
	require.Len(t, cart.Items, 1)
	require.Equal(t, 2, cart.Items[0].Qty)
	require.Equal(t, int64(2)*cart.Items[0].UnitPrice, cart.Total)
	require.Equal(t, 1, e.available(t, v))

	_, err = e.add(t, "s2", v, 2, 0)
	require.Equal(t, checkout.CodeSoldOut, apperr.CodeOf(err), "%v", err)
	require.Equal(t, 1, e.available(t, v), "a refused add changed stock")

	cart, err = e.add(t, "s2", v, 1, 0)
	require.NoError(t, err)
	require.Len(t, cart.Items, 1)
	require.Equal(t, 1, cart.Items[0].Qty)
	require.Equal(t, 0, e.available(t, v))
}

func TestShopperLimit(t *testing.T) {
	e := newEnv(t, 2, []int{50}, func(c *checkout.Config) { c.ShopperLimit = 3 })
	v := e.fx.Variants[0].ID

	// Default limit 3 across several adds.
	_, err := e.add(t, "alice", v, 2, 0)
	require.NoError(t, err)
	_, err = e.add(t, "alice", v, 2, 0)
	require.ErrorIs(t, err, checkout.ErrLimitReached)
	cart, err := e.add(t, "alice", v, 1, 0)
	require.NoError(t, err)
	require.Equal(t, 3, cart.Items[0].Qty)
	_, err = e.add(t, "alice", v, 1, 0)
	require.ErrorIs(t, err, checkout.ErrLimitReached)

	// Removing frees room under the limit.
	_, err = e.svc.Remove(t.Context(), "alice", e.fx.Drop.ID, v, 1)
	require.NoError(t, err)
	_, err = e.add(t, "alice", v, 1, 0)
	require.NoError(t, err)

	// The card's own limit (2) applies through the card.
	e.showCard(t)
	_, err = e.add(t, "bob", v, 3, e.fx.Card.ID)
	require.ErrorIs(t, err, checkout.ErrLimitReached)
	_, err = e.add(t, "bob", v, 2, e.fx.Card.ID)
	require.NoError(t, err)
	_, err = e.add(t, "bob", v, 1, e.fx.Card.ID)
	require.ErrorIs(t, err, checkout.ErrLimitReached)

	// Concurrent adds by one shopper cannot beat the limit.
	var wg sync.WaitGroup
	var ok atomic.Int64
	for range 20 {
		wg.Go(func() {
			if _, err := e.add(t, "carol", v, 1, 0); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	require.EqualValues(t, 3, ok.Load())
	require.Equal(t, 50-3-2-3, e.available(t, v))
}

func TestDealPriceOnlyWhileCardShown(t *testing.T) {
	e := newEnv(t, 0, []int{20}, func(c *checkout.Config) { c.DealGrace = 5 * time.Second })
	v := e.fx.Variants[0].ID

	_, err := e.add(t, "s", v, 1, e.fx.Card.ID)
	require.ErrorIs(t, err, checkout.ErrCardExpired, "card never shown")

	e.showCard(t)
	cart, err := e.add(t, "s", v, 1, e.fx.Card.ID)
	require.NoError(t, err)
	require.Len(t, cart.Items, 1)
	require.EqualValues(t, 1500, cart.Items[0].UnitPrice)

	// Hidden, but within the grace: still the deal.
	e.bus.Publish(events.CardHidden{BurstID: e.fx.Burst.ID, CardID: e.fx.Card.ID, At: e.clock.Now()})
	e.clock.Advance(2 * time.Second)
	require.Eventually(t, func() bool {
		c, err := e.add(t, "probe", v, 1, e.fx.Card.ID)
		if err == nil {
			require.EqualValues(t, 1500, c.Items[0].UnitPrice)
			return true
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)

	// Past the grace: card_expired; without the card, the regular price.
	e.clock.Advance(4 * time.Second)
	_, err = e.add(t, "s", v, 1, e.fx.Card.ID)
	require.ErrorIs(t, err, checkout.ErrCardExpired)
	cart, err = e.add(t, "s", v, 1, 0)
	require.NoError(t, err)
	require.Len(t, cart.Items, 2)
	require.EqualValues(t, 1500, cart.Items[0].UnitPrice, "the deal stays locked into the earlier hold")
	require.EqualValues(t, 2500, cart.Items[1].UnitPrice)
	require.EqualValues(t, 4000, cart.Total)

	// A burst that ends takes its cards down.
	e.showCard(t)
	e.bus.Publish(events.BurstState{BurstID: e.fx.Burst.ID, DropID: e.fx.Drop.ID, State: "ended", At: e.clock.Now()})
	e.clock.Advance(6 * time.Second)
	require.Eventually(t, func() bool { return !e.svc.CardShown(e.fx.Card.ID) }, 5*time.Second, 5*time.Millisecond)
}

func TestHoldExpiryReturnsStock(t *testing.T) {
	e := newEnv(t, 0, []int{2}, func(c *checkout.Config) { c.HoldDuration = time.Minute })
	v := e.fx.Variants[0].ID
	_, err := e.add(t, "a", v, 2, 0)
	require.NoError(t, err)
	require.Equal(t, 0, e.available(t, v))

	e.clock.Advance(30 * time.Second)
	n, err := e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "a live hold was swept")

	e.clock.Advance(31 * time.Second)
	cart, err := e.svc.CartOf(t.Context(), "a", e.fx.Drop.ID)
	require.NoError(t, err)
	require.Empty(t, cart.Items, "an expired hold still shows before the sweep")

	n, err = e.svc.Sweep(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 2, e.available(t, v))

	// The units no longer count against the shopper's limit.
	_, err = e.add(t, "a", v, 2, 0)
	require.NoError(t, err)
}

// TestLateSweeper: with no sweep at all, lapsed holds neither block other
// shoppers nor their own holder's limit.
func TestLateSweeper(t *testing.T) {
	e := newEnv(t, 0, []int{1}, func(c *checkout.Config) { c.HoldDuration = time.Minute; c.ShopperLimit = 1 })
	v := e.fx.Variants[0].ID
	_, err := e.add(t, "a", v, 1, 0)
	require.NoError(t, err)
	_, err = e.add(t, "b", v, 1, 0)
	require.ErrorIs(t, err, checkout.ErrSoldOut)

	e.clock.Advance(2 * time.Minute)
	_, err = e.add(t, "b", v, 1, 0)
	require.NoError(t, err, "the lapsed hold was not reclaimed by the reservation")
	require.Equal(t, 0, e.available(t, v))

	e.clock.Advance(2 * time.Minute)
	_, err = e.add(t, "b", v, 1, 0)
	require.NoError(t, err, "b's own lapsed hold still counted against b's limit")
}

func TestRemove(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	v := e.fx.Variants[0].ID
	_, err := e.add(t, "a", v, 2, 0)
	require.NoError(t, err)
	_, err = e.add(t, "a", v, 3, 0)
	require.NoError(t, err)
	require.Equal(t, 5, e.available(t, v))

	cart, err := e.svc.Remove(t.Context(), "a", e.fx.Drop.ID, v, 4)
	require.NoError(t, err)
	require.Equal(t, 1, cart.Items[0].Qty)
	require.Equal(t, 9, e.available(t, v))

	_, err = e.svc.Remove(t.Context(), "b", e.fx.Drop.ID, v, 1)
	require.Equal(t, apperr.Invalid, apperr.CodeOf(err), "removing what is not held")

	cart, err = e.svc.Remove(t.Context(), "a", e.fx.Drop.ID, v, 0)
	require.NoError(t, err)
	require.Empty(t, cart.Items)
	require.Equal(t, 10, e.available(t, v))
}

func TestStockChangedPublished(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	v := e.fx.Variants[0].ID
	sub := e.bus.Subscribe(64, func(ev events.Event) bool { _, ok := ev.(events.StockChanged); return ok })
	defer sub.Close()
	_, err := e.add(t, "a", v, 3, 0)
	require.NoError(t, err)
	waitStock(t, sub, v, 7)
	_, err = e.svc.Remove(t.Context(), "a", e.fx.Drop.ID, v, 1)
	require.NoError(t, err)
	waitStock(t, sub, v, 8)
}

func waitStock(t *testing.T, sub *events.Subscription, variant int64, want int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			sc := ev.(events.StockChanged)
			if sc.VariantID == variant && sc.Available == want {
				return
			}
		case <-deadline:
			t.Fatalf("no StockChanged{variant %d, available %d}", variant, want)
		}
	}
}

func TestVIPOnlyDeal(t *testing.T) {
	e := newEnv(t, 0, []int{10}, nil)
	v := e.fx.Variants[0].ID
	yes := true
	_, err := e.fx.Drops.UpdateCard(t.Context(), e.fx.Burst.ID, e.fx.Card.ID, drops.CardPatch{VIPOnly: &yes})
	require.NoError(t, err)
	e.showCard(t)

	_, err = e.add(t, "fan", v, 1, e.fx.Card.ID)
	require.Equal(t, apperr.Forbidden, apperr.CodeOf(err), "%v", err)
	_, err = e.svc.AddToCart(t.Context(), "fan", e.fx.Burst.ID, v, 1, e.fx.Card.ID)
	require.Equal(t, apperr.Forbidden, apperr.CodeOf(err), "a headline burst's channel is not VIP: %v", err)
	require.Equal(t, 10, e.available(t, v))

	cart, err := e.svc.Add(t.Context(), checkout.AddInput{ShopperID: "vip", DropID: e.fx.Drop.ID, VariantID: v, Qty: 1, CardID: e.fx.Card.ID, VIP: true})
	require.NoError(t, err)
	require.EqualValues(t, checkouttest.DealPrice, cart.Items[0].UnitPrice)
}
