package live

import (
	"encoding/json"
	"time"
)

// The server → client message shapes. Ids are strings of digits, money is an
// integer in minor units with its currency, times are RFC 3339 with
// milliseconds, and media times are milliseconds since the burst's live
// start. docs/protocol.md describes each one with examples.

// BurstInfo is a burst's state as the channel shows it.
type BurstInfo struct {
	ID          int64      `json:"id,string"`
	DropID      int64      `json:"drop_id,string"`
	Title       string     `json:"title"`
	State       string     `json:"state"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	LiveAt      *time.Time `json:"live_at"`
	EndsAt      *time.Time `json:"ends_at"`
}

// CardProduct is the product part of a shown card.
type CardProduct struct {
	ID     int64    `json:"id,string"`
	Title  string   `json:"title"`
	Images []string `json:"images"`
}

// CardVariant is one variant a card sells, with its price (minor units) and
// the stock available when the card went up; "stock" messages update it.
type CardVariant struct {
	ID        int64  `json:"id,string"`
	Label     string `json:"label"`
	Price     int64  `json:"price"`
	Available int    `json:"available"`
}

// CardView is a card as shoppers see it. DealPrice is nil without a deal.
// OffsetMS is the media time (ms since live start) at which it went up, and
// EndsAt when it comes down by itself.
type CardView struct {
	ID        int64         `json:"id,string"`
	Product   CardProduct   `json:"product"`
	Variants  []CardVariant `json:"variants"`
	DealPrice *int64        `json:"deal_price"`
	Currency  string        `json:"currency"`
	VIPOnly   bool          `json:"vip_only"`
	ShownAt   time.Time     `json:"shown_at"`
	EndsAt    time.Time     `json:"ends_at"`
	OffsetMS  int64         `json:"offset_ms"`
	Pinned    bool          `json:"pinned"`
}

type welcomeMsg struct {
	Type       string     `json:"type"`
	Shopper    string     `json:"shopper"`
	Host       bool       `json:"host"`
	Burst      BurstInfo  `json:"burst"`
	Cards      []CardView `json:"cards"`
	Cart       any        `json:"cart"`
	Viewers    int        `json:"viewers"`
	ServerTime time.Time  `json:"server_time"`
	MediaTime  *int64     `json:"media_time_ms"`
}

type cardShowMsg struct {
	Type      string   `json:"type"`
	Card      CardView `json:"card"`
	MediaTime int64    `json:"media_time_ms"`
}

type cardHideMsg struct {
	Type      string `json:"type"`
	Card      int64  `json:"card,string"`
	MediaTime int64  `json:"media_time_ms"`
}

type stockMsg struct {
	Type      string `json:"type"`
	Variant   int64  `json:"variant,string"`
	Available int    `json:"available"`
}

type viewersMsg struct {
	Type    string `json:"type"`
	Viewers int    `json:"viewers"`
}

type burstMsg struct {
	Type       string     `json:"type"`
	State      string     `json:"state"`
	LiveAt     *time.Time `json:"live_at"`
	EndsAt     *time.Time `json:"ends_at"`
	ServerTime time.Time  `json:"server_time"`
}

type cartMsg struct {
	Type string `json:"type"`
	Req  string `json:"req,omitempty"`
	Cart any    `json:"cart"`
}

type ackMsg struct {
	Type        string     `json:"type"`
	Req         string     `json:"req"`
	ServerTime  *time.Time `json:"server_time,omitempty"`
	CheckoutURL string     `json:"checkout_url,omitempty"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Req     string `json:"req"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

type saleMsg struct {
	Type     string    `json:"type"`
	Order    int64     `json:"order,string"`
	Card     *string   `json:"card"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Items    int       `json:"items"`
	At       time.Time `json:"at"`
}

// encode marshals a message. The shapes above cannot fail to encode, so an
// error is a programmer error surfaced to the caller.
func encode(v any) ([]byte, error) { return json.Marshal(v) }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
