package drops

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/store"
)

// CardInput adds a card to a burst's run-of-show. ProductID is required;
// VariantID narrows the card to one variant of that product. DurationS
// defaults to 60.
type CardInput struct {
	ProductID    int64  `json:"product_id,string"`
	VariantID    *int64 `json:"variant_id,string"`
	OffsetS      int    `json:"offset_s"`
	DurationS    int    `json:"duration_s"`
	DealPrice    *int64 `json:"deal_price"`
	VIPOnly      bool   `json:"vip_only"`
	ShopperLimit *int   `json:"shopper_limit"`
}

// CardPatch changes the fields that are not nil. A deal price of 0 removes it.
type CardPatch struct {
	OffsetS      *int   `json:"offset_s"`
	DurationS    *int   `json:"duration_s"`
	DealPrice    *int64 `json:"deal_price"`
	VIPOnly      *bool  `json:"vip_only"`
	ShopperLimit *int   `json:"shopper_limit"`
}

func (in *CardInput) validate(b Burst) error {
	if in.ProductID <= 0 {
		return apperr.InvalidField("product_id", "is required")
	}
	if in.VariantID != nil && *in.VariantID <= 0 {
		return apperr.InvalidField("variant_id", "must be a variant id")
	}
	if in.OffsetS < 0 {
		return apperr.InvalidField("offset_s", "must be 0 or more seconds")
	}
	if in.DurationS == 0 {
		in.DurationS = 60
	}
	if in.DurationS < 0 {
		return apperr.InvalidField("duration_s", "must be a positive number of seconds")
	}
	if in.OffsetS >= b.MaxDurationS {
		return apperr.InvalidField("offset_s", "must be less than the burst's max_duration_s (%d)", b.MaxDurationS)
	}
	if in.DealPrice != nil && *in.DealPrice <= 0 {
		return apperr.InvalidField("deal_price", "must be a positive amount in minor units")
	}
	if in.ShopperLimit != nil && (*in.ShopperLimit <= 0 || *in.ShopperLimit > 100) {
		return apperr.InvalidField("shopper_limit", "must be between 1 and 100")
	}
	return nil
}

const cardColumns = `id, burst_id, product_id, variant_id, offset_s, duration_s, deal_price, vip_only, shopper_limit, created_at, updated_at`

