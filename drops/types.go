package drops

import "time"

// Drop is a label's event: a window of time holding bursts and products.
type Drop struct {
	ID          int64     `json:"id,string"`
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
	Currency    string    `json:"currency"`
	// ShippingCountries are where the drop ships; empty: nothing ships.
	ShippingCountries []string  `json:"shipping_countries"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Kind says what a burst is for.
type Kind string

// Burst kinds. Backstage bursts are for VIP pass holders only.
const (
	KindHeadline  Kind = "headline"
	KindCollab    Kind = "collab"
	KindCommunity Kind = "community"
	KindBackstage Kind = "backstage"
)

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindHeadline, KindCollab, KindCommunity, KindBackstage:
		return true
	}
	return false
}

// State is where a burst is in its lifecycle:
// scheduled → live (first publish) → ending (one minute before the limit) → ended.
type State string

// Burst states.
const (
	StateScheduled State = "scheduled"
	StateLive      State = "live"
	StateEnding    State = "ending"
	StateEnded     State = "ended"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	switch s {
	case StateScheduled, StateLive, StateEnding, StateEnded:
		return true
	}
	return false
}

// DefaultMaxDuration is a burst's length limit unless set otherwise.
const DefaultMaxDuration = 15 * time.Minute

// Burst is one short live set of a drop.
type Burst struct {
	ID           int64      `json:"id,string"`
	DropID       int64      `json:"drop_id,string"`
	Title        string     `json:"title"`
	Kind         Kind       `json:"kind"`
	ScheduledAt  time.Time  `json:"scheduled_at"`
	MaxDurationS int        `json:"max_duration_s"`
	State        State      `json:"state"`
	LiveAt       *time.Time `json:"live_at"`
	EndedAt      *time.Time `json:"ended_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// MaxDuration is the burst's length limit.
func (b Burst) MaxDuration() time.Duration { return time.Duration(b.MaxDurationS) * time.Second }

// Deadline is when a live burst must end: its live start plus its limit. It is
// zero for a burst that has not gone live.
func (b Burst) Deadline() time.Time {
	if b.LiveAt == nil {
		return time.Time{}
	}
	return b.LiveAt.Add(b.MaxDuration())
}

// Card is one entry of a burst's run-of-show: a product (optionally one
// variant) shown at an offset from the burst's live start, for a duration,
// optionally at a deal price and only to VIPs.
type Card struct {
	ID           int64     `json:"id,string"`
	BurstID      int64     `json:"burst_id,string"`
	ProductID    int64     `json:"product_id,string"`
	VariantID    *int64    `json:"variant_id,string"`
	OffsetS      int       `json:"offset_s"`
	DurationS    int       `json:"duration_s"`
	DealPrice    *int64    `json:"deal_price"`
	VIPOnly      bool      `json:"vip_only"`
	ShopperLimit *int      `json:"shopper_limit"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Offset is the card's start, counted from the burst's live start.
func (c Card) Offset() time.Duration { return time.Duration(c.OffsetS) * time.Second }

// Duration is how long the card stays up.
func (c Card) Duration() time.Duration { return time.Duration(c.DurationS) * time.Second }
