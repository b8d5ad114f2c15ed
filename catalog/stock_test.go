package catalog_test

import (
	"testing"
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

// TestStockSpreadOverShards: a variant's stock lives in catalog.StockShards
// rows; reads sum them and setting stock spreads it evenly.
func TestStockSpreadOverShards(t *testing.T) {
	pool := storetest.New(t)
	ctx := t.Context()
	d, err := drops.NewService(pool, nil).CreateDrop(ctx, drops.DropInput{Slug: "stock-test", Title: "Stock",
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(pool)
	p, err := svc.CreateProduct(ctx, d.ID, catalog.ProductInput{Title: "Tee", Variants: []catalog.VariantInput{
		{SKU: "TEE-S", Label: "S", Price: 1000, Stock: 13},
		{SKU: "TEE-M", Label: "M", Price: 1000, Stock: 0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{p.Variants[0].Available, p.Variants[1].Available}; got[0] != 13 || got[1] != 0 {
		t.Fatalf("available = %v, want [13 0]", got)
	}
	shards := func(id int64) []int {
		rows, err := pool.Query(ctx, `SELECT available FROM stock WHERE variant_id = $1 ORDER BY shard`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	for _, n := range []int{5, 0, 1_000_000, 7} {
		v, err := svc.UpdateVariant(ctx, p.Variants[0].ID, catalog.VariantPatch{Stock: &n})
		if err != nil {
			t.Fatal(err)
		}
		if v.Available != n {
			t.Fatalf("after setting %d: available %d", n, v.Available)
		}
		s := shards(v.ID)
		if len(s) != catalog.StockShards {
			t.Fatalf("%d shards, want %d", len(s), catalog.StockShards)
		}
		sum, lo, hi := 0, s[0], s[0]
		for _, x := range s {
			sum, lo, hi = sum+x, min(lo, x), max(hi, x)
		}
		if sum != n || hi-lo > 1 {
			t.Fatalf("setting %d gave shards %v", n, s)
		}
	}
	ps, err := svc.ListProducts(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Variants[0].Available != 7 {
		t.Fatalf("listed available %d, want 7", ps[0].Variants[0].Available)
	}
}