func scanCard(row pgx.Row) (Card, error) {
	var c Card
	err := row.Scan(&c.ID, &c.BurstID, &c.ProductID, &c.VariantID, &c.OffsetS, &c.DurationS, &c.DealPrice, &c.VIPOnly, &c.ShopperLimit, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// CreateCard adds a card to burst burstID. The product must belong to the
// burst's drop, the variant to the product, and a deal price must undercut
// the regular price of every variant it covers. Errors: not_found (burst),
// invalid (with field), conflict (ended burst).
func (s *Service) CreateCard(ctx context.Context, burstID int64, in CardInput) (Card, error) {
	var c Card
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		b, err := getBurst(ctx, tx, burstID, false)
		if err != nil {
			return err
		}
		if b.State == StateEnded {
			return apperr.Errorf(apperr.Conflict, "burst %d has ended", burstID)
		}
		if err := in.validate(b); err != nil {
			return err
		}
		if err := checkCardTarget(ctx, tx, b.DropID, in.ProductID, in.VariantID, in.DealPrice); err != nil {
			return err
		}
		c, err = scanCard(tx.QueryRow(ctx, `
			INSERT INTO cards (burst_id, drop_id, product_id, variant_id, offset_s, duration_s, deal_price, vip_only, shopper_limit)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+cardColumns,
			burstID, b.DropID, in.ProductID, in.VariantID, in.OffsetS, in.DurationS, in.DealPrice, in.VIPOnly, in.ShopperLimit))
		if err != nil {
			return fmt.Errorf("insert card: %w", err)
		}
		return nil
	})
	return c, err
}

// checkCardTarget confirms that the product is of the drop, the variant of the
// product, and that a deal price is below every covered variant's price.
func checkCardTarget(ctx context.Context, tx pgx.Tx, dropID, productID int64, variantID *int64, deal *int64) error {
	var productDrop int64
	err := tx.QueryRow(ctx, `SELECT drop_id FROM products WHERE id = $1`, productID).Scan(&productDrop)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && productDrop != dropID) {
		return apperr.InvalidField("product_id", "product %d is not a product of this drop", productID)
	}
	if err != nil {
		return fmt.Errorf("read product %d: %w", productID, err)
	}
	var minPrice *int64
	if variantID != nil {
		var price int64
		err := tx.QueryRow(ctx, `SELECT price FROM variants WHERE id = $1 AND product_id = $2`, *variantID, productID).Scan(&price)
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.InvalidField("variant_id", "variant %d is not a variant of product %d", *variantID, productID)
		}
		if err != nil {
			return fmt.Errorf("read variant %d: %w", *variantID, err)
		}
		minPrice = &price
	} else if err := tx.QueryRow(ctx, `SELECT min(price) FROM variants WHERE product_id = $1`, productID).Scan(&minPrice); err != nil {
		return fmt.Errorf("read prices of product %d: %w", productID, err)
	}
	if minPrice == nil {
		return apperr.InvalidField("product_id", "product %d has no variants to sell", productID)
	}
	if deal != nil && *deal >= *minPrice {
		return apperr.InvalidField("deal_price", "must be below the regular price (%d)", *minPrice)
	}
	return nil
}

// ListCards returns the run-of-show of burst burstID in offset order.
// Errors: not_found (burst).
func (s *Service) ListCards(ctx context.Context, burstID int64) ([]Card, error) {
	if _, err := getBurst(ctx, s.db, burstID, false); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+cardColumns+` FROM cards WHERE burst_id = $1 ORDER BY offset_s, id`, burstID)
	if err != nil {
		return nil, fmt.Errorf("list cards: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Card, error) { return scanCard(r) })
	if err != nil {
		return nil, fmt.Errorf("list cards: %w", err)
	}
	return out, nil
}

// Card returns the card with id of burst burstID. Errors: not_found.
func (s *Service) Card(ctx context.Context, burstID, id int64) (Card, error) {
	c, err := scanCard(s.db.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE id = $1 AND burst_id = $2`, id, burstID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Card{}, apperr.Errorf(apperr.NotFound, "card %d of burst %d not found", id, burstID)
	}
	if err != nil {
		return Card{}, fmt.Errorf("read card %d: %w", id, err)
	}
	return c, nil
}

// UpdateCard applies p to card id of burst burstID. Errors: not_found,
// invalid, conflict (ended burst).
func (s *Service) UpdateCard(ctx context.Context, burstID, id int64, p CardPatch) (Card, error) {
	var out Card
	err := store.InTx(ctx, s.db, func(tx pgx.Tx) error {
		b, err := getBurst(ctx, tx, burstID, false)
		if err != nil {
			return err
		}
		if b.State == StateEnded {
			return apperr.Errorf(apperr.Conflict, "burst %d has ended", burstID)
		}
		c, err := scanCard(tx.QueryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE id = $1 AND burst_id = $2 FOR UPDATE`, id, burstID))
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.Errorf(apperr.NotFound, "card %d of burst %d not found", id, burstID)
		}
		if err != nil {
			return fmt.Errorf("read card %d: %w", id, err)
		}
		in := CardInput{ProductID: c.ProductID, VariantID: c.VariantID, OffsetS: c.OffsetS, DurationS: c.DurationS,
			DealPrice: c.DealPrice, VIPOnly: c.VIPOnly, ShopperLimit: c.ShopperLimit}
		setIf(&in.OffsetS, p.OffsetS)
		setIf(&in.DurationS, p.DurationS)
		setIf(&in.VIPOnly, p.VIPOnly)
		if p.DurationS != nil && *p.DurationS == 0 {
			return apperr.InvalidField("duration_s", "must be a positive number of seconds")
		}
		if p.DealPrice != nil {
			in.DealPrice = p.DealPrice
			if *p.DealPrice == 0 {
				in.DealPrice = nil
			}
		}
		if p.ShopperLimit != nil {
			in.ShopperLimit = p.ShopperLimit
		}
		if err := in.validate(b); err != nil {
			return err
		}
		if err := checkCardTarget(ctx, tx, b.DropID, in.ProductID, in.VariantID, in.DealPrice); err != nil {
			return err
		}
		out, err = scanCard(tx.QueryRow(ctx, `
			UPDATE cards SET offset_s = $2, duration_s = $3, deal_price = $4, vip_only = $5, shopper_limit = $6, updated_at = now()
			WHERE id = $1 RETURNING `+cardColumns,
			id, in.OffsetS, in.DurationS, in.DealPrice, in.VIPOnly, in.ShopperLimit))
		if err != nil {
			return fmt.Errorf("update card %d: %w", id, err)
		}
		return nil
	})
	return out, err
}

// DeleteCard removes card id from burst burstID's run-of-show. Errors:
// not_found.
func (s *Service) DeleteCard(ctx context.Context, burstID, id int64) error {
	tag, err := s.db.Exec(ctx, `DELETE FROM cards WHERE id = $1 AND burst_id = $2`, id, burstID)
	if err != nil {
		return fmt.Errorf("delete card %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return apperr.Errorf(apperr.NotFound, "card %d of burst %d not found", id, burstID)
	}
	return nil
}
