// Package catalog owns a drop's products, their variants (a size or colour
// with its own SKU and price) and each variant's stock. It stores them in
// PostgreSQL and knows nothing of HTTP, carts or payments.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/store"
)

// Product is something a drop sells, in one or more variants.
type Product struct {
	ID          int64     `json:"id,string"`
	DropID      int64     `json:"drop_id,string"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Images      []string  `json:"images"`
	Position    int       `json:"position"`
	Variants    []Variant `json:"variants"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Variant is one sellable form of a product. Price is in minor units of the
// drop's currency; Available is the stock that can be sold now.
type Variant struct {
	ID        int64  `json:"id,string"`
	ProductID int64  `json:"product_id,string"`
	SKU       string `json:"sku"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
	Available int    `json:"available"`
	Position  int    `json:"position"`
}

// Service reads and writes products, variants and stock. It is safe for
// concurrent use.
type Service struct {
	db *pgxpool.Pool
}

// NewService returns a Service on db.
func NewService(db *pgxpool.Pool) *Service { return &Service{db: db} }

// MaxStock bounds one variant's stock, far above any drop and far below the
// integer column.
const MaxStock = 1_000_000

// MaxPrice bounds a price in minor units (10 million of a currency's units).
const MaxPrice = 1_000_000_000

var skuRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// VariantInput creates a variant with its opening stock.
type VariantInput struct {
	SKU   string `json:"sku"`
	Label string `json:"label"`
	Price int64  `json:"price"`
	Stock int    `json:"stock"`
}

// VariantPatch changes the fields that are not nil. Stock sets the available
// count outright.
type VariantPatch struct {
	Label *string `json:"label"`
	Price *int64  `json:"price"`
	Stock *int    `json:"stock"`
}

// ProductInput creates a product with at least one variant.
type ProductInput struct {
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Images      []string       `json:"images"`
	Position    int            `json:"position"`
	Variants    []VariantInput `json:"variants"`
}

// ProductPatch changes the fields that are not nil.
type ProductPatch struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Images      *[]string `json:"images"`
	Position    *int      `json:"position"`
}

func (in VariantInput) validate(prefix string) error {
	if !skuRE.MatchString(in.SKU) {
		return apperr.InvalidField(prefix+"sku", "must be 1-64 letters, digits, dots, dashes or underscores")
	}
	if err := validLabel(prefix, in.Label); err != nil {
		return err
	}
	if err := validPrice(prefix, in.Price); err != nil {
		return err
	}
	return validStock(prefix, in.Stock)
}

func validLabel(prefix, label string) error {
	if strings.TrimSpace(label) == "" || len(label) > 64 {
		return apperr.InvalidField(prefix+"label", "must be 1-64 bytes, such as a size (\"M\")")
	}
	return nil
}

func validPrice(prefix string, price int64) error {
	if price <= 0 || price > MaxPrice {
		return apperr.InvalidField(prefix+"price", "must be a positive integer amount in minor units (cents), at most %d", MaxPrice)
	}
	return nil
}

func validStock(prefix string, stock int) error {
	if stock < 0 || stock > MaxStock {
		return apperr.InvalidField(prefix+"stock", "must be between 0 and %d", MaxStock)
	}
	return nil
}

func (in ProductInput) validate() error {
	if err := validProductText(in.Title, in.Description); err != nil {
		return err
	}
	if err := validImages(in.Images); err != nil {
		return err
	}
	if len(in.Variants) == 0 {
		return apperr.InvalidField("variants", "a product needs at least one variant")
	}
	if len(in.Variants) > 50 {
		return apperr.InvalidField("variants", "a product has at most 50 variants")
	}
	seen := make(map[string]bool, len(in.Variants))
	for i, v := range in.Variants {
		prefix := fmt.Sprintf("variants[%d].", i)
		if err := v.validate(prefix); err != nil {
			return err
		}
		if seen[v.SKU] {
			return &apperr.Error{Code: apperr.Conflict, Field: prefix + "sku", Message: fmt.Sprintf("sku %q appears twice", v.SKU)}
		}
		seen[v.SKU] = true
	}
	return nil
}

func validProductText(title, description string) error {
	if strings.TrimSpace(title) == "" || len(title) > 200 {
		return apperr.InvalidField("title", "must be 1-200 bytes")
	}
	if len(description) > 5000 {
		return apperr.InvalidField("description", "must be at most 5000 bytes")
	}
	return nil
}

func validImages(images []string) error {
	if len(images) > 20 {
		return apperr.InvalidField("images", "at most 20 images")
	}
	for i, img := range images {
		u, err := url.Parse(img)
		ok := err == nil && len(img) <= 2000 &&
			((u.Scheme == "https" || u.Scheme == "http") && u.Host != "" || u.Scheme == "" && strings.HasPrefix(u.Path, "/"))
		if !ok {
			return apperr.InvalidField(fmt.Sprintf("images[%d]", i), "must be an http(s) URL or an absolute path")
		}
	}
	return nil
}

func skuConflict(err error, sku string, field string) error {
	if store.IsCode(err, store.CodeUniqueViolation, "variants_sku_key") {
		return &apperr.Error{Code: apperr.Conflict, Field: field, Message: fmt.Sprintf("sku %q is taken", sku)}
	}
	return nil
}

// CreateProduct stores a product of drop dropID with its variants and their
// opening stock, all or nothing. Errors: not_found (drop), invalid (with
// field), conflict (SKU taken).
func (s *Service) CreateProduct(ctx context.Context, dropID int64, in ProductInput) (Product, error) {
	if err := in.validate(); err != nil {
		return Product{}, err
	}
	if in.Images == nil {
		in.Images = []string{}
	}
	var id int64
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO products (drop_id, title, description, images, position)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			dropID, in.Title, in.Description, in.Images, in.Position).Scan(&id)
		if store.IsCode(err, store.CodeForeignKeyViolation, "") {
			return apperr.Errorf(apperr.NotFound, "drop %d not found", dropID)
		}
		if err != nil {
			return fmt.Errorf("insert product: %w", err)
		}
		for i, v := range in.Variants {
			if _, err := insertVariant(ctx, tx, id, i, v); err != nil {
				if c := skuConflict(err, v.SKU, fmt.Sprintf("variants[%d].sku", i)); c != nil {
					return c
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Product{}, err
	}
	return s.Product(ctx, id)
}

func insertVariant(ctx context.Context, tx pgx.Tx, productID int64, position int, v VariantInput) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, `
		INSERT INTO variants (product_id, sku, label, price, position)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		productID, v.SKU, v.Label, v.Price, position).Scan(&id); err != nil {
		return 0, fmt.Errorf("insert variant %s: %w", v.SKU, err)
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO stock (variant_id, shard, available)
		SELECT $1, g, $2::integer / $3 + CASE WHEN g < $2::integer % $3 THEN 1 ELSE 0 END
		FROM generate_series(0, $3 - 1) g`, id, v.Stock, StockShards); err != nil {
		return 0, fmt.Errorf("insert stock of %s: %w", v.SKU, err)
	}
	return id, nil
}

// StockShards is how many rows a new variant's stock is spread over, so that
// concurrent reservations of one variant do not all queue on one row lock.
// A variant's available stock is the sum of its rows (see checkout).
const StockShards = 8

// setStock sets variant id's available stock to n, spread evenly over its
// shards. Units held in carts are not part of available stock and stay held.
func setStock(ctx context.Context, tx pgx.Tx, id int64, n int) error {
	_, err := tx.Exec(ctx, `
		UPDATE stock s SET available = $2::integer / c.k + CASE WHEN s.shard < $2::integer % c.k THEN 1 ELSE 0 END,
			updated_at = now()
		FROM (SELECT count(*)::integer AS k FROM stock WHERE variant_id = $1) c
		WHERE s.variant_id = $1`, id, n)
	if err != nil {
		return fmt.Errorf("set stock of variant %d: %w", id, err)
	}
	return nil
}

// AddVariant adds a variant to product productID. Errors: not_found,
// invalid, conflict (SKU taken).
func (s *Service) AddVariant(ctx context.Context, productID int64, in VariantInput) (Variant, error) {
	if err := in.validate(""); err != nil {
		return Variant{}, err
	}
	var id int64
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM variants WHERE product_id = p.id) FROM products p WHERE p.id = $1 FOR UPDATE`, productID).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.Errorf(apperr.NotFound, "product %d not found", productID)
		}
		if err != nil {
			return fmt.Errorf("read product %d: %w", productID, err)
		}
		if n >= 50 {
			return apperr.InvalidField("sku", "a product has at most 50 variants")
		}
		id, err = insertVariant(ctx, tx, productID, n, in)
		if c := skuConflict(err, in.SKU, "sku"); c != nil {
			return c
		}
		return err
	})
	if err != nil {
		return Variant{}, err
	}
	return s.Variant(ctx, id)
}

