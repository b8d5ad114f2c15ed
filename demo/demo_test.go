package demo_test

import (
	"testing"
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/demo"
	"github.com/dropcast/dropcast/drops"
	"github.com/dropcast/dropcast/store/storetest"
)

func TestSeedIsIdempotent(t *testing.T) {
	ctx := t.Context()
	pool := storetest.New(t)
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	s := demo.Seeder{Drops: drops.NewService(pool, nil), Catalog: catalog.NewService(pool), DataDir: t.TempDir(),
		Now: func() time.Time { return now }}

	first, err := s.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.Drop.Slug != demo.Slug {
		t.Fatalf("first seed %+v", first.Drop)
	}
	counts := func() map[string]int {
		m := map[string]int{}
		for _, table := range []string{"drops", "products", "variants", "stock", "bursts", "cards", "vip_passes"} {
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			m[table] = n
		}
		var total int
		if err := pool.QueryRow(ctx, "SELECT sum(available) FROM stock").Scan(&total); err != nil {
			t.Fatal(err)
		}
		m["units"] = total
		return m
	}
	c1 := counts()
	if c1["products"] < 6 || c1["bursts"] != 4 || c1["cards"] < 8 {
		t.Fatalf("demo is too small: %v", c1)
	}

	now = now.Add(3 * time.Hour) // a later run must not move anything
	second, err := s.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Created {
		t.Fatal("second seed created the drop again")
	}
	if c2 := counts(); len(c2) != len(c1) || c2["cards"] != c1["cards"] || c2["variants"] != c1["variants"] || c2["units"] != c1["units"] || c2["bursts"] != c1["bursts"] || c2["vip_passes"] != c1["vip_passes"] {
		t.Fatalf("second seed changed rows: %v → %v", c1, c2)
	}

	kinds := map[drops.Kind]bool{}
	for i, bk := range second.Bursts {
		kinds[bk.Burst.Kind] = true
		if bk.Key == "" || bk.Key != first.Bursts[i].Key {
			t.Fatalf("burst %d key %q, first run %q", bk.Burst.ID, bk.Key, first.Bursts[i].Key)
		}
		got, err := s.Drops.BurstByStreamKey(ctx, bk.Key.String())
		if err != nil || got.ID != bk.Burst.ID {
			t.Fatalf("printed key does not open burst %d: %v", bk.Burst.ID, err)
		}
		if bk.Burst.ScheduledAt.Before(first.Drop.StartsAt) || !bk.Burst.ScheduledAt.Before(first.Drop.EndsAt) {
			t.Fatalf("burst %d outside the window", bk.Burst.ID)
		}
	}
	for _, k := range []drops.Kind{drops.KindHeadline, drops.KindCollab, drops.KindCommunity, drops.KindBackstage} {
		if !kinds[k] {
			t.Errorf("no %s burst", k)
		}
	}
	if first.VIPPass == "" || second.VIPPass != first.VIPPass {
		t.Fatalf("VIP pass %q then %q", first.VIPPass, second.VIPPass)
	}
	if _, err := s.Drops.CheckPass(ctx, first.Drop.ID, string(second.VIPPass)); err != nil {
		t.Fatalf("printed pass does not open the drop: %v", err)
	}
	if got := first.Drop.EndsAt.Sub(first.Drop.StartsAt); got < demo.Window {
		t.Fatalf("window %v", got)
	}

	// A rotated key is reported as unknown rather than printed wrong.
	if _, _, err := s.Drops.RotateStreamKey(ctx, second.Bursts[0].Burst.ID); err != nil {
		t.Fatal(err)
	}
	third, err := s.Seed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if third.Bursts[0].Key != "" {
		t.Fatal("rotated key still printed")
	}
}
