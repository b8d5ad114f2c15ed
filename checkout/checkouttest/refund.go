package checkouttest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v79"
)

// RefundEvent describes a charge.refunded event as checkout reads it.
type RefundEvent struct {
	EventID        string    // evt_…
	ChargeID       string    // ch_…
	PaymentIntent  string    // pi_… of the order
	Amount         int64     // the charge's amount
	AmountRefunded int64     // refunded so far, in all
	Currency       string    // ISO 4217, any case
	Created        time.Time //
}

// JSON returns the event as Stripe would deliver it.
func (e RefundEvent) JSON() []byte {
	b, _ := json.Marshal(map[string]any{ // only strings, numbers and maps: cannot fail
		"id": e.EventID, "object": "event", "api_version": stripe.APIVersion, "type": string(stripe.EventTypeChargeRefunded),
		"created": e.Created.Unix(), "livemode": false,
		"data": map[string]any{"object": map[string]any{
			"id": e.ChargeID, "object": "charge", "amount": e.Amount, "amount_refunded": e.AmountRefunded,
			"refunded": e.AmountRefunded >= e.Amount, "currency": strings.ToLower(e.Currency), "payment_intent": e.PaymentIntent,
			"paid": true, "status": "succeeded",
		}},
	})
	return b
}