const variantSelect = `
	SELECT v.id, v.product_id, v.sku, v.label, v.price,
		coalesce((SELECT sum(s.available) FROM stock s WHERE s.variant_id = v.id), 0)::integer, v.position
	FROM variants v`

func scanVariant(row pgx.Row) (Variant, error) {
	var v Variant
	err := row.Scan(&v.ID, &v.ProductID, &v.SKU, &v.Label, &v.Price, &v.Available, &v.Position)
	return v, err
}

// Variant returns the variant with id and its available stock. Errors: not_found.
func (s *Service) Variant(ctx context.Context, id int64) (Variant, error) {
	v, err := scanVariant(s.db.QueryRow(ctx, variantSelect+` WHERE v.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Variant{}, apperr.Errorf(apperr.NotFound, "variant %d not found", id)
	}
	if err != nil {
		return Variant{}, fmt.Errorf("read variant %d: %w", id, err)
	}
	return v, nil
}

// UpdateVariant applies p. Errors: not_found, invalid.
func (s *Service) UpdateVariant(ctx context.Context, id int64, p VariantPatch) (Variant, error) {
	if p.Label != nil {
		if err := validLabel("", *p.Label); err != nil {
			return Variant{}, err
		}
	}
	if p.Price != nil {
		if err := validPrice("", *p.Price); err != nil {
			return Variant{}, err
		}
	}
	if p.Stock != nil {
		if err := validStock("", *p.Stock); err != nil {
			return Variant{}, err
		}
	}
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE variants SET label = coalesce($2, label), price = coalesce($3, price), updated_at = now()
			WHERE id = $1`, id, p.Label, p.Price)
		if err != nil {
			return fmt.Errorf("update variant %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return apperr.Errorf(apperr.NotFound, "variant %d not found", id)
		}
		if p.Stock != nil {
			if err := setStock(ctx, tx, id, *p.Stock); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Variant{}, err
	}
	return s.Variant(ctx, id)
}

const productColumns = `id, drop_id, title, description, images, position, created_at, updated_at`

func scanProduct(row pgx.Row) (Product, error) {
	var p Product
	err := row.Scan(&p.ID, &p.DropID, &p.Title, &p.Description, &p.Images, &p.Position, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// Product returns the product with id and its variants. Errors: not_found.
func (s *Service) Product(ctx context.Context, id int64) (Product, error) {
	p, err := scanProduct(s.db.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Product{}, apperr.Errorf(apperr.NotFound, "product %d not found", id)
	}
	if err != nil {
		return Product{}, fmt.Errorf("read product %d: %w", id, err)
	}
	ps := []Product{p}
	if err := s.attachVariants(ctx, ps); err != nil {
		return Product{}, err
	}
	return ps[0], nil
}

// ListProducts returns the products of drop dropID with their variants, in
// display order. It does not check that the drop exists.
func (s *Service) ListProducts(ctx context.Context, dropID int64) ([]Product, error) {
	rows, err := s.db.Query(ctx, `SELECT `+productColumns+` FROM products WHERE drop_id = $1 ORDER BY position, id`, dropID)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Product, error) { return scanProduct(r) })
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	if err := s.attachVariants(ctx, ps); err != nil {
		return nil, err
	}
	return ps, nil
}

func (s *Service) attachVariants(ctx context.Context, ps []Product) error {
	if len(ps) == 0 {
		return nil
	}
	ids := make([]int64, len(ps))
	index := make(map[int64]int, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
		index[p.ID] = i
		ps[i].Variants = []Variant{}
	}
	rows, err := s.db.Query(ctx, variantSelect+` WHERE v.product_id = ANY($1) ORDER BY v.product_id, v.position, v.id`, ids)
	if err != nil {
		return fmt.Errorf("list variants: %w", err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Variant, error) { return scanVariant(r) })
	if err != nil {
		return fmt.Errorf("list variants: %w", err)
	}
	for _, v := range vs {
		i := index[v.ProductID]
		ps[i].Variants = append(ps[i].Variants, v)
	}
	return nil
}

// UpdateProduct applies p. Errors: not_found, invalid.
func (s *Service) UpdateProduct(ctx context.Context, id int64, p ProductPatch) (Product, error) {
	cur, err := s.Product(ctx, id)
	if err != nil {
		return Product{}, err
	}
	title, desc, images, pos := cur.Title, cur.Description, cur.Images, cur.Position
	if p.Title != nil {
		title = *p.Title
	}
	if p.Description != nil {
		desc = *p.Description
	}
	if p.Images != nil {
		images = *p.Images
	}
	if images == nil {
		images = []string{}
	}
	if p.Position != nil {
		pos = *p.Position
	}
	if err := validProductText(title, desc); err != nil {
		return Product{}, err
	}
	if err := validImages(images); err != nil {
		return Product{}, err
	}
	tag, err := s.db.Exec(ctx, `
		UPDATE products SET title = $2, description = $3, images = $4, position = $5, updated_at = now()
		WHERE id = $1`, id, title, desc, images, pos)
	if err != nil {
		return Product{}, fmt.Errorf("update product %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return Product{}, apperr.Errorf(apperr.NotFound, "product %d not found", id)
	}
	return s.Product(ctx, id)
}
