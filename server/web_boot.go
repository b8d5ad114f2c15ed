package server

import (
	"context"
	"strconv"
	"time"

	"github.com/dropcast/dropcast/catalog"
	"github.com/dropcast/dropcast/drops"
)

// bootBurst is a burst as a page sees it: public fields plus its end time.
type bootBurst struct {
	ID           int64       `json:"id,string"`
	Title        string      `json:"title"`
	Kind         drops.Kind  `json:"kind"`
	State        drops.State `json:"state"`
	ScheduledAt  time.Time   `json:"scheduled_at"`
	LiveAt       *time.Time  `json:"live_at"`
	EndedAt      *time.Time  `json:"ended_at"`
	EndsAt       *time.Time  `json:"ends_at"`
	MaxDurationS int         `json:"max_duration_s"`
	VIPOnly      bool        `json:"vip_only"`
}

type bootDrop struct {
	ID       int64  `json:"id,string"`
	Slug     string `json:"slug"`
	Title    string `json:"title"`
	Currency string `json:"currency"`
}

// burstBoot is the boot data of the watch, host and replay pages. Links
// name every URL the page's modules call, so a route lives in one place.
type burstBoot struct {
	Burst      bootBurst         `json:"burst"`
	Drop       bootDrop          `json:"drop"`
	ServerTime time.Time         `json:"server_time"`
	Links      map[string]string `json:"links"`
	// Cards is the run-of-show with products, for the replay page's
	// fallback when the recorder's timeline is missing.
	Cards []cardView `json:"cards,omitempty"`
}

// cardView is a run-of-show card with its product, in the shape the
// shopper channel's card.show uses, plus its schedule.
type cardView struct {
	ID        int64           `json:"id,string"`
	OffsetS   int             `json:"offset_s"`
	DurationS int             `json:"duration_s"`
	DealPrice *int64          `json:"deal_price"`
	VIPOnly   bool            `json:"vip_only"`
	Product   publicProduct   `json:"product"`
	Variants  []publicVariant `json:"variants"`
}

func newBootBurst(b drops.Burst) bootBurst {
	v := bootBurst{ID: b.ID, Title: b.Title, Kind: b.Kind, State: b.State, ScheduledAt: b.ScheduledAt,
		LiveAt: b.LiveAt, EndedAt: b.EndedAt, MaxDurationS: b.MaxDurationS, VIPOnly: b.Kind == drops.KindBackstage}
	if d := b.Deadline(); !d.IsZero() {
		v.EndsAt = &d
	}
	return v
}

func (s *Server) burstBoot(b drops.Burst, d drops.Drop) burstBoot {
	id := strconv.FormatInt(b.ID, 10)
	return burstBoot{
		Burst:      newBootBurst(b),
		Drop:       bootDrop{ID: d.ID, Slug: d.Slug, Title: d.Title, Currency: d.Currency},
		ServerTime: time.Now().UTC(),
		Links: map[string]string{
			"whep":     "/whep/" + id,
			"ws":       "/ws/" + id,
			"watch":    "/watch/" + id,
			"host":     "/host/" + id,
			"replay":   "/replay/" + id,
			"hls":      "/replay/" + id + "/index.m3u8",
			"timeline": "/replay/" + id + "/timeline.json",
			"drop":     "/d/" + d.Slug,
			"calendar": "/d/" + d.Slug + "/bursts/" + id + "/calendar.ics",
		},
	}
}

// runOfShow returns the burst's cards with their products; VIP-only cards
// are left out unless withVIP.
func (s *Server) runOfShow(ctx context.Context, b drops.Burst, withVIP bool) ([]cardView, error) {
	cards, err := s.drops.ListCards(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	products, err := s.catalog.ListProducts(ctx, b.DropID)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]catalog.Product, len(products))
	for _, p := range products {
		byID[p.ID] = p
	}
	out := make([]cardView, 0, len(cards))
	for _, c := range cards {
		p, ok := byID[c.ProductID]
		if !ok || (c.VIPOnly && !withVIP) {
			continue
		}
		v := cardView{ID: c.ID, OffsetS: c.OffsetS, DurationS: c.DurationS, DealPrice: c.DealPrice, VIPOnly: c.VIPOnly,
			Product: publicProduct{ID: p.ID, Title: p.Title, Description: p.Description, Images: p.Images}}
		for _, vr := range p.Variants {
			if c.VariantID != nil && *c.VariantID != vr.ID {
				continue
			}
			v.Variants = append(v.Variants, publicVariant{ID: vr.ID, Label: vr.Label, Price: vr.Price, Available: vr.Available})
		}
		v.Product.Variants = v.Variants
		out = append(out, v)
	}
	return out, nil
}
