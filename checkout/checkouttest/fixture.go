package checkouttest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

// Fixture is a drop (currency EUR) with one burst and one product whose
// variants have the stock asked for, plus a card on the product with a deal
// price of 1500 (regular price 2500).
type Fixture struct {
	Drops    *drops.Service
	Catalog  *catalog.Service
	Drop     drops.Drop
	Burst    drops.Burst
	Product  catalog.Product
	Variants []catalog.Variant
	Card     drops.Card
}

// Price and DealPrice are the fixture's prices in minor units.
const (
	Price     = 2500
	DealPrice = 1500
)

var fixtureSeq atomic.Int64

// NewFixture creates the fixture in the database of pool; stock gives each
// variant's opening stock (one variant per entry). cardLimit, when > 0, is
// the card's per-shopper limit.
func NewFixture(tb testing.TB, pool *pgxpool.Pool, cardLimit int, stock ...int) Fixture {
	tb.Helper()
	ctx := tb.Context()
	f := Fixture{Drops: drops.NewService(pool, nil), Catalog: catalog.NewService(pool)}
	n := fixtureSeq.Add(1)
	now := time.Now()
	var err error
	f.Drop, err = f.Drops.CreateDrop(ctx, drops.DropInput{
		Slug: fmt.Sprintf("fixture-%d-%d", now.UnixNano()%1e9, n), Title: "Fixture drop",
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(47 * time.Hour), Currency: "EUR",
	})
	if err != nil {
		tb.Fatalf("checkouttest: create drop: %v", err)
	}
	in := catalog.ProductInput{Title: "Hoodie"}
	for i, s := range stock {
		in.Variants = append(in.Variants, catalog.VariantInput{
			SKU: fmt.Sprintf("HOOD-%d-%d-%d", now.UnixNano()%1e9, n, i), Label: fmt.Sprintf("S%d", i), Price: Price, Stock: s,
		})
	}
	f.Product, err = f.Catalog.CreateProduct(ctx, f.Drop.ID, in)
	if err != nil {
		tb.Fatalf("checkouttest: create product: %v", err)
	}
	f.Variants = f.Product.Variants
	f.Burst, _, err = f.Drops.CreateBurst(ctx, f.Drop.ID, drops.BurstInput{Title: "Headline", Kind: drops.KindHeadline, ScheduledAt: now})
	if err != nil {
		tb.Fatalf("checkouttest: create burst: %v", err)
	}
	deal := int64(DealPrice)
	ci := drops.CardInput{ProductID: f.Product.ID, OffsetS: 0, DurationS: 120, DealPrice: &deal}
	if cardLimit > 0 {
		ci.ShopperLimit = &cardLimit
	}
	f.Card, err = f.Drops.CreateCard(ctx, f.Burst.ID, ci)
	if err != nil {
		tb.Fatalf("checkouttest: create card: %v", err)
	}
	return f
}
