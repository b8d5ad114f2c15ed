package kpi

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dropcast/dropcast/drops"
)

// SecondChanceWindow is how long after a burst's end its replay's sales are
// counted as the burst's second chance (view-to-buy on the replay).
const SecondChanceWindow = 72 * time.Hour

// Sales sums reservations (adds to cart) and what became of them. Money is in
// minor units of the drop's currency.
type Sales struct {
	// Adds is the number of adds to cart, UnitsAdded their units, and
	// CartShoppers the shoppers who made them.
	Adds         int `json:"adds"`
	UnitsAdded   int `json:"units_added"`
	CartShoppers int `json:"cart_shoppers"`
	// Orders, Buyers, Units and Revenue count what was paid for.
	Orders  int   `json:"orders"`
	Buyers  int   `json:"buyers"`
	Units   int   `json:"units"`
	Revenue int64 `json:"revenue"`
	// InCarts is the units held or in a checkout now, not paid yet.
	InCarts int `json:"in_carts"`
}

// Audience is who joined a burst's channel.
type Audience struct {
	LiveShoppers   int        `json:"live_shoppers"`
	ReplayShoppers int        `json:"replay_shoppers"`
	PeakViewers    int        `json:"peak_viewers"`
	PeakAt         *time.Time `json:"peak_at"`
}

// CardReport is one card of the run-of-show (or a card no longer in it
// that still has a history).
type CardReport struct {
	CardID    int64  `json:"card_id,string"`
	ProductID *int64 `json:"product_id,string"`
	Product   string `json:"product"`
	// Shows counts the times it went up, Pins those by a host; OnScreenS is
	// the time it was up in all.
	Shows        int        `json:"shows"`
	Pins         int        `json:"pins"`
	OnScreenS    float64    `json:"on_screen_s"`
	FirstShownAt *time.Time `json:"first_shown_at"`
	Sales        Sales      `json:"sales"`
	DuringLive   Sales      `json:"during_live"`
	SecondChance Sales      `json:"second_chance"`
	// AddRate is the share of the live audience that added this card's
	// product during the live burst.
	AddRate float64 `json:"add_rate"`
}

// BurstReport is the KPIs of one burst.
type BurstReport struct {
	BurstID  int64       `json:"burst_id,string"`
	DropID   int64       `json:"drop_id,string"`
	Title    string      `json:"title"`
	Kind     drops.Kind  `json:"kind"`
	State    drops.State `json:"state"`
	LiveAt   *time.Time  `json:"live_at"`
	EndedAt  *time.Time  `json:"ended_at"`
	LiveS    float64     `json:"live_s"`
	Currency string      `json:"currency"`
	Audience Audience    `json:"audience"`
	// Sales counts every add attributed to the burst; DuringLive those made
	// before its end; SecondChance those made on the replay within
	// SecondChanceWindow of the end.
	Sales        Sales `json:"sales"`
	DuringLive   Sales `json:"during_live"`
	SecondChance Sales `json:"second_chance"`
	// Refunded is what was refunded in Stripe on the orders checked out
	// from this burst (revenue above is before refunds).
	Refunded int64 `json:"refunded"`
	// Conversion is live buyers over the live audience; ReplayConversion
	// second-chance buyers over the replay audience (0 without an audience).
	Conversion       float64      `json:"conversion"`
	ReplayConversion float64      `json:"replay_conversion"`
	Cards            []CardReport `json:"cards"`
}

// VariantReport is sell-through of one variant over the whole drop.
type VariantReport struct {
	VariantID int64  `json:"variant_id,string"`
	ProductID int64  `json:"product_id,string"`
	Product   string `json:"product"`
	SKU       string `json:"sku"`
	Label     string `json:"label"`
	Sold      int    `json:"sold"`
	InCarts   int    `json:"in_carts"`
	Available int    `json:"available"`
	// SellThrough is sold over sold + in carts + available.
	SellThrough float64 `json:"sell_through"`
	Revenue     int64   `json:"revenue"`
}

