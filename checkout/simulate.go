package checkout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v79"
	"github.com/stripe/stripe-go/v79/webhook"

	"github.com/dropcast/dropcast/apperr"
)

// SessionEvent describes a Stripe Checkout Session event as checkout reads
// it. Tests and the development payment simulator build payloads from it.
type SessionEvent struct {
	EventID       string            // evt_…
	Type          string            // e.g. "checkout.session.completed"
	SessionID     string            // cs_…
	OrderID       int64             // put in metadata and client_reference_id (0: neither)
	PaymentStatus string            // paid, unpaid, no_payment_required
	AmountTotal   int64             // minor units
	Currency      string            // ISO 4217, any case
	Created       time.Time         //
	Metadata      map[string]string // extra metadata
	Customer      *Customer         // customer_details and shipping_details (nil: neither)
	PaymentIntent string            // pi_… ("" : none)
}

// JSON returns the event as Stripe would deliver it, with stripe-go's API
// version (webhook.ConstructEvent refuses any other).
func (e SessionEvent) JSON() []byte {
	md := map[string]string{}
	for k, v := range e.Metadata {
		md[k] = v
	}
	var ref any
	if e.OrderID != 0 {
		md["order_id"] = fmtID(e.OrderID)
		ref = fmtID(e.OrderID)
	}
	var details, shipping any
	if c := e.Customer; c != nil {
		details = map[string]any{"email": c.Email, "name": c.Name, "phone": c.Phone}
		if a := c.Shipping; a != nil {
			shipping = map[string]any{"name": a.Name, "address": map[string]any{"line1": a.Line1, "line2": a.Line2,
				"city": a.City, "state": a.State, "postal_code": a.PostalCode, "country": a.Country}}
		}
	}
	status := "complete"
	if e.Type == string(stripe.EventTypeCheckoutSessionExpired) {
		status = "expired"
	}
	b, _ := json.Marshal(map[string]any{ // only strings, numbers and maps: cannot fail
		"id":          e.EventID,
		"object":      "event",
		"api_version": stripe.APIVersion,
		"type":        e.Type,
		"created":     e.Created.Unix(),
		"livemode":    false,
		"data": map[string]any{"object": map[string]any{
			"id":                  e.SessionID,
			"object":              "checkout.session",
			"client_reference_id": ref,
			"metadata":            md,
			"mode":                "payment",
			"payment_status":      e.PaymentStatus,
			"status":              status,
			"amount_total":        e.AmountTotal,
			"currency":            strings.ToLower(e.Currency),
			"customer_details":    details,
			"payment_intent":      nullString(e.PaymentIntent),
			"shipping_details":    shipping,
		}},
	})
	return b
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// SignEvent signs payload for the endpoint secret as Stripe does, stamped
// with the wall-clock time, and returns the Stripe-Signature header.
func SignEvent(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

// SimulatePayment builds a correctly signed checkout.session.completed
// (paid) delivery for pending order id, for development without Stripe:
// the caller hands it to the webhook endpoint. Errors: forbidden
// (ErrLiveMode: a live key is configured), unavailable (no webhook secret),
// not_found, conflict (the order is not pending).
func (s *Service) SimulatePayment(ctx context.Context, id int64) (payload []byte, sigHeader string, err error) {
	if s.cfg.LiveMode() {
		return nil, "", ErrLiveMode
	}
	if s.cfg.StripeWebhookSecret == "" {
		return nil, "", apperr.Errorf(apperr.Unavailable, "stripe webhooks are not configured")
	}
	o, err := s.Order(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if o.Status != StatusPending {
		return nil, "", apperr.Errorf(apperr.Conflict, "order %d is %s, not pending", id, o.Status)
	}
	// A placeholder customer, so that what follows a payment (the order's
	// customer, the fulfillment export) can be tried without Stripe.
	customer := &Customer{Email: "shopper@example.com", Name: "Test Shopper"}
	if ships, err := s.shippingCountries(ctx, o.DropID); err != nil {
		return nil, "", err
	} else if len(ships) > 0 {
		customer.Shipping = &Address{Name: "Test Shopper", Line1: "1 Test Street", City: "Testville", PostalCode: "00000", Country: ships[0]}
	}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce) // crypto/rand never fails on supported platforms
	payload = SessionEvent{
		EventID:       "evt_simulated_" + hex.EncodeToString(nonce),
		Type:          string(stripe.EventTypeCheckoutSessionCompleted),
		SessionID:     o.StripeSessionID,
		OrderID:       o.ID,
		PaymentStatus: string(stripe.CheckoutSessionPaymentStatusPaid),
		AmountTotal:   o.Amount,
		Currency:      o.Currency,
		Created:       time.Now(),
		Customer:      customer,
		PaymentIntent: "pi_simulated_" + hex.EncodeToString(nonce),
	}.JSON()
	// Signatures are checked against the wall clock, not checkout's clock.
	return payload, SignEvent(payload, s.cfg.StripeWebhookSecret, time.Now()), nil
}
