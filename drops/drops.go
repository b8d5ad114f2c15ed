// Package drops owns drops, their bursts (with stream keys and lifecycle
// state) and each burst's run-of-show of cards. It stores them in PostgreSQL
// and knows nothing of HTTP or media.
package drops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/language"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/store"
)

// Service reads and writes drops, bursts and cards. It is safe for concurrent use.
type Service struct {
	db  *pgxpool.Pool
	now func() time.Time
}

// NewService returns a Service on db. now may be nil for time.Now.
func NewService(db *pgxpool.Pool, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

var (
	slugRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
)

// DropInput creates a drop. Every field but Description is required.
type DropInput struct {
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Currency    string    `json:"currency"`
	// ShippingCountries are where the drop ships (ISO 3166-1 alpha-2, such
	// as US or DE): checkout asks for a shipping address in one of them.
	// Empty: nothing ships (no address is asked for).
	ShippingCountries []string `json:"shipping_countries"`
}

// DropPatch changes the fields that are not nil.
type DropPatch struct {
	Slug        *string    `json:"slug"`
	Title       *string    `json:"title"`
	Description *string    `json:"description"`
	StartsAt    *time.Time `json:"starts_at"`
	EndsAt      *time.Time `json:"ends_at"`
	Currency    *string    `json:"currency"`
	// ShippingCountries replaces the list when present ([] clears it).
	ShippingCountries *[]string `json:"shipping_countries"`
}

// Validate checks in the order fields are listed and reports the first fault.
func (in DropInput) Validate() error {
	if !slugRE.MatchString(in.Slug) || digitsRE.MatchString(in.Slug) {
		return apperr.InvalidField("slug", "must be 1-63 lowercase letters, digits or dashes, start with a letter or digit, and not be all digits")
	}
	if err := validTitle("title", in.Title); err != nil {
		return err
	}
	if len(in.Description) > 5000 {
		return apperr.InvalidField("description", "must be at most 5000 bytes")
	}
	if in.StartsAt.IsZero() {
		return apperr.InvalidField("starts_at", "is required (RFC 3339 time)")
	}
	if in.EndsAt.IsZero() {
		return apperr.InvalidField("ends_at", "is required (RFC 3339 time)")
	}
	if !in.EndsAt.After(in.StartsAt) {
		return apperr.InvalidField("ends_at", "must be after starts_at")
	}
	if in.EndsAt.Sub(in.StartsAt) > 31*24*time.Hour {
		return apperr.InvalidField("ends_at", "a drop lasts at most 31 days")
	}
	if !currencyRE.MatchString(in.Currency) {
		return apperr.InvalidField("currency", "must be an ISO 4217 code in capitals, such as USD")
	}
	if len(in.ShippingCountries) > 250 {
		return apperr.InvalidField("shipping_countries", "lists at most 250 countries")
	}
	seen := make(map[string]bool, len(in.ShippingCountries))
	for _, c := range in.ShippingCountries {
		if !isCountry(c) {
			return apperr.InvalidField("shipping_countries", "%q is not an ISO 3166-1 alpha-2 country code in capitals, such as US or GB", c)
		}
		if seen[c] {
			return apperr.InvalidField("shipping_countries", "%s is listed twice", c)
		}
		seen[c] = true
	}
	return nil
}

func validTitle(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return apperr.InvalidField(field, "is required")
	}
	if len(s) > 200 {
		return apperr.InvalidField(field, "must be at most 200 bytes")
	}
	return nil
}

const dropColumns = `id, slug, title, description, starts_at, ends_at, currency, shipping_countries, created_at, updated_at`