// DropReport is the KPIs of a drop: totals, each burst, each variant.
type DropReport struct {
	DropID   int64  `json:"drop_id,string"`
	Slug     string `json:"slug"`
	Title    string `json:"title"`
	Currency string `json:"currency"`
	// Shoppers is the distinct shoppers who joined any of its bursts.
	Shoppers int `json:"shoppers"`
	// Sales counts every add in the drop, from a burst or not; Refunded is
	// what was refunded of its orders.
	Sales    Sales           `json:"sales"`
	Refunded int64           `json:"refunded"`
	Bursts   []BurstReport   `json:"bursts"`
	Variants []VariantReport `json:"variants"`
}

// Reports computes KPIs from the database.
type Reports struct {
	pool  *pgxpool.Pool
	drops *drops.Service
	now   func() time.Time
}

// NewReports returns Reports reading pool; ds resolves bursts, drops and cards.
func NewReports(pool *pgxpool.Pool, ds *drops.Service) *Reports {
	return &Reports{pool: pool, drops: ds, now: time.Now}
}

// Burst reports burst id; an unknown id is drops' not-found error.
func (r *Reports) Burst(ctx context.Context, id int64) (BurstReport, error) {
	b, err := r.drops.Burst(ctx, id)
	if err != nil {
		return BurstReport{}, err
	}
	d, err := r.drops.Drop(ctx, b.DropID)
	if err != nil {
		return BurstReport{}, err
	}
	return r.burst(ctx, b, d)
}

// burst reports b, a burst of drop d.
func (r *Reports) burst(ctx context.Context, b drops.Burst, d drops.Drop) (BurstReport, error) {
	rep := BurstReport{BurstID: b.ID, DropID: b.DropID, Title: b.Title, Kind: b.Kind, State: b.State,
		LiveAt: b.LiveAt, EndedAt: b.EndedAt, Currency: d.Currency}
	if b.LiveAt != nil {
		end := r.now()
		if b.EndedAt != nil {
			end = *b.EndedAt
		}
		rep.LiveS = max(0, end.Sub(*b.LiveAt).Seconds())
	}
	if err := r.audience(ctx, &rep); err != nil {
		return BurstReport{}, err
	}
	cards, err := r.cardMoments(ctx, b)
	if err != nil {
		return BurstReport{}, err
	}
	if err := r.burstSales(ctx, &rep, cards); err != nil {
		return BurstReport{}, err
	}
	rep.Conversion = ratio(rep.DuringLive.Buyers, rep.Audience.LiveShoppers)
	rep.ReplayConversion = ratio(rep.SecondChance.Buyers, rep.Audience.ReplayShoppers)
	rep.Cards = make([]CardReport, 0, len(cards.order))
	for _, id := range cards.order {
		c := cards.byID[id]
		c.AddRate = ratio(c.DuringLive.CartShoppers, rep.Audience.LiveShoppers)
		rep.Cards = append(rep.Cards, *c)
	}
	return rep, nil
}

