// Package demo seeds the demo drop that `make run` shows: clothing products
// with sizes and stock, four bursts over a 48-hour window and a run-of-show
// for each. Seeding is idempotent: each piece is looked up by its natural key
// (slug, SKU, burst title, card product and offset) and made only if missing.
package demo

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

// Slug is the demo drop's slug.
const Slug = "demo-drop"

// Window is the demo drop's length.
const Window = 48 * time.Hour

// Seeder makes the demo drop through the domain services.
type Seeder struct {
	Drops   *drops.Service
	Catalog *catalog.Service
	// DataDir keeps the demo's key seed (file demo-key-seed, mode 0600), from
	// which each demo burst's stream key is derived, so a second run can show
	// the same keys without storing them.
	DataDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Images stores generated product pictures; nil seeds none.
	Images *catalog.ImageStore
	// PictureSide is the side in pixels of the generated pictures; 0 means
	// 960. Tests use catalog.MinImageWidth to keep seeding fast.
	PictureSide int
}

// Result is what a host needs to go live on the demo.
type Result struct {
	Drop    drops.Drop
	Bursts  []BurstKey
	Created bool // whether this run created the drop
	// VIPPass opens the backstage burst ("" when revoked or the seed was lost).
	VIPPass drops.PassKey
}

// BurstKey is a demo burst with its stream key ("" when the key was rotated
// or the seed lost; rotate it through the admin API then).
type BurstKey struct {
	Burst drops.Burst
	Key   drops.StreamKey
}

// Seed makes whatever part of the demo drop is missing and returns it all.
func (s *Seeder) Seed(ctx context.Context) (Result, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	seed, err := s.keySeed()
	if err != nil {
		return Result{}, err
	}
	var res Result
	res.Drop, res.Created, err = s.ensureDrop(ctx, now().UTC().Truncate(time.Minute))
	if err != nil {
		return Result{}, err
	}
	products, err := s.ensureProducts(ctx, res.Drop.ID)
	if err != nil {
		return Result{}, err
	}
	if err := s.ensureImages(ctx, products); err != nil {
		return Result{}, err
	}
	existing, err := s.Drops.ListBursts(ctx, res.Drop.ID)
	if err != nil {
		return Result{}, err
	}
	for _, plan := range burstPlans() {
		b, err := s.ensureBurst(ctx, res.Drop, plan, existing, seed)
		if err != nil {
			return Result{}, err
		}
		if err := s.ensureCards(ctx, b, plan.cards, products); err != nil {
			return Result{}, err
		}
		key := drops.StreamKeyFor(b.ID, burstSecret(seed, b.ID))
		if _, err := s.Drops.BurstByStreamKey(ctx, key.String()); err != nil {
			key = ""
		}
		res.Bursts = append(res.Bursts, BurstKey{Burst: b, Key: key})
	}
	res.VIPPass, err = s.ensurePass(ctx, res.Drop.ID, seed)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// passLabel names the demo's VIP pass.
const passLabel = "Demo VIP"

func (s *Seeder) ensurePass(ctx context.Context, dropID int64, seed []byte) (drops.PassKey, error) {
	secret := func(id int64) ([]byte, error) { return derive(seed, "pass", id), nil }
	passes, err := s.Drops.ListPasses(ctx, dropID)
	if err != nil {
		return "", err
	}
	for _, p := range passes {
		if p.Label != passLabel {
			continue
		}
		raw, _ := secret(p.ID)
		key := drops.PassKeyFor(p.ID, raw)
		if _, err := s.Drops.CheckPass(ctx, dropID, key.String()); err != nil {
			return "", nil
		}
		return key, nil
	}
	_, key, err := s.Drops.CreatePassWithSecret(ctx, dropID, drops.PassInput{Label: passLabel}, secret)
	if err != nil {
		return "", fmt.Errorf("create demo pass: %w", err)
	}
	return key, nil
}

func (s *Seeder) keySeed() ([]byte, error) {
	path := filepath.Join(s.DataDir, "demo-key-seed")
	if b, err := os.ReadFile(path); err == nil && len(b) == 32 {
		return b, nil
	}
	if err := os.MkdirAll(s.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate demo key seed: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write demo key seed: %w", err)
	}
	return b, nil
}

func burstSecret(seed []byte, burstID int64) []byte { return derive(seed, "burst", burstID) }

// derive makes the secret of the demo's thing of kind what with id.
func derive(seed []byte, what string, id int64) []byte {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte("dropcast demo " + what + " " + strconv.FormatInt(id, 10)))
	return m.Sum(nil)
}

