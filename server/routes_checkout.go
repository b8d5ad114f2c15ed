package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/dropcast/dropcast/apperr"
	"github.com/dropcast/dropcast/checkout"
)

// maxWebhookBody bounds a Stripe webhook delivery (Stripe's events are far
// smaller).
const maxWebhookBody = 512 << 10

// routesCheckout registers the Stripe webhook, the shop's JSON endpoints for
// clients without a websocket, and the admin order API.
func (s *Server) routesCheckout() {
	s.handle("POST /stripe/webhook", http.HandlerFunc(s.stripeWebhook))

	// Shop: the shopper is the cookie or ?shopper=TOKEN (see shopperFrom).
	s.handleAPI("GET /api/shop/bursts/{id}/cart", s.shop(s.shopCart))
	s.handleAPI("POST /api/shop/bursts/{id}/cart", s.shop(s.shopAdd))
	s.handleAPI("DELETE /api/shop/bursts/{id}/cart/{variant}", s.shop(s.shopRemove))
	s.handleAPI("POST /api/shop/bursts/{id}/checkout", s.shop(s.shopCheckout))
	s.handleAPI("GET /api/shop/orders/{id}", s.shop(s.shopOrder))
	s.handleAPI("POST /api/shop/orders/{id}/simulate-payment", s.shop(s.simulatePayment))

	// Admin: orders.
	s.handleAPI("GET /api/orders", s.admin(s.listOrders))
	s.handleAPI("GET /api/orders/{id}", s.admin(s.getOrder))
	s.handleAPI("GET /api/orders.csv", s.admin(s.exportOrders))
}

// errCheckoutOff answers when the server runs without checkout.
var errCheckoutOff = apperr.Errorf(apperr.Unavailable, "checkout is not available")

// shopFunc is an apiFunc that knows its shopper.
type shopFunc func(w http.ResponseWriter, r *http.Request, shopperID string) error

func (s *Server) shop(h shopFunc) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.checkout == nil {
			return errCheckoutOff
		}
		id, _, _, err := s.shopperFrom(w, r)
		if err != nil {
			return err
		}
		return h(w, r, string(id))
	}
}

// stripeWebhook answers POST /stripe/webhook: 200 once the event is applied
// (or was before, or concerns no known session), 400 for a forged, stale or
// malformed delivery (nothing changes), 5xx when Stripe should retry.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	if s.checkout == nil {
		writeError(w, r, s.log, errCheckoutOff)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		writeError(w, r, s.log, apperr.Errorf(apperr.Invalid, "unreadable body: %v", err))
		return
	}
	res, err := s.checkout.HandleWebhook(r.Context(), body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		if apperr.CodeOf(err) == apperr.Invalid {
			s.log.Warn("stripe webhook refused", "remote_addr", r.RemoteAddr, "err", err)
		}
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"received": true, "event": res.EventID, "outcome": res.Outcome, "duplicate": res.Duplicate,
	})
}

// shopBurst resolves the {id} burst of a shop URL and its drop.
func (s *Server) shopBurst(r *http.Request) (burstID, dropID int64, err error) {
	burstID, err = pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	b, err := s.drops.Burst(r.Context(), burstID)
	if err != nil {
		return 0, 0, err
	}
	return b.ID, b.DropID, nil
}

func (s *Server) shopCart(w http.ResponseWriter, r *http.Request, shopperID string) error {
	_, dropID, err := s.shopBurst(r)
	if err != nil {
		return err
	}
	cart, err := s.checkout.CartOf(r.Context(), shopperID, dropID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cart)
	return nil
}

// addRequest is the body of POST /api/shop/bursts/{id}/cart. Ids are strings.
type addRequest struct {
	Variant int64 `json:"variant,string"`
	Qty     int   `json:"qty"`
	Card    int64 `json:"card,string"`
}

