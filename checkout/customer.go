package checkout

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/stripe/stripe-go/v79"
)

// Customer is who paid an order and where it ships, as Stripe Checkout
// collected it (nil until the session completes).
type Customer struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Phone    string   `json:"phone,omitempty"`
	Shipping *Address `json:"shipping"`
}

// Address is a shipping address.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code"`
	Country    string `json:"country"`
}

// sessionCustomer reads the customer of a completed session; nil when the
// session carries none.
func sessionCustomer(sess *stripe.CheckoutSession) *Customer {
	var c Customer
	if d := sess.CustomerDetails; d != nil {
		c.Email, c.Name, c.Phone = d.Email, d.Name, d.Phone
	}
	if sh := sess.ShippingDetails; sh != nil && sh.Address != nil {
		a := sh.Address
		c.Shipping = &Address{Name: sh.Name, Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State,
			PostalCode: a.PostalCode, Country: a.Country}
	}
	if c == (Customer{}) {
		return nil
	}
	return &c
}

// storeSessionDetails records the customer and the PaymentIntent of a
// completed session on order id (inside the transaction that applies the
// event); what the session lacks is left as it was.
func storeSessionDetails(ctx context.Context, tx pgx.Tx, id int64, sess *stripe.CheckoutSession) error {
	var customer []byte
	if c := sessionCustomer(sess); c != nil {
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode customer: %w", err)
		}
		customer = b
	}
	var pi *string
	if sess.PaymentIntent != nil && sess.PaymentIntent.ID != "" {
		pi = &sess.PaymentIntent.ID
	}
	if customer == nil && pi == nil {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET customer = coalesce($2::jsonb, customer),
		stripe_payment_intent = coalesce($3, stripe_payment_intent) WHERE id = $1`, id, customer, pi); err != nil {
		return fmt.Errorf("store customer of order %d: %w", id, err)
	}
	return nil
}

// shippingCountries are the countries drop id ships to (empty: none).
func (s *Service) shippingCountries(ctx context.Context, dropID int64) ([]string, error) {
	var cs []string
	if err := s.db.QueryRow(ctx, `SELECT shipping_countries FROM drops WHERE id = $1`, dropID).Scan(&cs); err != nil {
		return nil, fmt.Errorf("read shipping countries of drop %d: %w", dropID, err)
	}
	return cs, nil
}