func scanDrop(row pgx.Row) (Drop, error) {
	var d Drop
	err := row.Scan(&d.ID, &d.Slug, &d.Title, &d.Description, &d.StartsAt, &d.EndsAt, &d.Currency, &d.ShippingCountries, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// CreateDrop stores a new drop. Errors: invalid (with field), conflict when
// the slug is taken.
func (s *Service) CreateDrop(ctx context.Context, in DropInput) (Drop, error) {
	if err := in.Validate(); err != nil {
		return Drop{}, err
	}
	d, err := scanDrop(s.db.QueryRow(ctx, `
		INSERT INTO drops (slug, title, description, starts_at, ends_at, currency, shipping_countries)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+dropColumns,
		in.Slug, in.Title, in.Description, in.StartsAt, in.EndsAt, in.Currency, countries(in.ShippingCountries)))
	if err != nil {
		return Drop{}, dropWriteError(err, in.Slug)
	}
	return d, nil
}

func dropWriteError(err error, slug string) error {
	if store.IsCode(err, store.CodeUniqueViolation, "drops_slug_key") {
		return &apperr.Error{Code: apperr.Conflict, Field: "slug", Message: fmt.Sprintf("slug %q is taken", slug)}
	}
	return fmt.Errorf("write drop: %w", err)
}

// Drop returns the drop with id. Errors: not_found.
func (s *Service) Drop(ctx context.Context, id int64) (Drop, error) {
	return s.getDrop(ctx, s.db, id)
}

func (s *Service) getDrop(ctx context.Context, db store.DBTX, id int64) (Drop, error) {
	d, err := scanDrop(db.QueryRow(ctx, `SELECT `+dropColumns+` FROM drops WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Drop{}, apperr.Errorf(apperr.NotFound, "drop %d not found", id)
	}
	if err != nil {
		return Drop{}, fmt.Errorf("read drop %d: %w", id, err)
	}
	return d, nil
}

// DropBySlug returns the drop with slug. Errors: not_found.
func (s *Service) DropBySlug(ctx context.Context, slug string) (Drop, error) {
	d, err := scanDrop(s.db.QueryRow(ctx, `SELECT `+dropColumns+` FROM drops WHERE slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return Drop{}, apperr.Errorf(apperr.NotFound, "drop %q not found", slug)
	}
	if err != nil {
		return Drop{}, fmt.Errorf("read drop %q: %w", slug, err)
	}
	return d, nil
}

// ListDrops returns every drop, latest window first.
func (s *Service) ListDrops(ctx context.Context) ([]Drop, error) {
	rows, err := s.db.Query(ctx, `SELECT `+dropColumns+` FROM drops ORDER BY starts_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list drops: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Drop, error) { return scanDrop(r) })
	if err != nil {
		return nil, fmt.Errorf("list drops: %w", err)
	}
	return out, nil
}

// UpdateDrop applies p to the drop with id. The merged drop is validated as a
// whole, and its window must still hold every burst. Errors: not_found,
// invalid, conflict.
func (s *Service) UpdateDrop(ctx context.Context, id int64, p DropPatch) (Drop, error) {
	var out Drop
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		d, err := scanDrop(tx.QueryRow(ctx, `SELECT `+dropColumns+` FROM drops WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.Errorf(apperr.NotFound, "drop %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("read drop %d: %w", id, err)
		}
		in := DropInput{Slug: d.Slug, Title: d.Title, Description: d.Description, StartsAt: d.StartsAt, EndsAt: d.EndsAt, Currency: d.Currency,
			ShippingCountries: d.ShippingCountries}
		setIf(&in.Slug, p.Slug)
		setIf(&in.Title, p.Title)
		setIf(&in.Description, p.Description)
		setIf(&in.StartsAt, p.StartsAt)
		setIf(&in.EndsAt, p.EndsAt)
		setIf(&in.Currency, p.Currency)
		setIf(&in.ShippingCountries, p.ShippingCountries)
		if err := in.Validate(); err != nil {
			return err
		}
		if p.Currency != nil && *p.Currency != d.Currency {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM products WHERE drop_id = $1`, id).Scan(&n); err != nil {
				return fmt.Errorf("count products: %w", err)
			}
			if n > 0 {
				return &apperr.Error{Code: apperr.Conflict, Field: "currency", Message: "cannot change the currency of a drop that has products"}
			}
		}
		var outside int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM bursts WHERE drop_id = $1 AND (scheduled_at < $2 OR scheduled_at >= $3)`,
			id, in.StartsAt, in.EndsAt).Scan(&outside); err != nil {
			return fmt.Errorf("check bursts: %w", err)
		}
		if outside > 0 {
			return &apperr.Error{Code: apperr.Conflict, Field: "starts_at", Message: fmt.Sprintf("%d burst(s) would fall outside the new window", outside)}
		}
		out, err = scanDrop(tx.QueryRow(ctx, `
			UPDATE drops SET slug = $2, title = $3, description = $4, starts_at = $5, ends_at = $6, currency = $7,
			    shipping_countries = $8, updated_at = now()
			WHERE id = $1 RETURNING `+dropColumns,
			id, in.Slug, in.Title, in.Description, in.StartsAt, in.EndsAt, in.Currency, countries(in.ShippingCountries)))
		if err != nil {
			return dropWriteError(err, in.Slug)
		}
		return nil
	})
	return out, err
}

// isCountry reports whether c is an assigned ISO 3166-1 alpha-2 country
// code in capitals (not a macro-region, a private-use or a reserved code
// such as UK).
func isCountry(c string) bool {
	if !countryRE.MatchString(c) {
		return false
	}
	r, err := language.ParseRegion(c)
	return err == nil && r.IsCountry() && r.ISO3() != "ZZZ"
}

// countries is a never-nil list for the NOT NULL column.
func countries(cs []string) []string {
	if cs == nil {
		return []string{}
	}
	return cs
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