func (s *Server) shopAdd(w http.ResponseWriter, r *http.Request, shopperID string) error {
	burstID, dropID, err := s.shopBurst(r)
	if err != nil {
		return err
	}
	var in addRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Qty == 0 {
		in.Qty = 1
	}
	cart, err := s.checkout.Add(r.Context(), checkout.AddInput{
		ShopperID: shopperID, DropID: dropID, BurstID: burstID, VariantID: in.Variant, Qty: in.Qty, CardID: in.Card,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cart)
	return nil
}

func (s *Server) shopRemove(w http.ResponseWriter, r *http.Request, shopperID string) error {
	_, dropID, err := s.shopBurst(r)
	if err != nil {
		return err
	}
	variant, err := strconv.ParseInt(r.PathValue("variant"), 10, 64)
	if err != nil || variant <= 0 {
		return apperr.InvalidField("variant", "must be a variant id")
	}
	qty := 0
	if q := r.URL.Query().Get("qty"); q != "" {
		if qty, err = strconv.Atoi(q); err != nil || qty < 0 {
			return apperr.InvalidField("qty", "must be 0 (all) or a positive number")
		}
	}
	cart, err := s.checkout.Remove(r.Context(), shopperID, dropID, variant, qty)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cart)
	return nil
}

// checkoutRequest is the body of POST /api/shop/bursts/{id}/checkout.
type checkoutRequest struct {
	ReturnURL string `json:"return_url"`
}

func (s *Server) shopCheckout(w http.ResponseWriter, r *http.Request, shopperID string) error {
	burstID, dropID, err := s.shopBurst(r)
	if err != nil {
		return err
	}
	var in checkoutRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	o, err := s.checkout.StartCheckout(r.Context(), checkout.CheckoutInput{
		ShopperID: shopperID, DropID: dropID, BurstID: burstID, ReturnURL: in.ReturnURL,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"order_id": strconv.FormatInt(o.ID, 10), "checkout_url": o.CheckoutURL, "amount": o.Amount,
		"currency": o.Currency, "expires_at": o.ExpiresAt,
	})
	return nil
}

// shopOrder shows a shopper their own order (the page Stripe returns to
// polls it until it is paid).
func (s *Server) shopOrder(w http.ResponseWriter, r *http.Request, shopperID string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	o, err := s.checkout.ShopperOrder(r.Context(), shopperID, id)
	if err != nil {
		return err
	}
	o.ShopperID = ""
	writeJSON(w, http.StatusOK, o)
	return nil
}

// simulatePayment is for development without Stripe: it has checkout sign a
// checkout.session.completed for the shopper's (or, with the admin token,
// any) pending order and sends it through this server's own webhook route.
// Refused (403) whenever a live Stripe key is configured.
func (s *Server) simulatePayment(w http.ResponseWriter, r *http.Request, shopperID string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if s.checkout.Config().LiveMode() {
		return checkout.ErrLiveMode
	}
	if !s.isAdmin(r) {
		if _, err := s.checkout.ShopperOrder(r.Context(), shopperID, id); err != nil {
			return err
		}
	}
	payload, sig, err := s.checkout.SimulatePayment(r.Context(), id)
	if err != nil {
		return err
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, "/stripe/webhook", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return errors.New("simulated webhook answered " + strconv.Itoa(rec.Code) + ": " + rec.Body.String())
	}
	o, err := s.checkout.Order(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"order_id": strconv.FormatInt(o.ID, 10), "status": o.Status})
	return nil
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	if s.checkout == nil {
		return errCheckoutOff
	}
	f, err := orderFilter(r)
	if err != nil {
		return err
	}
	os, err := s.checkout.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": os})
	return nil
}

// orderFilter reads ?drop=, ?burst=, ?before=, ?limit= and ?status=.
func orderFilter(r *http.Request) (checkout.OrderFilter, error) {
	q := r.URL.Query()
	var f checkout.OrderFilter
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"drop", &f.DropID}, {"burst", &f.BurstID}, {"before", &f.Before}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return f, apperr.InvalidField(p.name, "must be an id")
			}
			*p.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, apperr.InvalidField("limit", "must be between 1 and 1000")
		}
		f.Limit = n
	}
	f.Status = q.Get("status")
	return f, nil
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	if s.checkout == nil {
		return errCheckoutOff
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	o, err := s.checkout.Order(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}