func (s *Seeder) ensureDrop(ctx context.Context, now time.Time) (drops.Drop, bool, error) {
	d, err := s.Drops.DropBySlug(ctx, Slug)
	if err == nil {
		return d, false, nil
	}
	if !errors.Is(err, &apperr.Error{Code: apperr.NotFound}) {
		return drops.Drop{}, false, err
	}
	d, err = s.Drops.CreateDrop(ctx, drops.DropInput{
		Slug:        Slug,
		Title:       "Midnight Run — Winter Capsule",
		Description: "Forty-eight hours, four live sets, one capsule. Limited runs; when it's gone, it's gone.",
		StartsAt:    now.Add(-5 * time.Minute),
		EndsAt:      now.Add(Window),
		Currency:    "USD",
		// Hoodies and sneakers ship: checkout asks for an address here.
		ShippingCountries: []string{"US", "CA", "GB", "IE", "DE", "FR", "NL", "AU"},
	})
	if err != nil {
		return drops.Drop{}, false, fmt.Errorf("create demo drop: %w", err)
	}
	return d, true, nil
}

func (s *Seeder) ensureProducts(ctx context.Context, dropID int64) (map[string]catalog.Product, error) {
	have, err := s.Catalog.ListProducts(ctx, dropID)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]catalog.Product, len(have))
	for _, p := range have {
		if len(p.Variants) > 0 {
			byKey[productKey(p.Variants[0].SKU, p.Variants[0].Label)] = p
		}
	}
	for i, in := range productPlans() {
		key := productKey(in.Variants[0].SKU, in.Variants[0].Label)
		if _, ok := byKey[key]; ok {
			continue
		}
		in.Position = i
		p, err := s.Catalog.CreateProduct(ctx, dropID, in)
		if err != nil {
			return nil, fmt.Errorf("create demo product %s: %w", in.Title, err)
		}
		byKey[key] = p
	}
	return byKey, nil
}

func (s *Seeder) ensureBurst(ctx context.Context, d drops.Drop, plan burstPlan, existing []drops.Burst, seed []byte) (drops.Burst, error) {
	for _, b := range existing {
		if b.Title == plan.title {
			return b, nil
		}
	}
	b, _, err := s.Drops.CreateBurstWithSecret(ctx, d.ID, drops.BurstInput{
		Title:       plan.title,
		Kind:        plan.kind,
		ScheduledAt: d.StartsAt.Add(5*time.Minute + plan.at),
	}, func(id int64) ([]byte, error) { return burstSecret(seed, id), nil })
	if err != nil {
		return drops.Burst{}, fmt.Errorf("create demo burst %s: %w", plan.title, err)
	}
	return b, nil
}

func (s *Seeder) ensureCards(ctx context.Context, b drops.Burst, plans []cardPlan, products map[string]catalog.Product) error {
	have, err := s.Drops.ListCards(ctx, b.ID)
	if err != nil {
		return err
	}
	for _, plan := range plans {
		p, ok := products[plan.product]
		if !ok {
			return fmt.Errorf("demo card names unknown product %s", plan.product)
		}
		if hasCard(have, p.ID, plan.offsetS) {
			continue
		}
		in := drops.CardInput{ProductID: p.ID, OffsetS: plan.offsetS, DurationS: plan.durationS, VIPOnly: plan.vipOnly}
		if plan.dealPct > 0 {
			deal := minPrice(p) * int64(100-plan.dealPct) / 100
			in.DealPrice = &deal
		}
		if plan.limit > 0 {
			in.ShopperLimit = &plan.limit
		}
		if _, err := s.Drops.CreateCard(ctx, b.ID, in); err != nil {
			return fmt.Errorf("create demo card for %s: %w", p.Title, err)
		}
	}
	return nil
}

func hasCard(cards []drops.Card, productID int64, offsetS int) bool {
	for _, c := range cards {
		if c.ProductID == productID && c.OffsetS == offsetS {
			return true
		}
	}
	return false
}

func minPrice(p catalog.Product) int64 {
	m := p.Variants[0].Price
	for _, v := range p.Variants[1:] {
		m = min(m, v.Price)
	}
	return m
}

// productKey names a demo product by its SKU stem: "MR-HOODIE" of the
// variant "MR-HOODIE-M" labelled "M".
func productKey(sku, label string) string {
	return strings.TrimSuffix(sku, "-"+label)
}