func ratio(n, of int) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func (r *Reports) audience(ctx context.Context, rep *BurstReport) error {
	err := r.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE mode = 'live'), count(*) FILTER (WHERE mode = 'replay'),
		       coalesce((SELECT peak_viewers FROM burst_peaks WHERE burst_id = $1), 0),
		       (SELECT peak_at FROM burst_peaks WHERE burst_id = $1),
		       (SELECT coalesce(sum(refunded_amount), 0) FROM orders WHERE burst_id = $1)
		FROM burst_audience WHERE burst_id = $1`, rep.BurstID).
		Scan(&rep.Audience.LiveShoppers, &rep.Audience.ReplayShoppers, &rep.Audience.PeakViewers, &rep.Audience.PeakAt, &rep.Refunded)
	if err != nil {
		return fmt.Errorf("burst %d audience: %w", rep.BurstID, err)
	}
	return nil
}

// cardSet is a burst's cards in run-of-show order, then any that have left
// the run-of-show but have a history.
type cardSet struct {
	order []int64
	byID  map[int64]*CardReport
}

func (s *cardSet) get(id int64) *CardReport {
	if c, ok := s.byID[id]; ok {
		return c
	}
	c := &CardReport{CardID: id}
	s.byID[id] = c
	s.order = append(s.order, id)
	return c
}

// cardMoments fills shows, pins and time on screen from the card timeline.
// A card still up counts until now (or the burst's end).
func (r *Reports) cardMoments(ctx context.Context, b drops.Burst) (*cardSet, error) {
	set := &cardSet{byID: map[int64]*CardReport{}}
	rows, err := r.pool.Query(ctx, `
		SELECT c.id, c.product_id, p.title
		FROM cards c JOIN products p ON p.id = c.product_id
		WHERE c.burst_id = $1 ORDER BY c.offset_s, c.id`, b.ID)
	if err != nil {
		return nil, fmt.Errorf("burst %d cards: %w", b.ID, err)
	}
	for rows.Next() {
		var id, product int64
		var title string
		if err := rows.Scan(&id, &product, &title); err != nil {
			rows.Close()
			return nil, fmt.Errorf("burst %d cards: %w", b.ID, err)
		}
		c := set.get(id)
		c.ProductID, c.Product = &product, title
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("burst %d cards: %w", b.ID, err)
	}

	rows, err = r.pool.Query(ctx, `SELECT card_id, kind, source, at FROM card_events WHERE burst_id = $1 ORDER BY at, id`, b.ID)
	if err != nil {
		return nil, fmt.Errorf("burst %d card events: %w", b.ID, err)
	}
	defer rows.Close()
	up := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var kind, source string
		var at time.Time
		if err := rows.Scan(&id, &kind, &source, &at); err != nil {
			return nil, fmt.Errorf("burst %d card events: %w", b.ID, err)
		}
		c := set.get(id)
		switch kind {
		case "show":
			c.Shows++
			if source == "pin" {
				c.Pins++
			}
			if c.FirstShownAt == nil {
				c.FirstShownAt = &at
			}
			if _, open := up[id]; !open {
				up[id] = at
			}
		case "hide":
			if since, open := up[id]; open {
				c.OnScreenS += at.Sub(since).Seconds()
				delete(up, id)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("burst %d card events: %w", b.ID, err)
	}
	end := r.now()
	if b.EndedAt != nil {
		end = *b.EndedAt
	}
	for id, since := range up {
		set.byID[id].OnScreenS += max(0, end.Sub(since).Seconds())
	}
	return set, nil
}

// Phases of an add, relative to the burst's end, as burstSales's query
// names them ("later": past the second-chance window).
const (
	phaseLive   = "live"
	phaseSecond = "second"
)

// salesColumns aggregates reservations into Sales, in Sales.dest's order.
const salesColumns = `count(*), coalesce(sum(qty), 0), count(DISTINCT shopper_id),
	count(DISTINCT order_id) FILTER (WHERE state = 'sold'),
	count(DISTINCT shopper_id) FILTER (WHERE state = 'sold'),
	coalesce(sum(qty) FILTER (WHERE state = 'sold'), 0),
	coalesce(sum(qty * unit_price) FILTER (WHERE state = 'sold'), 0),
	coalesce(sum(qty) FILTER (WHERE state IN ('held', 'ordered')), 0)`

// dest is the scan targets of salesColumns.
func (s *Sales) dest() []any {
	return []any{&s.Adds, &s.UnitsAdded, &s.CartShoppers, &s.Orders, &s.Buyers, &s.Units, &s.Revenue, &s.InCarts}
}

// burstSales sums the burst's reservations by card and phase in one query
// (grouping sets: distinct shoppers cannot be added up afterwards).
func (r *Reports) burstSales(ctx context.Context, rep *BurstReport, cards *cardSet) error {
	rows, err := r.pool.Query(ctx, `
		WITH adds AS (
		    SELECT card_id, shopper_id, order_id, state, qty, unit_price,
		           CASE WHEN $2::timestamptz IS NULL OR created_at <= $2 THEN 'live'
		                WHEN created_at <= $2 + $3::bigint * interval '1 second' THEN 'second'
		                ELSE 'later' END AS phase
		    FROM reservations WHERE burst_id = $1)
		SELECT grouping(card_id), grouping(phase), card_id, phase, `+salesColumns+`
		FROM adds
		GROUP BY GROUPING SETS ((card_id, phase), (card_id), (phase), ())`,
		rep.BurstID, rep.EndedAt, int64(SecondChanceWindow/time.Second))
	if err != nil {
		return fmt.Errorf("burst %d sales: %w", rep.BurstID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var gCard, gPhase int
		var card *int64
		var phase *string
		var s Sales
		if err := rows.Scan(append([]any{&gCard, &gPhase, &card, &phase}, s.dest()...)...); err != nil {
			return fmt.Errorf("burst %d sales: %w", rep.BurstID, err)
		}
		var all, live, second *Sales
		switch {
		case gCard == 1:
			all, live, second = &rep.Sales, &rep.DuringLive, &rep.SecondChance
		case card == nil:
			continue // adds without a card count in the burst's totals only
		default:
			c := cards.get(*card)
			all, live, second = &c.Sales, &c.DuringLive, &c.SecondChance
		}
		switch {
		case gPhase == 1:
			*all = s
		case *phase == phaseLive:
			*live = s
		case *phase == phaseSecond:
			*second = s
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("burst %d sales: %w", rep.BurstID, err)
	}
	return nil
}

// Drop reports drop id: its totals, every burst and every variant.
func (r *Reports) Drop(ctx context.Context, id int64) (DropReport, error) {
	d, err := r.drops.Drop(ctx, id)
	if err != nil {
		return DropReport{}, err
	}
	rep := DropReport{DropID: d.ID, Slug: d.Slug, Title: d.Title, Currency: d.Currency}
	bursts, err := r.drops.ListBursts(ctx, id)
	if err != nil {
		return DropReport{}, err
	}
	rep.Bursts = make([]BurstReport, 0, len(bursts))
	for _, b := range bursts {
		br, err := r.burst(ctx, b, d)
		if err != nil {
			return DropReport{}, err
		}
		rep.Bursts = append(rep.Bursts, br)
	}
	err = r.pool.QueryRow(ctx, `
		SELECT (SELECT count(DISTINCT a.shopper_id) FROM burst_audience a JOIN bursts b ON b.id = a.burst_id WHERE b.drop_id = $1),
		       (SELECT coalesce(sum(refunded_amount), 0) FROM orders WHERE drop_id = $1), `+salesColumns+`
		FROM reservations WHERE drop_id = $1`, id).
		Scan(append([]any{&rep.Shoppers, &rep.Refunded}, rep.Sales.dest()...)...)
	if err != nil {
		return DropReport{}, fmt.Errorf("drop %d sales: %w", id, err)
	}
	if rep.Variants, err = r.variants(ctx, id); err != nil {
		return DropReport{}, err
	}
	return rep, nil
}

func (r *Reports) variants(ctx context.Context, dropID int64) ([]VariantReport, error) {
	rows, err := r.pool.Query(ctx, `
		SELECT v.id, p.id, p.title, v.sku, v.label,
		       coalesce((SELECT sum(available) FROM stock s WHERE s.variant_id = v.id), 0),
		       coalesce(x.sold, 0), coalesce(x.in_carts, 0), coalesce(x.revenue, 0)
		FROM variants v JOIN products p ON p.id = v.product_id
		LEFT JOIN (
		    SELECT variant_id,
		           sum(qty) FILTER (WHERE state = 'sold') AS sold,
		           sum(qty) FILTER (WHERE state IN ('held', 'ordered')) AS in_carts,
		           sum(qty * unit_price) FILTER (WHERE state = 'sold') AS revenue
		    FROM reservations WHERE drop_id = $1 GROUP BY variant_id) x ON x.variant_id = v.id
		WHERE p.drop_id = $1
		ORDER BY p.position, p.id, v.position, v.id`, dropID)
	if err != nil {
		return nil, fmt.Errorf("drop %d variants: %w", dropID, err)
	}
	defer rows.Close()
	out := []VariantReport{}
	for rows.Next() {
		var v VariantReport
		if err := rows.Scan(&v.VariantID, &v.ProductID, &v.Product, &v.SKU, &v.Label, &v.Available, &v.Sold, &v.InCarts, &v.Revenue); err != nil {
			return nil, fmt.Errorf("drop %d variants: %w", dropID, err)
		}
		v.SellThrough = ratio(v.Sold, v.Sold+v.InCarts+v.Available)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("drop %d variants: %w", dropID, err)
	}
	return out, nil
}
