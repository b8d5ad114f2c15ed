package store_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"testing"

	"github.com/dropcast/dropcast/store"
	"github.com/dropcast/dropcast/store/storetest"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMigrateFromEmptyDatabase(t *testing.T) {
	ctx := t.Context()
	url := storetest.EmptyURL(t)
	pool, err := store.Open(ctx, url, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	if err := store.CheckCurrent(ctx, pool); !errors.Is(err, store.ErrMigrationsPending) {
		t.Fatalf("CheckCurrent on empty database = %v, want ErrMigrationsPending", err)
	}
	files, err := fs.Glob(store.Migrations(), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v %v", files, err)
	}
	v, err := store.Migrate(ctx, pool, discard())
	if err != nil {
		t.Fatal(err)
	}
	if v < int64(len(files)) {
		t.Fatalf("schema version %d after %d migrations", v, len(files))
	}
	if err := store.CheckCurrent(ctx, pool); err != nil {
		t.Fatalf("CheckCurrent after migrate: %v", err)
	}
	// Applying again is a no-op.
	if v2, err := store.Migrate(ctx, pool, discard()); err != nil || v2 != v {
		t.Fatalf("second migrate = %d, %v", v2, err)
	}
	for _, table := range []string{"drops", "products", "variants", "stock", "bursts", "cards"} {
		var ok bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
}

func TestSchemaConstraints(t *testing.T) {
	ctx := t.Context()
	pool := storetest.New(t)
	var dropID, productID, variantID int64
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(pool.QueryRow(ctx, `INSERT INTO drops (slug, title, starts_at, ends_at, currency)
		VALUES ('c', 'C', now(), now() + interval '1 day', 'EUR') RETURNING id`).Scan(&dropID))
	must(pool.QueryRow(ctx, `INSERT INTO products (drop_id, title) VALUES ($1, 'P') RETURNING id`, dropID).Scan(&productID))
	must(pool.QueryRow(ctx, `INSERT INTO variants (product_id, sku, label, price) VALUES ($1, 'C-1', 'S', 100) RETURNING id`, productID).Scan(&variantID))
	_, err := pool.Exec(ctx, `INSERT INTO stock (variant_id, available) VALUES ($1, 3)`, variantID)
	must(err)

	cases := []struct{ name, sql, constraint string }{
		{"negative stock", `UPDATE stock SET available = available - 4 WHERE variant_id = $1`, "stock_available_nonnegative"},
		{"zero price", `UPDATE variants SET price = 0 WHERE id = $1`, "variants_price_positive"},
		{"negative price", `UPDATE variants SET price = -1 WHERE id = $1`, "variants_price_positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pool.Exec(context.WithoutCancel(ctx), tc.sql, variantID)
			if !store.IsCode(err, store.CodeCheckViolation, tc.constraint) {
				t.Fatalf("err = %v, want check violation %s", err, tc.constraint)
			}
		})
	}
	var avail int
	must(pool.QueryRow(ctx, `SELECT available FROM stock WHERE variant_id = $1`, variantID).Scan(&avail))
	if avail != 3 {
		t.Fatalf("available = %d after refused updates, want 3", avail)
	}
	// A card may only show a product of its own burst's drop.
	var otherDrop, burstID int64
	must(pool.QueryRow(ctx, `INSERT INTO drops (slug, title, starts_at, ends_at, currency)
		VALUES ('o', 'O', now(), now() + interval '1 day', 'EUR') RETURNING id`).Scan(&otherDrop))
	must(pool.QueryRow(ctx, `INSERT INTO bursts (drop_id, title, kind, scheduled_at, stream_key_hash)
		VALUES ($1, 'B', 'headline', now(), decode(repeat('00', 32), 'hex')) RETURNING id`, otherDrop).Scan(&burstID))
	_, err = pool.Exec(ctx, `INSERT INTO cards (burst_id, drop_id, product_id, offset_s) VALUES ($1, $2, $3, 0)`, burstID, otherDrop, productID)
	if !store.IsCode(err, store.CodeForeignKeyViolation, "cards_product_fk") {
		t.Fatalf("cross-drop card: err = %v", err)
	}
}
